"""The market clock: which session the 0DTE market is in, and at which minute.

``MARKET_CLOCK`` (API-CONVENTIONS, "Market clock"):

* ``live`` (the default) follows the real NYSE calendar in America/New_York: during a
  session the market is open at the wall clock's minute; outside it the market is closed
  and everything is served as of the last session's close.
* ``replay`` runs a simulated session of ``MARKET_REPLAY_DATE`` (default: the latest
  completed session) from its 09:30 open at ``MARKET_REPLAY_SPEED`` times real time
  (default 60: a full session takes 6.5 minutes), then repeats it
  (``MARKET_REPLAY_REPEAT``, the default) or stays closed at its close. The replay's start
  is stored (:class:`marketdata.models.ReplayAnchor`), so every process (web workers, the
  producer, Celery) reads the same market minute, and a restarted process resumes.

Tests do not wait on either: :func:`use_clock` installs a :class:`VirtualClock` that they
step, and every reader goes through :func:`market_time`, the same code path.

A service that must not act before a later market moment (a fill ``TRADING_FILL_LATENCY_MS``
after its order) asks the clock to ``wait_until`` it: the live and replay clocks sleep the
real time until then (market seconds over the replay's speed), the virtual clock, which
only a test's step moves, returns at once.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from marketdata import calendar
from marketdata.models import ReplayAnchor

__all__ = [
    "CLOCK_LIVE",
    "CLOCK_REPLAY",
    "LiveClock",
    "MarketClock",
    "MarketTime",
    "ReplayClock",
    "VirtualClock",
    "configured_clock",
    "market_time",
    "market_time_at",
    "use_clock",
]

CLOCK_LIVE = "live"
CLOCK_REPLAY = "replay"
STATUS_OPEN = "open"
STATUS_CLOSED = "closed"


@dataclass(frozen=True)
class MarketTime:
    """One reading of the market clock.

    ``now`` is the market's time (aware UTC; in replay, a moment of the replayed session);
    ``session`` the session being traded, or the last completed one while closed;
    ``minute`` the whole minutes since that session's open (``session_minutes`` once it
    has closed); ``session_minutes`` 390, or 210 on an early close."""

    clock: str
    status: str
    now: dt.datetime
    session: dt.date
    minute: int
    session_minutes: int

    @property
    def is_open(self) -> bool:
        return self.status == STATUS_OPEN

    @property
    def session_open(self) -> dt.datetime:
        return calendar.session_open_utc(self.session)

    @property
    def session_close(self) -> dt.datetime:
        return calendar.session_close_utc(self.session)

    @property
    def minutes_to_close(self) -> float:
        """Minutes from ``now`` to the session's close (0 once closed)."""
        return max(0.0, (self.session_close - self.now).total_seconds() / 60.0)

    def later(self, delta: dt.timedelta) -> MarketTime:
        """The reading of the same clock and session ``delta`` of market time after this one
        (closed at or past the session's close)."""
        return _reading(self.clock, self.session, self.now + delta)


