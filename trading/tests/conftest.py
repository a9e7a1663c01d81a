"""Fixtures of the trading tests."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache

from marketdata.clock import VirtualClock, use_clock
from signals.models import Signal
from signals.services import signals_generate
from signals.tests.factories import SESSION, known_model, market_history
from trading.tests.helpers import MINUTE, legs_signal, set_quotes, store_market, strikes_of


@pytest.fixture
def spy_signal(db: Any, settings: Any) -> Any:
    """A replayed session at 11:30 ET with its chains stored and a SPY signal generated."""
    settings.MARKET_MINUTE_HISTORY_SESSIONS = 1
    market_history()
    known_model()
    clock = VirtualClock(SESSION, minute=0)
    with use_clock(clock):
        store_market(clock, MINUTE)
        signals, _ = signals_generate(at=clock.read(), symbols=["SPY"], trigger="manual")
    assert signals, "the fixture needs a SPY signal"
    yield signals[0], clock
    cache.delete("market-producer:replay")
    cache.delete(f"trading:loop-start:replay:{SESSION}")


@pytest.fixture
def bull_call(spy_signal: Any) -> tuple[Signal, VirtualClock, float, float]:
    """The SPY signal turned into a bull call spread, +K0 / −K5 calls, quoted
    2.00/2.10 and 0.50/0.56."""
    signal, clock = spy_signal
    strikes = strikes_of(clock)
    low, high = strikes[10], strikes[15]
    legs_signal(signal, "bull_call_spread", [("buy", "call", low), ("sell", "call", high)])
    set_quotes(clock, {("call", low): ("2.00", "2.10"), ("call", high): ("0.50", "0.56")})
    return signal, clock, low, high
