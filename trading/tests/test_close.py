"""Closing 0DTE strategy positions: ``GET /trading/positions`` marks, ``POST
/trading/close/{position_id}`` at market and at a resting limit, whole or partial, the
exit monitor (profit target, stop loss, time exit) and ``POST /risk/emergency``.

The bull call spread and the iron condor are filled and closed against quotes the test
sets, and every price, fee and P&L below is worked out by hand in the comments: the fill
rule (a buy at bid + s × spread rounded up to the cent, a sell at ask − s × spread
rounded down; s = 0.66 for two legs, 0.53 for four) and the default fees ($0.65 a
contract, $0.50 below $0.10 premium; OCC $0.025 and ORF $0.02 a contract; FINRA TAF
$0.00329 a contract sold; SEC $20.60 a million of sale proceeds; each rounded up to the
cent per fill)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from marketdata import calendar
from marketdata.clock import VirtualClock, use_clock
from marketdata.models import ChainSnapshot
from marketdata.producer import MarketProducer, market_close, market_minute
from marketdata.selectors import session_opens_closes
from portfolios.models import Position
from sigmasight.errors import Conflict
from signals.events import signal_created
from signals.models import Signal
from tests.contract import ZERO_DTE, assert_error_envelope, assert_matches_example, spec_example
from trading import jobs, selectors, services
from trading.models import Fill, StrategyPosition, Trade, TradingAccount
from trading.tests.helpers import (
    MINUTE,
    POSITIONS,
    client_for,
    concurrently,
    legs_signal,
    set_quotes,
    strikes_of,
)
from trading.tests.helpers import (
    at_minute as _at,
)
from trading.tests.helpers import (
    cash_of as _cash,
)
from trading.tests.helpers import (
    close_over_http as _close,
)
from trading.tests.helpers import (
    execute_over_http as _execute,
)
from trading.tests.helpers import (
    open_positions_over_http as _positions,
)

D = Decimal


@pytest.mark.django_db
def test_a_bull_call_spread_is_filled_marked_and_closed_as_worked_by_hand(
    bull_call: Any, auth_client: APIClient
) -> None:
    signal, clock, low, high = bull_call
    user = auth_client.user  # type: ignore[attr-defined]
    trade = _execute(auth_client, clock, signal, 1000)
    # Buy 2.00 + 0.66 × 0.10 = 2.066 → 2.07; sell 0.56 − 0.66 × 0.06 = 0.5204 → 0.52.
    assert [o["average_fill_price"] for o in trade["orders"]] == [2.07, 0.52]
    # Debit 1.55 a share, $155 a package: floor(1,000 / 155) = 6 packages, $930 at risk.
    assert trade["net_price"] == 1.55 and trade["quantity"] == 6 and trade["total_cost"] == 930
    # Buy 6 @ 2.07: 3.90 + OCC 0.15 + ORF 0.12 = 4.17. Sell 6 @ 0.52: 3.90 + 0.15 + 0.12
    # + TAF 0.01974 → 0.02 + SEC 312 × 20.60e-6 = 0.0064 → 0.01 = 4.20. Total 8.37.
    assert [o["fees"] for o in trade["orders"]] == [4.17, 4.20] and trade["fees"] == 8.37

    _at(clock, MINUTE + 1)
    set_quotes(clock, {("call", low): ("2.60", "2.70"), ("call", high): ("0.80", "0.86")})
    body = _positions(auth_client, clock)
    assert_matches_example(body, spec_example(ZERO_DTE, "GET /trading/positions"))
    [position] = body["positions"]
    assert position["position_id"] == trade["position_id"] and position["quantity"] == 6
    # Marks at the mids 2.65 and 0.83: (2.65 − 2.07) × 600 = 348; (0.83 − 0.52) × −600 = −186.
    assert [leg["current_price"] for leg in position["legs"]] == [2.65, 0.83]
    assert [leg["unrealized_pnl"] for leg in position["legs"]] == [348, -186]
    assert [leg["quantity"] for leg in position["legs"]] == [6, -6]
    assert position["unrealized_pnl"] == 162 and position["current_value"] == 1092
    assert position["unrealized_pnl_percent"] == pytest.approx(162 / 930, abs=1e-6)
    assert position["target_profit"] == 93 and position["stop_loss"] == 93
    assert position["mark_net_price"] == 1.82
    # A market close now: sell 2.70 − 0.066 = 2.634 → 2.63, buy 0.80 + 0.0396 → 0.84.
    assert position["close_value"] == 1.79

    response = _close(auth_client, clock, trade["position_id"])
    assert response.status_code == 201, response.content
    close = response.json()
    assert close["kind"] == "close" and close["status"] == "filled"
    assert close["reason"] == "manual" and close["position_id"] == trade["position_id"]
    assert [(o["action"], o["average_fill_price"]) for o in close["orders"]] == [
        ("sell", 2.63),
        ("buy", 0.84),
    ]
    # Sell 6 @ 2.63: 3.90 + 0.15 + 0.12 + 0.02 + SEC 1,578 × 20.60e-6 = 0.0325 → 0.04 = 4.23.
    # Buy 6 @ 0.84: 4.17. Exit fees 8.40.
    assert close["fees"] == 8.40 and close["net_price"] == -1.79
    # Gross (1.79 − 1.55) × 600 = 144.00; net of 8.37 + 8.40 in fees: 127.23.
    stored = StrategyPosition.objects.get(pk=trade["position_id"])
    assert stored.status == "closed" and stored.exit_reason == "manual"
    assert stored.realized_pnl == D("127.23") and stored.fees == D("16.77")
    # The ledger agrees: 100,000 − 938.37 at entry + 1,065.60 at exit.
    assert _cash(user) == D("100127.23")
    assert not Position.objects.filter(portfolio__owner=user, closed_at__isnull=True).exists()
    assert _positions(auth_client, clock)["positions"] == []
    [closed] = _positions(auth_client, clock, "closed")["positions"]
    assert closed["realized_pnl"] == 127.23 and closed["exit_reason"] == "manual"
    assert closed["quantity"] == 0 and closed["unrealized_pnl"] == 0

    again = _close(auth_client, clock, trade["position_id"])
    assert again.status_code == 409
    assert_error_envelope(again.json(), code="CONFLICT")


@pytest.mark.django_db
def test_an_iron_condor_is_filled_and_closed_as_worked_by_hand(
    spy_signal: Any, auth_client: APIClient
) -> None:
    signal, clock = spy_signal
    user = auth_client.user  # type: ignore[attr-defined]
    k = strikes_of(clock)
    p1, p2, c2, c1 = k[5], k[10], k[15], k[20]
    legs_signal(
        signal,
        "iron_condor",
        [("buy", "put", p1), ("sell", "put", p2), ("sell", "call", c2), ("buy", "call", c1)],
    )
    set_quotes(
        clock,
        {
            ("put", p1): ("0.20", "0.24"),
            ("put", p2): ("0.60", "0.66"),
            ("call", c2): ("0.55", "0.61"),
            ("call", c1): ("0.15", "0.19"),
        },
    )
    trade = _execute(auth_client, clock, signal, 2000)
    # s = 0.53: 0.20 + 0.0212 → 0.23; 0.66 − 0.0318 → 0.62; 0.61 − 0.0318 → 0.57;
    # 0.15 + 0.0212 → 0.18. Net −0.78 (a credit); max loss (5 − 0.78) × 100 = 422.
    assert [o["average_fill_price"] for o in trade["orders"]] == [0.23, 0.62, 0.57, 0.18]
    assert trade["net_price"] == -0.78
    assert trade["quantity"] == 4 and trade["total_cost"] == 1688  # floor(2,000 / 422)
    # Buys 4 @ 0.23 and 0.18: 2.60 + 0.10 + 0.08 = 2.78 each. Sells 4 @ 0.62 and 0.57:
    # 2.78 + TAF 0.01316 → 0.02 + SEC (248 or 228) × 20.60e-6 → 0.01 = 2.81 each.
    assert [o["fees"] for o in trade["orders"]] == [2.78, 2.81, 2.81, 2.78]
    assert trade["fees"] == 11.18

    _at(clock, MINUTE + 2)
    set_quotes(
        clock,
        {
            ("put", p1): ("0.05", "0.08"),
            ("put", p2): ("0.20", "0.24"),
            ("call", c2): ("0.30", "0.35"),
            ("call", c1): ("0.07", "0.10"),
        },
    )
    response = _close(auth_client, clock, trade["position_id"])
    assert response.status_code == 201, response.content
    close = response.json()
    # Sell 0.08 − 0.0159 → 0.06; buy 0.20 + 0.0212 → 0.23; buy 0.30 + 0.0265 → 0.33;
    # sell 0.10 − 0.0159 → 0.08. Paid 0.42 a share to close.
    assert [o["average_fill_price"] for o in close["orders"]] == [0.06, 0.23, 0.33, 0.08]
    assert close["net_price"] == 0.42
    # Sells 4 @ 0.06 and 0.08 pay $0.50 a contract (below $0.10): 2.00 + 0.10 + 0.08
    # + 0.02 + SEC 0.01 = 2.21 each; buys 4 @ 0.23 and 0.33: 2.78 each. Total 9.98.
    assert [o["fees"] for o in close["orders"]] == [2.21, 2.78, 2.78, 2.21]
    assert close["fees"] == 9.98
    # Legs: (0.06 − 0.23) × 400 = −68; −(0.23 − 0.62) × 400 = 156; −(0.33 − 0.57) × 400
    # = 96; (0.08 − 0.18) × 400 = −40. Gross 144; net of 11.18 + 9.98: 122.84.
    stored = StrategyPosition.objects.get(pk=trade["position_id"])
    assert stored.realized_pnl == D("122.84") and stored.status == "closed"
    assert _cash(user) == D("100122.84")


@pytest.mark.django_db
def test_a_limit_close_rests_until_the_opposite_quote_reaches_it(
    bull_call: Any, auth_client: APIClient
) -> None:
    signal, clock, low, high = bull_call
    trade = _execute(auth_client, clock, signal, 1000)
    position_id = trade["position_id"]
    _at(clock, MINUTE + 1)
    set_quotes(clock, {("call", low): ("2.60", "2.70"), ("call", high): ("0.80", "0.86")})
    # The fill rule would get 1.79: a limit of 2.00 for 2 of the 6 packages rests.
    response = _close(
        auth_client,
        clock,
        position_id,
        {"close_type": "limit", "limit_price": 2.00, "partial_quantity": 2},
    )
    assert response.status_code == 201, response.content
    resting = response.json()
    assert resting["status"] == "submitted" and resting["executed_at"] is None
    assert {o["status"] for o in resting["orders"]} == {"submitted"}
    assert resting["package_limit_price"] == 2.0 and resting["net_price"] == -2.0
    assert not Fill.objects.filter(order__trade_id=resting["trade_id"]).exists()
    [shown] = _positions(auth_client, clock)["positions"]
    assert shown["working_close_trade_id"] == resting["trade_id"] and shown["quantity"] == 6
    second = _close(auth_client, clock, position_id)
    assert second.status_code == 409
    assert second.json()["error"]["details"]["trade_id"] == resting["trade_id"]

    # The natural price 2.60 − 0.86 = 1.74 is short of 2.00: it keeps resting.
    _at(clock, MINUTE + 2)
    set_quotes(clock, {("call", low): ("2.60", "2.70"), ("call", high): ("0.80", "0.86")})
    assert services.working_closes_fill(at=clock.read()) == 0
    assert Trade.objects.get(pk=resting["trade_id"]).status == "submitted"
    # 2.95 − 0.95 = 2.00 reaches it: each leg fills at its side of the quote.
    _at(clock, MINUTE + 3)
    set_quotes(clock, {("call", low): ("2.95", "3.05"), ("call", high): ("0.90", "0.95")})
    assert services.working_closes_fill(at=clock.read()) == 1
    filled = Trade.objects.get(pk=resting["trade_id"])
    assert filled.status == "filled" and filled.net_price == D("-2.0000")
    assert [f.price for f in Fill.objects.filter(order__trade=filled).order_by("order__leg")] == [
        D("2.95"),
        D("0.95"),
    ]
    # Gross (2.00 − 1.55) × 200 = 90. Sell 2 @ 2.95: 1.30 + 0.05 + 0.04 + TAF 0.01 + SEC
    # 590 × 20.60e-6 → 0.02 = 1.42; buy 2 @ 0.95: 1.39. Entry fees' share 8.37 × 2/6 = 2.79.
    assert filled.fees == D("2.81")
    stored = StrategyPosition.objects.get(pk=position_id)
    assert stored.quantity == 4 and stored.status == "open"
    assert stored.realized_pnl == D("84.40")
    # The book's legs are down to 4 contracts each.
    assert sorted(
        Position.objects.filter(portfolio__owner=auth_client.user).values_list(  # type: ignore[attr-defined]
            "quantity", flat=True
        )
    ) == [D(-4), D(4)]


@pytest.mark.django_db
def test_a_leg_without_a_fillable_quote_rejects_the_whole_close(
    bull_call: Any, auth_client: APIClient
) -> None:
    signal, clock, low, high = bull_call
    trade = _execute(auth_client, clock, signal, 1000)
    _at(clock, MINUTE + 1)
    set_quotes(clock, {("call", low): ("2.60", "2.70"), ("call", high): ("0.85", "0.85")})
    response = _close(auth_client, clock, trade["position_id"])
    assert response.status_code == 422
    assert_error_envelope(response.json(), code="ORDER_REJECTED")
    details = response.json()["error"]["details"]
    assert details["reason"] == "locked_quote" and details["leg"] == 1
    assert not Trade.objects.filter(kind="close").exists()
    assert StrategyPosition.objects.get(pk=trade["position_id"]).quantity == 6
    stale = _close(auth_client, _at(clock, MINUTE + 5), trade["position_id"])
    assert stale.status_code == 422 and stale.json()["error"]["details"]["reason"] == "stale_quote"
    closed = _close(auth_client, _at(clock, 390), trade["position_id"])
    assert closed.status_code == 422
    assert_error_envelope(closed.json(), code="MARKET_CLOSED")
    assert not Trade.objects.filter(kind="close").exists()


@pytest.mark.django_db
def test_positions_are_the_owners_only(
    bull_call: Any, auth_client: APIClient, make_user: Any
) -> None:
    signal, clock, _, _ = bull_call
    trade = _execute(auth_client, clock, signal, 1000)
    other = client_for(make_user(role="trader"))
    assert _positions(other, clock)["positions"] == []
    response = _close(other, clock, trade["position_id"])
    assert response.status_code == 404
    assert_error_envelope(response.json(), code="NOT_FOUND")
    services.trading_account_ensure(user=other.user)  # type: ignore[attr-defined]
    assert _close(other, clock, trade["position_id"]).status_code == 404
    assert _close(auth_client, clock, "pos_000000000000").status_code == 404
    viewer = client_for(make_user(role="viewer"))
    assert _close(viewer, clock, trade["position_id"]).status_code == 403
    assert APIClient().get(POSITIONS).status_code == 401
    for bad in (
        {"close_type": "limit"},
        {"close_type": "market", "limit_price": 1},
        {"partial_quantity": 0},
        {"partial_quantity": 7},
        {"close_type": "stop"},
    ):
        assert _close(auth_client, clock, trade["position_id"], bad).status_code == 422, bad
    with use_clock(clock):
        assert auth_client.get(POSITIONS, {"status": "gone"}).status_code == 422
    assert not Trade.objects.filter(kind="close").exists()
    assert StrategyPosition.objects.get(pk=trade["position_id"]).quantity == 6


@pytest.mark.django_db
def test_the_monitor_exits_on_the_target_the_stop_and_the_time_exit(
    bull_call: Any, auth_client: APIClient, settings: Any
) -> None:
    # The fourth entry follows the third's stop-loss exit: no cooldown here (test_risk_states).
    settings.RISK_STOP_LOSS_COOLDOWN_MINUTES = 0
    signal, clock, low, high = bull_call
    first = _execute(auth_client, clock, signal, 1000)["position_id"]
    second = _execute(auth_client, clock, signal, 1000)["position_id"]
    position = StrategyPosition.objects.get(pk=first)
    # Inside the target and the stop: the mids 2.20 − 0.55 = 1.65, +0.10 against ±0.155.
    # (A market close would get 2.25 − 0.066 → 2.18 and 0.52 + 0.0396 → 0.56: 1.62.)
    _at(clock, MINUTE + 1)
    set_quotes(clock, {("call", low): ("2.15", "2.25"), ("call", high): ("0.52", "0.58")})
    decision = services.exit_decision(position, clock.read())
    assert decision.reason is None and decision.mark_value == pytest.approx(1.65)
    assert decision.close_value == pytest.approx(1.62)
    assert decision.target == pytest.approx(0.155)
    assert services.positions_monitor(at=clock.read()).exits == {}

    # The mids 2.65 − 0.83 = 1.82 (+0.27): both positions reach the profit target.
    _at(clock, MINUTE + 2)
    set_quotes(clock, {("call", low): ("2.60", "2.70"), ("call", high): ("0.80", "0.86")})
    result = services.positions_monitor(at=clock.read())
    assert result.exits == {first: "profit_target", second: "profit_target"}
    assert set(StrategyPosition.objects.values_list("exit_reason", flat=True)) == {"profit_target"}
    assert services.positions_monitor(at=clock.read()).exits == {}  # nothing left to exit

    # A third falls to the stop: the mids 1.75 − 0.475 = 1.275 (−0.275) are below −0.155
    # × the tightening.
    _at(clock, MINUTE + 3)
    set_quotes(clock, {("call", low): ("2.00", "2.10"), ("call", high): ("0.50", "0.56")})
    third = _execute(auth_client, clock, signal, 1000)["position_id"]
    _at(clock, MINUTE + 4)
    set_quotes(clock, {("call", low): ("1.70", "1.80"), ("call", high): ("0.45", "0.50")})
    tightening = services._stop_tightening(clock.read())
    decision = services.exit_decision(
        StrategyPosition.objects.get(pk=third), clock.read(), tightening=tightening
    )
    assert decision.stop == pytest.approx(0.155 * tightening)
    assert services.positions_monitor(at=clock.read()).exits == {third: "stop_loss"}

    # A fourth, inside both, is closed by the time exit at 15:45 ET.
    _at(clock, MINUTE + 5)
    set_quotes(clock, {("call", low): ("2.00", "2.10"), ("call", high): ("0.50", "0.56")})
    fourth = _execute(auth_client, clock, signal, 1000)["position_id"]
    exit_minute = int((services.time_exit(clock.session) - clock.read().now).total_seconds() // 60)
    _at(clock, clock.minute + exit_minute - 1)
    set_quotes(clock, {("call", low): ("2.00", "2.10"), ("call", high): ("0.50", "0.56")})
    assert services.positions_monitor(at=clock.read()).exits == {}
    _at(clock, clock.minute + 1)
    set_quotes(clock, {("call", low): ("2.00", "2.10"), ("call", high): ("0.50", "0.56")})
    assert clock.read().now == services.time_exit(clock.session)
    assert services.positions_monitor(at=clock.read()).exits == {fourth: "time_exit"}
    assert not StrategyPosition.objects.filter(status="open").exists()


@pytest.mark.django_db
def test_an_emergency_halt_closes_the_book_and_blocks_entries_until_resumed(
    bull_call: Any, auth_client: APIClient
) -> None:
    signal, clock, _, _ = bull_call
    trade = _execute(auth_client, clock, signal, 1000)
    with use_clock(clock):
        response = auth_client.post(
            "/api/v1/risk/emergency",
            {"reason": "manual_halt", "close_positions": True},
            format="json",
        )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["account_state"] == "HALTED" and body["emergency_status"] is True
    assert body["closed_positions"] == [trade["position_id"]] and body["warnings"] == []
    assert StrategyPosition.objects.get(pk=trade["position_id"]).exit_reason == "emergency"
    with use_clock(clock):
        refused = auth_client.post(
            "/api/v1/trading/execute", {"signal_id": signal.id}, format="json"
        )
        assert refused.status_code == 422
        assert_error_envelope(refused.json(), code="EMERGENCY_HALT_ACTIVE")
        resumed = auth_client.post("/api/v1/risk/resume", {"reason": "checked"}, format="json")
        assert resumed.status_code == 200 and resumed.json()["account_state"] == "ACTIVE"
        again = auth_client.post("/api/v1/risk/resume", {"reason": "twice"}, format="json")
        assert again.status_code == 409
        assert auth_client.post("/api/v1/risk/resume", {}, format="json").status_code == 422
    assert _execute(auth_client, clock, signal, 1000)["status"] == "filled"


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_closes_of_one_position_close_it_once(
    bull_call: Any, trader: Any
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's")
    signal, clock, _, _ = bull_call
    with use_clock(clock):
        trade, _ = services.trade_execute(
            user=trader, request=services.ExecuteRequest(signal_id=signal.id, position_size=D(1000))
        )
    position_id = StrategyPosition.objects.get(trade=trade).pk
    at = clock.read()
    results = concurrently(
        [
            lambda: services.strategy_position_close(
                user=trader, position_id=position_id, request=services.CloseRequest(), at=at
            )
        ]
        * 20
    )
    closes = [r for r in results if not isinstance(r, Exception)]
    assert len(closes) == 1, results
    assert all(isinstance(r, Conflict) for r in results if isinstance(r, Exception)), results
    assert Trade.objects.filter(kind="close").count() == 1
    assert Fill.objects.filter(order__trade__kind="close").count() == 2
    assert StrategyPosition.objects.get(pk=position_id).status == "closed"
    assert not Position.objects.filter(portfolio__owner=trader, closed_at__isnull=True).exists()


def test_the_time_exit_is_fifteen_minutes_before_the_close() -> None:
    assert services.time_exit(dt.date(2026, 11, 30)) == dt.datetime(
        2026, 11, 30, 20, 45, tzinfo=dt.UTC
    )
    # The day after Thanksgiving closes at 13:00 ET: the time exit is 12:45.
    assert services.time_exit(dt.date(2026, 11, 27)) == dt.datetime(
        2026, 11, 27, 17, 45, tzinfo=dt.UTC
    )


@pytest.mark.django_db
def test_the_producers_market_minute_runs_the_monitor(
    bull_call: Any, auth_client: APIClient
) -> None:
    signal, clock, low, high = bull_call
    position_id = _execute(auth_client, clock, signal, 1000)["position_id"]
    _at(clock, 375)  # 15:45 ET, the time exit
    set_quotes(clock, {("call", low): ("2.00", "2.10"), ("call", high): ("0.50", "0.56")})
    replies = market_minute.send(sender=None, at=clock.read())
    [result] = [r for receiver, r in replies if receiver is jobs.on_market_minute]
    assert result is not None and result.exits == {position_id: "time_exit"}
    assert StrategyPosition.objects.get(pk=position_id).exit_reason == "time_exit"
    fit = dataclasses.replace(clock.read(), clock="fit")
    assert jobs.on_market_minute(None, at=fit) is None


@pytest.mark.django_db
def test_the_daily_loss_limit_counts_the_sessions_realized_and_unrealized_loss(
    bull_call: Any, auth_client: APIClient
) -> None:
    signal, clock, low, high = bull_call
    user = auth_client.user  # type: ignore[attr-defined]
    services.trading_config_update(user_id=user.pk, changes={"daily_loss_limit": D("300")})
    first = _execute(auth_client, clock, signal, 1000)["position_id"]
    _at(clock, MINUTE + 1)
    set_quotes(clock, {("call", low): ("1.70", "1.80"), ("call", high): ("0.45", "0.50")})
    assert _close(auth_client, clock, first).status_code == 201
    # Sell 1.80 − 0.066 → 1.73, buy 0.45 + 0.033 → 0.49: (1.24 − 1.55) × 600 = −186, less
    # 8.37 at entry and 4.22 + 4.17 at exit: −202.76, inside the 300 limit.
    day = selectors.session_pnl(user=user, at=clock.read())
    assert day.realized == D("-202.76") and day.unrealized == 0
    set_quotes(clock, {("call", low): ("2.00", "2.10"), ("call", high): ("0.50", "0.56")})
    second = _execute(auth_client, clock, signal, 1000)["position_id"]
    # Marked at mids 1.75 and 0.475 the second is (1.75 − 2.07) × 600 − (0.475 − 0.52) × 600
    # = −165 unrealized: −367.76 in the day, past the limit.
    _at(clock, MINUTE + 2)
    set_quotes(clock, {("call", low): ("1.70", "1.80"), ("call", high): ("0.45", "0.50")})
    day = selectors.session_pnl(user=user, at=clock.read())
    assert day.unrealized == D("-165.00") and day.total == D("-367.76")
    # What an execution checks, from one read: the open position and the same day's P&L.
    book = selectors.open_book(user=user, at=clock.read())
    assert book == selectors.OpenBook(open_positions=1, day=day)
    # An open position of an earlier session counts against max_positions, not today.
    entry = Trade.objects.filter(position=second)
    session = entry.get().session
    entry.update(session=session - dt.timedelta(days=1))
    book = selectors.open_book(user=user, at=clock.read())
    assert book.open_positions == 1 and book.day.unrealized == 0
    assert book.day.realized == D("-202.76")
    entry.update(session=session)
    with use_clock(clock):
        refused = auth_client.post(
            "/api/v1/trading/execute", {"signal_id": signal.id}, format="json"
        )
    assert refused.status_code == 422
    assert_error_envelope(refused.json(), code="DAILY_LOSS_LIMIT_EXCEEDED")
    assert refused.json()["error"]["details"]["daily_pnl"] == "-367.76"
    assert StrategyPosition.objects.filter(user=user).count() == 2
    assert _close(auth_client, clock, second).status_code == 201  # exits stay allowed


@pytest.mark.django_db
def test_auto_execute_trades_a_new_signal_once_for_the_users_it_reaches(
    bull_call: Any, make_user: Any
) -> None:
    signal, clock, _, _ = bull_call
    eager, picky, viewer, manual = (
        make_user(role="trader"),
        make_user(role="trader"),
        make_user(role="viewer"),
        make_user(role="trader"),
    )
    bump = D(str(signal.regime.get("confidence_threshold_bump") or 0))
    confidence = D(str(signal.confidence))
    for user, threshold, auto in (
        (eager, confidence - bump, True),  # exactly reached
        (picky, min(D(1), confidence - bump + D("0.0001")), True),
        (viewer, D(0), True),
        (manual, D(0), False),
    ):
        services.trading_config_update(
            user_id=user.pk,
            changes={
                "auto_execute": auto,
                "confidence_threshold": threshold.quantize(D("0.0001"), rounding="ROUND_FLOOR"),
                "position_size": D(1000),
            },
        )
    with use_clock(clock):
        replies = signal_created.send(sender=Signal, created=signal)
        [trades] = [r for receiver, r in replies if receiver is jobs.on_signal_created]
        assert len(trades) == 1
        assert Trade.objects.get(pk=trades[0]).user == eager
        assert jobs.on_signal_created(None, created=signal) == trades  # the same trade again
    assert Trade.objects.count() == 1
    assert Trade.objects.get().idempotency_key == f"auto:{signal.id}"


@pytest.mark.django_db
def test_a_position_held_to_the_close_settles_into_stock(
    bull_call: Any, auth_client: APIClient
) -> None:
    signal, clock, low, high = bull_call
    user = auth_client.user  # type: ignore[attr-defined]
    position_id = _execute(auth_client, clock, signal, 1000)["position_id"]
    _at(clock, 390)
    close = session_opens_closes(pairs={("SPY", clock.session)})[("SPY", clock.session)][1]
    replies = market_close.send(sender=None, at=clock.read())
    [result] = [r for receiver, r in replies if receiver is jobs.on_market_close]
    assert result["settled"] == [position_id], result
    stored = StrategyPosition.objects.get(pk=position_id)
    assert stored.status == "closed" and stored.exit_reason == "settlement"
    assert stored.quantity == 0 and stored.settlement["price"] == str(close)
    long_value = max(D(0), close - D(str(low)))
    short_value = max(D(0), close - D(str(high)))
    # Six packages: (long intrinsic − 2.07) × 600 − (short intrinsic − 0.52) × 600, less
    # the 8.37 entry fees.
    expected = (long_value - D("2.07")) * 600 - (short_value - D("0.52")) * 600 - D("8.37")
    assert stored.realized_pnl == expected.quantize(D("0.01"))
    shares = (600 if long_value >= D("0.01") else 0) - (600 if short_value >= D("0.01") else 0)
    assert [leg["shares"] for leg in stored.settlement["legs"]] == [
        600 if long_value >= D("0.01") else 0,
        -600 if short_value >= D("0.01") else 0,
    ]
    held = Position.objects.filter(portfolio__owner=user, closed_at__isnull=True)
    assert not held.filter(multiplier__gt=1).exists()  # no option is left open
    stock = held.filter(security_id="SPY").first()
    assert (stock.quantity if stock else 0) == shares
    assert jobs.on_market_close(None, at=clock.read())["settled"] == []  # idempotent


@pytest.mark.django_db
def test_the_producer_sends_market_close_once_per_session_it_published() -> None:
    received: list[Any] = []

    def follow(sender: Any, *, at: Any, **kwargs: Any) -> None:
        received.append(at)

    market_close.connect(follow, dispatch_uid="test-follow-close")
    try:
        producer = MarketProducer()
        session = dt.date(2026, 11, 30)
        producer.last_minute = ("replay", session, 389)
        with use_clock(VirtualClock(session, minute=390)):
            assert producer.tick() == []
            assert producer.tick() == []
        assert [(a.session, a.status, a.minute) for a in received] == [(session, "closed", 390)]
        assert received[0].now == calendar.session_close_utc(session)
    finally:
        market_close.disconnect(dispatch_uid="test-follow-close")


@pytest.mark.django_db
def test_a_fill_takes_the_displayed_size_and_cancels_the_rest(
    bull_call: Any, auth_client: APIClient
) -> None:
    signal, clock, low, high = bull_call
    snapshot = ChainSnapshot.objects.filter(symbol="SPY").latest("timestamp")
    for row in snapshot.calls:
        if row["strike"] == low:
            row["ask_size"] = 4  # the buy takes the ask's size: 4 packages
        if row["strike"] == high:
            row["bid_size"] = 9
    snapshot.save()
    trade = _execute(auth_client, clock, signal, 1000)  # 6 packages asked for
    assert trade["requested_quantity"] == 6 and trade["quantity"] == 4
    assert trade["total_cost"] == 620  # 4 × $155
    assert [(o["quantity"], o["filled_quantity"], o["status"]) for o in trade["orders"]] == [
        (6, 4, "cancelled"),
        (6, 4, "cancelled"),
    ]
    # 4 contracts a leg: 2.60 + 0.10 + 0.08 = 2.78 and 2.78 + TAF 0.02 + SEC 0.01 = 2.81.
    assert trade["fees"] == 5.59
    assert StrategyPosition.objects.get(pk=trade["position_id"]).quantity == 4
    _at(clock, MINUTE + 1)
    set_quotes(clock, {("call", low): ("2.60", "2.70"), ("call", high): ("0.80", "0.86")})
    snapshot = ChainSnapshot.objects.filter(symbol="SPY").latest("timestamp")
    for row in snapshot.calls:
        if row["strike"] == low:
            row["bid_size"] = 3  # closing sells the long leg into the bid: 3 packages
    snapshot.save()
    close = _close(auth_client, clock, trade["position_id"]).json()
    assert close["quantity"] == 3 and close["requested_quantity"] == 4
    assert StrategyPosition.objects.get(pk=trade["position_id"]).quantity == 1


@pytest.mark.django_db
def test_a_partly_filled_entry_marks_and_closes_the_packages_it_filled(
    bull_call: Any, auth_client: APIClient
) -> None:
    # 6 packages asked for and 2 filled: each leg holds 2 contracts, not 6 // 2 = 3.
    signal, clock, low, high = bull_call
    snapshot = ChainSnapshot.objects.filter(symbol="SPY").latest("timestamp")
    for row in snapshot.calls:
        if row["strike"] == low:
            row["ask_size"] = 2
    snapshot.save()
    trade = _execute(auth_client, clock, signal, 1000)
    assert trade["requested_quantity"] == 6 and trade["quantity"] == 2
    _at(clock, MINUTE + 1)
    set_quotes(clock, {("call", low): ("2.60", "2.70"), ("call", high): ("0.80", "0.86")})
    [position] = _positions(auth_client, clock)["positions"]
    assert [leg["quantity"] for leg in position["legs"]] == [2, -2]
    # A package is one contract a leg: it closes for 2.63 − 0.84 as in the full fill
    # above, not for three times that.
    assert position["close_value"] == 1.79
    close = _close(auth_client, clock, trade["position_id"]).json()
    assert close["quantity"] == 2
    assert [o["filled_quantity"] for o in close["orders"]] == [2, 2]
    assert not Position.objects.filter(
        portfolio__owner=auth_client.user,  # type: ignore[attr-defined]
        closed_at__isnull=True,
    ).exists()


@pytest.mark.django_db
def test_a_repeating_replay_counts_only_its_current_loop(
    bull_call: Any, auth_client: APIClient, settings: Any
) -> None:
    signal, clock, low, high = bull_call
    user = auth_client.user  # type: ignore[attr-defined]
    settings.MARKET_REPLAY_REPEAT = True
    first = _execute(auth_client, clock, signal, 1000)["position_id"]
    _at(clock, MINUTE + 1)
    set_quotes(clock, {("call", low): ("1.70", "1.80"), ("call", high): ("0.45", "0.50")})
    assert _close(auth_client, clock, first).status_code == 201
    assert selectors.session_pnl(user=user, at=clock.read()).realized == D("-202.76")
    # The loop closes and begins again: its P&L and its report start afresh.
    jobs.on_market_close(None, at=dataclasses.replace(clock.read(), status="closed"))
    assert selectors.session_pnl(user=user, at=clock.read()).realized == 0
    assert selectors.session_report(session=clock.session, clock="replay") == []
    [every] = selectors.session_report(session=clock.session, clock="replay", all_loops=True)
    assert len(every["trades"]) == 2 and every["realized_pnl"] == D("-202.76")
    set_quotes(clock, {("call", low): ("2.00", "2.10"), ("call", high): ("0.50", "0.56")})
    _execute(auth_client, clock, signal, 1000)
    [current] = selectors.session_report(session=clock.session, clock="replay")
    assert len(current["trades"]) == 1 and current["open_positions"] == 1


@pytest.mark.django_db
def test_an_admin_halts_and_resumes_any_account_and_no_one_else_can(
    bull_call: Any, auth_client: APIClient, make_user: Any
) -> None:
    signal, clock, _, _ = bull_call
    trade = _execute(auth_client, clock, signal, 1000)
    owner = auth_client.user  # type: ignore[attr-defined]
    admin = client_for(make_user(role="admin"))
    other = client_for(make_user(role="trader"))
    halt = {"reason": "risk desk", "close_positions": True, "user_id": str(owner.pk)}
    with use_clock(clock):
        # Another trader cannot name the account: 404, and nothing changes.
        refused = other.post("/api/v1/risk/emergency", halt, format="json")
        assert refused.status_code == 404
        assert_error_envelope(refused.json(), code="NOT_FOUND")
        assert TradingAccount.objects.get(user=owner).state == "ACTIVE"
        assert StrategyPosition.objects.get(pk=trade["position_id"]).status == "open"
        unknown = dict(halt, user_id="00000000-0000-4000-8000-000000000000")
        assert admin.post("/api/v1/risk/emergency", unknown, format="json").status_code == 404

        response = admin.post("/api/v1/risk/emergency", halt, format="json")
        assert response.status_code == 200, response.content
        assert response.json()["closed_positions"] == [trade["position_id"]]
        assert TradingAccount.objects.get(user=owner).state == "HALTED"
        assert TradingAccount.objects.get(user=owner).state_reason == "risk desk"
        assert not TradingAccount.objects.filter(user=admin.user).exists()  # type: ignore[attr-defined]

        blocked = auth_client.post(
            "/api/v1/trading/execute", {"signal_id": signal.id}, format="json"
        )
        assert_error_envelope(blocked.json(), code="EMERGENCY_HALT_ACTIVE")
        resume = {"reason": "cleared", "user_id": str(owner.pk)}
        assert other.post("/api/v1/risk/resume", resume, format="json").status_code == 404
        assert admin.post("/api/v1/risk/resume", resume, format="json").status_code == 200
    assert TradingAccount.objects.get(user=owner).state == "ACTIVE"
