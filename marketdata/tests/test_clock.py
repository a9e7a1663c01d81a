"""The market clock: the live NYSE session, a replayed session at speed, the virtual clock
the tests step, and one replay start shared by every process."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import override_settings

from marketdata import calendar
from marketdata.clock import (
    LiveClock,
    ReplayClock,
    VirtualClock,
    configured_clock,
    market_time,
    use_clock,
)
from marketdata.models import ReplayAnchor

ET = calendar.EASTERN


def _et(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=ET).astimezone(dt.UTC)


def test_live_clock_is_open_during_a_session_at_the_wall_minute() -> None:
    reading = LiveClock(wall=_et(2026, 12, 1, 10, 15, 30)).read()
    assert reading.clock == "live" and reading.status == "open" and reading.is_open
    assert reading.session == dt.date(2026, 12, 1)
    assert reading.minute == 45 and reading.session_minutes == 390
    assert reading.minutes_to_close == pytest.approx(5 * 60 + 44.5)


@pytest.mark.parametrize(
    "wall, session",
    [
        (_et(2026, 12, 1, 9, 29), dt.date(2026, 11, 30)),  # before the open: yesterday's close
        (_et(2026, 12, 1, 16, 0), dt.date(2026, 12, 1)),  # at the close: today's
        (_et(2026, 11, 28, 12, 0), dt.date(2026, 11, 27)),  # Saturday: Friday's
        (_et(2026, 11, 26, 11, 0), dt.date(2026, 11, 25)),  # Thanksgiving: the day before
    ],
)
def test_live_clock_outside_a_session_serves_the_last_close(
    wall: dt.datetime, session: dt.date
) -> None:
    reading = LiveClock(wall=wall).read()
    assert reading.status == "closed" and not reading.is_open
    assert reading.session == session and reading.minute == reading.session_minutes
    assert reading.minutes_to_close == 0.0


def test_an_early_close_has_210_minutes() -> None:
    reading = LiveClock(wall=_et(2026, 11, 27, 12, 59)).read()  # the day after Thanksgiving
    assert reading.is_open and reading.session_minutes == 210 and reading.minute == 209
    assert LiveClock(wall=_et(2026, 11, 27, 13, 0)).read().status == "closed"


def test_replay_runs_the_session_at_speed_and_repeats_or_stops() -> None:
    start = dt.datetime(2026, 12, 2, 20, 0, tzinfo=dt.UTC)
    session = dt.date(2026, 11, 30)

    def at(seconds: float, repeat: bool = True):
        wall = start + dt.timedelta(seconds=seconds)
        return ReplayClock(session, speed=60, started_at=start, repeat=repeat, wall=wall).read()

    assert at(0).is_open and at(0).minute == 0 and at(0).now == calendar.session_open_utc(session)
    assert at(90).minute == 90  # 90 s of wall time are 90 market minutes at 60x
    assert at(389 * 60 / 60).minute == 389
    assert at(390).is_open and at(390).minute == 0  # a new replay of the same session
    stopped = at(400, repeat=False)
    assert stopped.status == "closed" and stopped.now == calendar.session_close_utc(session)
    with pytest.raises(ValueError):
        ReplayClock(dt.date(2026, 11, 26), speed=60, started_at=start, repeat=True)


@pytest.mark.django_db
def test_every_process_reads_the_same_replay_start() -> None:
    with override_settings(
        MARKET_CLOCK="replay", MARKET_REPLAY_DATE="2026-11-30", MARKET_REPLAY_SPEED=30.0
    ):
        first = configured_clock()
        second = configured_clock()
        assert isinstance(first, ReplayClock) and isinstance(second, ReplayClock)
        assert first.started_at == second.started_at and first.speed == 30.0
        assert ReplayAnchor.objects.count() == 1
        reading = market_time()
        assert reading.clock == "replay" and reading.session == dt.date(2026, 11, 30)
        assert reading.is_open and reading.minute < 5


def test_the_virtual_clock_steps_and_is_what_readers_see() -> None:
    clock = VirtualClock(dt.date(2026, 12, 1), minute=388)
    with use_clock(clock):
        assert market_time().minute == 388 and market_time().is_open
        clock.advance()
        assert market_time().minute == 389
        clock.advance()
        assert market_time().status == "closed"
    assert market_time().clock == "live"  # the settings' clock again


def _never(seconds: float) -> None:
    raise AssertionError(f"slept {seconds} s")


def test_a_reading_later_is_the_same_session_and_closed_past_its_close() -> None:
    reading = LiveClock(wall=_et(2026, 12, 1, 15, 59, 59)).read()
    assert reading.later(dt.timedelta(milliseconds=999)).is_open
    after = reading.later(dt.timedelta(seconds=1))  # 16:00: the close
    assert after.status == "closed" and after.session == reading.session
    assert after.now == _et(2026, 12, 1, 16, 0)


def test_the_live_clock_sleeps_the_real_time_until_the_moment() -> None:
    wall = _et(2026, 12, 1, 10, 15, 30)
    clock = LiveClock(wall=wall)
    slept: list[float] = []
    assert clock.wait_until(wall + dt.timedelta(milliseconds=250), sleep=slept.append) == 0.25
    assert slept == [0.25]
    assert clock.wait_until(wall, sleep=_never) == 0.0  # now: no sleep
    assert clock.wait_until(wall - dt.timedelta(seconds=5), sleep=_never) == 0.0


def test_the_replay_clock_sleeps_the_market_time_over_its_speed() -> None:
    start = dt.datetime(2026, 12, 2, 20, 0, tzinfo=dt.UTC)
    session = dt.date(2026, 11, 30)
    opened = calendar.session_open_utc(session)

    def clock(seconds: float, repeat: bool = True) -> ReplayClock:
        wall = start + dt.timedelta(seconds=seconds)
        return ReplayClock(session, speed=60, started_at=start, repeat=repeat, wall=wall)

    slept: list[float] = []
    # 90 s of wall time in: minute 90. 45 market seconds later are 0.75 real seconds at 60x.
    moment = opened + dt.timedelta(minutes=90, seconds=45)
    assert clock(90).wait_until(moment, sleep=slept.append) == pytest.approx(0.75)
    assert slept == [pytest.approx(0.75)]
    assert clock(91).wait_until(moment, sleep=_never) == 0.0  # minute 91: passed
    # The second loop (390 s of wall time a loop) waits within its own loop.
    assert clock(390 + 90).seconds_until(moment) == pytest.approx(0.75)
    # Past the close counts as the close, as far as a loop runs: minute 389 → 1 s.
    late = calendar.session_close_utc(session) + dt.timedelta(minutes=10)
    assert clock(389).seconds_until(late) == pytest.approx(1.0)
    assert clock(400, repeat=False).wait_until(late, sleep=_never) == 0.0  # closed for good


def test_the_virtual_clock_never_sleeps() -> None:
    clock = VirtualClock(dt.date(2026, 12, 1), minute=120)
    later = clock.read().now + dt.timedelta(minutes=5)
    assert clock.wait_until(later, sleep=_never) == 0.0
    assert clock.read().minute == 120  # only a test's step moves it
