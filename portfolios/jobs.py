"""The portfolios app's batch jobs, registered from ``PortfoliosConfig.ready()``.

Each step follows the runner's contract (``batch.registry``): ``step(ctx, *,
portfolio_ids)`` returns a JSON-able dict and stops at its checkpoints when cancelled.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from batch import registry
from batch.services import JobContext
from portfolios.dividends import dividends_book

#: The job that books dividends into the ledger (run after the market-data update, which
#: records them).
DIVIDENDS_JOB = "dividends_book"


def dividends_book_step(ctx: JobContext, *, portfolio_ids: list[UUID] | None) -> dict[str, Any]:
    """``portfolios.dividends.dividends_book`` as a step: every recorded dividend up to today
    owed to the scoped portfolios. Idempotent (one DIVIDEND per position and ex-date), so it
    is one item: the cancel check comes before it."""
    ctx.check_cancelled()
    ctx.progress(0, 0, 0, message="booking dividends")
    result = dividends_book(portfolio_ids=portfolio_ids)
    ctx.progress(
        result["transactions"],
        result["transactions"],
        0,
        message=f"{result['transactions']} dividends booked through {result['through']}",
        total=result["transactions"],
    )
    return {**result, "cash": str(result["cash"]), "through": result["through"].isoformat()}


def register_dividends() -> None:
    registry.register_job(
        DIVIDENDS_JOB,
        dividends_book_step,
        engines=["dividends"],
        description="Book held stocks' and ETFs' cash dividends on their ex-dates",
    )
