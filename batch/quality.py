"""Data quality for the admin endpoints (spec 3.4 and 3.5). Reads only.

Per portfolio, from stored data (RISK-MODEL.md, "Data quality"):

* ``price_coverage``: share of open positions with a price (quote or bar), percent;
* ``historical_data_coverage``: share of open positions whose symbol (an option's
  underlying) has bars on at least 95% of the last 252 sessions, percent;
* ``greeks_coverage`` and ``factor_coverage``: computed by the risk engine. When
  ``risk.selectors.data_quality_report(portfolio)`` exists, its figures are used (and may
  override the ones above); otherwise they are null with a warning;
* freshness, against the last NYSE close: a position priced at or after the last completed
  session scores 100 and loses 20 points per session behind (0 from five sessions on; an
  unpriced position scores 0); ``freshness_score`` is the mean over open positions;
  ``hours_since_update`` is the time since the newest price update;
* ``quality_score``: the weighted mean of the figures available (price 0.4, freshness 0.2,
  history 0.2, Greeks 0.1, factors 0.1), re-weighted over the non-null ones.

The system score is the position-weighted mean of the portfolio scores.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.db import connection
from django.db.models import Count
from django.utils import timezone

from batch.models import BatchJob, JobStatus
from marketdata import calendar

logger = logging.getLogger(__name__)

LOOKBACK_SESSIONS = 252
#: Share of the lookback's sessions a symbol's bars must cover to count as full history.
HISTORY_FULL_SHARE = 0.95
#: Freshness points lost per session a price is behind the last close.
POINTS_PER_STALE_SESSION = 20.0
WEIGHTS: dict[str, float] = {
    "price_coverage": 0.4,
    "freshness_score": 0.2,
    "historical_data_coverage": 0.2,
    "greeks_coverage": 0.1,
    "factor_coverage": 0.1,
}
#: A portfolio below this score is "below threshold" (spec 3.5).
QUALITY_THRESHOLD = 80.0
#: The score a refresh aims at (spec 3.5 ``target_quality_score``).
TARGET_QUALITY_SCORE = 95.0
#: How many symbols an issue names before "and N more".
NAMED = 8
RISK_REPORT = "risk.selectors.data_quality_report"
DATA_TYPES = ["market_prices", "options_greeks", "factor_exposures", "historical_data"]


def _names(symbols: list[str]) -> str:
    shown = ", ".join(symbols[:NAMED])
    return shown + (f" and {len(symbols) - NAMED} more" if len(symbols) > NAMED else "")


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


@dataclass
class _Position:
    portfolio_id: UUID
    symbol: str
    history_symbol: str  # the symbol whose bars make the history (an option's underlying)
    is_option: bool


def _risk_report_function() -> Callable[[Any], Any] | None:
    module_path, _, name = RISK_REPORT.rpartition(".")
    try:
        module = importlib.import_module(module_path)
    except ImportError:
        return None
    function = getattr(module, name, None)
    return function if callable(function) else None


def _open_positions(portfolio_ids: list[UUID]) -> list[_Position]:
    from portfolios.models import OPTION_TYPES, Position

    rows = (
        Position.objects.open()
        .filter(portfolio_id__in=portfolio_ids)
        .values_list("portfolio_id", "security_id", "position_type", "security__underlying_id")
    )
    return [
        _Position(pid, symbol, underlying or symbol, kind in OPTION_TYPES)
        for pid, symbol, kind, underlying in rows
    ]


def _history_counts(symbols: set[str], sessions: list[dt.date]) -> dict[str, int]:
    from marketdata.models import PriceBar

    if not symbols or not sessions:
        return {}
    return dict(
        PriceBar.objects.filter(
            security_id__in=symbols, date__gte=sessions[0], date__lte=sessions[-1]
        )
        .values_list("security_id")
        .annotate(n=Count("id"))
        .values_list("security_id", "n")
    )


def _score(figures: dict[str, float | None]) -> float | None:
    weighted = [(WEIGHTS[k], v) for k, v in figures.items() if k in WEIGHTS and v is not None]
    total = sum(w for w, _ in weighted)
    return round(sum(w * v for w, v in weighted) / total, 1) if total else None


def _merge_risk(entry: dict[str, Any], external: Any) -> None:
    """Take the figures the risk engine's report provides (numbers only, known keys)."""
    if not isinstance(external, dict):
        return
    for block in ("data_completeness", "data_freshness"):
        values = external.get(block)
        if isinstance(values, dict):
            for key, value in values.items():
                if key in entry[block] and (value is None or isinstance(value, (int, float))):
                    entry[block][key] = value
    for key in ("greeks_coverage", "factor_coverage"):  # flat form also accepted
        value = external.get(key)
        if isinstance(value, (int, float)):
            entry["data_completeness"][key] = value
    if isinstance(external.get("issues"), list):
        entry["issues"].extend(str(i) for i in external["issues"] if str(i) not in entry["issues"])
    if isinstance(external.get("warnings"), list):
        entry["warnings"].extend(str(w) for w in external["warnings"])
    if isinstance(external.get("quality_score"), (int, float)):
        entry["quality_score"] = float(external["quality_score"])


