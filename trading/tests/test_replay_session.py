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

from marketdata.clock import VirtualClock, use_clock
from marketdata.producer import MarketProducer
from portfolios.models import Position
from signals.models import Signal
from signals.tests.factories import SESSION, known_model, market_history
from trading import services
from trading.models import StrategyPosition, Trade

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
