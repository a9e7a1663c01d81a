"""``GET /health``: real checks of the database, cache, channel layer and broker; and the
status sections other apps add for ``/system/status`` and the admin's data-quality view.

The checks are the service's own. What only a domain app can say (the exchange's state,
the market-data providers') it registers here from its ``AppConfig.ready()`` with
:func:`register_status_section`; this module imports no app.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from asgiref.sync import async_to_sync
from celery import current_app
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import connection

logger = logging.getLogger(__name__)


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
    try:
        with current_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception as exc:  # noqa: BLE001
        return _error(exc)


EMBEDDED_OK = {"ok", "eager", "in-memory"}


def pool_report() -> dict[str, int] | None:
    """This process's database connection pool (psycopg's counters), or None without one:
    ``size`` connections open, ``available`` idle, ``max_size``, ``requests_waiting``, and
    the totals of connections ever opened and of requests that waited."""
    pool = getattr(connection, "pool", None)
    if pool is None:
        return None
    stats = pool.get_stats()
    return {
        "max_size": int(pool.max_size),
        "size": int(stats.get("pool_size", 0)),
        "available": int(stats.get("pool_available", 0)),
        "requests_waiting": int(stats.get("requests_waiting", 0)),
        "connections_opened": int(stats.get("connections_num", 0)),
        "requests_queued_total": int(stats.get("requests_queued", 0)),
    }


def health_report() -> dict[str, object]:
    checks = {
        "database": check_database(),
        "cache": check_cache(),
        "channel_layer": check_channel_layer(),
        "broker": check_broker(),
    }
    healthy = all(value in EMBEDDED_OK for value in checks.values())
    report: dict[str, object] = {"status": "ok" if healthy else "degraded", "checks": checks}
    pool = pool_report()
    if pool is not None:
        report["database_pool"] = pool  # an added key: this process's pool
    return report


# --------------------------------------------------------------------------- sections

#: ``section(now)`` → (JSON-able payload, warnings), by name.
StatusSection = Callable[..., tuple[dict[str, Any], list[str]]]
_SECTIONS: dict[str, StatusSection] = {}


def register_status_section(name: str, section: StatusSection) -> None:
    _SECTIONS[name] = section


def status_sections(*, now: Any = None) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Every registered section's payload, and their warnings. A section that fails is
    reported in the warnings (with its type, not its text) and left out."""
    payloads: dict[str, dict[str, Any]] = {}
    warnings: list[str] = []
    for name, section in _SECTIONS.items():
        try:
            payload, notes = section(now=now)
        except Exception as exc:
            logger.exception("health: status section %s failed", name)
            warnings.append(f"{name}: could not be measured ({type(exc).__name__})")
            continue
        payloads[name] = payload
        warnings.extend(notes)
    return payloads, warnings


def database_health() -> tuple[dict[str, Any], list[str]]:
    """Cheap real measurements: five timed ``SELECT 1`` round trips (milliseconds), and on
    PostgreSQL the connections in use as a percent of ``max_connections``. Slow-query
    counts need ``pg_stat_statements``, which is not assumed: null."""
    warnings = ["slow_queries_24h needs pg_stat_statements and is not measured: null."]
    try:
        with connection.cursor() as cursor:
            timings = []
            for _ in range(5):
                started = time.perf_counter()
                cursor.execute("SELECT 1")
                cursor.fetchone()
                timings.append((time.perf_counter() - started) * 1000)
            usage = None
            if connection.vendor == "postgresql":
                cursor.execute(
                    "SELECT count(*), current_setting('max_connections')::int "
                    "FROM pg_stat_activity WHERE datname = current_database()"
                )
                in_use, limit = cursor.fetchone()
                usage = round(100.0 * in_use / limit, 1) if limit else None
            else:
                warnings.append(
                    f"connection_pool_usage is measured on PostgreSQL only ({connection.vendor} here)."
                )
    except Exception as exc:  # noqa: BLE001 - reported as the status
        return {
            "status": f"error: {type(exc).__name__}",
            "connection_pool_usage": None,
            "avg_query_time_ms": None,
            "slow_queries_24h": None,
        }, warnings
    avg = round(sum(timings) / len(timings), 3)
    healthy = avg < 50 and (usage is None or usage < 80)
    return {
        "status": "healthy" if healthy else "degraded",
        "connection_pool_usage": usage,
        "avg_query_time_ms": avg,
        "slow_queries_24h": None,
    }, warnings
