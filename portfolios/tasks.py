"""Celery beat entry point of option settlement. Thin: it starts the ``option_settlement``
job (``portfolios.jobs``) when an option position is due; the job runs as
``batch.tasks.run_batch_job`` and is recorded as a BatchJob."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.utils import timezone

from batch.models import JobSource
from batch.services import job_start
from portfolios.jobs import SETTLEMENT_JOB
from portfolios.settlement import due_option_positions


@shared_task
def scheduled_option_settlement() -> dict[str, Any]:
    """Beat fires this after the open (for VIX options), after the regular close and after
    an early close on weekdays; a job starts only when some option is due, and settling is
    idempotent, so an extra firing books nothing twice."""
    if not due_option_positions(now=timezone.now()):
        return {"started": False, "job_id": None}
    job = job_start(job_name=SETTLEMENT_JOB, source=JobSource.SCHEDULED_JOB)
    return {"started": True, "job_id": job.pk}
