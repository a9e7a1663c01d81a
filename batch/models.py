"""Batch jobs and the schedule's record of what it has already run.

A :class:`BatchJob` is one run of a registered job (``batch.registry``): who or what
started it, its progress counts, its outcome and, in ``metadata``, what each step
returned. Times are aware UTC; ``duration_seconds`` is wall-clock seconds from start to
finish.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class JobStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


#: Statuses a job never leaves.
FINISHED_STATUSES = (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)


class JobSource(models.TextChoices):
    API_TRIGGER = "api_trigger", "API"
    SCHEDULED_JOB = "scheduled_job", "Schedule (celery beat)"
    MANAGEMENT_COMMAND = "management_command", "manage.py run_batch"
    ADMIN_ACTION = "admin_action", "Django admin"


class BatchJob(models.Model):
    """One run of a batch job. ``portfolio`` null means every live portfolio."""

    id = models.CharField(
        primary_key=True,
        max_length=100,
        editable=False,
        help_text="job_YYYYMMDD_HHMMSS_<name>_<4 hex>, the time in UTC.",
    )
    job_name = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.PENDING)
    portfolio = models.ForeignKey(
        "portfolios.Portfolio",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="batch_jobs",
        help_text="Null: every live portfolio.",
    )
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True, help_text="Seconds.")
    total_items = models.PositiveIntegerField(
        null=True, blank=True, help_text="Items known so far (null until a step announces them)."
    )
    processed_items = models.PositiveIntegerField(default=0)
    successful_items = models.PositiveIntegerField(default=0)
    failed_items = models.PositiveIntegerField(default=0)
    error_message = models.TextField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Last sign of life of the process running the job (every few seconds).",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="batch_jobs",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["job_name", "created_at"]),
            models.Index(fields=["status"]),
            models.Index(fields=["status", "heartbeat_at"]),
        ]

    def __str__(self) -> str:
        return self.id

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES


class ScheduledRun(models.Model):
    """A period (an NYSE session, or a week) that a scheduled task has claimed.

    Why a table and not a cache key: the unique constraint makes the claim atomic across
    beat firings, Celery retries and workers, and it survives a cache flush, so a
    session is never processed twice.
    """

    schedule = models.CharField(max_length=64, help_text="daily_sequence or weekly_correlations")
    period = models.DateField(help_text="The session date, or the Monday of the week.")
    job = models.ForeignKey(BatchJob, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-period"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "period"], name="scheduled_run_unique")
        ]

    def __str__(self) -> str:
        return f"{self.schedule} {self.period}"
