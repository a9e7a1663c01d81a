"""sigmasight.cache: one Redis connection pool per process, whatever the async context."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.core.cache import caches

from sigmasight.api import throttling
from sigmasight.cache import SharedPoolRedisCache


def _client_of_this_context() -> object:
    caches["default"].get("shared-pool-probe")  # a round trip, as a request makes
    return caches["default"]._cache  # type: ignore[attr-defined]


def _connections(client: object) -> int:
    pool = client._get_connection_pool(write=True)  # type: ignore[attr-defined]
    return len(pool._available_connections) + len(pool._in_use_connections)


@pytest.mark.skipif(
    not isinstance(caches["default"], SharedPoolRedisCache), reason="the Redis cache only"
)
def test_every_request_context_shares_one_client_and_pool() -> None:
    async def requests() -> list[object]:
        # Each task is its own context, as each ASGI request is.
        return list(
            await asyncio.gather(*(sync_to_async(_client_of_this_context)() for _ in range(20)))
        )

    before = _connections(_client_of_this_context())
    clients = asyncio.run(requests())
    assert len({id(c) for c in clients}) == 1
    # The contexts reuse the pool's connections; Django's own backend opened one each.
    assert _connections(clients[0]) <= max(before, 1)
    caches["default"].set("shared-pool-probe", 1, timeout=5)
    assert caches["default"].get("shared-pool-probe") == 1


@pytest.mark.skipif(
    not isinstance(caches["default"], SharedPoolRedisCache), reason="the Redis cache only"
)
def test_rate_limit_counts_are_one_pipeline_with_an_expiry() -> None:
    backend = caches["default"]
    prefix = f"pipe-test-{id(backend)}"
    backend.set(f"{prefix}:prev", 7, timeout=60)
    assert throttling._counts(f"{prefix}:prev", f"{prefix}:cur", timeout=125) == (7, 1)
    assert throttling._counts(f"{prefix}:prev", f"{prefix}:cur", timeout=125) == (7, 2)
    redis = backend.redis()  # type: ignore[attr-defined]
    assert 0 < redis.ttl(backend.make_key(f"{prefix}:cur")) <= 125
    # The counter is the cache's own value: the cache API reads what the pipeline wrote.
    assert backend.get(f"{prefix}:cur") == 2
