"""Fixtures of the trading tests."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache

from marketdata.clock import VirtualClock, use_clock
from signals.services import signals_generate
from signals.tests.factories import SESSION, known_model, market_history
from trading.tests.helpers import MINUTE, store_market


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
