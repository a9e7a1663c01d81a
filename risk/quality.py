"""Data quality for the admin endpoints (spec 3.4 and 3.5). Reads only.

Per portfolio, from stored data (RISK-MODEL.md, "Data quality"):

* ``price_coverage``: share of open positions with a price (quote or bar), percent;
* ``historical_data_coverage``: share of open positions whose symbol (an option's
  underlying) has bars on at least 95% of the last 252 sessions, percent;
* ``greeks_coverage`` and ``factor_coverage``: the share of option positions with stored
  Greeks and of positions with factor exposures from the latest batch
  (``risk.selectors.data_quality_report``);
* freshness, against the last NYSE close: a position priced at or after the last completed
  session scores 100 and loses 20 points per session behind (0 from five sessions on; an
  unpriced position scores 0); ``freshness_score`` is the mean over open positions;
  ``hours_since_update`` is the time since the newest price update;
* ``quality_score``: the weighted mean of the figures available (price 0.4, freshness 0.2,
  history 0.2, Greeks 0.1, factors 0.1), re-weighted over the non-null ones.

The system score is the position-weighted mean of the portfolio scores.

This app owns these figures (it computes the Greeks and exposures they measure); the
batch runner only records the scores its jobs measured (``metadata.quality_score``),
read back here through ``batch.selectors``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.utils import timezone

from batch.selectors import job_history, recorded_scores
from marketdata import calendar
from marketdata.health import fallback_provider_names, provider_section
from marketdata.selectors import bar_counts, price_snapshots
from portfolios.selectors import live_portfolio_count, live_portfolios, open_positions
from risk.engine.conventions import TRADING_DAYS_PER_YEAR
from risk.selectors import data_quality_report
from sigmasight.health import database_health

LOOKBACK_SESSIONS = TRADING_DAYS_PER_YEAR  # a year of sessions
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


def _open_positions(portfolio_ids: list[UUID]) -> list[_Position]:
    return [
        _Position(
            p.portfolio_id,
            p.security_id,
            p.security.underlying_id or p.security_id,
            p.is_option,
        )
        for p in open_positions(portfolio_ids=portfolio_ids)
    ]


def _history_counts(symbols: set[str], sessions: list[dt.date]) -> dict[str, int]:
    if not sessions:
        return {}
    return bar_counts(symbols=symbols, start=sessions[0], end=sessions[-1])


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
    portfolios and positions; plus the Greeks and exposure coverage per portfolio.
    """
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
        _merge_risk(entry, data_quality_report(portfolio))
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


def overall_score(*, portfolio_ids: list[UUID] | None = None) -> float | None:
    """The system (or the given portfolios') data-quality score, 0–100."""
    rows, _ = portfolio_quality_rows(live_portfolios(portfolio_ids=portfolio_ids))
    return _system_score(rows)


# --------------------------------------------------------------------------- 3.4


def _score_history(now: dt.datetime, portfolio_id: UUID | None) -> list[dict[str, Any]]:
    """Daily scores of the last 7 days: the last score each day that a job measured
    (``metadata.quality_score``, recorded by the data-quality steps)."""
    by_day: dict[dt.date, float] = {}
    for completed_at, score in recorded_scores(
        key="quality_score", since=now - dt.timedelta(days=7), portfolio_id=portfolio_id
    ):
        by_day[completed_at.astimezone(dt.UTC).date()] = score
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
    now = now or timezone.now()
    portfolios = [portfolio] if portfolio is not None else live_portfolios()
    rows, warnings = portfolio_quality_rows(portfolios, now=now)
    providers, provider_warnings = provider_section(now=now)
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
            "total_portfolios": live_portfolio_count()[0] if portfolio is None else 1,
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
    portfolios = [portfolio] if portfolio is not None else live_portfolios()
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


def refresh_report(*, job: Any, preview: dict[str, Any]) -> dict[str, Any]:
    """Spec 3.5's body. Estimates come from the last ten completed refreshes (their
    duration, and their score after minus before); null when there is none."""
    warnings = list(preview["warnings"])
    past = job_history(
        job_name="data_quality_refresh", completed_only=True, exclude=job.pk, limit=10
    )
    past = [j for j in past if j.duration_seconds is not None]
    durations = [j.duration_seconds for j in past if j.duration_seconds is not None]
    gains = [
        j.metadata["quality_score"] - j.metadata["quality_score_before"]
        for j in past
        if isinstance(j.metadata.get("quality_score"), (int, float))
        and isinstance(j.metadata.get("quality_score_before"), (int, float))
    ]
    if not durations:
        warnings.append("No completed refresh yet: the duration estimate is null.")
    fallbacks, provider_warnings = fallback_provider_names()
    warnings += provider_warnings
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
            "fallback_providers": fallbacks,
            "rollback_available": False,
            "previous_data_retained": True,
        },
        "message": "Data quality refresh initiated successfully. Monitor progress via the "
        "job status endpoint.",
        "warnings": list(dict.fromkeys(warnings)),
    }
