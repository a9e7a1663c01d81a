"""The signal jobs, registered with the batch runner from ``SignalsConfig.ready()``, and
the market-clock cadence that starts them.

``signals_cycle`` generates the tickers' signals at one market minute and resolves the
outcomes that minute makes known. The market producer sends ``market_minute`` once per
new market minute (``marketdata.producer``); :func:`on_market_minute` claims each minute
of the cadence once (``SignalCycle``, unique per clock, session and minute) and starts the
job through the runner: a Celery worker in production, a background thread of the
embedded default. The job computes at its claimed minute however late it runs, so a
replayed session gives the same signals at any speed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from django.db import IntegrityError, transaction

from batch import registry
from batch.models import JobSource
from batch.services import JobContext, job_create, job_dispatch
from marketdata.clock import MarketTime, market_time, market_time_at
from marketdata.producer import market_minute
from signals.models import SignalCycle
from signals.services import (
    is_generation_minute,
    is_live_clock,
    replay_loop_restart,
    signal_expiry,
    signals_generate,
    signals_resolve_due,
)

JOB_NAME = "signals_cycle"


def _is_resolution_minute(at: MarketTime) -> bool:
    """The minute the time exit falls in: every open outcome of the session is known then."""
    expiry = signal_expiry(at.session)
    return at.is_open and expiry <= at.now < expiry + dt.timedelta(minutes=1)


def signals_cycle_step(ctx: JobContext, *, portfolio_ids: list[UUID] | None) -> dict[str, Any]:
    """Generate at the claimed minute (or now, when started by hand) and resolve what is
    due. Idempotent: a rerun returns the stored signals of the minute."""
    meta = ctx.metadata
    if "market_minute" in meta:
        at = market_time_at(
            meta["market_clock"], dt.date.fromisoformat(meta["session"]), meta["market_minute"]
        )
    else:
        at = market_time()
    ctx.check_cancelled()
    signals: list[Any] = []
    warnings: list[str] = []
    if is_generation_minute(at) or "market_minute" not in meta:
        signals, warnings = signals_generate(at=at, trigger="schedule")
    for warning in warnings:
        ctx.warn(warning)
    resolved = signals_resolve_due(now=at.now)
    ctx.progress(
        len(signals),
        len(signals),
        0,
        message=f"{len(signals)} signals, {resolved} outcomes",
        total=len(signals),
    )
    return {
        "market_time": at.now.isoformat(),
        "clock": at.clock,
        "signals": [s.id for s in signals],
        "resolved": resolved,
    }


def on_market_minute(sender: Any, *, at: MarketTime, **kwargs: Any) -> str | None:
    """``market_minute`` receiver: claim and start the cycle of a cadence minute (and of the
    time-exit minute, which resolves the session's outcomes). Returns the job id, if any."""
    if not is_live_clock(at.clock):
        return None
    replay_loop_restart(at)
    if not (is_generation_minute(at) or _is_resolution_minute(at)):
        return None
    try:
        with transaction.atomic():
            cycle = SignalCycle.objects.create(clock=at.clock, session=at.session, minute=at.minute)
            job = job_create(
                job_name=JOB_NAME,
                source=JobSource.SCHEDULED_JOB,
                metadata={
                    "market_clock": at.clock,
                    "session": at.session.isoformat(),
                    "market_minute": at.minute,
                },
            )
            cycle.job_id = job.pk
            cycle.save(update_fields=["job_id"])
            job_dispatch(job)
    except IntegrityError:
        return None  # claimed before (a restarted producer, a second sender)
    return job.pk


def register() -> None:
    """Register the job with the runner and follow the producer's market minutes."""
    market_minute.connect(on_market_minute, dispatch_uid="signals-cadence")
    registry.register_job(
        JOB_NAME,
        signals_cycle_step,
        engines=["signals"],
        description="0DTE signals of SPY, QQQ and IWM at a market minute, and due outcomes",
    )
