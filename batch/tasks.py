"""Celery entry points of the batch. Thin: each calls one service in ``batch.services``.

``run_batch_job`` retries provider outages (``ProviderError``) with exponential backoff
(capped at 10 minutes, 3 retries); each retry is counted in ``metadata.retry_count``. The
last attempt records the failure instead of raising, so the job always ends in a status.

Eager mode (the embedded default) does not retry: the job runs inside the request or
command that dispatched it, where sleeping through a backoff would hold it for minutes
(and Celery re-raises eager retries when ``task_eager_propagates`` is on). The failure is
recorded at once.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from batch import services
from marketdata.providers.base import ProviderError
from sigmasight.errors import JobNotFound

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    autoretry_for=(ProviderError,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=3,
)
def run_batch_job(self: Any, job_id: str) -> dict[str, Any]:
    """Run one BatchJob (created by ``batch.services.job_create``)."""
    final_attempt = self.request.is_eager or self.request.retries >= self.max_retries
    try:
        job = services.job_run(
            job_id,
            task_id=self.request.id,
            retryable=() if final_attempt else (ProviderError,),
        )
    except JobNotFound:
        logger.warning("batch: job %s does not exist; nothing to run", job_id)
        return {"job_id": job_id, "status": "missing"}
    return {"job_id": job.pk, "status": job.status}


@shared_task
def scheduled_daily_sequence() -> dict[str, Any]:
    """Beat fires this after the regular and the early close (16:30 and 13:30 ET on
    weekdays); it starts the full calculation only for a session that closed at least 30
    minutes ago and was not processed yet (see ``services.scheduled_daily_start``)."""
    job = services.scheduled_daily_start()
    return {"started": job is not None, "job_id": job.pk if job else None}


@shared_task
def scheduled_weekly_correlations() -> dict[str, Any]:
    """The weekly correlation run, at most once per week."""
    job = services.scheduled_weekly_start()
    return {"started": job is not None, "job_id": job.pk if job else None}
