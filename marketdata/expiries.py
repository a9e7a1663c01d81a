"""Which dates each option root lists as expiries: the seed rule. Pure Python, no Django.

The stored reference data (``marketdata.models.ListedExpiry``, editable in the admin) is
generated from these rules, and :func:`marketdata.selectors.is_listed_expiry` falls back to
them for a root that has no stored rows yet (a security added after the seed). Holidays and
early closes come from the NYSE calendar (``marketdata.calendar``, exchange_calendars XNYS).
Beyond that calendar's end (about three years ahead) no holiday is known: weekday rules apply
as they stand.

Rules (RISK-MODEL.md, Options, "Listed expiries only"); weekends and holidays never expire:

* every optionable root: the standard monthly expiry (the third Friday) and a weekly expiry
  every Friday; a Friday that is a holiday moves to the session before (the Thursday);
* SPY and QQQ: every session since 2022-11-14 (when Tuesday and Thursday expiries were
  added); Monday, Wednesday and Friday before that (a simplification: the Monday and
  Wednesday series started in 2016-2018);
* IWM: Monday, Wednesday and Friday (its listing calendar lists no Tuesday or Thursday
  expiry; on those days the nearest expiry is its 0DTE chain) since 2022-11-14, Fridays
  before; the cash-settled index roots SPX, SPXW, XSP and NDX follow the SPY rule;
* Monday and Wednesday expiries since 2026-01-05 for :data:`MON_WED_ROOTS` (the largest
  single names, the ones listing them since 2026);
* VIX (roots VIX, VIXW): monthly expiries on the Wednesday 30 days before the next month's
  standard expiry: when that Friday is a holiday, 30 days before the session preceding it
  (a Tuesday); when the Wednesday itself is a holiday, the session before it. Weekly
  expiries on every Wednesday that is not a monthly one (a holiday Wednesday moves to the
  session before).

A Monday or Wednesday (or Tuesday/Thursday daily) expiry that falls on a holiday is not
listed: the neighbouring expiries cover it, as the exchanges do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from marketdata import calendar

__all__ = [
    "DAILY_ROOTS",
    "DAILY_SINCE",
    "MON_WED_ROOTS",
    "MON_WED_SINCE",
    "SEED_START",
    "VIX_ROOTS",
    "ExpiryKind",
    "expiry_kinds",
    "is_listed_by_rule",
    "listed_by_rule",
    "normalize_root",
    "standard_monthly",
    "third_friday",
    "vix_monthly",
]

#: The first date the seed covers.
SEED_START = dt.date(2015, 1, 1)
#: Roots with an expiry every session (since :data:`DAILY_SINCE`; Mon/Wed/Fri before).
DAILY_ROOTS = frozenset({"SPY", "QQQ", "SPX", "SPXW", "XSP", "NDX"})
DAILY_SINCE = dt.date(2022, 11, 14)
#: IWM lists Monday, Wednesday and Friday expiries (since :data:`DAILY_SINCE`).
MWF_ROOTS = frozenset({"IWM"})
#: Single names with Monday and Wednesday expiries since :data:`MON_WED_SINCE`.
MON_WED_ROOTS = frozenset({"AAPL", "AMZN", "GOOGL", "META", "MSFT", "NVDA", "TSLA"})
MON_WED_SINCE = dt.date(2026, 1, 5)
VIX_ROOTS = frozenset({"VIX", "VIXW"})

MONDAY, WEDNESDAY, FRIDAY = 0, 2, 4


class ExpiryKind:
    """Why a date is listed (the strongest reason when there are several)."""

    MONTHLY = "monthly"
    WEEKLY = "weekly"
    DAILY = "daily"
    VIX_MONTHLY = "vix_monthly"
    VIX_WEEKLY = "vix_weekly"

    CHOICES = (
        (MONTHLY, "Standard monthly"),
        (WEEKLY, "Weekly"),
        (DAILY, "Daily / Mon-Wed"),
        (VIX_MONTHLY, "VIX monthly"),
        (VIX_WEEKLY, "VIX weekly"),
    )


def normalize_root(root: str) -> str:
    """The key an expiry is stored under: upper case, without an index caret or a class
    separator (``^VIX`` and ``VIX`` are one root, ``BRK.B``, ``BRK-B`` and ``BRKB`` too)."""
    return root.strip().upper().lstrip("^").replace(".", "").replace("-", "")


def _is_session(day: dt.date) -> bool:
    """A session; beyond the calendar's span, any weekday (no holiday is known there)."""
    if day.weekday() >= 5:
        return False
    try:
        return calendar.is_session(day)
    except ValueError:  # outside the calendar's span
        return True