def portfolio_quality_rows(
    portfolios: list[Any], *, now: dt.datetime | None = None
) -> tuple[list[dict[str, Any]], list[str]]:
    """One spec-3.4 ``portfolio_quality`` entry per portfolio, and shared warnings.

    Queries: positions (1), price snapshots (≤ 4), bar counts (1), whatever the number of
    portfolios and positions; plus the risk engine's report per portfolio when it exists.
    """
    from marketdata.selectors import price_snapshots

    now = now or timezone.now()
    warnings: list[str] = []
    last_session = calendar.last_completed_session(now)
    sessions = calendar.sessions_between(
        last_session - dt.timedelta(days=LOOKBACK_SESSIONS * 2), last_session
    )[-LOOKBACK_SESSIONS:]
    positions = _open_positions([p.pk for p in portfolios])
    snapshots = price_snapshots(symbols={p.symbol for p in positions})
    bar_counts = _history_counts({p.history_symbol for p in positions}, sessions)
    needed = HISTORY_FULL_SHARE * len(sessions)
    risk_report = _risk_report_function()
    if risk_report is None:
        warnings.append(
            "Greeks and factor coverage are measured by the risk engine "
            f"({RISK_REPORT}), which is not available: they are null and left out of the score."
        )
    by_portfolio: dict[Any, list[_Position]] = defaultdict(list)
    for position in positions:
        by_portfolio[position.portfolio_id].append(position)

    rows = []
    for portfolio in portfolios:
        mine = by_portfolio.get(portfolio.pk, [])
        n = len(mine)
        missing = sorted({p.symbol for p in mine if p.symbol not in snapshots})
        stale: list[str] = []
        freshness_points = 0.0
        updates = []
        for p in mine:
            snapshot = snapshots.get(p.symbol)
            if snapshot is None:
                continue
            updates.append(snapshot.last_updated)
            behind = 0
            if snapshot.price_date < last_session:
                behind = len(calendar.sessions_between(snapshot.price_date, last_session)) - 1
                stale.append(p.symbol)
            freshness_points += max(0.0, 100.0 - POINTS_PER_STALE_SESSION * behind)
        short_history = sorted(
            {p.symbol for p in mine if bar_counts.get(p.history_symbol, 0) < needed}
        )
        last_update = max(updates) if updates else None
        entry: dict[str, Any] = {
            "portfolio_id": portfolio.pk,
            "portfolio_name": portfolio.name,
            "quality_score": None,
            "position_count": n,
            "data_completeness": {
                "price_coverage": _pct(n - sum(1 for p in mine if p.symbol in missing), n),
                "greeks_coverage": None,
                "factor_coverage": None,
                "historical_data_coverage": _pct(
                    n - sum(1 for p in mine if p.symbol in short_history), n
                ),
            },
            "data_freshness": {
                "last_price_update": last_update,
                "hours_since_update": round((now - last_update).total_seconds() / 3600, 2)
                if last_update
                else None,
                "freshness_score": round(freshness_points / n, 1) if n else None,
                "last_market_close": calendar.session_close_utc(last_session),
            },
            "issues": [],
            "warnings": [],
        }
        if missing:
            entry["issues"].append(
                f"Missing prices for {len(missing)} positions: {_names(missing)}"
            )
        if stale:
            entry["issues"].append(
                f"Prices older than the last close ({last_session}) for {len(stale)} "
                f"positions: {_names(sorted(set(stale)))}"
            )
        if short_history:
            entry["issues"].append(
                f"History shorter than {LOOKBACK_SESSIONS} sessions for "
                f"{len(short_history)} positions: {_names(short_history)}"
            )
        if n == 0:
            entry["warnings"].append("No open positions: coverage and score are null.")
        if risk_report is not None:
            try:
                _merge_risk(entry, risk_report(portfolio))
            except Exception as exc:  # the batch's own figures still stand
                logger.exception("batch: risk data-quality report failed for %s", portfolio.pk)
                entry["warnings"].append(f"Risk engine data-quality report failed: {exc}")
        if entry["quality_score"] is None:
            entry["quality_score"] = _score(
                {**entry["data_completeness"], **entry["data_freshness"]}
            )
        rows.append(entry)
    return rows, warnings


