"""Version counters of stored data, in the shared cache: what a cached response is keyed
by, so that a write makes the next read compute afresh.

A counter names what changed: ``("portfolio", id)`` (its positions, cash, settings),
``("user", id)`` (any of the user's portfolios: the portfolio list), ``("market",)``
(any quote or daily bar), ``("risk", portfolio id)`` (a batch step stored results for
it). The owning app bumps its counters in its services, at the write and after the commit
(a reader that saw the final number must find the new rows), and readers take the
current numbers of every counter a response depends on in one cache round trip.

Counters live in the default cache (Redis in production, shared by the web processes
and the Celery workers; the embedded default's one process uses its local memory) and
never expire; a lost counter (a cache flush) reads as 0 again, and the responses cached
under the old numbers expire on their own short TTL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.cache import cache
from django.db import transaction

Counter = tuple[Any, ...]  # ("portfolio", id), ("market",), …

#: Any quote or daily bar (the market-data app bumps it).
MARKET: Counter = ("market",)

_PREFIX = "ver"


def portfolio_reads(portfolio_id: Any) -> list[Counter]:
    """What a report of one portfolio depends on: its writes, the market, its results."""
    return [("portfolio", str(portfolio_id)), ("risk", str(portfolio_id)), MARKET]


def user_reads(user_id: Any) -> list[Counter]:
    """What a report over all of a user's portfolios depends on."""
    return [("user", str(user_id)), MARKET]


def _key(counter: Counter) -> str:
    return ":".join((_PREFIX, *map(str, counter)))


def _bump_now(keys: Sequence[str]) -> None:
    incr_all = getattr(cache, "counters_incr", None)
    if incr_all is not None:  # the Redis cache: one round trip for every counter
        incr_all(keys)
        return
    for key in keys:
        # add() creates the counter (no expiry) if it is missing; incr() is atomic.
        cache.add(key, 0, timeout=None)
        try:
            cache.incr(key)
        except ValueError:  # flushed between add and incr: start again
            cache.set(key, 1, timeout=None)


def bump(*counters: Counter) -> None:
    """Advance ``counters`` now and again once the current transaction commits.

    The second bump is the one that matters: a reader between the first and the commit
    still sees the old rows and may cache them under the new number, which the commit's
    bump then leaves behind. The first makes a write visible to readers of the same
    connection before any commit (a test's transaction, which never commits)."""
    keys = [_key(c) for c in counters]
    _bump_now(keys)
    transaction.on_commit(lambda: _bump_now(keys))


def current(counters: Sequence[Counter]) -> tuple[int, ...]:
    """The numbers of ``counters`` now (0 for one never bumped), in one round trip."""
    keys = [_key(c) for c in counters]
    found = cache.get_many(keys)
    return tuple(int(found.get(k, 0)) for k in keys)
