"""The portfolios app's batch job, registered with the batch runner from
``PortfoliosConfig.ready()``: option settlement at expiry (``portfolios.settlement``)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from batch import registry
from batch.services import JobContext
from portfolios.settlement import options_settle

#: The schedule name of the beat entries (``portfolios.tasks``).
SETTLEMENT_JOB = "option_settlement"


def option_settlement_step(
    ctx: JobContext, *, portfolio_ids: list[UUID] | None = None
) -> dict[str, Any]:
    """Settle every option position due now (idempotent: a settled option is closed, so a
    second run finds nothing). One item per settlement; an option whose settlement price is
    not stored yet is fetched first (the market-data update for those underlyings); one
    still missing is a warning, and the next run settles it."""
    ctx.check_cancelled()
    ctx.progress(0, 0, 0, message="settling expired options")
    result = options_settle(portfolio_ids=portfolio_ids, refresh_missing=True)
    for warning in result["warnings"]:
        ctx.warn(warning)
    ctx.progress(
        result["due"],
        result["settled"],
        len(result["warnings"]),
        message=f"{result['settled']} option positions settled",
        total=result["due"],
    )
    return result


def register() -> None:
    registry.register_job(
        SETTLEMENT_JOB,
        option_settlement_step,
        engines=["settlement"],
        description="Settle expired options: exercise/assignment into shares, cash at "
        "intrinsic for index and VIX options, or expire worthless",
    )