def _system_score(rows: list[dict[str, Any]]) -> float | None:
    scored = [(r["position_count"], r["quality_score"]) for r in rows if r["quality_score"]]
    weight = sum(n for n, _ in scored)
    return round(sum(n * s for n, s in scored) / weight, 1) if weight else None


def _live_portfolios(portfolio_ids: list[UUID] | None) -> list[Any]:
    from portfolios.models import Portfolio

    query = Portfolio.objects.filter(deleted_at__isnull=True).order_by("created_at")
    if portfolio_ids is not None:
        query = query.filter(pk__in=portfolio_ids)
    return list(query)


def overall_score(*, portfolio_ids: list[UUID] | None = None) -> float | None:
    """The system (or the given portfolios') data-quality score, 0–100."""
    rows, _ = portfolio_quality_rows(_live_portfolios(portfolio_ids))
    return _system_score(rows)


# --------------------------------------------------------------------------- sources


def _market_data_history(now: dt.datetime) -> dict[str, Any]:
    """The market-data runs of the last 24 h (standalone and inside the chain), from the
    jobs' recorded results: the chain's error rate and its last successful run."""
    processed = failed = 0
    last_success: dt.datetime | None = None
    since = now - dt.timedelta(hours=24)
    for job in BatchJob.objects.filter(
        job_name__in=["market_data_update", "full_portfolio_calculation", "data_quality_refresh"],
        created_at__gte=since,
    ).only("job_name", "metadata", "completed_at", "status", "processed_items", "failed_items"):
        if job.job_name == "market_data_update":
            p, f = job.processed_items, job.failed_items
            ok = job.status == JobStatus.COMPLETED
        else:
            steps = (job.metadata or {}).get("steps") or []
            step: dict[str, Any] = next(
                (s for s in steps if s.get("name") == "market_data_update"), {}
            )
            if step.get("status") not in ("completed", "failed"):
                continue
            p, f = int(step.get("processed") or 0), int(step.get("failed") or 0)
            ok = step.get("status") == "completed"
        processed += p
        failed += f
        if (
            ok
            and p > f
            and job.completed_at
            and (last_success is None or job.completed_at > last_success)
        ):
            last_success = job.completed_at
    return {
        "processed": processed,
        "error_rate": round(failed / processed, 4) if processed else None,
        "last_success": last_success,
    }


def provider_status(*, now: dt.datetime | None = None) -> tuple[dict[str, Any], list[str]]:
    """``market_data_providers``: the configured failover chain, primary first.

    The chain's figures (error rate, last successful run) come from the market-data runs
    recorded on batch jobs in the last 24 h, and are shown on the primary provider. The
    per-provider counters of ``FailoverProvider.stats()`` live in the provider object, and
    ``get_provider()`` builds a new one per call, so they are used when non-zero only;
    daily call counts and limits are null unless a provider exposes a request budget.
    """
    from marketdata.services import get_provider

    now = now or timezone.now()
    warnings: list[str] = []
    try:
        provider = get_provider()
    except Exception as exc:  # noqa: BLE001 - a misconfiguration is reported, not raised
        return {}, [f"No market-data provider could be built: {exc}"]
    members = list(getattr(provider, "providers", None) or [provider])
    stats: dict[str, dict[str, Any]] = {}
    stats_of = getattr(provider, "stats", None)  # FailoverProvider keeps per-member counts
    if callable(stats_of):
        stats = stats_of()
    keys = list(stats) if len(stats) == len(members) else [m.name for m in members]
    history = _market_data_history(now)
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


