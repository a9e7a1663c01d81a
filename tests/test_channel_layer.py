"""The channel layers: the default pub/sub layer delivers one group send to every member of
a burst; the list-based layer's Redis pool is bounded and blocking, so a burst of group
changes (what 200 sockets connecting or closing at once do) waits for a connection."""

from __future__ import annotations

import asyncio

import pytest
from channels_redis.core import RedisChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.conf import settings
from redis.exceptions import MaxConnectionsError
from redis.exceptions import TimeoutError as RedisTimeoutError

from sigmasight.channel_layer import PooledRedisChannelLayer

BURST = 120
POOL = 4


@pytest.fixture
def redis_url() -> str:
    if not settings.REDIS_URL:
        pytest.skip("needs Redis")
    return settings.REDIS_URL


async def _burst(layer: RedisChannelLayer) -> None:
    names = [f"test.burst!{i}" for i in range(BURST)]
    try:
        await asyncio.gather(*(layer.group_add("burst", name) for name in names))
        await asyncio.gather(*(layer.group_discard("burst", name) for name in names))
    finally:
        await layer.flush()
        await layer.close_pools()


def test_a_burst_of_group_changes_waits_for_the_bounded_pool(redis_url: str) -> None:
    layer = PooledRedisChannelLayer(
        hosts=[{"address": redis_url}], prefix="test-burst", max_connections=POOL
    )
    asyncio.run(_burst(layer))  # no MaxConnectionsError
    pool = layer.create_pool(0)
    assert pool.max_connections == POOL


def test_the_stock_pool_of_the_same_size_fails_the_burst(redis_url: str) -> None:
    # The reason for the subclass: channels-redis's own pool raises once it is exhausted.
    layer = RedisChannelLayer(hosts=[{"address": redis_url, "max_connections": POOL}])
    with pytest.raises(MaxConnectionsError):
        asyncio.run(_burst(layer))


def test_the_configured_layer_is_the_one_channel_layer_kind_names() -> None:
    if not settings.REDIS_URL:
        pytest.skip("needs Redis")
    config = settings.CHANNEL_LAYERS["default"]
    if settings.CHANNEL_LAYER_KIND == "pooled":
        assert config["BACKEND"] == "sigmasight.channel_layer.PooledRedisChannelLayer"
        assert config["CONFIG"]["max_connections"] == settings.CHANNEL_REDIS_MAX_CONNECTIONS
    else:
        assert settings.CHANNEL_LAYER_KIND == "pubsub"  # the default
        assert config["BACKEND"] == "channels_redis.pubsub.RedisPubSubChannelLayer"


def test_the_pubsub_layer_absorbs_a_burst_and_delivers_one_send_to_every_member(
    redis_url: str,
) -> None:
    async def scenario() -> None:
        layer = RedisPubSubChannelLayer(hosts=[redis_url], prefix="test-pubsub")
        channels = [await layer.new_channel() for _ in range(BURST)]
        try:
            await asyncio.gather(*(layer.group_add("burst", c) for c in channels))
            await layer.group_send("burst", {"type": "broadcast", "text": "{}"})
            received = await asyncio.gather(
                *(asyncio.wait_for(layer.receive(c), timeout=10) for c in channels)
            )
            assert all(m == {"type": "broadcast", "text": "{}"} for m in received)
            await asyncio.gather(*(layer.group_discard("burst", c) for c in channels))
        finally:
            await layer.flush()

    asyncio.run(scenario())


async def _idle_receive(layer: RedisChannelLayer, seconds: float) -> None:
    channel = await layer.new_channel()
    try:
        with pytest.raises(TimeoutError):  # asyncio's: nothing arrived, nothing broke
            await asyncio.wait_for(layer.receive(channel), timeout=seconds)
    finally:
        await layer.close_pools()


def test_an_idle_receive_outlasts_the_brpop_timeout(redis_url: str) -> None:
    layer = PooledRedisChannelLayer(hosts=[{"address": redis_url}], prefix="test-idle")
    layer.brpop_timeout = 1  # BRPOP returns empty every second; the read must wait for it
    asyncio.run(_idle_receive(layer, 3.5))
    assert layer.create_pool(0).connection_kwargs["socket_timeout"] > layer.brpop_timeout


def test_a_read_timeout_equal_to_the_brpop_timeout_kills_the_receive(redis_url: str) -> None:
    # What redis-py 8's default 5 s read timeout does to channels-redis's 5 s BRPOP,
    # made certain here with a read timeout below the BRPOP timeout.
    layer = RedisChannelLayer(hosts=[{"address": redis_url, "socket_timeout": 0.5}])
    layer.brpop_timeout = 1

    async def scenario() -> None:
        channel = await layer.new_channel()
        try:
            await asyncio.wait_for(layer.receive(channel), timeout=3.5)
        finally:
            await layer.close_pools()

    with pytest.raises(RedisTimeoutError):
        asyncio.run(scenario())