def _session_on_or_before(day: dt.date) -> dt.date:
    while not _is_session(day):
        day -= dt.timedelta(days=1)
    return day


def third_friday(year: int, month: int) -> dt.date:
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(FRIDAY - first.weekday()) % 7 + 14)


def standard_monthly(year: int, month: int) -> dt.date:
    """The standard monthly expiry: the third Friday, or the session before it (Thursday)
    when that Friday is a holiday (Good Friday, e.g. 2022-04-15 -> 2022-04-14)."""
    return _session_on_or_before(third_friday(year, month))


def vix_monthly(year: int, month: int) -> dt.date:
    """The VIX monthly expiry of ``year``-``month``: 30 days before the next month's standard
    expiry (a Wednesday); if that Friday is a holiday, 30 days before the session preceding
    it; if the resulting day is a holiday, the session before it.

    Example: December 2026 -> 2027-01-15 minus 30 days = 2026-12-16."""
    next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
    anchor = _session_on_or_before(third_friday(next_year, next_month))
    return _session_on_or_before(anchor - dt.timedelta(days=30))


def _days(start: dt.date, end: dt.date) -> Iterator[dt.date]:
    day = start
    while day <= end:
        yield day
        day += dt.timedelta(days=1)


def _months(start: dt.date, end: dt.date) -> Iterator[tuple[int, int]]:
    """Every (year, month) whose expiries may fall in [start, end] (one month either side,
    because a VIX monthly falls in the month before its label's next month)."""
    year, month = (start.year, start.month - 1) if start.month > 1 else (start.year - 1, 12)
    while (year, month) <= (end.year, end.month):
        yield year, month
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _lists_weekday(key: str, day: dt.date) -> bool:
    """Whether root ``key`` lists a Monday-to-Thursday expiry on ``day`` (by the rule)."""
    weekday = day.weekday()
    if key in DAILY_ROOTS:
        return day >= DAILY_SINCE or weekday in (MONDAY, WEDNESDAY)
    if key in MWF_ROOTS:
        return day >= DAILY_SINCE and weekday in (MONDAY, WEDNESDAY)
    if key in MON_WED_ROOTS:
        return day >= MON_WED_SINCE and weekday in (MONDAY, WEDNESDAY)
    return False


def listed_by_rule(root: str, start: dt.date, end: dt.date) -> dict[dt.date, str]:
    """Every expiry the seed rule lists for ``root`` from ``start`` to ``end`` (inclusive),
    each with its :class:`ExpiryKind`. The root is normalized (:func:`normalize_root`)."""
    key = normalize_root(root)
    found: dict[dt.date, str] = {}

    def add(day: dt.date, kind: str) -> None:
        if start <= day <= end and _is_session(day):
            found.setdefault(day, kind)  # the first (strongest) reason wins

    if key in VIX_ROOTS:
        for year, month in _months(start, end):
            add(vix_monthly(year, month), ExpiryKind.VIX_MONTHLY)
        for day in _days(start, end + dt.timedelta(days=7)):
            if day.weekday() == WEDNESDAY:
                add(_session_on_or_before(day), ExpiryKind.VIX_WEEKLY)
        return dict(sorted(found.items()))
    for year, month in _months(start, end):
        add(standard_monthly(year, month), ExpiryKind.MONTHLY)
    # A week past ``end``: a holiday Friday's weekly moves back into the range.
    for day in _days(start, end + dt.timedelta(days=7)):
        weekday = day.weekday()
        if weekday == FRIDAY:
            add(_session_on_or_before(day), ExpiryKind.WEEKLY)
        elif _lists_weekday(key, day):
            add(day, ExpiryKind.DAILY)
    return dict(sorted(found.items()))


def expiry_kinds(root: str, day: dt.date) -> str | None:
    """The :class:`ExpiryKind` under which the seed rule lists ``day`` for ``root``, or None."""
    return listed_by_rule(root, day, day).get(day)


def is_listed_by_rule(root: str, day: dt.date) -> bool:
    """True when the seed rule lists ``day`` as an expiry of ``root``."""
    return expiry_kinds(root, day) is not None
