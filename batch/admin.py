"""Batch jobs in the Django admin: a read-only record with a cancel action. The schedule
itself is django-celery-beat's "Periodic tasks", registered by that app."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from batch.models import BatchJob, ScheduledRun
from sigmasight.errors import DomainError


@admin.register(BatchJob)
class BatchJobAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "job_name",
        "status",
        "portfolio",
        "created_at",
        "started_at",
        "duration_seconds",
        "processed_items",
        "failed_items",
    )
    list_filter = ("status", "job_name", "created_at")
    search_fields = ("id", "job_name", "error_message")
    date_hierarchy = "created_at"
    list_select_related = ("portfolio",)
    actions = ["cancel_selected_jobs"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # jobs are started by the API, the schedule or run_batch

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a record: the detail page is read-only

    @admin.action(description="Cancel selected jobs")
    def cancel_selected_jobs(self, request: HttpRequest, queryset: QuerySet[BatchJob]) -> None:
        from batch.services import job_cancel

        done, skipped = 0, []
        for job_id in queryset.values_list("id", flat=True):
            try:
                job_cancel(job_id=job_id)
                done += 1
            except DomainError as exc:
                skipped.append(f"{job_id} ({exc.message})")
        if done:
            self.message_user(request, f"Cancellation requested for {done} job(s).")
        if skipped:
            self.message_user(
                request, "Not cancelled: " + "; ".join(skipped), level=messages.WARNING
            )


@admin.register(ScheduledRun)
class ScheduledRunAdmin(admin.ModelAdmin):
    list_display = ("schedule", "period", "job", "created_at")
    list_filter = ("schedule",)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
