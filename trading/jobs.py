"""The trading app's market-clock work: the exit monitor on every market minute, and
auto-execute on every new signal.

The market producer sends ``market_minute`` once per new minute of an open session, after
that minute's chains are stored (``marketdata.producer``). :func:`on_market_minute` runs
one pass of the exit monitor there and then, in the producer's process: it is a few
queries per open position, and an exit should not wait for a worker's queue. A failed
pass is logged and the next minute retries (every step of it is idempotent: a position
closes once, a resting limit fills once), so the producer's ticks never stop on it.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from django.conf import settings

from marketdata.clock import CLOCK_REPLAY, MarketTime
from marketdata.producer import market_close, market_minute
from sigmasight.errors import DomainError
from signals.events import signal_created
from signals.services import is_live_clock
from trading.selectors import auto_executing_users
from trading.services import (
    ExecuteRequest,
    MonitorPass,
    positions_monitor,
    replay_loop_begin,
    session_settle,
    trade_execute,
)

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


def on_signal_created(sender: Any, *, created: Any, **kwargs: Any) -> list[str]:
    """``signal_created`` receiver: execute the new signal for every user with
    ``auto_execute`` whose threshold it reaches (confidence ≥ the user's
    ``confidence_threshold`` + the signal's regime bump), through the same checks as
    ``POST /trading/execute``. The idempotency key ``auto:{signal id}`` makes a repeated
    event execute once. A refusal (a limit, a halt, no quote) is logged. Returns the
    trade ids."""
    signal = created
    if signal.confidence is None:
        return []
    bump = Decimal(str((signal.regime or {}).get("confidence_threshold_bump") or 0))
    trades: list[str] = []
    for user, threshold in auto_executing_users():
        if Decimal(str(signal.confidence)) < threshold + bump:
            continue
        try:
            trade, _ = trade_execute(
                user=user,
                request=ExecuteRequest(signal_id=signal.id),
                idempotency_key=f"auto:{signal.id}",
            )
        except DomainError as exc:
            logger.info("auto-execute of %s for user %s refused: %s", signal.id, user.pk, exc)
            continue
        trades.append(trade.id)
    return trades


def on_market_close(sender: Any, *, at: MarketTime, **kwargs: Any) -> dict[str, Any] | None:
    """``market_close`` receiver: settle the session's positions still open
    (``session_settle``)."""
    if not is_live_clock(at.clock):
        return None
    result = session_settle(at=at)
    for warning in result["warnings"]:
        logger.warning("settlement at the %s close: %s", at.session, warning)
    if at.clock == CLOCK_REPLAY and settings.MARKET_REPLAY_REPEAT:
        replay_loop_begin(at=at)
    return result


def register() -> None:
    market_minute.connect(on_market_minute, dispatch_uid="trading-exit-monitor")
    market_close.connect(on_market_close, dispatch_uid="trading-settlement")
    signal_created.connect(on_signal_created, dispatch_uid="trading-auto-execute")
