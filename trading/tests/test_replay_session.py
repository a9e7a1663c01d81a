"""A replayed session end to end, on a virtual clock stepped through the producer (the code
path a replay takes): signals at the cadence → auto-executed trades → profit-target,
stop-loss and time exits by the monitor → no 0DTE position open after the close, and a
position deliberately held to the close settled into stock. The day's report prints it."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db.models import F, Sum

from marketdata.clock import VirtualClock, use_clock
from marketdata.producer import MarketProducer
from portfolios.models import Position
from signals.models import Signal
from signals.tests.factories import SESSION, known_model, market_history
from trading import services
from trading.models import Fill, StrategyPosition, Trade
from trading.tests.helpers import client_for

D = Decimal


def _auto(user: Any, *, target: str, stop: str) -> None:
    services.trading_config_update(
        user_id=user.pk,
        changes={
            "auto_execute": True,
            "confidence_threshold": D(0),
            "position_size": D(3000),
            "profit_target": D(target),
            "stop_loss": D(stop),
        },
    )


# A whole session of 391 market minutes, each a producer tick, a signal cycle at the
# cadence and a monitor pass: about four minutes alone on two cores, near the default limit.
@pytest.mark.timeout(600)
@pytest.mark.django_db(transaction=True)
def test_a_replayed_session_trades_exits_and_settles_end_to_end(
    make_user: Any, settings: Any, eager_celery: None
) -> None:
    settings.MARKET_MINUTE_HISTORY_SESSIONS = 1
    settings.SIGNAL_CADENCE_MINUTES = 30
    market_history()
    known_model()
    takes_profit, stops_out, waits = (make_user(role="trader") for _ in range(3))
    holder = make_user(role="trader")
    _auto(takes_profit, target="0.01", stop="1")  # a 1% target, no practical stop
    _auto(stops_out, target="10", stop="0.01")  # a 1% stop
    _auto(waits, target="10", stop="1")  # neither: the time exit
    clock = VirtualClock(SESSION, minute=0)
    producer = MarketProducer()
    held: str | None = None
    with use_clock(clock):
        for minute in range(0, 391):
            clock.minute = minute
            producer.tick()
            if held is None and minute >= 200:
                signal = Signal.objects.filter(status="active", session=SESSION).first()
                if signal is not None:
                    trade, _ = services.trade_execute(
                        user=holder,
                        request=services.ExecuteRequest(
                            signal_id=signal.id,
                            position_size=D(3000),
                            profit_target=D(10),
                            stop_loss=D(1),
                            hold_to_expiry=True,
                        ),
                    )
                    held = StrategyPosition.objects.get(trade=trade).pk
        producer.release()

    assert Signal.objects.filter(session=SESSION).count() >= 3
    opened = Trade.objects.filter(kind="open", session=SESSION)
    for user in (takes_profit, stops_out, waits):
        assert opened.filter(user=user, idempotency_key__startswith="auto:").exists(), user
    reasons = {
        user: set(StrategyPosition.objects.filter(user=user).values_list("exit_reason", flat=True))
        for user in (takes_profit, stops_out, waits, holder)
    }
    assert "profit_target" in reasons[takes_profit], reasons
    assert "stop_loss" in reasons[stops_out], reasons
    # A package whose long leg has no bid left cannot be sold at the time exit: it is held
    # to the close and settles (worthless), as it would at a broker.
    assert reasons[waits] <= {"time_exit", "stop_loss", "settlement"}
    assert "time_exit" in reasons[waits]
    assert held is not None and reasons[holder] == {"settlement"}
    # After the close nothing 0DTE is open: every option leg is closed or settled.
    assert not StrategyPosition.objects.filter(status="open").exists()
    assert not Position.objects.filter(multiplier__gt=1, closed_at__isnull=True).exists()
    settled = StrategyPosition.objects.get(pk=held)
    exercised = [leg for leg in settled.settlement["legs"] if leg["shares"]]
    stock = Position.objects.filter(
        portfolio__owner=holder, closed_at__isnull=True, multiplier=1
    ).values_list("security_id", "quantity")
    assert {symbol for symbol, _ in stock} == ({settled.symbol} if exercised else set())
    assert sum(q for _, q in stock) == sum(leg["shares"] for leg in exercised)

    out = StringIO()
    call_command("trading_report", session=SESSION, clock="replay", all_loops=True, stdout=out)
    report = out.getvalue()
    for user in (takes_profit, stops_out, waits, holder):
        assert user.email in report
    assert "profit_target" in report and "settlement" in report and "0 positions open" in report

    # The analytics of the replayed session agree with the trades, the fills and the
    # stored signals, recomputed here.
    with use_clock(clock):
        for user in (takes_profit, stops_out, waits):
            body = client_for(user).get("/api/v1/analytics/performance").json()
            positions = list(StrategyPosition.objects.filter(user=user, status="closed"))
            pnl = [_realized_from_fills(p) for p in positions]
            assert [D(str(x)) for x in pnl] == [p.realized_pnl for p in positions]
            overall = body["overall_performance"]
            assert overall["total_trades"] == len(positions)
            assert D(str(overall["total_pnl"])) == sum(pnl, D(0))
            fees = Fill.objects.filter(order__trade__user=user).aggregate(
                total=Sum(F("commission") + F("regulatory_fees"))
            )["total"]
            assert D(str(overall["fees"])) == fees
            assert overall["win_rate"] == pytest.approx(
                sum(1 for x in pnl if x > 0) / len(pnl), abs=1e-8
            )
        signals = client_for(holder).get("/api/v1/analytics/signals").json()
    stored = list(Signal.objects.filter(session=SESSION, clock="replay"))
    resolved = [s for s in stored if s.outcome_hit is not None and s.confidence is not None]
    performance = signals["signal_performance"]
    assert performance["total_signals"] == len(stored) and performance["executed_signals"] == 1
    assert performance["resolved_signals"] == len(resolved) > 0
    edges = [0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    for bucket in performance["confidence_buckets"]:
        low, high = (float(x) for x in bucket["bucket"].split("-"))
        inside = [
            s for s in resolved if low <= s.confidence < high or (high == 1.0 and s.confidence == 1)
        ]
        assert bucket["count"] == len(inside), bucket
        assert bucket["hit_rate"] == (
            None if not inside else pytest.approx(sum(s.outcome_hit for s in inside) / len(inside))
        )
    assert len(performance["confidence_buckets"]) == len(edges) - 1
    brier = sum((s.confidence - s.outcome_hit) ** 2 for s in resolved) / len(resolved)
    assert performance["brier_score"] == pytest.approx(brier, abs=1e-8)


def _realized_from_fills(position: StrategyPosition) -> D:
    """A closed position's realized P&L from its fills: each close fill against its entry
    leg's average price (a settled leg at its intrinsic value), less every fill's fees."""
    entry = {o.leg: o for o in position.trade.orders.all()}
    gross = D(0)
    fees = sum(
        (f.commission + f.regulatory_fees for o in entry.values() for f in o.fills.all()), D(0)
    )
    for close in position.exits.filter(status="filled"):
        for order in close.orders.all():
            opened = entry[order.leg]
            sign = 1 if opened.action == "buy" else -1
            for f in order.fills.all():
                gross += sign * (f.price - opened.average_fill_price) * f.quantity * 100
                fees += f.commission + f.regulatory_fees
    if position.settlement:
        for index, leg in enumerate(position.settlement["legs"]):
            opened = entry[index]
            gross += (D(leg["intrinsic"]) - opened.average_fill_price) * leg["contracts"] * 100
    return (gross - fees).quantize(D("0.01"))