def database_health() -> tuple[dict[str, Any], list[str]]:
    """Cheap real measurements: five timed ``SELECT 1`` round trips, and on PostgreSQL the
    connections in use as a percent of ``max_connections``. Slow-query counts need
    ``pg_stat_statements``, which is not assumed: null."""
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


# --------------------------------------------------------------------------- 3.4


def _score_history(now: dt.datetime, portfolio_id: UUID | None) -> list[dict[str, Any]]:
    """Daily scores of the last 7 days: the last score each day that a job measured
    (``metadata.quality_score``, recorded after data-quality and full runs)."""
    query = BatchJob.objects.filter(
        status=JobStatus.COMPLETED,
        completed_at__gte=now - dt.timedelta(days=7),
        metadata__quality_score__isnull=False,
    ).order_by("completed_at")
    query = (
        query.filter(portfolio_id=portfolio_id)
        if portfolio_id
        else query.filter(portfolio__isnull=True)
    )
    by_day: dict[dt.date, float] = {}
    for completed_at, metadata in query.values_list("completed_at", "metadata"):
        score = (metadata or {}).get("quality_score")
        if isinstance(score, (int, float)):
            by_day[completed_at.astimezone(dt.UTC).date()] = float(score)
    return [{"date": d, "score": s} for d, s in sorted(by_day.items(), reverse=True)]


_AREAS = {
    "price_coverage": "Price coverage: fetch prices for unpriced positions",
    "historical_data_coverage": "Historical data backfill for positions with short history",
    "greeks_coverage": "Options Greeks calculation coverage",
    "factor_coverage": "Factor exposure coverage",
    "freshness_score": "Price freshness against the last NYSE close",
}


def data_quality_status(*, portfolio: Any = None, now: dt.datetime | None = None) -> dict[str, Any]:
    """Spec 3.4 for one portfolio or every live one (admins see all users' portfolios)."""
    from portfolios.models import Portfolio

    now = now or timezone.now()
    portfolios = [portfolio] if portfolio is not None else _live_portfolios(None)
    rows, warnings = portfolio_quality_rows(portfolios, now=now)
    providers, provider_warnings = provider_status(now=now)
    database, database_warnings = database_health()
    warnings += provider_warnings + database_warnings
    score = _system_score(rows)

    weakest: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        for key, value in {**row["data_completeness"], **row["data_freshness"]}.items():
            if key in WEIGHTS and value is not None:
                weakest[key].append(float(value))
    areas = [
        f"{_AREAS[k]} ({round(sum(v) / len(v), 1)}%)"
        for k, v in sorted(weakest.items(), key=lambda kv: sum(kv[1]) / len(kv[1]))
        if sum(v) / len(v) < 100
    ]
    if _risk_report_function() is None:
        areas.append("Options Greeks and factor coverage: not measured (risk engine unavailable)")

    advice: list[str] = []
    below = [
        r for r in rows if r["quality_score"] is not None and r["quality_score"] < QUALITY_THRESHOLD
    ]
    if below:
        advice.append(
            f"Portfolios below {QUALITY_THRESHOLD:.0f}: "
            + ", ".join(r["portfolio_name"] for r in below[:NAMED])
            + ". Refresh them with POST /api/v1/admin/batch/data-quality/refresh."
        )
    if any(r["data_freshness"]["freshness_score"] not in (None, 100.0) for r in rows):
        advice.append(
            "Some prices are older than the last NYSE close: check that the daily sequence ran "
            "(GET /api/v1/system/status) or start market_data_update."
        )
    if any(p["status"] == "degraded" for p in providers.values()):
        advice.append("A market-data provider is degraded: check its key, budget and status page.")
    if len(providers) < 2:
        advice.append("Consider adding a fallback market-data provider (MARKET_DATA_PROVIDERS).")
    history = _score_history(now, getattr(portfolio, "pk", None))
    if not history:
        advice.append(
            "No data-quality score was recorded in 7 days: schedule data_quality_assessment."
        )
        warnings.append("No data-quality score was recorded by a job in the last 7 days.")
    return {
        "system_overview": {
            "total_portfolios": Portfolio.objects.count() if portfolio is None else 1,
            "active_portfolios": len(portfolios),
            "total_positions": sum(r["position_count"] for r in rows),
            "overall_data_quality_score": score,
            "last_assessment": now,
        },
        "portfolio_quality": rows,
        "data_source_status": {
            "market_data_providers": providers,
            "database_health": database,
        },
        "quality_trends": {"score_history_7d": history, "improvement_areas": areas},
        "recommendations": advice,
        "warnings": list(dict.fromkeys(warnings)),
        "last_updated": now,
    }