def _session_minutes(session: dt.date) -> int:
    span = calendar.session_close_utc(session) - calendar.session_open_utc(session)
    return int(span.total_seconds() // 60)


def _reading(clock: str, session: dt.date, now: dt.datetime) -> MarketTime:
    """The reading at market time ``now`` within (or after) ``session``."""
    length = _session_minutes(session)
    opened = calendar.session_open_utc(session)
    if opened <= now < calendar.session_close_utc(session):
        minute = int((now - opened).total_seconds() // 60)
        return MarketTime(clock, STATUS_OPEN, now, session, minute, length)
    return MarketTime(clock, STATUS_CLOSED, now, session, length, length)


#: How a clock sleeps real seconds (``time.sleep``; a test passes a recorder).
Sleep = Callable[[float], None]


def _sleep_for(seconds: float, sleep: Sleep) -> float:
    """Sleep ``seconds`` if positive; the seconds slept."""
    if seconds <= 0:
        return 0.0
    sleep(seconds)
    return seconds


class MarketClock(Protocol):
    name: str

    def read(self) -> MarketTime: ...

    def wait_until(self, moment: dt.datetime, *, sleep: Sleep = ...) -> float:
        """Return once this clock reads ``moment`` (market time) or later: the real
        seconds slept."""
        ...


class LiveClock:
    """The NYSE's own session at the wall clock's time."""

    name = CLOCK_LIVE

    def __init__(self, wall: dt.datetime | None = None) -> None:
        self._wall = wall  # fixed for a test; the real time otherwise

    def read(self) -> MarketTime:
        now = self._wall or timezone.now()
        today = now.astimezone(calendar.EASTERN).date()
        if calendar.is_session(today) and calendar.market_status(now) == STATUS_OPEN:
            return _reading(self.name, today, now)
        return _reading(self.name, calendar.last_completed_session(now), now)

    def seconds_until(self, moment: dt.datetime) -> float:
        """Real seconds until the market time is ``moment`` (≤ 0: it has been): the market
        time is the wall clock's."""
        return (moment - (self._wall or timezone.now())).total_seconds()

    def wait_until(self, moment: dt.datetime, *, sleep: Sleep = time.sleep) -> float:
        return _sleep_for(self.seconds_until(moment), sleep)


class ReplayClock:
    """Session ``session`` replayed from its open at ``speed`` times the wall clock since
    ``started_at``; after its close it starts again (``repeat``) or stays closed."""

    name = CLOCK_REPLAY

    def __init__(
        self,
        session: dt.date,
        *,
        speed: float,
        started_at: dt.datetime,
        repeat: bool,
        wall: dt.datetime | None = None,
    ) -> None:
        if speed <= 0:
            raise ValueError("MARKET_REPLAY_SPEED must be positive")
        if not calendar.is_session(session):
            raise ValueError(f"{session} is not an NYSE session")
        self.session, self.speed, self.started_at, self.repeat = session, speed, started_at, repeat
        self._wall = wall

    def _elapsed(self) -> dt.timedelta:
        """Market time since the session's open in the replay's current loop (the session's
        length once a replay that does not repeat has closed)."""
        wall = self._wall or timezone.now()
        length = calendar.session_close_utc(self.session) - calendar.session_open_utc(self.session)
        elapsed = max(dt.timedelta(0), (wall - self.started_at) * self.speed)
        if elapsed >= length:
            return elapsed % length if self.repeat else length
        return elapsed

    def read(self) -> MarketTime:
        opened = calendar.session_open_utc(self.session)
        return _reading(self.name, self.session, opened + self._elapsed())

    def seconds_until(self, moment: dt.datetime) -> float:
        """Real seconds until the current loop reaches market time ``moment`` (≤ 0: it has):
        the market seconds between, over ``speed``. A moment past the close counts as the
        close, which is as far as a loop runs."""
        opened = calendar.session_open_utc(self.session)
        target = min(moment, calendar.session_close_utc(self.session)) - opened
        return (target - self._elapsed()).total_seconds() / self.speed

    def wait_until(self, moment: dt.datetime, *, sleep: Sleep = time.sleep) -> float:
        return _sleep_for(self.seconds_until(moment), sleep)


class VirtualClock:
    """A clock a test sets and steps: ``session`` at ``minute`` minutes after its open
    (``minute`` at or past the session's length reads closed)."""

    def __init__(self, session: dt.date, minute: int = 0, *, name: str = CLOCK_REPLAY) -> None:
        self.name, self.session, self.minute = name, session, minute

    def advance(self, minutes: int = 1) -> MarketTime:
        self.minute += minutes
        return self.read()

    def read(self) -> MarketTime:
        at = calendar.session_open_utc(self.session) + dt.timedelta(minutes=self.minute)
        return _reading(self.name, self.session, at)

    def wait_until(self, moment: dt.datetime, *, sleep: Sleep = time.sleep) -> float:
        """No wait: only the test's steps move this clock, so sleeping would not bring
        ``moment`` nearer (a reader takes the moment as given)."""
        return 0.0


def replay_session() -> dt.date:
    """``MARKET_REPLAY_DATE``, or the latest completed session."""
    configured = settings.MARKET_REPLAY_DATE
    if configured:
        return dt.date.fromisoformat(configured)
    return calendar.last_completed_session(timezone.now())


def _replay_anchor(session: dt.date, speed: float) -> dt.datetime:
    """When the replay of ``session`` at ``speed`` started: stored once, shared by every
    process (the first reader creates it; a concurrent first reader takes that row)."""
    anchor = ReplayAnchor.objects.filter(session=session, speed=speed).first()
    if anchor is not None:
        return anchor.started_at
    try:
        with transaction.atomic():
            anchor = ReplayAnchor.objects.create(
                session=session, speed=speed, started_at=timezone.now()
            )
    except IntegrityError:
        anchor = ReplayAnchor.objects.get(session=session, speed=speed)
    return anchor.started_at


_override: dict[str, MarketClock] = {}  # process-wide: a socket's reads run on other threads


def configured_clock() -> MarketClock:
    """The clock the settings choose (or the one a test installed with :func:`use_clock`)."""
    installed = _override.get("clock")
    if installed is not None:
        return installed
    if settings.MARKET_CLOCK == CLOCK_REPLAY:
        session = replay_session()
        speed = float(settings.MARKET_REPLAY_SPEED)
        return ReplayClock(
            session,
            speed=speed,
            started_at=_replay_anchor(session, speed),
            repeat=settings.MARKET_REPLAY_REPEAT,
        )
    return LiveClock()


def market_time_at(clock: str, session: dt.date, minute: int) -> MarketTime:
    """The reading of ``clock`` at the start of ``minute`` of ``session``: what a job
    claimed for that market minute computes from, however late it runs."""
    return _reading(
        clock, session, calendar.session_open_utc(session) + dt.timedelta(minutes=minute)
    )


def market_time() -> MarketTime:
    """The market clock's reading now: the one question every 0DTE figure starts from."""
    return configured_clock().read()


@contextmanager
def use_clock(clock: MarketClock) -> Iterator[MarketClock]:
    """Install ``clock`` for this process (tests step a :class:`VirtualClock`)."""
    before = _override.get("clock")
    _override["clock"] = clock
    try:
        yield clock
    finally:
        if before is None:
            _override.pop("clock", None)
        else:
            _override["clock"] = before
