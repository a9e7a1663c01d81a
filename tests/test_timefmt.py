"""One wire format for moments: REST bodies, WebSocket messages and error details agree."""

from __future__ import annotations

import datetime as dt

from django.conf import settings

from sigmasight.timefmt import utc_stamp
from signals.messages import new_signal
from signals.models import Signal


def test_a_moment_goes_out_in_utc_whole_seconds_with_z() -> None:
    new_york = dt.timezone(dt.timedelta(hours=-5))
    moment = dt.datetime(2026, 12, 3, 10, 9, 23, 402820, tzinfo=new_york)
    assert utc_stamp(moment) == "2026-12-03T15:09:23Z"


def test_rest_bodies_use_the_same_format() -> None:
    moment = dt.datetime(2026, 12, 3, 15, 9, 23, 402820, tzinfo=dt.UTC)
    assert moment.strftime(settings.REST_FRAMEWORK["DATETIME_FORMAT"]) == utc_stamp(moment)


def test_a_new_signal_message_carries_the_rest_format() -> None:
    """The REST body said ``…T15:09:23Z`` where the socket said ``…T15:09:23.402820Z``."""
    signal = Signal(
        id="sig_x",
        symbol="SPY",
        confidence=0.6,
        strategy="iron_condor",
        signal_type="neutral",
        clock="replay",
        generated_at=dt.datetime(2026, 12, 3, 15, 9, 23, 402820, tzinfo=dt.UTC),
        expires_at=dt.datetime(2026, 12, 3, 20, 45, tzinfo=dt.UTC),
    )
    data = new_signal(signal)["data"]
    assert data["generated_at"] == "2026-12-03T15:09:23Z"
    assert data["expires_at"] == "2026-12-03T20:45:00Z"
