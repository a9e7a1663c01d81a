"""One wire format for moments (API-CONVENTIONS, Dates and times): UTC, whole seconds,
``Z`` suffix — the same as DRF's ``DATETIME_FORMAT``, so a moment in a WebSocket message or
an error's details reads like the one in the REST body."""

from __future__ import annotations

import datetime as dt

WIRE_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def utc_stamp(moment: dt.datetime) -> str:
    """``2026-12-03T15:09:23Z`` for an aware ``moment`` (converted to UTC; sub-seconds dropped)."""
    return moment.astimezone(dt.UTC).strftime(WIRE_DATETIME_FORMAT)


def utc_stamp_now() -> str:
    """The current moment in the wire format."""
    return utc_stamp(dt.datetime.now(dt.UTC))
