"""The trading app's market-clock work: the exit monitor on every market minute.

The market producer sends ``market_minute`` once per new minute of an open session, after
that minute's chains are stored (``marketdata.producer``). :func:`on_market_minute` runs
one pass of the exit monitor there and then, in the producer's process: it is a few
queries per open position, and an exit should not wait for a worker's queue. A failed
pass is logged and the next minute retries (every step of it is idempotent: a position
closes once, a resting limit fills once), so the producer's ticks never stop on it.
"""

from __future__ import annotations

import logging
from typing import Any

from marketdata.clock import MarketTime
from marketdata.producer import market_minute
from signals.services import is_live_clock
from trading.services import MonitorPass, positions_monitor

logger = logging.getLogger(__name__)


def on_market_minute(sender: Any, *, at: MarketTime, **kwargs: Any) -> MonitorPass | None:
    """``market_minute`` receiver: one pass of the exit monitor at ``at`` on the clocks
    users trade on (a model fit's replays trade nothing)."""
    if not is_live_clock(at.clock):
        return None
    try:
        result = positions_monitor(at=at)
    except Exception:  # the producer goes on; the next minute retries
        logger.exception("exit monitor failed at %s (%s clock)", at.now, at.clock)
        return None
    if result.exits or result.limits_filled or result.deferred:
        logger.info(
            "exit monitor at %s: %d limits filled, exits %s, deferred %s",
            at.now,
            result.limits_filled,
            result.exits,
            result.deferred,
        )
    return result


def register() -> None:
    market_minute.connect(on_market_minute, dispatch_uid="trading-exit-monitor")
