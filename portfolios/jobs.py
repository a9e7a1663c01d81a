"""The portfolios app's batch jobs, registered from ``PortfoliosConfig.ready()``: option
settlement at expiry (``portfolios.settlement``) and dividends into the ledger
(``portfolios.dividends``).

Each step follows the runner's contract (``batch.registry``): ``step(ctx, *,
portfolio_ids)`` returns a JSON-able dict and stops at its checkpoints when cancelled.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from django.utils import timezone

from batch import registry
from batch.models import BatchJob
from batch.services import JobContext, period_job_start
from marketdata import calendar
from portfolios.dividends import dividends_book
from portfolios.settlement import options_settle

#: The schedule name of the beat entries (``portfolios.tasks``).
SETTLEMENT_JOB = "option_settlement"
#: The job that books dividends into the ledger (run after the market-data update, which
#: records them).
DIVIDENDS_JOB = "dividends_book"
#: Its per-session schedule (``portfolios.tasks.scheduled_dividends``, seeded in beat).
DIVIDENDS_SCHEDULE = "dividends_daily"
#: How long after a close the dividends run: after the daily sequence (30 minutes after the
#: close) has recorded the session's market data and dividends.
DIVIDENDS_DELAY = dt.timedelta(hours=2)


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


def scheduled_dividends_start(*, now: dt.datetime | None = None) -> BatchJob | None:
    """Start ``dividends_book`` once per NYSE session, DIVIDENDS_DELAY after its close (the
    batch runner's period claim makes concurrent beat firings start one job); None when
    that session was done. The job itself is idempotent, so a rerun books nothing twice."""
    now = now or timezone.now()
    session = calendar.last_completed_session(now - DIVIDENDS_DELAY)
    return period_job_start(
        schedule=DIVIDENDS_SCHEDULE,
        period=session,
        job_name=DIVIDENDS_JOB,
        metadata={"session": session.isoformat()},
    )


def register_dividends() -> None:
    registry.register_job(
        DIVIDENDS_JOB,
        dividends_book_step,
        engines=["dividends"],
        description="Book held stocks' and ETFs' cash dividends on their ex-dates",
    )
    registry.register_session_schedule(DIVIDENDS_SCHEDULE)


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


def register_settlement() -> None:
    registry.register_job(
        SETTLEMENT_JOB,
        option_settlement_step,
        engines=["settlement"],
        description="Settle expired options: exercise/assignment into shares, cash at "
        "intrinsic for index and VIX options, or expire worthless",
    )
