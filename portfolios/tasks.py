"""Celery beat entry points of the portfolios app. Thin: each starts a job (``portfolios.jobs``)
that runs as ``batch.tasks.run_batch_job`` and is recorded as a BatchJob."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.utils import timezone

from batch.models import JobSource
from batch.services import job_start
from portfolios import jobs
from portfolios.settlement import due_option_positions


@shared_task
def scheduled_option_settlement() -> dict[str, Any]:
    """Beat fires this after the open (for VIX options), after the regular close and after
    an early close on weekdays; a job starts only when some option is due, and settling is
    idempotent, so an extra firing books nothing twice."""
    if not due_option_positions(now=timezone.now()):
        return {"started": False, "job_id": None}
    job = job_start(job_name=jobs.SETTLEMENT_JOB, source=JobSource.SCHEDULED_JOB)
    return {"started": True, "job_id": job.pk}


@shared_task
def scheduled_dividends() -> dict[str, Any]:
    """Beat fires this on weekday evenings (migration 0005_seed_dividends_schedule); it starts the dividend booking
    once per session (``portfolios.jobs.scheduled_dividends_start``)."""
    job = jobs.scheduled_dividends_start()
    return {"started": job is not None, "job_id": job.pk if job else None}
