"""Batch jobs in the Django admin: a read-only record, "Start a job" (any registered job,
for every live portfolio or chosen ones), "Run again" and "Cancel" actions. The schedule
itself is django-celery-beat's "Periodic tasks", registered by that app.

A started job answers at once: it runs on a Celery worker, or in a background thread of
the embedded default's one process; its row shows the progress as it goes.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from batch import registry
from batch.models import BatchJob, JobSource, ScheduledRun
from batch.services import job_cancel, job_start
from sigmasight.errors import DomainError, ValidationFailed

_UUID_SEPARATORS = re.compile(r"[\s,;]+")


class StartJobForm(forms.Form):
    job_name = forms.ChoiceField(label="Job", choices=())
    portfolio_ids = forms.CharField(
        label="Portfolio ids",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Optional: UUIDs separated by spaces, commas or new lines. "
        "Empty: every live portfolio.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["job_name"].choices = [
            (name, f"{name} — {registry.DESCRIPTIONS.get(name) or ''}".rstrip(" —"))
            for name in registry.startable_job_names()
        ]

    def clean_portfolio_ids(self) -> list[uuid.UUID] | None:
        text = self.cleaned_data.get("portfolio_ids", "").strip()
        if not text:
            return None
        try:
            return [uuid.UUID(part) for part in _UUID_SEPARATORS.split(text) if part]
        except ValueError as exc:
            raise forms.ValidationError("Give portfolio UUIDs only.") from exc


@admin.register(BatchJob)
class BatchJobAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "job_name",
        "status",
        "current_step",
        "progress",
        "failed_items",
        "created_at",
        "duration_seconds",
    )
    list_filter = ("status", "job_name", "created_at")
    search_fields = ("id", "job_name", "error_message")
    date_hierarchy = "created_at"
    actions = ["cancel_selected_jobs", "run_selected_jobs_again"]
    change_list_template = "admin/batch/batchjob/change_list.html"
    readonly_fields = ("error_id",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # jobs are started by "Start a job", the API, the schedule or run_batch

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a record: the detail page is read-only

    @admin.display(description="Progress")
    def progress(self, job: BatchJob) -> str:
        if job.total_items:
            share = 100.0 * job.processed_items / job.total_items
            return f"{job.processed_items}/{job.total_items} ({share:.0f}%)"
        return str(job.processed_items) if job.processed_items else "–"

    @admin.display(description="Step")
    def current_step(self, job: BatchJob) -> str:
        if job.is_finished:
            return "–"
        return (job.metadata or {}).get("current_step") or "–"

    @admin.display(description="Error id")
    def error_id(self, job: BatchJob) -> str:
        return (job.metadata or {}).get("error_id") or "–"

    # -- start a job

    def get_urls(self) -> list[URLPattern]:
        start = path(
            "start/",
            self.admin_site.admin_view(self.start_view),
            name="batch_batchjob_start",
        )
        return [start, *super().get_urls()]

    def start_view(self, request: HttpRequest) -> HttpResponse:
        if not getattr(request.user, "has_role", lambda _role: False)("admin"):
            raise PermissionDenied("Starting jobs needs the admin permission")
        form = StartJobForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                job = job_start(
                    job_name=form.cleaned_data["job_name"],
                    portfolio_ids=form.cleaned_data["portfolio_ids"],
                    source=JobSource.ADMIN_ACTION,
                    requested_by=request.user,
                )
            except ValidationFailed as exc:
                for field, problems in exc.errors.items():
                    target = field if field in form.fields else None
                    for problem in problems:
                        form.add_error(target, problem)
            else:
                link = reverse("admin:batch_batchjob_change", args=[quote(job.pk)])
                self.message_user(
                    request,
                    format_html('Started <a href="{}">{}</a> ({}).', link, job.pk, job.status),
                )
                return HttpResponseRedirect(reverse("admin:batch_batchjob_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": "Start a batch job",
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/batch/batchjob/start.html", context)

    # -- actions

    @admin.action(description="Cancel selected jobs")
    def cancel_selected_jobs(self, request: HttpRequest, queryset: QuerySet[BatchJob]) -> None:
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

    @admin.action(description="Run selected jobs again (same job, same portfolios)")
    def run_selected_jobs_again(self, request: HttpRequest, queryset: QuerySet[BatchJob]) -> None:
        started, skipped = [], []
        for job in queryset:
            scope = (job.metadata or {}).get("portfolio_ids") or (
                [str(job.portfolio_id)] if job.portfolio_id else None
            )
            try:
                new = job_start(
                    job_name=job.job_name,
                    portfolio_ids=[uuid.UUID(p) for p in scope] if scope else None,
                    source=JobSource.ADMIN_ACTION,
                    requested_by=request.user,
                )
                started.append(new.pk)
            except DomainError as exc:
                skipped.append(f"{job.pk} ({exc.message})")
        if started:
            self.message_user(request, "Started " + ", ".join(started) + ".")
        if skipped:
            self.message_user(request, "Not started: " + "; ".join(skipped), level=messages.WARNING)


@admin.register(ScheduledRun)
class ScheduledRunAdmin(admin.ModelAdmin):
    list_display = ("schedule", "period", "job", "created_at")
    list_filter = ("schedule",)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
