"""``TRADING_FILL_LATENCY_MS``: an order arriving at market time t fills off the quote in
force at t + the latency, its age counted from then, for executions, closes at market and
the exit monitor's closes; the service waits for that moment before its transaction.

The bull call spread of the fixtures is quoted at 11:30:00 ET (t) 2.00/2.10 and 0.50/0.56;
each test stores a second chain at t + 30 s. Prices are worked by hand with the fill rule
(two legs: s = 0.66; a buy at bid + s × spread rounded up to the cent, a sell at ask −
s × spread rounded down) and the default fees (test_close.py spells them out)."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from marketdata.clock import VirtualClock, use_clock
from sigmasight.errors import MarketClosed, OrderRejected, SignalExpired
from sigmasight.timefmt import utc_stamp
from signals.tests.factories import SESSION
from trading import services
from trading.models import Fill, StrategyPosition, Trade
from trading.tests.helpers import MINUTE, set_quotes

D = Decimal
SECOND = dt.timedelta(seconds=1)


class RecordingClock(VirtualClock):
    """A virtual clock that notes each wait: the moment, and how many atomic blocks were
    open then (the test's own only, if the service waits outside its transaction)."""

    def __init__(self, session: dt.date, minute: int) -> None:
        super().__init__(session, minute)
        self.waits: list[tuple[dt.datetime, int]] = []

    def wait_until(self, moment: dt.datetime, *, sleep: Any = time.sleep) -> float:
        self.waits.append((moment, len(connection.atomic_blocks)))
        return 0.0


def _execute(client: APIClient, clock: VirtualClock, signal: Any) -> dict[str, Any]:
    with use_clock(clock):
        response = client.post(
            "/api/v1/trading/execute",
            {"signal_id": signal.id, "position_size": 1000},
            format="json",
        )
    assert response.status_code == 201, response.content
    return response.json()


def _fills(trade_id: str) -> list[Fill]:
    return list(Fill.objects.filter(order__trade_id=trade_id).order_by("order__leg"))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "latency_ms, prices, net, quantity, quoted_after",
    [
        # The quote at t: buy 2.00 + 0.066 → 2.07, sell 0.56 − 0.0396 → 0.52; $155 a
        # package, floor(1,000 / 155) = 6.
        (0, [2.07, 0.52], 1.55, 6, 0),
        (29_999, [2.07, 0.52], 1.55, 6, 0),  # t + 30 s is not yet in force
        # The quote at t + 30 s: buy 2.40 + 0.066 → 2.47, sell 0.76 − 0.0396 → 0.72; $175 a
        # package, floor(1,000 / 175) = 5.
        (30_000, [2.47, 0.72], 1.75, 5, 30),
        (45_000, [2.47, 0.72], 1.75, 5, 30),
    ],
)
def test_an_execution_fills_off_the_quote_in_force_latency_later(
    bull_call: Any,
    auth_client: APIClient,
    settings: Any,
    latency_ms: int,
    prices: list[float],
    net: float,
    quantity: int,
    quoted_after: int,
) -> None:
    signal, clock, low, high = bull_call
    set_quotes(
        clock, {("call", low): ("2.40", "2.50"), ("call", high): ("0.70", "0.76")}, seconds=30
    )
    settings.TRADING_FILL_LATENCY_MS = latency_ms
    arrival = clock.read().now
    trade = _execute(auth_client, clock, signal)
    assert [o["average_fill_price"] for o in trade["orders"]] == prices
    assert trade["net_price"] == net and trade["quantity"] == quantity
    assert trade["total_cost"] == round(net * 100 * quantity)
    fill_at = arrival + dt.timedelta(milliseconds=latency_ms)
    assert Trade.objects.get(pk=trade["trade_id"]).executed_at == fill_at
    long, short = _fills(trade["trade_id"])
    # Each fill keeps the snapshot it was priced from, and is booked at the fill moment.
    assert {long.quote_time, short.quote_time} == {arrival + quoted_after * SECOND}
    assert {long.filled_at, short.filled_at} == {fill_at}
    assert (long.bid, long.ask) == (
        (D("2.00"), D("2.10")) if quoted_after == 0 else (D("2.40"), D("2.50"))
    )
    assert StrategyPosition.objects.get(pk=trade["position_id"]).opened_at == fill_at


@pytest.mark.django_db
def test_the_quotes_age_counts_from_the_fill_moment(
    bull_call: Any, auth_client: APIClient, settings: Any
) -> None:
    signal, clock, _, _ = bull_call  # no chain stored after t
    settings.TRADING_QUOTE_MAX_AGE_SECONDS = 120
    user = auth_client.user  # type: ignore[attr-defined]
    request = services.ExecuteRequest(signal_id=signal.id, position_size=D(1000))
    arrival = clock.read().now
    # Fresh when the order arrives, 121 s old when it fills: rejected, nothing booked.
    settings.TRADING_FILL_LATENCY_MS = 121_000
    with use_clock(clock), pytest.raises(OrderRejected) as rejected:
        services.trade_execute(user=user, request=request)
    assert rejected.value.details["reason"] == "stale_quote"
    assert rejected.value.details["quote_time"] == utc_stamp(arrival)
    assert not Trade.objects.exists()
    # 120 s old at the fill moment is still fresh.
    settings.TRADING_FILL_LATENCY_MS = 120_000
    with use_clock(clock):
        trade, created = services.trade_execute(user=user, request=request)
    assert created and trade.executed_at == arrival + 120 * SECOND
    assert {f.quote_time for f in _fills(trade.id)} == {arrival}


