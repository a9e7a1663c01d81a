"""In-process events of the signals app that other apps may follow (the trading app's
auto-execute), so that signals imports none of them."""

from __future__ import annotations

from django.dispatch import Signal as Event

#: Sent once per new signal of a clock users trade on, after its transaction commits,
#: with ``created`` (the stored ``signals.models.Signal``; ``signal`` is the dispatcher's own
#: argument).
signal_created = Event()
