"""Celery beat entry points of the portfolios app. Thin: the job runs as
``batch.tasks.run_batch_job``."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from portfolios import jobs


@shared_task
def scheduled_dividends() -> dict[str, Any]:
    """Beat fires this on weekday evenings (migration 0003); it starts the dividend booking
    once per session (``portfolios.jobs.scheduled_dividends_start``)."""
    job = jobs.scheduled_dividends_start()
    return {"started": job is not None, "job_id": job.pk if job else None}
