"""The Redis cache with one connection pool per process.

Django keeps a cache object per async context (``django.core.cache.caches`` is an
``asgiref.local.Local``), and its Redis backend builds its client, and with it a new
connection pool, per cache object. Under ASGI every request is a new context, so every
request opened new TCP connections to Redis (connect, handshake, health check) for its
token-revocation check and its rate-limit counters: about a quarter of a light request's
time under load, and a connection count that follows the request rate. Here the client
is built once per process for a given configuration and shared by every cache object;
redis-py's pool is thread-safe, and a fork (Celery's pool children) gets a fresh one
(redis-py checks the pid).
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.utils.functional import cached_property

_clients: dict[tuple[Any, ...], RedisCacheClient] = {}
_lock = threading.Lock()


class SharedPoolRedisCache(RedisCache):
    """``django.core.cache.backends.redis.RedisCache`` whose client (its connection pool)
    is shared by every instance with the same servers and options in this process."""

    @cached_property
    def _cache(self) -> RedisCacheClient:
        key = (tuple(self._servers), repr(sorted(self._options.items())))
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = self._class(self._servers, **self._options)
        return client
