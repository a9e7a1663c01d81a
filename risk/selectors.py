"""Reads of stored risk results: rows and small aggregates, for ``risk.reports`` (which
builds the endpoint bodies) and for other apps. The rule: a function that queries is here;
a function that shapes a response is a report."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.db.models import Max, Min

from portfolios.selectors import BookPosition, open_positions
from risk.models import (
    DataQualityAssessment,
    PortfolioRiskMetrics,
    PortfolioSnapshot,
    PositionFactorExposure,
    PositionGreeks,
    StressTestResult,
)

if TYPE_CHECKING:  # types only: rows come from the owning apps' selectors
    from portfolios.models import Portfolio, Position


def latest_greeks(positions: list[Position]) -> dict[UUID, PositionGreeks]:
    """The most recent stored Greeks of each position (two queries)."""
    ids = [p.id for p in positions]
    latest = dict(
        PositionGreeks.objects.filter(position_id__in=ids)
        .values_list("position_id")
        .annotate(last=Max("calculation_date"))
        .values_list("position_id", "last")
    )
    if not latest:
        return {}
    rows = PositionGreeks.objects.filter(
        position_id__in=list(latest), calculation_date__in=set(latest.values())
    )
    return {g.position_id: g for g in rows if latest.get(g.position_id) == g.calculation_date}


def days_between(a: dt.date, b: dt.date) -> int:
    return (b - a).days


def data_quality_report(portfolio: Any) -> dict[str, Any]:
    """The risk engine's part of a portfolio's data quality: the share of option positions
    with Greeks and of positions with factor exposures from the latest batch (percent),
    and issues naming the positions at fault. Read by ``risk.quality``."""
    positions = open_positions(portfolio=portfolio)
    options = [p for p in positions if p.multiplier > 1]
    greeks = latest_greeks(options)
    exposures = set(
        PositionFactorExposure.objects.filter(
            position__in=positions, r_squared__isnull=False
        ).values_list("position_id", flat=True)
    )
    issues = []
    missing_greeks = [p.security_id for p in options if p.id not in greeks]
    missing_factors = [p.security_id for p in positions if p.id not in exposures]
    if missing_greeks:
        issues.append(f"Missing Greeks for {', '.join(missing_greeks[:8])}")
    if missing_factors:
        issues.append(f"Missing factor exposures for {', '.join(missing_factors[:8])}")
    return {
        "greeks_coverage": round(100.0 * len(greeks) / len(options), 1) if options else None,
        "factor_coverage": round(100.0 * len(exposures) / len(positions), 1) if positions else None,
        "issues": issues,
    }


def latest_metrics(portfolio: Portfolio, method: str = "historical") -> PortfolioRiskMetrics | None:
    return (
        PortfolioRiskMetrics.objects.filter(portfolio=portfolio, method=method)
        .order_by("-calculation_date")
        .first()
    )


METHODS = ("historical", "parametric", "monte_carlo")


def metrics_with_var_rows(
    portfolio: Portfolio, method: str
) -> tuple[PortfolioRiskMetrics | None, PortfolioRiskMetrics | None]:
    """The latest stored metrics of ``portfolio``: (the historical row, which carries the
    performance, Greeks and concentration; the row of the VaR ``method`` on its date)."""
    base = latest_metrics(portfolio)
    if method == "historical" or base is None:
        return base, base
    return base, PortfolioRiskMetrics.objects.filter(
        portfolio=portfolio, method=method, calculation_date=base.calculation_date
    ).first()


def latest_exposures(
    positions: list[Position] | list[BookPosition],
) -> dict[Any, PositionFactorExposure]:
    ids = [p.id for p in positions]
    last = dict(
        PositionFactorExposure.objects.filter(position_id__in=ids)
        .values_list("position_id")
        .annotate(d=Max("calculation_date"))
        .values_list("position_id", "d")
    )
    rows = PositionFactorExposure.objects.filter(
        position_id__in=list(last), calculation_date__in=set(last.values())
    )
    return {r.position_id: r for r in rows if last.get(r.position_id) == r.calculation_date}


def stress_results_on(portfolio: Portfolio, on: dt.date) -> dict[str, StressTestResult]:
    """The stored stress results of ``portfolio`` on ``on``, by scenario id."""
    return {
        r.scenario_id: r
        for r in StressTestResult.objects.filter(portfolio=portfolio, calculation_date=on)
    }


def latest_stress_results(portfolio: Portfolio) -> tuple[dt.date | None, list[StressTestResult]]:
    """The date of the newest stress run of ``portfolio`` and its results for the active
    scenarios, in display order (with their scenario)."""
    last = StressTestResult.objects.filter(portfolio=portfolio).aggregate(
        d=Max("calculation_date")
    )["d"]
    if last is None:
        return None, []
    return last, list(
        StressTestResult.objects.filter(
            portfolio=portfolio, calculation_date=last, scenario__is_active=True
        )
        .select_related("scenario")
        .order_by("scenario__display_order")
    )


def latest_assessment(portfolio: Portfolio) -> DataQualityAssessment | None:
    return (
        DataQualityAssessment.objects.filter(portfolio=portfolio).order_by("-assessed_at").first()
    )


# --------------------------------------------------------------------------- history
# The streamed reads of the historical export (risk.exports.historical): each is one
# query, ordered by date and read ``chunk_size`` rows at a time (a server-side cursor on
# PostgreSQL), so that neither memory nor the query count grows with the range.

#: The snapshot columns :func:`snapshots_iter` yields after the date (dollars, except
#: ``daily_return``: a fraction, net of external cash flows).
SNAPSHOT_FIELDS = (
    "total_value",
    "positions_value",
    "cash_balance",
    "unrealized_pnl",
    "realized_pnl",
    "daily_pnl",
    "daily_return",
)


def first_stored_dates(*, portfolio: Portfolio) -> list[dt.date]:
    """The first date of the portfolio's stored snapshots and of its risk metrics (where
    any are stored). Two queries."""
    firsts = [
        PortfolioSnapshot.objects.filter(portfolio=portfolio).aggregate(d=Min("date"))["d"],
        PortfolioRiskMetrics.objects.filter(portfolio=portfolio).aggregate(
            d=Min("calculation_date")
        )["d"],
    ]
    return [d for d in firsts if d is not None]


def snapshots_iter(
    *, portfolio: Portfolio, start: dt.date, end: dt.date, chunk_size: int = 2000
) -> Iterator[tuple[Any, ...]]:
    """``(date, *SNAPSHOT_FIELDS)`` of each stored snapshot in ``[start, end]``, by date."""
    yield from (
        PortfolioSnapshot.objects.filter(portfolio=portfolio, date__range=(start, end))
        .order_by("date")
        .values_list("date", *SNAPSHOT_FIELDS)
        .iterator(chunk_size=chunk_size)
    )


def var_es_iter(
    *, portfolio: Portfolio, start: dt.date, end: dt.date, chunk_size: int = 500
) -> Iterator[tuple[dt.date, str, Decimal, dict[str, Any], dict[str, Any]]]:
    """``(date, method, portfolio_value, value_at_risk, expected_shortfall)`` of each stored
    risk-metrics row in ``[start, end]``, by date then method. The two tables are
    ``{"<h>_day": {"95": dollars, "99": dollars}}`` (losses negative); the other columns
    of the row (components, performance, ...) are not read."""
    yield from (
        PortfolioRiskMetrics.objects.filter(
            portfolio=portfolio, calculation_date__range=(start, end)
        )
        .order_by("calculation_date", "method")
        .values_list(
            "calculation_date", "method", "portfolio_value", "value_at_risk", "expected_shortfall"
        )
        .iterator(chunk_size=chunk_size)
    )


#: The Greeks :func:`greeks_iter` yields after the date and position id (vollib units, per
#: one option share: delta and gamma per $1 of the underlying, theta per calendar day,
#: vega per volatility point, rho per rate point).
GREEK_FIELDS = ("delta", "gamma", "theta", "vega", "rho")


def greeks_iter(
    *, position_ids: Sequence[UUID], start: dt.date, end: dt.date, chunk_size: int = 2000
) -> Iterator[tuple[Any, ...]]:
    """``(date, position_id, *GREEK_FIELDS)`` of the stored Greeks of ``position_ids`` in
    ``[start, end]``, by date then position id."""
    if not position_ids:
        return
    yield from (
        PositionGreeks.objects.filter(
            position_id__in=list(position_ids), calculation_date__range=(start, end)
        )
        .order_by("calculation_date", "position_id")
        .values_list("calculation_date", "position_id", *GREEK_FIELDS)
        .iterator(chunk_size=chunk_size)
    )
