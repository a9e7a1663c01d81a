"""``GET /health``: real checks of the database, cache, channel layer and broker."""

from __future__ import annotations

import uuid

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import connection


def _error(exc: Exception) -> str:
    return f"error: {type(exc).__name__}: {exc}"[:200]


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return "ok"
    except Exception as exc:  # noqa: BLE001 - any failure is reported, not raised
        return _error(exc)


def check_cache() -> str:
    key = f"health:{uuid.uuid4().hex}"
    try:
        cache.set(key, "1", timeout=5)
        ok = cache.get(key) == "1"
        cache.delete(key)
        if not ok:
            return "error: value not read back"
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    return "in-memory" if "locmem" in settings.CACHES["default"]["BACKEND"] else "ok"


def check_channel_layer() -> str:
    layer = get_channel_layer()
    if layer is None:
        return "error: no channel layer configured"
    try:

        async def roundtrip() -> bool:
            channel = await layer.new_channel()
            await layer.send(channel, {"type": "health.ping"})
            message = await layer.receive(channel)
            return message.get("type") == "health.ping"

        if not async_to_sync(roundtrip)():
            return "error: message not received"
    except Exception as exc:  # noqa: BLE001
        return _error(exc)
    return "in-memory" if "InMemory" in settings.CHANNEL_LAYERS["default"]["BACKEND"] else "ok"


def check_broker() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "eager"
    from sigmasight.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception as exc:  # noqa: BLE001
        return _error(exc)


EMBEDDED_OK = {"ok", "eager", "in-memory"}


def health_report() -> dict[str, object]:
    checks = {
        "database": check_database(),
        "cache": check_cache(),
        "channel_layer": check_channel_layer(),
        "broker": check_broker(),
    }
    healthy = all(value in EMBEDDED_OK for value in checks.values())
    return {"status": "ok" if healthy else "degraded", "checks": checks}
