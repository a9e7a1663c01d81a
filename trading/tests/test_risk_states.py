"""The halt ladder (ACTIVE → REDUCING → HALTED) and its audit log: what each state
accepts, the daily-loss triggers on a simulated loss (and none on a gain), the working
orders a halt cancels with an audit entry each, ``GET /risk/audit`` (own data only; an
admin may name a user) and the ``risk_state`` message.

The bull call spread of ``conftest.bull_call`` fills 6 packages at 2.07 / 0.52 (net 1.55,
$930 at risk, fees 8.37; see test_close). Its unrealized P&L at leg marks m_long, m_short
is (m_long − 2.07) × 600 − (m_short − 0.52) × 600, before fees."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from asgiref.sync import async_to_sync, sync_to_async
from rest_framework.test import APIClient

from marketdata import calendar
from marketdata.clock import VirtualClock, use_clock
from marketdata.models import ChainSnapshot, MinuteBar, PriceBar
from marketdata.selectors import market_correlation, minute_volume_ratios
from portfolios.models import Position
from tests.contract import ZERO_DTE, assert_error_envelope, assert_matches_example, spec_example
from trading import selectors, services
from trading.models import RiskEvent, StrategyPosition, Trade, TradingAccount, TradingConfig
from trading.tests.helpers import (
    MINUTE,
    at_minute,
    client_for,
    close_over_http,
    execute_over_http,
    set_quotes,
)
from trading.tests.sockets import positions_socket, receive_messages

D = Decimal
AUDIT = "/api/v1/risk/audit"


def _monitor(clock: VirtualClock) -> services.MonitorPass:
    with use_clock(clock):
        return services.positions_monitor(at=clock.read())


def _state(user: Any) -> str:
    return TradingAccount.objects.get(user=user).state


def _limits(user: Any, *, daily_loss_limit: str, stop_loss: str = "0.5") -> None:
    """A saved config: the daily loss limit, and a stop far enough not to fire first."""
    defaults = selectors.default_trading_settings()
    TradingConfig.objects.update_or_create(
        user=user,
        defaults={
            "trading_mode": "paper",
            "position_size": defaults.position_size,
            "profit_target": defaults.profit_target,
            "stop_loss": D(stop_loss),
            "confidence_threshold": defaults.confidence_threshold,
            "auto_execute": False,
            "max_positions": defaults.max_positions,
            "daily_loss_limit": D(daily_loss_limit),
        },
    )


def _reducing(user: Any, clock: VirtualClock) -> None:
    account = TradingAccount.objects.select_for_update().get(user=user)
    services.account_transition(
        account, "REDUCING", reason="test", trigger="manual", at=clock.read()
    )


@pytest.mark.django_db
def test_reducing_refuses_an_entry_and_accepts_a_close(
    bull_call: Any, auth_client: APIClient
) -> None:
    signal, clock, low, high = bull_call
    user = auth_client.user  # type: ignore[attr-defined]
    trade = execute_over_http(auth_client, clock, signal, 1000)
    _reducing(user, clock)
    with use_clock(clock):
        refused = auth_client.post(
            "/api/v1/trading/execute", {"signal_id": signal.id}, format="json"
        )
    assert refused.status_code == 422
    body = refused.json()
    assert_error_envelope(body, code="EMERGENCY_HALT_ACTIVE")
    assert body["error"]["details"]["account_state"] == "REDUCING"
    assert Trade.objects.filter(user=user).count() == 1  # nothing written
    at_minute(clock, MINUTE + 1)
    set_quotes(clock, {("call", low): ("2.00", "2.10"), ("call", high): ("0.50", "0.56")})
    closed = close_over_http(auth_client, clock, trade["position_id"])
    assert closed.status_code == 201, closed.content
    assert StrategyPosition.objects.get(pk=trade["position_id"]).status == "closed"


@pytest.mark.django_db
def test_halted_refuses_every_order_of_the_user_and_leaves_no_working_order(
    bull_call: Any, auth_client: APIClient
) -> None:
    signal, clock, low, high = bull_call
    user = auth_client.user  # type: ignore[attr-defined]
    trade = execute_over_http(auth_client, clock, signal, 1000)
    # A limit close far above the market rests.
    resting = close_over_http(
        auth_client, clock, trade["position_id"], {"close_type": "limit", "limit_price": "9.00"}
    ).json()
    assert resting["status"] == "submitted"
    with use_clock(clock):
        halted = auth_client.post("/api/v1/risk/emergency", {"reason": "desk"}, format="json")
    assert halted.status_code == 200 and halted.json()["account_state"] == "HALTED"
    assert Trade.objects.get(pk=resting["trade_id"]).status == "cancelled"
    assert {o.status for o in Trade.objects.get(pk=resting["trade_id"]).orders.all()} == {
        "cancelled"
    }
    with use_clock(clock):
        entry = auth_client.post("/api/v1/trading/execute", {"signal_id": signal.id}, format="json")
    close = close_over_http(auth_client, clock, trade["position_id"])
    for refused in (entry, close):
        assert refused.status_code == 422
        assert_error_envelope(refused.json(), code="EMERGENCY_HALT_ACTIVE")
        assert refused.json()["error"]["details"]["account_state"] == "HALTED"
    assert StrategyPosition.objects.get(pk=trade["position_id"]).status == "open"
    assert not Trade.objects.filter(user=user, status__in=["submitted", "partially_filled"])
    # The audit: the transition, then one entry per cancelled order (two legs).
    events = list(RiskEvent.objects.filter(user=user).order_by("created_at", "id"))
    assert [e.kind for e in events] == ["transition", "order_cancelled", "order_cancelled"]
    assert (events[0].state_from, events[0].state_to, events[0].trigger) == (
        "ACTIVE",
        "HALTED",
        "manual",
    )
    assert events[0].actor_id == user.pk and events[0].reason == "desk"
    assert {e.order_id for e in events[1:]} == {o["order_id"] for o in resting["orders"]}
    # The monitor's own exits still run in HALTED: the time exit closes the position.
    at_minute(clock, 390 - 15)
    set_quotes(clock, {("call", low): ("2.00", "2.10"), ("call", high): ("0.50", "0.56")})
    assert _monitor(clock).exits == {trade["position_id"]: "time_exit"}


@pytest.mark.django_db
def test_a_simulated_loss_climbs_the_ladder_and_only_a_resume_comes_down(
    bull_call: Any, auth_client: APIClient
) -> None:
    signal, clock, low, high = bull_call
    user = auth_client.user  # type: ignore[attr-defined]
    _limits(user, daily_loss_limit="200")  # REDUCING from a $160 loss, HALTED from $200
    execute_over_http(auth_client, clock, signal, 1000)
    # Marks 1.90 and 0.53: (1.90 − 2.07) × 600 − (0.53 − 0.52) × 600 = −108: nothing.
    at_minute(clock, MINUTE + 1)
    set_quotes(clock, {("call", low): ("1.85", "1.95"), ("call", high): ("0.50", "0.56")})
    assert _monitor(clock).state_changes == {}
    assert _state(user) == "ACTIVE"
    # Marks 1.80 and 0.53: −162 − 6 = −168 ≥ $160: REDUCING.
    at_minute(clock, MINUTE + 2)
    set_quotes(clock, {("call", low): ("1.75", "1.85"), ("call", high): ("0.50", "0.56")})
    assert _monitor(clock).state_changes == {user.pk: "REDUCING"}
    assert _state(user) == "REDUCING"
    [warning] = RiskEvent.objects.filter(user=user)
    assert warning.trigger == "daily_loss_warning" and warning.actor_id is None
    assert D(warning.details["daily_pnl"]) == D("-168.00")
    assert warning.details["daily_loss_limit"] == "200.00"
    # The same loss again moves nothing (no second entry).
    at_minute(clock, MINUTE + 3)
    set_quotes(clock, {("call", low): ("1.75", "1.85"), ("call", high): ("0.50", "0.56")})
    assert _monitor(clock).state_changes == {}
    # Marks 1.70 and 0.53: −222 − 6 = −228 ≥ $200: HALTED.
    at_minute(clock, MINUTE + 4)
    set_quotes(clock, {("call", low): ("1.65", "1.75"), ("call", high): ("0.50", "0.56")})
    assert _monitor(clock).state_changes == {user.pk: "HALTED"}
    assert [e.trigger for e in RiskEvent.objects.filter(user=user).order_by("created_at")] == [
        "daily_loss_warning",
        "daily_loss_limit",
    ]
    # The market recovering does not come down the ladder; a resume does.
    at_minute(clock, MINUTE + 5)
    set_quotes(clock, {("call", low): ("2.00", "2.10"), ("call", high): ("0.50", "0.56")})
    _monitor(clock)
    assert _state(user) == "HALTED"
    with use_clock(clock):
        resumed = auth_client.post("/api/v1/risk/resume", {"reason": "reviewed"}, format="json")
    assert resumed.status_code == 200 and resumed.json()["account_state"] == "ACTIVE"
    last = RiskEvent.objects.filter(user=user).order_by("-created_at").first()
    assert (last.state_from, last.state_to, last.actor_id) == ("HALTED", "ACTIVE", user.pk)


@pytest.mark.django_db
def test_a_large_gain_triggers_nothing(bull_call: Any, auth_client: APIClient) -> None:
    signal, clock, low, high = bull_call
    user = auth_client.user  # type: ignore[attr-defined]
    _limits(user, daily_loss_limit="50")
    execute_over_http(auth_client, clock, signal, 1000)
    # Marks 3.05 and 0.53: +582: the profit target closes it; the account stays ACTIVE.
    at_minute(clock, MINUTE + 1)
    set_quotes(clock, {("call", low): ("3.00", "3.10"), ("call", high): ("0.50", "0.56")})
    result = _monitor(clock)
    assert list(result.exits.values()) == ["profit_target"]
    assert result.state_changes == {}
    assert _state(user) == "ACTIVE" and not RiskEvent.objects.filter(user=user).exists()


@pytest.mark.django_db
def test_an_emergency_with_close_positions_flattens_the_book_and_audits_each_cancel(
    bull_call: Any, auth_client: APIClient, settings: Any
) -> None:
    settings.TRADING_REMAINDER = "rest"
    signal, clock, low, _ = bull_call
    user = auth_client.user  # type: ignore[attr-defined]
    first = execute_over_http(auth_client, clock, signal, 500)  # 3 packages
    resting = close_over_http(
        auth_client, clock, first["position_id"], {"close_type": "limit", "limit_price": "9.00"}
    ).json()
    snapshot = ChainSnapshot.objects.filter(symbol="SPY").latest("timestamp")
    for row in snapshot.calls:
        if row["strike"] == low:
            row["ask_size"] = 1
    snapshot.save()
    second = execute_over_http(auth_client, clock, signal, 500)  # 1 of 3 fills, 2 rest
    assert second["status"] == "partially_filled"
    with use_clock(clock):
        response = auth_client.post(
            "/api/v1/risk/emergency",
            {"reason": "flatten", "close_positions": True},
            format="json",
        )
    assert response.status_code == 200, response.content
    body = response.json()
    assert sorted(body["closed_positions"]) == sorted([first["position_id"], second["position_id"]])
    assert not StrategyPosition.objects.filter(user=user, status="open").exists()
    assert not Position.objects.filter(
        portfolio__owner=user, closed_at__isnull=True, multiplier__gt=1
    ).exists()
    kinds = [e.kind for e in RiskEvent.objects.filter(user=user)]
    # One transition; the resting close's two orders and the remainder's two.
    assert kinds.count("transition") == 1 and kinds.count("order_cancelled") == 4
    cancelled = set(
        RiskEvent.objects.filter(user=user, kind="order_cancelled").values_list(
            "trade_id", flat=True
        )
    )
    assert cancelled == {resting["trade_id"], second["trade_id"]}
    assert Trade.objects.get(pk=second["trade_id"]).remainder_cancelled == "halted"


@pytest.mark.django_db
def test_the_audit_log_is_the_owners_and_an_admins_only(
    bull_call: Any, auth_client: APIClient, make_user: Any
) -> None:
    _, clock, _, _ = bull_call
    owner = auth_client.user  # type: ignore[attr-defined]
    other = client_for(make_user(role="trader"))
    admin = client_for(make_user(role="admin"))
    with use_clock(clock):
        auth_client.post("/api/v1/risk/emergency", {"reason": "desk"}, format="json")
        auth_client.post("/api/v1/risk/resume", {"reason": "back"}, format="json")
        own = auth_client.get(AUDIT)
        assert own.status_code == 200
        body = own.json()
        assert [(e["state_from"], e["state_to"]) for e in body["data"]] == [
            ("HALTED", "ACTIVE"),
            ("ACTIVE", "HALTED"),
        ]
        assert body["data"][0]["event_id"].startswith("risk_")
        assert body["data"][0]["actor_id"] == str(owner.pk)
        assert body["pagination"]["total_items"] == 2
        assert set(body["data"][0]) == {
            "event_id",
            "kind",
            "state_from",
            "state_to",
            "reason",
            "trigger",
            "actor_id",
            "trade_id",
            "order_id",
            "details",
            "market_time",
            "lock_until",
            "created_at",
        }
        paged = auth_client.get(AUDIT, {"limit": 1, "page": 2}).json()
        assert [e["state_to"] for e in paged["data"]] == ["HALTED"]
        assert auth_client.get(AUDIT, {"kind": "order_cancelled"}).json()["data"] == []
        assert auth_client.get(AUDIT, {"kind": "bogus"}).status_code == 422
        # Another trader sees their own (empty) log, and cannot name the owner's.
        assert other.get(AUDIT).json()["data"] == []
        assert other.get(AUDIT, {"user_id": str(owner.pk)}).status_code == 404
        assert APIClient().get(AUDIT).status_code == 401
        # An admin reads any account's log.
        assert len(admin.get(AUDIT, {"user_id": str(owner.pk)}).json()["data"]) == 2


@pytest.mark.django_db(transaction=True)
def test_a_transition_reaches_the_owners_socket_as_risk_state(
    bull_call: Any, auth_client: APIClient
) -> None:
    _, clock, _, _ = bull_call
    owner = auth_client.user  # type: ignore[attr-defined]
    token = auth_client._credentials["HTTP_AUTHORIZATION"].split()[1]  # type: ignore[attr-defined]

    async def run() -> list[Any]:
        socket = await positions_socket(token)
        try:

            def halt() -> None:
                with use_clock(clock):
                    services.account_halt(user=owner, reason="desk", close_positions=False)

            await sync_to_async(halt)()
            return await receive_messages(socket, 1)
        finally:
            await socket.disconnect()

    [message] = async_to_sync(run)()
    assert message["type"] == "risk_state"
    data = message["data"]
    assert data["account_state"] == "HALTED" and data["previous_state"] == "ACTIVE"
    assert data["emergency_status"] is True and data["trigger"] == "manual"
    assert data["reason"] == "desk"


@pytest.mark.django_db
def test_a_stop_loss_exit_starts_a_cooldown_that_refuses_entries_until_it_ends(
    bull_call: Any, auth_client: APIClient, settings: Any
) -> None:
    signal, clock, low, high = bull_call
    user = auth_client.user  # type: ignore[attr-defined]
    execute_over_http(auth_client, clock, signal, 1000)
    # Marks 1.90 and 0.53: P&L −0.18 a share, past the 10% stop of 0.155.
    at_minute(clock, MINUTE + 1)
    set_quotes(clock, {("call", low): ("1.85", "1.95"), ("call", high): ("0.50", "0.56")})
    assert list(_monitor(clock).exits.values()) == ["stop_loss"]
    [lock] = RiskEvent.objects.filter(user=user, kind="protection")
    assert lock.trigger == "stop_loss_cooldown" and _state(user) == "ACTIVE"
    assert lock.lock_until == clock.read().now + dt.timedelta(
        minutes=settings.RISK_STOP_LOSS_COOLDOWN_MINUTES
    )
    with use_clock(clock):
        refused = auth_client.post(
            "/api/v1/trading/execute", {"signal_id": signal.id}, format="json"
        )
    assert refused.status_code == 422
    assert_error_envelope(refused.json(), code="EMERGENCY_HALT_ACTIVE")
    details = refused.json()["error"]["details"]
    assert details["protection"] == "stop_loss_cooldown" and details["account_state"] == "ACTIVE"
    assert details["until"] == lock.lock_until.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert Trade.objects.filter(user=user, kind="open").count() == 1
    at_minute(clock, MINUTE + 1 + settings.RISK_STOP_LOSS_COOLDOWN_MINUTES)
    assert selectors.active_protection(user=user, at=clock.read()) is None


@pytest.mark.django_db
def test_consecutive_losing_positions_pause_entries_and_the_count_restarts(
    bull_call: Any, auth_client: APIClient, settings: Any
) -> None:
    settings.RISK_LOSS_STREAK = 2
    settings.RISK_STOP_LOSS_COOLDOWN_MINUTES = 0
    signal, clock, _, _ = bull_call
    user = auth_client.user  # type: ignore[attr-defined]
    # Executed and closed at one quote, each position loses its round-trip spread and fees.
    first = execute_over_http(auth_client, clock, signal, 1000)
    assert close_over_http(auth_client, clock, first["position_id"]).status_code == 201
    assert not RiskEvent.objects.filter(user=user).exists()  # one loss: no pause yet
    second = execute_over_http(auth_client, clock, signal, 1000)
    assert close_over_http(auth_client, clock, second["position_id"]).status_code == 201
    [pause] = RiskEvent.objects.filter(user=user, kind="protection")
    assert pause.trigger == "loss_streak"
    assert pause.details["positions"] == [second["position_id"], first["position_id"]]
    assert pause.lock_until == clock.read().now + dt.timedelta(
        minutes=settings.RISK_LOSS_STREAK_PAUSE_MINUTES
    )
    with use_clock(clock):
        refused = auth_client.post(
            "/api/v1/trading/execute", {"signal_id": signal.id}, format="json"
        )
    assert refused.status_code == 422
    assert refused.json()["error"]["details"]["protection"] == "loss_streak"
    # The pause restarts the count: the two losses before it do not make a streak again.
    assert selectors.losing_streak(user=user, at=clock.read()) == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("setting", "value", "trigger"),
    [
        ("RISK_VIX_EMERGENCY", 1.0, "vix_emergency"),  # any stored VIX level is ≥ 1
        ("RISK_CORRELATION_BREAKDOWN", 1.01, "correlation_breakdown"),  # any ρ < 1.01
        ("RISK_VOLUME_SPIKE", 1e-9, "volume_spike"),  # any positive ratio
    ],
)
def test_a_market_emergency_moves_every_active_account_to_reducing(
    bull_call: Any,
    auth_client: APIClient,
    make_user: Any,
    settings: Any,
    setting: str,
    value: float,
    trigger: str,
) -> None:
    settings.RISK_VIX_EMERGENCY = 1e9
    settings.RISK_CORRELATION_BREAKDOWN = -2.0
    settings.RISK_VOLUME_SPIKE = 1e9
    signal, clock, _, _ = bull_call
    user = auth_client.user  # type: ignore[attr-defined]
    execute_over_http(auth_client, clock, signal, 1000)
    halted = make_user(role="trader")
    services.account_halt(user=halted, reason="desk", close_positions=False)
    assert _monitor(clock).state_changes == {}  # nothing fires at these thresholds
    setattr(settings, setting, value)
    assert _monitor(clock).state_changes == {user.pk: "REDUCING"}
    assert _state(user) == "REDUCING" and _state(halted) == "HALTED"  # never down the ladder
    [event] = RiskEvent.objects.filter(user=user)
    assert event.trigger == trigger and event.details["fired"] == [trigger]
    reading = selectors.market_emergency(at=clock.read())
    assert event.details["vix_level"] == reading.vix_level
    assert event.details["volume_ratios"] == reading.volume_ratios


@pytest.mark.django_db
def test_the_volume_ratio_is_the_minutes_volume_over_that_minutes_past_mean(
    bull_call: Any,
) -> None:
    _, clock, _, _ = bull_call
    at = clock.read()
    bars = MinuteBar.objects.filter(security_id="SPY")
    today = bars.get(session=at.session, timestamp=at.now - dt.timedelta(minutes=1))
    past_session = bars.exclude(session=at.session).values_list("session", flat=True).first()
    assert past_session is not None, "the fixture stores one past session of minutes"
    past = bars.get(
        session=past_session,
        timestamp=calendar.session_open_utc(past_session) + dt.timedelta(minutes=MINUTE - 1),
    )
    ratios = minute_volume_ratios(["SPY"], at, sessions=1)
    assert ratios["SPY"] == pytest.approx(today.volume / past.volume, rel=1e-12)
    assert minute_volume_ratios(["SPY"], at, sessions=0) == {"SPY": None}


@pytest.mark.django_db
def test_the_regime_serves_the_spec_keys_from_the_regime_engine(
    bull_call: Any, auth_client: APIClient, settings: Any
) -> None:
    _, clock, _, _ = bull_call
    with use_clock(clock):
        response = auth_client.get("/api/v1/risk/regime")
    assert response.status_code == 200, response.content
    body = response.json()
    assert_matches_example(body, spec_example(ZERO_DTE, "GET /risk/regime"))
    correlation = market_correlation(clock.read())
    vix = correlation["vix_level"]
    assert vix is not None and body["vix_level"] == pytest.approx(vix)
    # The regime by hand from the VIX thresholds 15 / 25 / 35.
    expected = (
        "low_volatility"
        if vix < 15
        else "normal"
        if vix < 25
        else "high_volatility"
        if vix < 35
        else "extreme_volatility"
    )
    index = ["low_volatility", "normal", "high_volatility", "extreme_volatility"].index(expected)
    assert body["regime_type"] == expected
    assert body["adaptation_factor"] == settings.REGIME_ADAPTATION[index]
    assert body["risk_adjustments"] == {
        "position_size_multiplier": settings.REGIME_ADAPTATION[index],
        "confidence_threshold_adjustment": settings.REGIME_CONFIDENCE_BUMP[index],
        "stop_loss_tightening": settings.REGIME_STOP_TIGHTENING[index],
    }
    assert body["emergency_thresholds"] == {
        "vix_emergency": 35.0,
        "correlation_breakdown": 0.3,
        "volume_spike": 3.0,
    }
    readings = body["emergency_readings"]
    assert readings["correlation_20_spy_qqq"] == pytest.approx(
        correlation["correlations_20"]["SPY_QQQ"]
    )
    assert set(readings["volume_ratios"]) == {"SPY", "QQQ", "IWM"}
    assert APIClient().get("/api/v1/risk/regime").status_code == 401


@pytest.mark.django_db
def test_the_risk_metrics_agree_with_the_book_worked_by_hand(
    bull_call: Any, auth_client: APIClient, make_user: Any
) -> None:
    signal, clock, low, high = bull_call
    user = auth_client.user  # type: ignore[attr-defined]
    _limits(user, daily_loss_limit="2400", stop_loss="0.9")
    TradingConfig.objects.filter(user=user).update(profit_target=D("2"))
    execute_over_http(auth_client, clock, signal, 1000)  # 6 packages, $930 + 8.37 in fees
    # The P&L curve, one point a monitor pass: marks 2.25 / 0.53 → +108 − 6 = +102;
    # 2.00 / 0.53 → −42 − 6 = −48; 2.10 / 0.53 → +18 − 6 = +12. The fall: −48 − 102.
    for minute, (bid, ask) in ((1, ("2.20", "2.30")), (2, ("1.95", "2.05")), (3, ("2.05", "2.15"))):
        at_minute(clock, MINUTE + minute)
        set_quotes(clock, {("call", low): (bid, ask), ("call", high): ("0.50", "0.56")})
        assert _monitor(clock).exits == {}
    with use_clock(clock):
        response = auth_client.get("/api/v1/risk/metrics")
    assert response.status_code == 200, response.content
    body = response.json()
    assert_matches_example(body, spec_example(ZERO_DTE, "GET /risk/metrics"))
    assert body["max_drawdown"] == -150 and body["intraday_max_drawdown"] == -150
    # Cash 100,000 − 938.37, and the legs at 2.10 × 600 − 0.53 × 600 = 942.
    assert body["portfolio_value"] == 99061.63 + 942
    assert body["daily_pnl"] == 12 and body["unrealized_pnl"] == 12
    assert body["daily_pnl_percent"] == pytest.approx(12 / (99061.63 + 942 - 12), abs=1e-6)
    assert body["position_concentration"] == {"SPY": 1.0, "QQQ": 0.0, "IWM": 0.0}
    assert body["risk_limits"] == {
        "daily_loss_limit": 2400,
        "position_limit": 24000,
        "max_positions": 10,
        "daily_loss_reducing_at": 1920,
    }
    assert body["emergency_status"] is False and body["account_state"] == "ACTIVE"
    # The VaR by hand: the rest of the session's moves, the daily SPY returns scaled by
    # sqrt(minutes left / 390); at the close the spread is worth its intrinsic value.
    at = clock.read()
    minutes_left = (calendar.session_close_utc(at.session) - at.now).total_seconds() / 60
    spot = float(ChainSnapshot.objects.filter(symbol="SPY").latest("timestamp").underlying_price)
    closes = [
        float(c)
        for c in PriceBar.objects.filter(security_id="SPY", date__lt=at.session)
        .order_by("-date")
        .values_list("adj_close", flat=True)[:253]
    ][::-1]
    returns = [b / a - 1 for a, b in itertools.pairwise(closes)]
    pnl = []
    for r in returns:
        s = spot * (1 + r * (minutes_left / 390) ** 0.5)
        pnl.append(600 * (max(s - low, 0) - 2.10) - 600 * (max(s - high, 0) - 0.53))
    assert body["var_scenarios"] == len(returns)
    assert body["var_95"] == pytest.approx(float(np.quantile(pnl, 0.05)), abs=0.01)
    assert body["var_95"] < 0 and body["es_95"] <= body["var_95"]
    # Another user sees their own (empty) account.
    other = client_for(make_user(role="trader"))
    with use_clock(clock):
        theirs = other.get("/api/v1/risk/metrics").json()
    assert theirs["open_positions"] == 0 and theirs["portfolio_value"] is None
    assert theirs["max_drawdown"] == 0
    assert theirs["position_concentration"] == {"SPY": 0.0, "QQQ": 0.0, "IWM": 0.0}
    assert APIClient().get("/api/v1/risk/metrics").status_code == 401
