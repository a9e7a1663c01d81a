"""The part of an entry beyond the displayed size (``TRADING_REMAINDER``): cancelled at
once by default, or resting at the filled part's net price until the opposite side of
the quote reaches it, then joining the same strategy position; stopped at the signal's
expiry, a halt, a close, the time exit and the session's close, each with its reason.

The bull call spread of ``conftest.bull_call`` (+K0 quoted 2.00/2.10, −K5 0.50/0.56)
fills 4 of its 6 packages at 2.07 / 0.52 (net 1.55, fees 5.59: see test_close) when the
long leg's ask shows 4 contracts. Figures below are worked out by hand in the comments."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from marketdata.clock import VirtualClock, use_clock
from marketdata.models import ChainSnapshot
from portfolios.models import Position
from signals.models import Signal
from trading import jobs, services
from trading.models import Fill, StrategyPosition, Trade
from trading.tests.helpers import (
    MINUTE,
    at_minute,
    cash_of,
    close_over_http,
    execute_over_http,
    set_quotes,
)

D = Decimal


def _four_of_six(bull_call: Any, client: APIClient) -> tuple[dict[str, Any], VirtualClock]:
    """Execute 6 packages against a long leg whose ask shows 4 contracts."""
    signal, clock, low, _ = bull_call
    snapshot = ChainSnapshot.objects.filter(symbol="SPY").latest("timestamp")
    for row in snapshot.calls:
        if row["strike"] == low:
            row["ask_size"] = 4
    snapshot.save()
    return execute_over_http(client, clock, signal, 1000), clock


def _monitor(clock: VirtualClock) -> services.MonitorPass:
    with use_clock(clock):
        return services.positions_monitor(at=clock.read())


@pytest.mark.django_db
def test_by_default_the_rest_is_cancelled_and_the_reason_recorded(
    bull_call: Any, auth_client: APIClient
) -> None:
    trade, clock = _four_of_six(bull_call, auth_client)
    assert trade["status"] == "filled" and trade["quantity"] == 4
    assert {o["status"] for o in trade["orders"]} == {"cancelled"}
    stored = Trade.objects.get(pk=trade["trade_id"])
    assert stored.remainder_cancelled == "displayed_size"
    assert stored.remainder_cancelled_at == clock.read().now
    at_minute(clock, MINUTE + 1)
    _, _, low, high = bull_call
    set_quotes(clock, {("call", low): ("1.95", "2.05"), ("call", high): ("0.50", "0.56")})
    assert _monitor(clock).remainders_filled == 0
    assert StrategyPosition.objects.get(pk=trade["position_id"]).quantity == 4


@pytest.mark.django_db
def test_the_rest_rests_at_the_net_and_fills_into_the_same_position_when_the_quote_reaches_it(
    bull_call: Any, auth_client: APIClient, settings: Any
) -> None:
    settings.TRADING_REMAINDER = "rest"
    _, _, low, high = bull_call
    user = auth_client.user  # type: ignore[attr-defined]
    trade, clock = _four_of_six(bull_call, auth_client)
    assert trade["status"] == "partially_filled"
    assert trade["quantity"] == 4 and trade["requested_quantity"] == 6
    assert [(o["quantity"], o["filled_quantity"], o["status"]) for o in trade["orders"]] == [
        (6, 4, "partially_filled"),
        (6, 4, "partially_filled"),
    ]
    assert Trade.objects.get(pk=trade["trade_id"]).limit_price == D("1.55")
    # 100,000 − 4 × 155 − 5.59.
    assert cash_of(user) == D("99374.41")

    # Unchanged quotes: at the natural sides the package costs 2.10 − 0.50 = 1.60 > 1.55.
    at_minute(clock, MINUTE + 1)
    set_quotes(clock, {("call", low): ("2.00", "2.10"), ("call", high): ("0.50", "0.56")})
    assert _monitor(clock).remainders_filled == 0
    assert Trade.objects.get(pk=trade["trade_id"]).status == "partially_filled"

    # The long leg's ask comes down to 2.05: 2.05 − 0.50 = 1.55 reaches the limit. The
    # ask still shows 4 contracts, so both remaining packages fill.
    at_minute(clock, MINUTE + 2)
    set_quotes(clock, {("call", low): ("1.95", "2.05"), ("call", high): ("0.50", "0.56")})
    assert _monitor(clock).remainders_filled == 1
    stored = Trade.objects.get(pk=trade["trade_id"])
    assert stored.status == "filled" and stored.quantity == 6
    assert stored.remainder_cancelled == ""
    # 4 × 155 + 2 × 155 at risk; net (4 × 1.55 + 2 × 1.55) / 6.
    assert stored.total_cost == D("930.00") and stored.net_price == D("1.5500")
    # Buy 2 @ 2.05: 1.30 + OCC 0.05 + ORF 0.04 = 1.39. Sell 2 @ 0.50: 1.30 + 0.05 + 0.04
    # + TAF 0.00658 → 0.01 + SEC 100 × 20.60e-6 → 0.01 = 1.41. 5.59 + 2.80.
    assert stored.fees == D("8.39")
    orders = list(stored.orders.order_by("leg"))
    assert [(o.filled_quantity, o.status) for o in orders] == [(6, "filled"), (6, "filled")]
    # (4 × 2.07 + 2 × 2.05) / 6 = 2.06333…; (4 × 0.52 + 2 × 0.50) / 6 = 0.51333…
    assert [o.average_fill_price for o in orders] == [D("2.0633"), D("0.5133")]
    later = Fill.objects.filter(order__trade=stored, quantity=2).order_by("order__leg")
    assert [(f.price, f.bid, f.ask) for f in later] == [
        (D("2.0500"), D("1.9500"), D("2.0500")),
        (D("0.5000"), D("0.5000"), D("0.5600")),
    ]
    position = StrategyPosition.objects.get(pk=trade["position_id"])
    assert position.quantity == 6 and position.fees == D("8.39")
    # The owner hears of the two new fills, not again of the four before.
    messages = services._trade_messages(stored.id, position.id, clock.read(), {f.pk for f in later})
    assert [m["type"] for m in messages].count("fill") == 2
    legs = Position.objects.filter(portfolio__owner=user, closed_at__isnull=True)
    assert sorted(p.quantity for p in legs) == [D(-6), D(6)]
    assert cash_of(user) == D("99374.41") - D("310") - D("2.80")
    # Nothing more rests: a later pass fills nothing.
    at_minute(clock, MINUTE + 3)
    set_quotes(clock, {("call", low): ("1.90", "2.00"), ("call", high): ("0.50", "0.56")})
    assert _monitor(clock).remainders_filled == 0

    # Closing sells 6 @ the fill rule: the position closes whole, at the averaged prices.
    close = close_over_http(auth_client, clock, trade["position_id"]).json()
    assert close["quantity"] == 6
    assert not Position.objects.filter(portfolio__owner=user, closed_at__isnull=True).exists()


@pytest.mark.django_db
def test_a_partial_remainder_fill_takes_the_displayed_size_and_keeps_resting(
    bull_call: Any, auth_client: APIClient, settings: Any
) -> None:
    settings.TRADING_REMAINDER = "rest"
    _, _, low, high = bull_call
    snapshot = ChainSnapshot.objects.filter(symbol="SPY").latest("timestamp")
    for row in snapshot.calls:
        if row["strike"] == low:
            row["ask_size"] = 2
    snapshot.save()
    signal = bull_call[0]
    clock = bull_call[1]
    trade = execute_over_http(auth_client, clock, signal, 1000)
    assert trade["quantity"] == 2
    at_minute(clock, MINUTE + 1)
    set_quotes(clock, {("call", low): ("1.95", "2.05"), ("call", high): ("0.50", "0.56")})
    assert _monitor(clock).remainders_filled == 1
    stored = Trade.objects.get(pk=trade["trade_id"])
    assert stored.quantity == 4 and stored.status == "partially_filled"
    assert {o.status for o in stored.orders.all()} == {"partially_filled"}
    assert StrategyPosition.objects.get(pk=trade["position_id"]).quantity == 4


@pytest.mark.django_db
def test_the_remainder_is_cancelled_at_the_signals_expiry(
    bull_call: Any, auth_client: APIClient, settings: Any
) -> None:
    settings.TRADING_REMAINDER = "rest"
    trade, clock = _four_of_six(bull_call, auth_client)
    at_minute(clock, MINUTE + 1)
    Signal.objects.filter(pk=trade["signal_id"]).update(expires_at=clock.read().now)
    assert _monitor(clock).remainders_filled == 0
    stored = Trade.objects.get(pk=trade["trade_id"])
    assert stored.status == "filled" and stored.remainder_cancelled == "signal_expired"
    assert stored.remainder_cancelled_at == clock.read().now
    assert {o.status for o in stored.orders.all()} == {"cancelled"}
    assert StrategyPosition.objects.get(pk=trade["position_id"]).quantity == 4


@pytest.mark.django_db
def test_a_halt_and_a_close_cancel_the_remainder(
    bull_call: Any, auth_client: APIClient, settings: Any
) -> None:
    settings.TRADING_REMAINDER = "rest"
    trade, clock = _four_of_six(bull_call, auth_client)
    with use_clock(clock):
        response = auth_client.post(
            "/api/v1/risk/emergency", {"reason": "desk", "close_positions": False}, format="json"
        )
    assert response.status_code == 200, response.content
    stored = Trade.objects.get(pk=trade["trade_id"])
    assert stored.remainder_cancelled == "halted" and stored.status == "filled"
    assert StrategyPosition.objects.get(pk=trade["position_id"]).status == "open"


@pytest.mark.django_db
def test_closing_the_position_cancels_its_remainder(
    bull_call: Any, auth_client: APIClient, settings: Any
) -> None:
    settings.TRADING_REMAINDER = "rest"
    trade, clock = _four_of_six(bull_call, auth_client)
    at_minute(clock, MINUTE + 1)
    _, _, low, high = bull_call
    set_quotes(clock, {("call", low): ("2.00", "2.10"), ("call", high): ("0.50", "0.56")})
    response = close_over_http(auth_client, clock, trade["position_id"], {"partial_quantity": 1})
    assert response.status_code == 201, response.content
    stored = Trade.objects.get(pk=trade["trade_id"])
    assert stored.remainder_cancelled == "closing" and stored.quantity == 4
    assert StrategyPosition.objects.get(pk=trade["position_id"]).quantity == 3
    # Quotes that would have reached the limit fill nothing now.
    at_minute(clock, MINUTE + 2)
    set_quotes(clock, {("call", low): ("1.95", "2.05"), ("call", high): ("0.50", "0.56")})
    assert _monitor(clock).remainders_filled == 0


@pytest.mark.django_db
def test_the_time_exit_stops_the_remainder_before_it_closes_the_position(
    bull_call: Any, auth_client: APIClient, settings: Any
) -> None:
    settings.TRADING_REMAINDER = "rest"
    _, _, low, high = bull_call
    trade, clock = _four_of_six(bull_call, auth_client)
    at_minute(clock, 390 - settings.TRADING_TIME_EXIT_MINUTES_BEFORE_CLOSE)
    # Quotes that reach the limit: past the time exit the remainder fills nothing.
    set_quotes(clock, {("call", low): ("1.95", "2.05"), ("call", high): ("0.50", "0.56")})
    result = _monitor(clock)
    assert result.remainders_filled == 0
    assert result.exits == {trade["position_id"]: "time_exit"}
    stored = Trade.objects.get(pk=trade["trade_id"])
    assert stored.remainder_cancelled == "time_exit" and stored.quantity == 4


@pytest.mark.django_db
def test_a_remainder_still_resting_at_the_close_expires(
    bull_call: Any, auth_client: APIClient, settings: Any
) -> None:
    settings.TRADING_REMAINDER = "rest"
    trade, clock = _four_of_six(bull_call, auth_client)
    Trade.objects.filter(pk=trade["trade_id"]).update(hold_to_expiry=True)
    jobs.on_market_close(None, at=dataclasses.replace(clock.read(), status="closed"))
    stored = Trade.objects.get(pk=trade["trade_id"])
    assert stored.remainder_cancelled == "session_close"
    assert {o.status for o in stored.orders.all()} == {"expired"}
