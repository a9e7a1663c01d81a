"""The NYSE calendar: sessions, early closes, DST, market status and option expiry.

Reference: NYSE holiday and early-close schedule (2024-11-29 and 2025-07-03 close at 13:00 ET;
2024-12-25 and Good Friday 2022-04-15 are holidays). Plain pytest, no Django.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from marketdata import calendar

ET = ZoneInfo("America/New_York")
UTC = dt.UTC


def et(y: int, m: int, d: int, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=ET)


def test_day_after_thanksgiving_closes_at_1300_et() -> None:
    close = calendar.session_close_utc(dt.date(2024, 11, 29))
    assert close == dt.datetime(2024, 11, 29, 18, 0, tzinfo=UTC)
    assert close.astimezone(ET).time() == dt.time(13, 0)


def test_july_3_2025_is_an_early_close() -> None:
    assert calendar.is_session(dt.date(2025, 7, 3))
    assert calendar.session_close_utc(dt.date(2025, 7, 3)).astimezone(ET).time() == dt.time(13)
    assert not calendar.is_session(dt.date(2025, 7, 4))


def test_christmas_is_not_a_session_and_neighbours_are() -> None:
    assert not calendar.is_session(dt.date(2024, 12, 25))
    assert calendar.previous_session(dt.date(2024, 12, 25)) == dt.date(2024, 12, 24)
    assert calendar.next_session(dt.date(2024, 12, 25)) == dt.date(2024, 12, 26)
    # Christmas Eve 2024 is an early close.
    assert calendar.session_close_utc(dt.date(2024, 12, 24)) == dt.datetime(
        2024, 12, 24, 18, 0, tzinfo=UTC
    )


def test_close_is_2100_utc_in_winter_and_2000_utc_in_summer() -> None:
    assert calendar.session_close_utc(dt.date(2025, 1, 15)) == dt.datetime(
        2025, 1, 15, 21, 0, tzinfo=UTC
    )
    assert calendar.session_close_utc(dt.date(2025, 7, 15)) == dt.datetime(
        2025, 7, 15, 20, 0, tzinfo=UTC
    )
    # The Monday after the March 2025 switch to EDT (2025-03-09) and the Friday before.
    assert calendar.session_close_utc(dt.date(2025, 3, 7)).hour == 21
    assert calendar.session_close_utc(dt.date(2025, 3, 10)).hour == 20
    assert calendar.session_open_utc(dt.date(2025, 3, 10)) == dt.datetime(
        2025, 3, 10, 13, 30, tzinfo=UTC
    )


def test_weekends_are_not_sessions_and_between_is_inclusive() -> None:
    sessions = calendar.sessions_between(dt.date(2024, 12, 20), dt.date(2024, 12, 31))
    assert sessions == [
        dt.date(2024, 12, 20),
        dt.date(2024, 12, 23),
        dt.date(2024, 12, 24),
        dt.date(2024, 12, 26),
        dt.date(2024, 12, 27),
        dt.date(2024, 12, 30),
        dt.date(2024, 12, 31),
    ]
    assert calendar.sessions_between(dt.date(2024, 12, 31), dt.date(2024, 12, 20)) == []


def test_ad_hoc_closures_are_not_sessions() -> None:
    assert not calendar.is_session(dt.date(2012, 10, 29))  # Hurricane Sandy
    assert not calendar.is_session(dt.date(2018, 12, 5))  # President Bush's funeral


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (et(2025, 1, 15, 3, 59), "closed"),
        (et(2025, 1, 15, 4, 0), "pre_market"),
        (et(2025, 1, 15, 9, 29), "pre_market"),
        (et(2025, 1, 15, 9, 30), "open"),
        (et(2025, 1, 15, 15, 59), "open"),
        (et(2025, 1, 15, 16, 0), "after_hours"),
        (et(2025, 1, 15, 19, 59), "after_hours"),
        (et(2025, 1, 15, 20, 0), "closed"),
        (et(2024, 11, 29, 12, 59), "open"),
        (et(2024, 11, 29, 13, 0), "after_hours"),
        (et(2024, 12, 25, 12, 0), "closed"),
        (et(2025, 1, 18, 12, 0), "closed"),  # a Saturday
        (dt.datetime(2025, 7, 15, 19, 59, tzinfo=UTC), "open"),  # 15:59 EDT
        (dt.datetime(2025, 7, 15, 20, 0, tzinfo=UTC), "after_hours"),
    ],
)
def test_market_status(instant: dt.datetime, expected: str) -> None:
    assert calendar.market_status(instant) == expected


def test_last_completed_session_counts_a_session_from_its_close() -> None:
    assert calendar.last_completed_session(et(2025, 1, 15, 15, 59)) == dt.date(2025, 1, 14)
    assert calendar.last_completed_session(et(2025, 1, 15, 16, 0)) == dt.date(2025, 1, 15)
    # Early close: done at 13:00 ET.
    assert calendar.last_completed_session(et(2024, 11, 29, 13, 0)) == dt.date(2024, 11, 29)
    # Over a holiday weekend.
    assert calendar.last_completed_session(et(2024, 12, 25, 12, 0)) == dt.date(2024, 12, 24)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        calendar.market_status(dt.datetime(2025, 1, 15, 12, 0))
    with pytest.raises(ValueError, match="naive"):
        calendar.minutes_to_expiry(dt.datetime(2025, 1, 15, 12, 0), dt.date(2025, 1, 17))


def test_expiry_on_a_holiday_moves_to_the_previous_session_close() -> None:
    # Good Friday 2022-04-15: April monthly options stopped trading on Thursday 04-14.
    assert calendar.expiry_close_utc(dt.date(2022, 4, 15)) == dt.datetime(
        2022, 4, 14, 20, 0, tzinfo=UTC
    )
    # A normal Friday expiry: 16:00 ET.
    assert calendar.expiry_close_utc(dt.date(2025, 1, 17)) == dt.datetime(
        2025, 1, 17, 21, 0, tzinfo=UTC
    )


def test_minutes_to_expiry_counts_calendar_minutes_and_stops_at_zero() -> None:
    # Friday 15:00 ET to Friday 16:00 ET.
    assert calendar.minutes_to_expiry(et(2025, 1, 17, 15, 0), dt.date(2025, 1, 17)) == 60.0
    # Thursday 16:00 ET to Friday 16:00 ET: 24 hours.
    assert calendar.minutes_to_expiry(et(2025, 1, 16, 16, 0), dt.date(2025, 1, 17)) == 1440.0
    # An expiry on an early-close day ends at 13:00 ET.
    assert calendar.minutes_to_expiry(et(2024, 11, 29, 12, 0), dt.date(2024, 11, 29)) == 60.0
    # After the close: zero, not negative.
    assert calendar.minutes_to_expiry(et(2025, 1, 17, 16, 30), dt.date(2025, 1, 17)) == 0.0
    # Across the DST change: Friday 2025-03-07 16:00 EST to Monday 03-10 16:00 EDT is 71 hours.
    assert calendar.minutes_to_expiry(et(2025, 3, 7, 16, 0), dt.date(2025, 3, 10)) == 71 * 60.0


def test_dates_outside_the_calendar_are_rejected() -> None:
    with pytest.raises(ValueError):
        calendar.is_session(dt.date(1990, 1, 2))
    with pytest.raises(TypeError):
        calendar.is_session(dt.datetime(2025, 1, 15, 12, tzinfo=UTC))  # type: ignore[arg-type]
