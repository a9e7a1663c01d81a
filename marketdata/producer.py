"""The market producer: the one process (or, in the embedded default, the one thread) that
moves the 0DTE market along the market clock.

Each tick it reads the clock (``marketdata.clock``); while the session is open it stores the
minutes that have completed for SPY, QQQ, IWM and the VIX (``minute_bars_store``,
idempotent, so a restarted producer fills what it missed). Each new market minute it then
stores the tickers' 0DTE chains on the ``CHAIN_SNAPSHOT_MINUTES`` grid (pruning snapshots
past their retention once a session), quotes every held security on the live clock
(``live_quotes_refresh``: portfolio values and day changes move with the session), and
publishes a ``market_update`` for each ticker to ``/ws/market/{symbol}`` through the channel
layer (Redis in production); prices are minute closes. Outside the session it publishes
nothing: the sockets keep their heartbeat, and the endpoints serve the last close.

Exactly one producer runs per clock: a lease in the cache (Redis in production) that the
holder renews each tick and that lapses ``MARKET_PRODUCER_LEASE_SECONDS`` after it stops.
"""

from __future__ import annotations

import logging
import threading
import uuid
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections
from django.dispatch import Signal

from marketdata import calendar
from marketdata.clock import MarketTime, market_time, market_time_at
from marketdata.messages import market_group, market_update
from marketdata.providers.base import ProviderError
from marketdata.selectors import intraday_snapshot
from marketdata.services import (
    chain_snapshots_prune,
    chain_snapshots_store,
    live_quotes_refresh,
    minute_bars_store,
    minute_history_backfill,
)
from marketdata.tickers import ZERO_DTE_TICKERS
from sigmasight.ws import publish

logger = logging.getLogger(__name__)

__all__ = ["MarketProducer", "market_close", "market_minute", "start_embedded_producer"]

#: Sent by the producer once per new market minute of an open session, after that minute's
#: bars and chains are stored, with ``at`` (the :class:`MarketTime`). The apps whose work
#: follows the market clock (the signal cadence) connect to it; exactly one producer runs
#: per clock, so each minute is sent once (a receiver still claims its work idempotently).
market_minute = Signal()
#: Sent once when a session this producer published minutes of has closed, with ``at``
#: (the reading at that session's close): when a tick finds the clock closed, or when a
#: repeating replay starts its session again. Work due at the close (settling what is
#: still held) follows it.
market_close = Signal()


class MarketProducer:
    """Ticks of the 0DTE market (see the module docstring)."""

    def __init__(self, *, tickers: tuple[str, ...] = ZERO_DTE_TICKERS) -> None:
        self.tickers = tickers
        self.owner = uuid.uuid4().hex
        self.last_minute: tuple[str, Any, int] | None = None  # the last minute published
        self.close_sent = False  # market_close sent for the session of last_minute

    def _lease_key(self, at: MarketTime) -> str:
        return f"market-producer:{at.clock}"

    def holds_lease(self, at: MarketTime) -> bool:
        """Take or renew the producer lease of ``at``'s clock; False if another holds it."""
        key, lease = self._lease_key(at), int(settings.MARKET_PRODUCER_LEASE_SECONDS)
        if cache.add(key, self.owner, timeout=lease):
            return True
        if cache.get(key) == self.owner:
            cache.touch(key, timeout=lease)
            return True
        return False

    def release(self) -> None:
        key = self._lease_key(market_time())
        if cache.get(key) == self.owner:
            cache.delete(key)

    def tick(self) -> list[dict[str, Any]]:
        """One tick: store the completed minutes, publish and return the updates (none
        while the market is closed or another producer holds the lease)."""
        at = market_time()
        if not at.is_open:
            if self.last_minute is not None and self.last_minute[:2] == (at.clock, at.session):
                self._send_close(at.clock, at.session)
            return []
        if not self.holds_lease(at):
            return []
        last = self.last_minute
        if last is not None and last[:2] == (at.clock, at.session) and at.minute < last[2]:
            self._send_close(at.clock, at.session)  # a repeating replay began again
        minute_bars_store(session=at.session, through_minute=at.minute)
        # Prices move once a minute (the close of the last completed one): a tick inside
        # the same minute would resend the same figures, so it sends nothing.
        if self.last_minute == (at.clock, at.session, at.minute):
            return []
        if self.last_minute is None or self.last_minute[1] != at.session:
            # Once a session (and at start): prune, and fill the past sessions' minutes.
            chain_snapshots_prune(at.now)
            minute_history_backfill(
                session=at.session, sessions=settings.MARKET_MINUTE_HISTORY_SESSIONS
            )
        self.last_minute = (at.clock, at.session, at.minute)
        self.close_sent = False
        chain_snapshots_store(at)
        try:
            live_quotes_refresh(at)
        except ProviderError as exc:  # the 0DTE market goes on; the quotes stay a minute old
            logger.warning("market producer: live quotes failed at %s: %s", at.now, exc)
        messages = [market_update(intraday_snapshot(s, at)) for s in self.tickers]
        for message in messages:
            publish(market_group(message["symbol"]), message)
        market_minute.send(sender=self.__class__, at=at)
        return messages

    def _send_close(self, clock: str, session: Any) -> None:
        if self.close_sent:
            return
        self.close_sent = True
        length = calendar.session_close_utc(session) - calendar.session_open_utc(session)
        closed = market_time_at(clock, session, int(length.total_seconds() // 60))
        try:
            market_close.send(sender=self.__class__, at=closed)
        except Exception:  # the ticks go on; the scheduled settlement job is the backstop
            logger.exception("market producer: close work of %s failed", session)

    def run(self, stop: threading.Event, *, tick_seconds: float | None = None) -> None:
        """Tick every ``tick_seconds`` (``MARKET_TICK_SECONDS``) until ``stop`` is set. A
        failed tick is logged and retried after a pause that doubles up to a minute."""
        interval = float(tick_seconds or settings.MARKET_TICK_SECONDS)
        pause = interval
        try:
            while not stop.is_set():
                try:
                    close_old_connections()
                    self.tick()
                    pause = interval
                except Exception:
                    logger.exception("market producer: tick failed; retrying in %.0f s", pause)
                    pause = min(60.0, pause * 2)
                stop.wait(pause)
        finally:
            self.release()
            close_old_connections()


_embedded: dict[str, threading.Thread] = {}


def _run_once_apps_ready(stop: threading.Event) -> None:
    """The thread is started from ``AppConfig.ready()``: it queries only once every app is
    ready (Django warns about, and may misread, queries made while the registry loads)."""
    while not apps.ready and not stop.wait(0.05):
        pass
    MarketProducer().run(stop)


def start_embedded_producer() -> threading.Thread:
    """The embedded default's producer: a daemon thread of the one server process (its
    channel layer and cache live in that process). Started once per process."""
    thread = _embedded.get("thread")
    if thread is not None and thread.is_alive():
        return thread
    stop = threading.Event()
    thread = threading.Thread(
        target=_run_once_apps_ready, args=(stop,), name="market-producer", daemon=True
    )
    thread.start()
    _embedded["thread"] = thread
    return thread
