"""Celery entry points of the batch. Thin: each calls one service in ``batch.services``.

``run_batch_job`` retries transient failures (``sigmasight.errors.TransientFailure``: a
market-data provider outage, say) with exponential backoff (capped at 10 minutes, 3
retries); each retry is counted in ``metadata.retry_count``. The last attempt records the
failure instead of raising, so the job always ends in a status. The schedules (which job
runs after which session) belong to the apps that own the jobs (``risk/tasks.py``).

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
from sigmasight.errors import JobNotFound, TransientFailure

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    autoretry_for=(TransientFailure,),
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
            retryable=() if final_attempt else (TransientFailure,),
        )
    except JobNotFound:
        logger.warning("batch: job %s does not exist; nothing to run", job_id)
        return {"job_id": job_id, "status": "missing"}
    return {"job_id": job.pk, "status": job.status}


@shared_task
def recover_stale_jobs() -> dict[str, Any]:
    """Beat fires this every minute: running jobs whose worker died are re-queued or
    failed (see ``services.jobs_recover_stale``)."""
    outcome = services.jobs_recover_stale()
    return {"requeued": outcome.requeued, "failed": outcome.failed, "cancelled": outcome.cancelled}
