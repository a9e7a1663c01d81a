"""What the market-data app adds to ``/system/status`` and to the admin's data-quality
view: the exchange's state, and the state of the configured provider chain. Registered
as status sections of ``sigmasight.health`` from ``MarketdataConfig.ready()``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from batch.selectors import step_outcomes
from marketdata import calendar
from marketdata.services import get_provider


def market_section(*, now: dt.datetime | None = None) -> tuple[dict[str, Any], list[str]]:
    """The NYSE's state now and the last completed session (``/system/status`` market)."""
    now = now or timezone.now()
    try:
        return {
            "status": calendar.market_status(now),
            "last_completed_session": calendar.last_completed_session(now),
        }, []
    except ValueError as exc:
        return {"status": None, "last_completed_session": None}, [f"Exchange calendar: {exc}"]


def _update_history(now: dt.datetime) -> dict[str, Any]:
    """The market-data updates of the last 24 h (alone and inside chains), from the jobs'
    recorded outcomes: the items' error rate and the last successful run."""
    outcomes = step_outcomes(step="market_data_update", since=now - dt.timedelta(hours=24))
    processed = sum(o["processed"] for o in outcomes)
    failed = sum(o["failed"] for o in outcomes)
    successes = [
        o["completed_at"]
        for o in outcomes
        if o["ok"] and o["processed"] > o["failed"] and o["completed_at"] is not None
    ]
    return {
        "processed": processed,
        "error_rate": round(failed / processed, 4) if processed else None,
        "last_success": max(successes) if successes else None,
    }


def provider_section(*, now: dt.datetime | None = None) -> tuple[dict[str, Any], list[str]]:
    """``market_data_providers``: the configured failover chain, primary first.

    The chain's figures (error rate, last successful run) come from the market-data runs
    recorded on batch jobs in the last 24 h, and are shown on the primary provider. The
    per-provider counters of ``FailoverProvider.stats()`` live in the provider object, and
    ``get_provider()`` builds a new one per call, so they are used when non-zero only;
    daily call counts and limits are null unless a provider exposes a request budget.
    """
    now = now or timezone.now()
    warnings: list[str] = []
    try:
        provider = get_provider()
    except Exception as exc:  # noqa: BLE001 - a misconfiguration is reported, not raised
        return {}, [f"No market-data provider could be built: {type(exc).__name__}: {exc}"]
    members = list(getattr(provider, "providers", None) or [provider])
    stats: dict[str, dict[str, Any]] = {}
    stats_of = getattr(provider, "stats", None)  # FailoverProvider keeps per-member counts
    if callable(stats_of):
        stats = stats_of()
    keys = list(stats) if len(stats) == len(members) else [m.name for m in members]
    history = _update_history(now)
    result: dict[str, Any] = {}
    for index, (key, member) in enumerate(zip(keys, members, strict=True)):
        own = stats.get(key) or {}
        budget = getattr(getattr(member, "http", None), "budget", None)
        primary = index == 0
        if own.get("calls"):
            error_rate = round(own["errors"] / own["calls"], 4)
            last_success = own.get("last_success")
        elif primary:
            error_rate, last_success = history["error_rate"], history["last_success"]
        else:
            error_rate, last_success = None, None
        if error_rate is None:
            status = "idle" if primary else "standby"
        else:
            status = "operational" if error_rate < 0.5 else "degraded"
        result[key] = {
            "status": status,
            "role": "primary" if primary else "fallback",
            "last_successful_call": last_success,
            "daily_api_calls": None,
            "daily_limit": getattr(budget, "per_day", None),
            "error_rate_24h": error_rate,
        }
    warnings.append(
        "Provider call counts are kept per provider object, not across processes: "
        "daily_api_calls is null; error rates come from the market-data runs of the last 24 h."
    )
    return result, warnings


def fallback_provider_names() -> tuple[list[str], list[str]]:
    """The names of the providers after the primary, and warnings."""
    try:
        chain = [getattr(p, "name", "?") for p in getattr(get_provider(), "providers", [])]
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return [], [f"No market-data provider could be built: {type(exc).__name__}"]
    return chain[1:], []
