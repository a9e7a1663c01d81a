"""The NYSE trading calendar (exchange_calendars "XNYS"), as plain functions. No Django.

Why a module of its own: prices are dated by session, freshness is measured against the last
NYSE close, option time to expiry is counted in minutes to the close of the expiry session
(16:00 ET, 13:00 ET on early-close days; see docs RISK-MODEL.md, "Options"), and the batch
schedule asks whether a session has closed. Every one of those questions is answered here,
from one calendar built once.

Conventions:

* a *session* is a ``datetime.date`` on which the NYSE trades (holidays and ad hoc closures,
  such as 2012-10-29/30 or 2018-12-05, are not sessions);
* every ``datetime`` passed in must be timezone-aware (a naive one raises ``ValueError``,
  because guessing its zone silently shifts closes by hours); every ``datetime`` returned is
  aware UTC;
* the calendar spans 1999-01-01 to today + 3 years (today when first used); a date outside
  it raises ``ValueError``, except in :func:`expiry_close_utc` (see there).

The calendar is built lazily on first use and kept for the life of the process (about 0.1 s).
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo

import numpy as np

__all__ = [
    "CALENDAR_NAME",
    "EASTERN",
    "expiry_close_utc",
    "is_session",
    "last_completed_session",
    "market_status",
    "minutes_to_expiry",
    "next_session",
    "previous_session",
    "session_close_utc",
    "session_open_utc",
    "sessions_between",
]

CALENDAR_NAME = "XNYS"
EASTERN = ZoneInfo("America/New_York")
CALENDAR_START = dt.date(1999, 1, 1)
#: How far past today the calendar reaches (years); long-dated options need future closes.
YEARS_AHEAD = 3
#: Extended-hours windows in Eastern time: pre-market from 04:00 to the open, after-hours from
#: the close to 20:00 (the usual broker windows; on early-close days after-hours is taken to
#: run to 20:00 too, as a simplification).
PRE_MARKET_START = dt.time(4, 0)
AFTER_HOURS_END = dt.time(20, 0)
#: Regular close used for expiries beyond the calendar's end (see :func:`expiry_close_utc`).
REGULAR_CLOSE = dt.time(16, 0)

_NS_PER_MINUTE = 60_000_000_000


@dataclass(frozen=True)
class _Calendar:
    """Sessions as ``datetime64[D]`` and their open/close instants as UTC ``int64`` ns."""

    sessions: np.ndarray
    opens_ns: np.ndarray
    closes_ns: np.ndarray

    @property
    def first(self) -> dt.date:
        return self.sessions[0].astype(object)

    @property
    def last(self) -> dt.date:
        return self.sessions[-1].astype(object)


@cache
def _calendar() -> _Calendar:
    """Build the XNYS calendar once. Imported lazily: exchange_calendars is slow to import."""
    import exchange_calendars as xcals

    end = dt.date.today() + dt.timedelta(days=round(365.25 * YEARS_AHEAD))
    with warnings.catch_warnings():
        # exchange_calendars 4.13 reads tz-aware Series.values, deprecated in pandas 3.1.
        warnings.filterwarnings("ignore", message="Series.values returning an ndarray")
        cal = xcals.get_calendar(
            CALENDAR_NAME, start=CALENDAR_START.isoformat(), end=end.isoformat()
        )
    schedule = cal.schedule
    sessions = schedule.index.values.astype("datetime64[D]")
    opens = schedule["open"].dt.tz_convert("UTC").dt.tz_localize(None).values
    closes = schedule["close"].dt.tz_convert("UTC").dt.tz_localize(None).values
    return _Calendar(
        sessions=sessions,
        opens_ns=opens.astype("datetime64[ns]").astype(np.int64),
        closes_ns=closes.astype("datetime64[ns]").astype(np.int64),
    )


def _check_date(d: dt.date) -> np.datetime64:
    if isinstance(d, dt.datetime) or not isinstance(d, dt.date):
        raise TypeError(f"expected a datetime.date, got {type(d).__name__}")
    cal = _calendar()
    if not cal.first <= d <= cal.last:
        raise ValueError(f"{d} is outside the calendar ({cal.first} to {cal.last})")
    return np.datetime64(d, "D")


def _check_aware(now: dt.datetime) -> int:
    """``now`` as UTC nanoseconds since the epoch."""
    if not isinstance(now, dt.datetime):
        raise TypeError(f"expected a datetime, got {type(now).__name__}")
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"naive datetime {now!r}: pass a timezone-aware datetime")
    delta = now.astimezone(dt.UTC) - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def _utc(ns: int | np.integer) -> dt.datetime:
    seconds, rest = divmod(int(ns), 1_000_000_000)
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC) + dt.timedelta(microseconds=rest // 1000)


def _index(d: dt.date) -> int:
    """Position of session ``d``; ``ValueError`` if ``d`` is not a session."""
    key = _check_date(d)
    sessions = _calendar().sessions
    i = int(np.searchsorted(sessions, key))
    if i >= sessions.size or sessions[i] != key:
        raise ValueError(f"{d} is not an NYSE session")
    return i


def is_session(d: dt.date) -> bool:
    """True when the NYSE trades on ``d`` (full or early-close day)."""
    key = _check_date(d)
    sessions = _calendar().sessions
    i = int(np.searchsorted(sessions, key))
    return i < sessions.size and sessions[i] == key


def sessions_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """Sessions from ``start`` to ``end``, both inclusive, in order (empty if start > end).
    Dates are clipped to the calendar's span rather than rejected, so a caller asking for
    "everything since 1990" gets what exists."""
    cal = _calendar()
    lo = np.datetime64(max(start, cal.first), "D")
    hi = np.datetime64(min(end, cal.last), "D")
    i = int(np.searchsorted(cal.sessions, lo, side="left"))
    j = int(np.searchsorted(cal.sessions, hi, side="right"))
    return list(cal.sessions[i:j].astype(object))


def previous_session(d: dt.date) -> dt.date:
    """The latest session strictly before ``d`` (``d`` need not be a session)."""
    key = _check_date(d)
    cal = _calendar()
    i = int(np.searchsorted(cal.sessions, key, side="left")) - 1
    if i < 0:
        raise ValueError(f"no session before {d} in the calendar")
    return cal.sessions[i].astype(object)


def next_session(d: dt.date) -> dt.date:
    """The earliest session strictly after ``d`` (``d`` need not be a session)."""
    key = _check_date(d)
    cal = _calendar()
    i = int(np.searchsorted(cal.sessions, key, side="right"))
    if i >= cal.sessions.size:
        raise ValueError(f"no session after {d} in the calendar")
    return cal.sessions[i].astype(object)


def session_open_utc(d: dt.date) -> dt.datetime:
    """The regular open (09:30 ET) of session ``d``, aware UTC."""
    return _utc(_calendar().opens_ns[_index(d)])


def session_close_utc(d: dt.date) -> dt.datetime:
    """The regular close of session ``d``, aware UTC: 16:00 ET, or 13:00 ET on early-close days
    (the day after Thanksgiving, usually July 3 and December 24)."""
    return _utc(_calendar().closes_ns[_index(d)])


def last_completed_session(now: dt.datetime) -> dt.date:
    """The latest session whose close is at or before ``now`` (aware). At exactly 16:00 ET the
    day's session counts as completed."""
    ns = _check_aware(now)
    cal = _calendar()
    i = int(np.searchsorted(cal.closes_ns, ns, side="right")) - 1
    if i < 0:
        raise ValueError(f"no session closed before {now.isoformat()} in the calendar")
    if now.astimezone(EASTERN).date() > cal.last:
        raise ValueError(f"{now.isoformat()} is beyond the calendar's end ({cal.last})")
    return cal.sessions[i].astype(object)


