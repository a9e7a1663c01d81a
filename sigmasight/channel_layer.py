"""The Redis channel layer with a bounded, blocking connection pool.

channels-redis builds a ``redis.asyncio.ConnectionPool`` per host and event loop. That pool
*raises* ``MaxConnectionsError`` once ``max_connections`` (redis-py's default: 100)
connections are in use, which is what a burst of socket connects or disconnects does: every
``group_add``/``group_discard`` borrows a connection at the same moment. A
``BlockingConnectionPool`` of the same size makes the burst wait its turn instead (up to
``pool_timeout`` seconds), so the process never holds more than ``max_connections`` Redis
connections and never drops a socket because the pool was momentarily empty.

The socket timeout: redis-py 8 reads with a default ``socket_timeout`` of 5 s, and
channels-redis waits for messages with ``BRPOP`` and a 5 s server-side timeout on the
same connection. On a loaded process the reply arrives a moment after 5 s, the read times
out, and the consumer's receive loop dies, closing the socket with 1011 ("Timeout reading
from 127.0.0.1:6379"). The read timeout here is the BRPOP timeout plus a margin.
"""

from __future__ import annotations

from typing import Any

from channels_redis.core import RedisChannelLayer
from redis import asyncio as aioredis

#: Seconds a read may take beyond the BRPOP timeout before the connection counts as dead.
READ_MARGIN_SECONDS = 10


class PooledRedisChannelLayer(RedisChannelLayer):  # type: ignore[misc]
    """``CONFIG`` as channels-redis takes it, plus ``max_connections`` (per process and
    host) and ``pool_timeout`` (seconds a borrower waits for a free connection)."""

    def __init__(
        self, *args: Any, max_connections: int = 50, pool_timeout: float = 20.0, **kwargs: Any
    ) -> None:
        self.max_connections = max_connections
        self.pool_timeout = pool_timeout
        super().__init__(*args, **kwargs)

    def create_pool(self, index: int) -> aioredis.BlockingConnectionPool:
        host = dict(self.hosts[index])
        address = host.pop("address")
        return aioredis.BlockingConnectionPool.from_url(
            address,
            max_connections=self.max_connections,
            timeout=self.pool_timeout,
            # a connection idle behind a NAT or a restarted Redis is checked before use
            health_check_interval=30,
            socket_keepalive=True,
            socket_timeout=host.pop("socket_timeout", self.brpop_timeout + READ_MARGIN_SECONDS),
            **host,
        )
