"""The risk jobs and the daily chain, registered with the batch runner from
``RiskConfig.ready()``.

Each step runs one family of figures (``risk.services``) over the live portfolios (or
those of ``portfolio_ids``) through the job context: a cancel stops it between
portfolios; a failing portfolio is counted as a failed item and the step goes on. Each
portfolio's writes are atomic inside the service.

The daily chain, ``full_portfolio_calculation``, is declared here because its steps live
here (its first, ``market_data_update``, is the market-data app's).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from uuid import UUID

from batch import registry
from batch.services import JobContext, failure_message
from marketdata.jobs import market_data_update_step
from portfolios.selectors import live_portfolios
from risk.book import SharedReads
from risk.exports import services as report_services
from risk.quality import overall_score
from risk.services import (
    correlations_for_portfolio,
    data_quality_for_portfolio,
    factor_analysis_for_portfolio,
    greeks_for_portfolio,
    json_safe,
    record_step_failure,
    risk_metrics_for_portfolio,
    snapshot_for_portfolio,
    stress_for_portfolio,
)

if TYPE_CHECKING:  # types only
    from portfolios.models import Portfolio

logger = logging.getLogger(__name__)

#: The daily sequence (RISK-MODEL.md, "Schedule"), in order, inside one job.
FULL_CHAIN: tuple[str, ...] = (
    "market_data_update",
    "greeks_calculation",
    "factor_analysis",
    "risk_metrics",
    "stress_testing",
    "correlations",
    "portfolio_snapshot",
    "data_quality_assessment",
)
#: The per-session schedule that runs the chain (``risk.tasks``), and the weekly one.
DAILY_SCHEDULE = "daily_sequence"
WEEKLY_CORRELATIONS_SCHEDULE = "weekly_correlations"


def _per_portfolio(
    ctx: JobContext,
    portfolio_ids: list[UUID] | None,
    work: Callable[[Portfolio], dict[str, Any]],
    label: str,
) -> dict[str, Any]:
    """Run ``work(portfolio)`` for each live portfolio through the job context. A failing
    portfolio is an item failure whose reason is safe to show (the full error is logged
    with an error id, see ``batch.services.failure_message``)."""
    results: dict[str, Any] = {}
    portfolios = live_portfolios(portfolio_ids=portfolio_ids)
    for portfolio in ctx.items(portfolios, total=len(portfolios)):
        try:
            results[str(portfolio.id)] = work(portfolio)
        except Exception as exc:  # noqa: BLE001 - counted and logged; the step goes on
            message, error_id = failure_message(
                exc, job_id=ctx.job_id, where=f"{label} for portfolio {portfolio.id}"
            )
            ctx.item_failed(f"{portfolio.name}: {message} (error id {error_id})")
            if label in _REPORTED_STEPS:
                _report_failure(portfolio, label, f"{message} (error id {error_id})")
    return {"portfolios": len(portfolios), "results": json_safe(results)}


#: Steps whose failure is written on the portfolio's metrics row (the endpoints' warnings).
_REPORTED_STEPS = frozenset({"factor_analysis", "risk_metrics", "stress_testing"})


def _report_failure(portfolio: Portfolio, step: str, message: str) -> None:
    try:
        record_step_failure(portfolio, step=step, message=message)
    except Exception as exc:  # noqa: BLE001 - the report is a by-product of the failure
        logger.warning("risk: failure of %s for %s not recorded: %s", step, portfolio.id, exc)


def _record_quality_score(ctx: JobContext, portfolio_ids: list[UUID] | None) -> None:
    """Keep the data-quality score measured now in ``metadata.quality_score``: the history
    behind ``quality_trends`` of ``GET /admin/batch/data-quality``."""
    try:
        ctx.metadata["quality_score"] = overall_score(portfolio_ids=portfolio_ids)
    except Exception as exc:  # noqa: BLE001 - a score is a by-product, not the job
        logger.warning("risk: quality score after %s not measured: %s", ctx.job_id, exc)


_SHARED_READS = "risk.shared_reads"


def _shared_reads(ctx: JobContext) -> SharedReads:
    """The run's reads, shared by its Greeks, factor, VaR, stress and correlation steps:
    each portfolio's positions, Greeks and risk inputs are read once per run. The chain's
    market-data step runs before the first of them, so they see the refreshed prices."""
    reads = ctx.shared.get(_SHARED_READS)
    if reads is None:
        reads = ctx.shared[_SHARED_READS] = SharedReads()
    return reads


def _with_shared(
    ctx: JobContext, work: Callable[..., dict[str, Any]]
) -> Callable[[Portfolio], dict[str, Any]]:
    reads = _shared_reads(ctx)
    return lambda portfolio: work(portfolio, shared=reads)


def greeks_calculation_step(
    ctx: JobContext, *, portfolio_ids: list[UUID] | None = None
) -> dict[str, Any]:
    work = _with_shared(ctx, greeks_for_portfolio)
    return _per_portfolio(ctx, portfolio_ids, work, "greeks_calculation")


def factor_analysis_step(
    ctx: JobContext, *, portfolio_ids: list[UUID] | None = None
) -> dict[str, Any]:
    work = _with_shared(ctx, factor_analysis_for_portfolio)
    return _per_portfolio(ctx, portfolio_ids, work, "factor_analysis")


def risk_metrics_step(
    ctx: JobContext, *, portfolio_ids: list[UUID] | None = None
) -> dict[str, Any]:
    work = _with_shared(ctx, risk_metrics_for_portfolio)
    return _per_portfolio(ctx, portfolio_ids, work, "risk_metrics")


def stress_testing_step(
    ctx: JobContext, *, portfolio_ids: list[UUID] | None = None
) -> dict[str, Any]:
    work = _with_shared(ctx, stress_for_portfolio)
    return _per_portfolio(ctx, portfolio_ids, work, "stress_testing")


def correlations_step(
    ctx: JobContext, *, portfolio_ids: list[UUID] | None = None
) -> dict[str, Any]:
    work = _with_shared(ctx, correlations_for_portfolio)
    return _per_portfolio(ctx, portfolio_ids, work, "correlations")


def portfolio_snapshot_step(
    ctx: JobContext, *, portfolio_ids: list[UUID] | None = None
) -> dict[str, Any]:
    return _per_portfolio(ctx, portfolio_ids, snapshot_for_portfolio, "portfolio_snapshot")


def data_quality_assessment_step(
    ctx: JobContext, *, portfolio_ids: list[UUID] | None = None
) -> dict[str, Any]:
    result = _per_portfolio(
        ctx, portfolio_ids, data_quality_for_portfolio, "data_quality_assessment"
    )
    _record_quality_score(ctx, portfolio_ids)
    return result


def data_quality_refresh_step(
    ctx: JobContext, *, portfolio_ids: list[UUID] | None = None
) -> dict[str, Any]:
    """Refresh market data for the targeted portfolios' symbols, recompute their Greeks and
    factor exposures, then reassess their data quality."""
    market = market_data_update_step(ctx, portfolio_ids=portfolio_ids)
    greeks = _per_portfolio(
        ctx, portfolio_ids, _with_shared(ctx, greeks_for_portfolio), "greeks_calculation"
    )
    factors = _per_portfolio(
        ctx, portfolio_ids, _with_shared(ctx, factor_analysis_for_portfolio), "factor_analysis"
    )
    quality = _per_portfolio(
        ctx, portfolio_ids, data_quality_for_portfolio, "data_quality_assessment"
    )
    _record_quality_score(ctx, portfolio_ids)
    return {"market_data": market, "greeks": greeks, "factors": factors, "quality": quality}


#: name → (step, calculation engines, description)
STEPS: dict[str, tuple[Callable[..., dict[str, Any]], list[str], str]] = {
    "greeks_calculation": (greeks_calculation_step, ["greeks"], "Option Greeks (BSM / Black-76)"),
    "factor_analysis": (
        factor_analysis_step,
        ["factor_exposure"],
        "Factor betas, exposures, attribution",
    ),
    "risk_metrics": (
        risk_metrics_step,
        ["var", "performance"],
        "VaR/ES (3 methods), performance, Greek totals",
    ),
    "stress_testing": (stress_testing_step, ["stress"], "Every active stress scenario"),
    "correlations": (correlations_step, ["correlation"], "Correlation matrix and clusters"),
    "portfolio_snapshot": (
        portfolio_snapshot_step,
        ["snapshot"],
        "Daily portfolio value snapshots",
    ),
    "data_quality_assessment": (
        data_quality_assessment_step,
        ["data_quality"],
        "Data-quality scores",
    ),
    "data_quality_refresh": (
        data_quality_refresh_step,
        ["market_data", "data_quality"],
        "Refresh market data, Greeks and exposures, then reassess quality",
    ),
}


def register() -> None:
    for name, (step, engines, description) in STEPS.items():
        registry.register_job(name, step, engines=engines, description=description)
    registry.register_chain(
        "full_portfolio_calculation",
        FULL_CHAIN,
        engines=["all"],
        description="The daily chain: market data, Greeks, factors, VaR, stress, correlations, "
        "snapshots, data quality",
    )
    registry.register_session_schedule(DAILY_SCHEDULE)
    registry.register_job(
        report_services.REPORT_JOB,
        report_services.portfolio_report_step,
        engines=["reports"],
        description="One portfolio report file (started by POST /export/reports/portfolio/{id})",
        on_request_only=True,
    )