# --------------------------------------------------------------------------- 3.5


def refresh_preview(*, portfolio: Any = None) -> dict[str, Any]:
    """What a refresh will cover and the quality before it."""
    portfolios = [portfolio] if portfolio is not None else _live_portfolios(None)
    rows, warnings = portfolio_quality_rows(portfolios)
    issues = [issue for row in rows for issue in row["issues"]]
    return {
        "portfolios_targeted": len(portfolios),
        "positions_to_refresh": sum(r["position_count"] for r in rows),
        "overall_score": _system_score(rows),
        "portfolios_below_threshold": sum(
            1
            for r in rows
            if r["quality_score"] is not None and r["quality_score"] < QUALITY_THRESHOLD
        ),
        "issues": issues,
        "warnings": warnings,
    }


def _past_refreshes(*, before: BatchJob) -> list[BatchJob]:
    return list(
        BatchJob.objects.filter(job_name="data_quality_refresh", status=JobStatus.COMPLETED)
        .exclude(pk=before.pk)  # in eager mode the new job has already run
        .exclude(duration_seconds__isnull=True)
        .order_by("-completed_at")[:10]
    )


def refresh_report(*, job: BatchJob, preview: dict[str, Any]) -> dict[str, Any]:
    """Spec 3.5's body. Estimates come from the last ten completed refreshes (their
    duration, and their score after minus before); null when there is none."""
    from marketdata.services import get_provider

    warnings = list(preview["warnings"])
    past = _past_refreshes(before=job)
    durations = [j.duration_seconds for j in past if j.duration_seconds is not None]
    gains = [
        j.metadata["quality_score"] - j.metadata["quality_score_before"]
        for j in past
        if isinstance(j.metadata.get("quality_score"), (int, float))
        and isinstance(j.metadata.get("quality_score_before"), (int, float))
    ]
    if not durations:
        warnings.append("No completed refresh yet: the duration estimate is null.")
    try:
        chain = [getattr(p, "name", "?") for p in getattr(get_provider(), "providers", [])]
    except Exception as exc:  # noqa: BLE001
        chain = []
        warnings.append(f"No market-data provider could be built: {exc}")
    try:
        through = calendar.last_completed_session(timezone.now())
        freshness = f"Brings prices up to the close of the last NYSE session ({through})"
    except ValueError:
        freshness = "Brings prices up to the last completed NYSE session"
    return {
        "refresh_initiated": True,
        "job_details": {
            "job_id": job.pk,
            "job_name": job.job_name,
            "status": job.status,
            "initiated_at": job.created_at,
            "estimated_duration_minutes": round(sum(durations) / len(durations) / 60, 2)
            if durations
            else None,
        },
        "scope": {
            "portfolios_targeted": preview["portfolios_targeted"],
            "positions_to_refresh": preview["positions_to_refresh"],
            "data_types": DATA_TYPES,
        },
        "pre_refresh_quality": {
            "overall_score": preview["overall_score"],
            "portfolios_below_threshold": preview["portfolios_below_threshold"],
            "critical_issues": preview["issues"][:20],
        },
        "expected_improvements": {
            "estimated_score_increase": round(sum(gains) / len(gains), 1) if gains else None,
            "target_quality_score": TARGET_QUALITY_SCORE,
            "issues_to_resolve": len(preview["issues"]),
            "data_freshness_improvement": freshness,
        },
        "monitoring": {
            "progress_endpoint": f"/api/v1/system/jobs/{job.pk}",
            "completion_webhook": None,
            "notification_channels": ["websocket:/ws/jobs", "system_log"],
        },
        "backup_plan": {
            "fallback_providers": chain[1:],
            "rollback_available": False,
            "previous_data_retained": True,
        },
        "message": "Data quality refresh initiated successfully. Monitor progress via the "
        "job status endpoint.",
        "warnings": list(dict.fromkeys(warnings)),
    }