@pytest.mark.django_db
def test_a_latency_running_past_the_close_does_not_fill(
    bull_call: Any, auth_client: APIClient, settings: Any
) -> None:
    signal, _, _, _ = bull_call
    user = auth_client.user  # type: ignore[attr-defined]
    request = services.ExecuteRequest(signal_id=signal.id)
    last_minute = VirtualClock(SESSION, minute=389)  # 15:59 ET
    settings.TRADING_FILL_LATENCY_MS = 60_000  # fills at 16:00: closed
    with use_clock(last_minute), pytest.raises(MarketClosed) as closed:
        services.trade_execute(user=user, request=request)
    assert closed.value.details["market_status"] == "closed"
    settings.TRADING_FILL_LATENCY_MS = 59_999  # still open: the next check refuses it
    with use_clock(last_minute), pytest.raises(SignalExpired):
        services.trade_execute(user=user, request=request)


@pytest.mark.django_db
def test_a_close_at_market_fills_off_the_quote_in_force_latency_later(
    bull_call: Any, auth_client: APIClient, settings: Any
) -> None:
    signal, clock, low, high = bull_call
    opened = _execute(auth_client, clock, signal)  # no latency: 6 packages at 2.07 / 0.52
    assert opened["quantity"] == 6 and opened["fees"] == 8.37
    clock.minute = MINUTE + 1
    set_quotes(clock, {("call", low): ("2.60", "2.70"), ("call", high): ("0.80", "0.86")})
    set_quotes(
        clock, {("call", low): ("2.20", "2.30"), ("call", high): ("0.60", "0.66")}, seconds=30
    )
    settings.TRADING_FILL_LATENCY_MS = 45_000
    arrival = clock.read().now
    with use_clock(clock):
        response = auth_client.post(
            f"/api/v1/trading/close/{opened['position_id']}", {}, format="json"
        )
    assert response.status_code == 201, response.content
    close = response.json()
    # Off the quote at t + 30 s, not the 2.63 / 0.84 of the one at arrival: sell 2.30 −
    # 0.066 = 2.234 → 2.23, buy 0.60 + 0.0396 = 0.6396 → 0.64; 1.59 received a share.
    assert [(o["action"], o["average_fill_price"]) for o in close["orders"]] == [
        ("sell", 2.23),
        ("buy", 0.64),
    ]
    assert close["net_price"] == -1.59
    # Sell 6 @ 2.23: 3.90 + 0.15 + 0.12 + TAF 0.02 + SEC 1,338 × 20.60e-6 = 0.0276 → 0.03
    # = 4.22; buy 6 @ 0.64: 4.17. Gross (1.59 − 1.55) × 600 = 24.00, less 8.37 + 8.39.
    assert close["fees"] == 8.39
    position = StrategyPosition.objects.get(pk=opened["position_id"])
    assert position.status == "closed" and position.realized_pnl == D("7.24")
    assert position.closed_at == arrival + 45 * SECOND
    assert {f.quote_time for f in _fills(close["trade_id"])} == {arrival + 30 * SECOND}


@pytest.mark.django_db
def test_the_monitor_exits_off_the_quote_latency_later_and_waits_outside_its_transaction(
    bull_call: Any, auth_client: APIClient, settings: Any
) -> None:
    signal, _, low, high = bull_call
    clock = RecordingClock(SESSION, MINUTE)
    opened = _execute(auth_client, clock, signal)  # no latency: no wait
    assert clock.waits == []
    settings.TRADING_FILL_LATENCY_MS = 45_000
    clock.minute = MINUTE + 1
    # At the minute, the mids 2.65 − 0.83 = 1.82 (+0.27) reach the profit target (0.155).
    set_quotes(clock, {("call", low): ("2.60", "2.70"), ("call", high): ("0.80", "0.86")})
    set_quotes(
        clock, {("call", low): ("2.50", "2.60"), ("call", high): ("0.75", "0.81")}, seconds=30
    )
    at = clock.read()
    depth = len(connection.atomic_blocks)  # the test's own
    with use_clock(clock):
        result = services.positions_monitor(at=at)
    assert result.exits == {opened["position_id"]: "profit_target"}
    # One wait, for the fill moment, with no transaction of the service's open.
    assert clock.waits == [(at.now + 45 * SECOND, depth)]
    [close] = Trade.objects.filter(kind="close")
    # Off the quote at t + 30 s: sell 2.60 − 0.066 = 2.534 → 2.53, buy 0.75 + 0.0396 → 0.79.
    assert [o.average_fill_price for o in close.orders.order_by("leg")] == [D("2.53"), D("0.79")]
    assert close.net_price == D("-1.74") and close.executed_at == at.now + 45 * SECOND
    assert {f.quote_time for f in _fills(close.id)} == {at.now + 30 * SECOND}


@pytest.mark.django_db
def test_an_execution_waits_for_the_fill_moment_before_its_transaction(
    bull_call: Any, auth_client: APIClient, settings: Any
) -> None:
    signal, _, _, _ = bull_call
    clock = RecordingClock(SESSION, MINUTE)
    settings.TRADING_FILL_LATENCY_MS = 250
    depth = len(connection.atomic_blocks)
    with use_clock(clock):
        trade, _ = services.trade_execute(
            user=auth_client.user,  # type: ignore[attr-defined]
            request=services.ExecuteRequest(signal_id=signal.id),
        )
    fill_at = clock.read().now + dt.timedelta(milliseconds=250)
    assert clock.waits == [(fill_at, depth)]
    assert trade.executed_at == fill_at
