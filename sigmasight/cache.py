"""The Redis cache with one connection pool per process.

Django keeps a cache object per async context (``django.core.cache.caches`` is an
``asgiref.local.Local``), and its Redis backend builds its client, and with it a new
connection pool, per cache object. Under ASGI every request is a new context, so every
request opened new TCP connections to Redis (connect, handshake, health check) for its
token-revocation check and its rate-limit counters: about a quarter of a light request's
time under load, and a connection count that follows the request rate. Here the client
is built once per process for a given configuration and shared by every cache object;
redis-py's pool is thread-safe, and a fork (Celery's pool children) gets a fresh one
(redis-py checks the pid). The ``redis.Redis`` object is kept too: Django built one per
cache call, and redis-py's constructor fills its table of reply callbacks each time
(a quarter of a millisecond, five times a request).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.utils.functional import cached_property

_clients: dict[tuple[Any, ...], RedisCacheClient] = {}
_lock = threading.Lock()


class _ClientKeepingRedis(RedisCacheClient):
    """Django's client, keeping one ``redis.Redis`` per connection pool."""

    def __init__(self, servers: list[str], **options: Any) -> None:
        super().__init__(servers, **options)
        self._redis: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        index = self._get_connection_pool_index(write)
        client = self._redis.get(index)
        if client is None:
            pool = self._get_connection_pool(write)
            client = self._redis.setdefault(index, self._client(connection_pool=pool))
        return client


class SharedPoolRedisCache(RedisCache):
    """``django.core.cache.backends.redis.RedisCache`` whose client (its connection pool)
    is shared by every instance with the same servers and options in this process."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _ClientKeepingRedis

    @cached_property
    def _cache(self) -> RedisCacheClient:
        key = (tuple(self._servers), repr(sorted(self._options.items())))
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = self._class(self._servers, **self._options)
        return client

    def redis(self) -> Any:
        """The process's ``redis.Redis`` for writes, for pipelines the cache API lacks
        (keys through ``make_key``; integers are stored as plain Redis integers)."""
        return self._cache.get_client(write=True)

    def counters_incr(self, keys: Sequence[str]) -> None:
        """INCR every key in one round trip (a pipeline). A missing counter starts at 0
        and never expires; Redis keeps the raw integer, which ``get`` reads back as an int
        (Django's Redis serializer stores ints unpickled). ``incr`` would cost an EXISTS
        and an INCR a key, and refuses a missing one."""
        pipeline = self._cache.get_client(None, write=True).pipeline(transaction=False)
        for key in keys:
            pipeline.incr(self.make_and_validate_key(key))
        pipeline.execute()