def market_status(now: dt.datetime) -> str:
    """The NYSE's state at ``now`` (aware): "open" (open <= now < close), "pre_market"
    (04:00 ET <= now < open on a session), "after_hours" (close <= now < 20:00 ET on a
    session) or "closed" (anything else, all day on holidays and weekends)."""
    ns = _check_aware(now)
    local = now.astimezone(EASTERN)
    day = local.date()
    if not is_session(day):
        return "closed"
    i = _index(day)
    cal = _calendar()
    if cal.opens_ns[i] <= ns < cal.closes_ns[i]:
        return "open"
    if local.time() >= PRE_MARKET_START and ns < cal.opens_ns[i]:
        return "pre_market"
    if ns >= cal.closes_ns[i] and local.time() < AFTER_HOURS_END:
        return "after_hours"
    return "closed"


def expiry_close_utc(expiry: dt.date) -> dt.datetime:
    """The instant an option expiring on ``expiry`` stops trading, aware UTC: the close of the
    expiry session (13:00 ET on early-close days).

    If ``expiry`` is not a session, the previous session's close. Why: listed options expire
    on a business day; when the scheduled expiry falls on an exchange holiday (monthly options
    "expiring" on Good Friday, e.g. 2022-04-15), OCC rules move the last trading day to the
    preceding business day, and that is when time value ends. A weekend date (as written in
    some hand-made symbols) is treated the same way.

    Beyond the calendar's end (more than ~3 years ahead) there is no holiday schedule: the
    expiry date, or the Friday before it if it falls on a weekend, at 16:00 ET is used; an
    error of a few hours is negligible at that horizon.
    """
    if isinstance(expiry, dt.datetime) or not isinstance(expiry, dt.date):
        raise TypeError(f"expected a datetime.date, got {type(expiry).__name__}")
    cal = _calendar()
    if expiry > cal.last:
        day = expiry - dt.timedelta(days=max(0, expiry.weekday() - 4))
        return dt.datetime.combine(day, REGULAR_CLOSE, tzinfo=EASTERN).astimezone(dt.UTC)
    day = expiry if is_session(expiry) else previous_session(expiry)
    return session_close_utc(day)


def minutes_to_expiry(now: dt.datetime, expiry: dt.date) -> float:
    """Minutes from ``now`` (aware) to :func:`expiry_close_utc` of ``expiry``, at least 0.

    Divide by 525,600 (``risk.engine.pricing.years_from_minutes``) for the time to expiry in
    years, as docs RISK-MODEL.md prescribes (calendar minutes, so weekends count)."""
    ns = _check_aware(now)
    close = expiry_close_utc(expiry)
    close_ns = _check_aware(close)
    return max(0.0, (close_ns - ns) / _NS_PER_MINUTE)
