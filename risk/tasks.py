"""Celery beat entry points of the risk schedule. Thin: each calls one service in
``risk.schedule``; the job itself runs as ``batch.tasks.run_batch_job``."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from risk import schedule
from risk.exports import services as report_services


@shared_task
def scheduled_daily_sequence() -> dict[str, Any]:
    """Beat fires this after the regular and the early close (16:30 and 13:30 ET on
    weekdays); it starts the full calculation only for a session that closed at least 30
    minutes ago and was not processed yet (see ``risk.schedule.scheduled_daily_start``)."""
    job = schedule.scheduled_daily_start()
    return {"started": job is not None, "job_id": job.pk if job else None}


@shared_task
def scheduled_weekly_correlations() -> dict[str, Any]:
    """The weekly correlation run, at most once per week."""
    job = schedule.scheduled_weekly_start()
    return {"started": job is not None, "job_id": job.pk if job else None}


@shared_task
def cleanup_expired_reports() -> dict[str, Any]:
    """Beat fires this hourly: report files past ``REPORT_RETENTION_HOURS`` are deleted."""
    return {"deleted": report_services.reports_expired_delete()}
