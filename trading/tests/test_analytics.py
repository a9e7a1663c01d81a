"""``GET /analytics/performance`` and ``GET /analytics/signals`` against figures worked out
by hand from the trades and the stored signals (the spec's keys; only the user's own).

The bull call spread of ``conftest.bull_call`` fills 6 packages for $930 at risk and 8.37
in fees. Closed at 2.63 / 0.84 it realizes +127.23, at 1.73 / 0.49 −202.76 (both net of
the entry's and the exit's fees: test_close)."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from rest_framework.test import APIClient

from marketdata import calendar
from marketdata.clock import VirtualClock, use_clock
from risk.engine.performance import daily_risk_free
from signals import services as signal_services
from signals.models import Signal
from tests.contract import ZERO_DTE, assert_matches_example, spec_example
from trading import selectors
from trading.models import StrategyPosition
from trading.tests.helpers import (
    MINUTE,
    at_minute,
    client_for,
    close_over_http,
    execute_over_http,
    set_quotes,
)

D = Decimal
PERFORMANCE = "/api/v1/analytics/performance"
SIGNALS = "/api/v1/analytics/signals"


def _win_and_loss(bull_call: Any, client: APIClient) -> tuple[VirtualClock, list[str]]:
    signal, clock, low, high = bull_call
    first = execute_over_http(client, clock, signal, 1000)["position_id"]
    second = execute_over_http(client, clock, signal, 1000)["position_id"]
    at_minute(clock, MINUTE + 1)
    set_quotes(clock, {("call", low): ("2.60", "2.70"), ("call", high): ("0.80", "0.86")})
    assert close_over_http(client, clock, first).status_code == 201
    at_minute(clock, MINUTE + 2)
    set_quotes(clock, {("call", low): ("1.70", "1.80"), ("call", high): ("0.45", "0.50")})
    assert close_over_http(client, clock, second).status_code == 201
    realized = [StrategyPosition.objects.get(pk=p).realized_pnl for p in (first, second)]
    assert realized == [D("127.23"), D("-202.76")]
    return clock, [first, second]


@pytest.mark.django_db
def test_the_performance_agrees_with_the_trades_worked_by_hand(
    bull_call: Any, auth_client: APIClient, make_user: Any
) -> None:
    clock, _ = _win_and_loss(bull_call, auth_client)
    with use_clock(clock):
        response = auth_client.get(PERFORMANCE)
    assert response.status_code == 200, response.content
    body = response.json()
    assert_matches_example(body, spec_example(ZERO_DTE, "GET /analytics/performance"))
    assert body["period"] == {
        "start_date": clock.session.isoformat(),
        "end_date": clock.session.isoformat(),
        "trading_days": 1,
    }
    overall = body["overall_performance"]
    win, loss = 127.23 / 930, -202.76 / 930
    assert overall["total_trades"] == 2 and overall["win_rate"] == 0.5
    assert overall["avg_win"] == pytest.approx(win, abs=1e-6)
    assert overall["avg_loss"] == pytest.approx(loss, abs=1e-6)
    assert overall["profit_factor"] == pytest.approx(127.23 / 202.76, abs=1e-6)
    assert overall["total_return"] == pytest.approx(-75.53 / 100_000, abs=1e-9)
    assert overall["max_drawdown"] == pytest.approx(-75.53 / 100_000, abs=1e-9)
    assert overall["sharpe_ratio"] is None  # one session: no Sharpe, and a warning says so
    assert any("sharpe" in w for w in body["warnings"])
    # Fees: two entries at 8.37; the first close 8.40 (test_close). The second sells 6 @
    # 1.80 − 0.066 → 1.73 (3.90 + 0.15 + 0.12 + TAF 0.02 + SEC 1,038 × 20.60e-6 → 0.03 =
    # 4.22) and buys 6 @ 0.45 + 0.033 → 0.49 (4.17): 8.39.
    assert overall["fees"] == 2 * 8.37 + 8.40 + 8.39
    assert body["by_symbol"]["SPY"]["trades"] == 2
    assert body["by_symbol"]["SPY"]["total_return"] == pytest.approx(-75.53 / 100_000, abs=1e-9)
    strategy = body["by_strategy"]["bull_call_spread"]
    assert strategy["trades"] == 2 and strategy["win_rate"] == 0.5
    assert strategy["avg_return"] == pytest.approx((win + loss) / 2, abs=1e-6)

    # Over two sessions the daily equity returns are [0, −75.53 / 100,000]: the Sharpe
    # ratio by hand, with the daily risk-free rate.
    before = calendar.previous_session(clock.session)
    with use_clock(clock):
        two = auth_client.get(PERFORMANCE, {"start_date": before.isoformat()}).json()
    assert two["period"]["trading_days"] == 2
    rate = 0.04  # RISK_FREE_RATE: the Fama-French series ends in 2018
    excess = np.array([0.0, -75.53 / 100_000]) - daily_risk_free(rate)
    sharpe = math.sqrt(252) * excess.mean() / excess.std(ddof=1)
    assert two["overall_performance"]["sharpe_ratio"] == pytest.approx(sharpe, abs=1e-5)

    # A symbol filter, bad input, and another user's (empty) analytics.
    with use_clock(clock):
        assert (
            auth_client.get(PERFORMANCE, {"symbol": "QQQ"}).json()["overall_performance"][
                "total_trades"
            ]
            == 0
        )
        assert auth_client.get(PERFORMANCE, {"symbol": "XYZ"}).status_code == 422
        assert auth_client.get(PERFORMANCE, {"start_date": "2026-13-01"}).status_code == 422
        late = {"start_date": "2026-12-02", "end_date": "2026-12-01"}
        assert auth_client.get(PERFORMANCE, late).status_code == 422
        other = client_for(make_user(role="trader")).get(PERFORMANCE).json()
    assert other["overall_performance"]["total_trades"] == 0
    assert APIClient().get(PERFORMANCE).status_code == 401


def _signals(base: Signal, cases: list[tuple[float, bool | None, float | None]]) -> list[str]:
    """Copies of ``base`` at later minutes with the given (confidence, hit, outcome P&L)."""
    ids = []
    for i, (confidence, hit, pnl) in enumerate(cases, start=1):
        copy = Signal.objects.get(pk=base.pk)
        copy.pk = f"sig_case{i:07d}"
        copy.minute = base.minute + i
        copy.generated_at = base.generated_at + dt.timedelta(minutes=i)
        copy.confidence = confidence
        copy.outcome_hit = hit
        copy.outcome_reason = "" if hit is None else ("target" if hit else "stop")
        copy.outcome_pnl = pnl
        copy.save(force_insert=True)
        ids.append(copy.pk)
    return ids


@pytest.mark.django_db
def test_the_signal_analytics_agree_with_the_stored_signals_and_outcomes(
    bull_call: Any, auth_client: APIClient, make_user: Any
) -> None:
    signal, clock, _, _ = bull_call
    at_risk = float(signal.entry_criteria["max_cost"])
    Signal.objects.filter(pk=signal.pk).update(confidence=0.55, outcome_hit=None)
    # Resolved: 0.62 hit, 0.68 miss, 0.75 hit, 0.95 hit; 0.40 unresolved.
    cases = [
        (0.62, True, 0.1 * at_risk),
        (0.68, False, -0.1 * at_risk),
        (0.75, True, 0.1 * at_risk),
        (0.95, True, 0.1 * at_risk),
        (0.40, None, None),
    ]
    ids = _signals(signal, cases)
    execute_over_http(auth_client, clock, Signal.objects.get(pk=signal.pk), 1000)
    with use_clock(clock):
        response = auth_client.get(SIGNALS)
    assert response.status_code == 200, response.content
    body = response.json()
    assert_matches_example(
        body, spec_example(ZERO_DTE, "GET /analytics/signals"), maps=("confidence_accuracy",)
    )
    performance = body["signal_performance"]
    assert performance["total_signals"] == 6 and performance["executed_signals"] == 1
    assert performance["execution_rate"] == pytest.approx(1 / 6, abs=1e-6)
    assert performance["avg_confidence"] == pytest.approx(
        (0.55 + 0.62 + 0.68 + 0.75 + 0.95 + 0.40) / 6, abs=1e-6
    )
    assert performance["confidence_accuracy"] == {
        "0.0-0.5": None,
        "0.5-0.6": None,
        "0.6-0.7": 0.5,
        "0.7-0.8": 1.0,
        "0.8-0.9": None,
        "0.9-1.0": 1.0,
    }
    bucket = next(b for b in performance["confidence_buckets"] if b["bucket"] == "0.6-0.7")
    assert bucket["count"] == 2 and bucket["hits"] == 1
    # Wilson 95% for 1 of 2, by hand.
    z, n, p = 1.959963984540054, 2, 0.5
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert bucket["wilson_low"] == pytest.approx(centre - half, abs=1e-6)
    assert bucket["wilson_high"] == pytest.approx(centre + half, abs=1e-6)
    brier = ((0.62 - 1) ** 2 + 0.68**2 + (0.75 - 1) ** 2 + (0.95 - 1) ** 2) / 4
    assert performance["brier_score"] == pytest.approx(brier, abs=1e-6)
    assert performance["resolved_signals"] == 4 and performance["hits"] == 3
    # ECE: |mean confidence − hit rate| per bucket, weighted by its share of the four.
    ece = (2 * abs(0.65 - 0.5) + abs(0.75 - 1) + abs(0.95 - 1)) / 4
    assert performance["expected_calibration_error"] == pytest.approx(ece, abs=1e-6)
    effectiveness = body["strategy_effectiveness"]["bull_call_spread"]
    assert effectiveness["signals"] == 6 and effectiveness["resolved"] == 4
    assert effectiveness["success_rate"] == 0.75
    assert effectiveness["avg_return"] == pytest.approx((0.1 - 0.1 + 0.1 + 0.1) / 4, abs=1e-6)
    # Another user executed none of them.
    with use_clock(clock):
        theirs = client_for(make_user(role="trader")).get(SIGNALS).json()
    assert theirs["signal_performance"]["executed_signals"] == 0
    assert theirs["signal_performance"]["total_signals"] == 6
    assert len(ids) == 5


def test_the_round_trip_fees_per_package_by_hand(settings: Any) -> None:
    # Six packages of +1 call @ 2.07 / −1 call @ 0.52. Opening: buy 6 @ 2.07 = 3.90 + OCC
    # 0.15 + ORF 0.12 = 4.17; sell 6 @ 0.52 = 4.17 + TAF 0.02 + SEC 312 × 20.60e-6 → 0.01 =
    # 4.20. Closing at the same prices: sell 6 @ 2.07 = 4.17 + 0.02 + SEC 1,242 × 20.60e-6
    # → 0.03 = 4.22; buy 6 @ 0.52 = 4.17. 16.76 in all: 2.79333… a package.
    fees = selectors.package_round_trip_fees([("buy", 1, 2.07), ("sell", 1, 0.52)], 6)
    assert fees == pytest.approx(16.76 / 6, abs=1e-12)


@pytest.mark.django_db
def test_a_signals_outcome_is_net_of_the_round_trip_fees(spy_signal: Any, monkeypatch: Any) -> None:
    signal, _ = spy_signal
    entry = signal.entry_criteria
    legs = [(leg["action"], leg["quantity"], leg["fill_price"]) for leg in signal.legs]
    expected = selectors.package_round_trip_fees(legs, entry["contracts"])
    assert entry["round_trip_fees"] == pytest.approx(expected, abs=1e-4)
    assert "net of the round trip's fees" in signal.outcome_definition["fees"]
    # A closing value whose gross P&L reaches the target by less than the fees a share:
    # gross a hit, net not (it runs to the time exit).
    fee_share = entry["round_trip_fees"] / 100
    value = entry["net_price"] + entry["target_profit"] + fee_share / 2
    stamps = [signal.generated_at + dt.timedelta(minutes=1)]
    monkeypatch.setattr(
        signal_services, "_closing_values", lambda s, snapshots: (stamps, np.array([value]))
    )
    assert signal_services.signal_outcome_resolve(signal=signal, now=signal.expires_at)
    signal.refresh_from_db()
    assert signal.outcome_hit is False and signal.outcome_reason == "time"
    assert signal.outcome_pnl == pytest.approx(entry["target_profit"] - fee_share / 2, abs=1e-9)
