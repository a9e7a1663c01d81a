"""Shapes of the batch and system endpoints (spec 3.1–3.3, Part II S1–S3; the
data-quality endpoints 3.4–3.5 are the risk app's).

Input serializers validate query parameters (errors answer 422 with ``loc: ["query",
...]``). Output serializers document every key and its unit in the OpenAPI schema: times
are ISO 8601 UTC, durations seconds, ``*_rate``/``*_percent``/``*_coverage``/``*score``
percent (83.33 means 83.33%) unless a field says "fraction".
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from batch import registry
from batch.models import JobStatus
from sigmasight.api.fields import PercentFigure, Seconds, Strings, Timestamp
from sigmasight.api.inputs import Warnings
from sigmasight.api.pagination import PaginationSerializer

MAX_DAYS_BACK = 365
MAX_STATUS_LIMIT = 500


def _job_name(value: str) -> str:
    if not registry.is_job_name(value):
        raise serializers.ValidationError(f"Unknown job name; use one of {registry.job_names()}.")
    return value


def _startable_job_name(value: str) -> str:
    if value not in registry.startable_job_names():
        raise serializers.ValidationError(
            f"Unknown job name; use one of {registry.startable_job_names()}."
        )
    return value


# --------------------------------------------------------------------------- input


class JobFilterQuerySerializer(serializers.Serializer):
    job_name = serializers.CharField(
        required=False, max_length=64, validators=[_job_name], help_text="Filter by job name"
    )
    status = serializers.ChoiceField(
        choices=JobStatus.values, required=False, help_text="Filter by status"
    )
    portfolio_id = serializers.UUIDField(required=False, help_text="Filter by portfolio")


class JobStatusQuerySerializer(JobFilterQuerySerializer):
    days_back = serializers.IntegerField(
        min_value=1,
        max_value=MAX_DAYS_BACK,
        default=1,
        help_text="Jobs created in the last N × 24 hours",
    )
    limit = serializers.IntegerField(
        min_value=1,
        max_value=MAX_STATUS_LIMIT,
        default=100,
        help_text="Newest jobs listed (the summary counts all of them)",
    )


class JobSummaryQuerySerializer(serializers.Serializer):
    days_back = serializers.IntegerField(
        min_value=1,
        max_value=MAX_DAYS_BACK,
        default=7,
        help_text="Jobs created in the last N × 24 hours",
    )


# --------------------------------------------------------------------------- job rows


class JobMetadataSerializer(serializers.Serializer):
    """The documented keys; every other key of ``metadata`` is passed through."""

    source = serializers.CharField(help_text="api_trigger, scheduled_job or management_command")
    calculation_engines = Strings("Engines the job runs (['all'] for the full chain)")
    retry_count = serializers.IntegerField(help_text="Celery retries after provider outages")
    celery_task_id = serializers.CharField(allow_null=True)
    steps = serializers.ListField(
        child=serializers.DictField(),
        required=False,
        help_text="full_portfolio_calculation, in chain order: {name, status, seconds, "
        "processed, successful, failed, result | error | warning}",
    )
    result = serializers.DictField(required=False, help_text="What the step returned")
    warnings = Strings("Skipped steps and other warnings")
    item_errors = Strings("The first failed items, with their reason")
    quality_score = PercentFigure("Data-quality score measured after the job (0–100)")

    def to_representation(self, instance: Any) -> Any:
        return dict(instance or {})


class JobSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="job_YYYYMMDD_HHMMSS_<name>_<4 hex>, UTC")
    job_name = serializers.CharField()
    status = serializers.ChoiceField(choices=JobStatus.values)
    portfolio_id = serializers.UUIDField(allow_null=True, help_text="Null: every portfolio")
    created_at = Timestamp()
    started_at = Timestamp()
    completed_at = Timestamp()
    duration_seconds = Seconds("Wall-clock seconds from start to finish")
    total_items = serializers.IntegerField(allow_null=True, help_text="Items announced so far")
    processed_items = serializers.IntegerField()
    successful_items = serializers.IntegerField()
    failed_items = serializers.IntegerField()
    progress_percent = PercentFigure("processed / total items, percent")
    error_message = serializers.CharField(
        allow_null=True, help_text="Safe to show: no database text; details in the server log"
    )
    error_id = serializers.CharField(
        allow_null=True, required=False, help_text="Finds the full error in the server log"
    )
    cancel_requested_at = Timestamp()
    requested_by = serializers.CharField(allow_null=True, help_text="User id")
    metadata = JobMetadataSerializer()


# --------------------------------------------------------------------------- 3.1


class StatusSummarySerializer(serializers.Serializer):
    total_jobs = serializers.IntegerField()
    pending = serializers.IntegerField()
    running = serializers.IntegerField()
    completed = serializers.IntegerField()
    failed = serializers.IntegerField()
    cancelled = serializers.IntegerField()


class FiltersAppliedSerializer(serializers.Serializer):
    days_back = serializers.IntegerField()
    job_name = serializers.CharField(allow_null=True)
    status = serializers.CharField(allow_null=True)
    portfolio_id = serializers.CharField(allow_null=True)


class JobStatusPageSerializer(serializers.Serializer):
    """``page``/``sort``/``order`` of 3.1 (its ``limit``, the page size, is the spec's)."""

    page = serializers.IntegerField(min_value=1, default=1)
    sort = serializers.ChoiceField(
        choices=[
            "created_at",
            "started_at",
            "completed_at",
            "duration_seconds",
            "job_name",
            "status",
        ],
        required=False,
    )
    order = serializers.ChoiceField(choices=["asc", "desc"], default="desc")


class JobStatusReportSerializer(serializers.Serializer):
    jobs = JobSerializer(many=True, help_text="One page of jobs")
    pagination = PaginationSerializer()
    summary = StatusSummarySerializer(help_text="Every status, zeros included")
    filters_applied = FiltersAppliedSerializer()
    warnings = Warnings()
    last_updated = Timestamp()


# --------------------------------------------------------------------------- 3.2


class PeriodSerializer(serializers.Serializer):
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    days_covered = serializers.IntegerField()


class JobStatisticsSerializer(serializers.Serializer):
    total_jobs = serializers.IntegerField()
    pending_jobs = serializers.IntegerField()
    running_jobs = serializers.IntegerField()
    completed_jobs = serializers.IntegerField()
    failed_jobs = serializers.IntegerField()
    cancelled_jobs = serializers.IntegerField()
    success_rate = PercentFigure("Completed / all jobs of the period, percent")
    avg_duration_seconds = Seconds("Mean duration of completed jobs, seconds")


class JobTypeStatisticsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    pending = serializers.IntegerField()
    running = serializers.IntegerField()
    completed = serializers.IntegerField()
    failed = serializers.IntegerField()
    cancelled = serializers.IntegerField()
    success_rate = PercentFigure("Completed / total, percent (null without jobs)")
    avg_duration = Seconds("Mean duration of completed jobs, seconds")


class DailyCountSerializer(serializers.Serializer):
    date = serializers.DateField(help_text="UTC date")
    total = serializers.IntegerField()
    completed = serializers.IntegerField()
    failed = serializers.IntegerField()
    cancelled = serializers.IntegerField()


class DurationTrendSerializer(serializers.Serializer):
    current_week = Seconds("Mean completed duration, last 7 days, seconds")
    previous_week = Seconds("Mean completed duration, the 7 days before, seconds")
    improvement_percent = PercentFigure("(previous − current) / previous, percent; > 0 is faster")


class PerformanceTrendsSerializer(serializers.Serializer):
    daily_job_counts = DailyCountSerializer(many=True, help_text="Newest first, zeros included")
    avg_duration_trend = DurationTrendSerializer()


class ErrorTypeSerializer(serializers.Serializer):
    error_pattern = serializers.CharField(help_text="The message with numbers and ids blanked")
    count = serializers.IntegerField()
    percentage = PercentFigure("Share of the failed jobs, percent")


class ErrorAnalysisSerializer(serializers.Serializer):
    top_error_types = ErrorTypeSerializer(many=True)
    most_failed_job_type = serializers.CharField(allow_null=True)


class JobSummaryReportSerializer(serializers.Serializer):
    period = PeriodSerializer()
    job_statistics = JobStatisticsSerializer()
    by_job_type = serializers.DictField(
        child=JobTypeStatisticsSerializer(), help_text="Per job name (every registered name)"
    )
    performance_trends = PerformanceTrendsSerializer()
    error_analysis = ErrorAnalysisSerializer()
    recommendations = Strings("Derived from the period's failures and durations")
    warnings = Warnings()
    last_updated = Timestamp()


# --------------------------------------------------------------------------- 3.3


class CancelDetailsSerializer(serializers.Serializer):
    id = serializers.CharField()
    job_name = serializers.CharField()
    previous_status = serializers.CharField()
    new_status = serializers.CharField(
        help_text="cancelled, or cancelling while a running job reaches its next checkpoint"
    )
    cancelled_at = Timestamp("When the cancel was requested, ISO 8601 UTC")
    runtime_before_cancellation = Seconds("Seconds the job had run")
    processed_items = serializers.IntegerField()
    successful_items = serializers.IntegerField()
    items_in_progress = serializers.IntegerField(help_text="0 or 1: the item being finished")


class ImpactSerializer(serializers.Serializer):
    affected_portfolios = serializers.IntegerField()
    incomplete_calculations = serializers.IntegerField(
        allow_null=True, help_text="Announced items that will not be processed"
    )
    data_consistency_status = serializers.CharField(
        help_text="maintained: items are written atomically, one at a time"
    )
    rollback_required = serializers.BooleanField()


class CancelReportSerializer(serializers.Serializer):
    message = serializers.CharField()
    job_details = CancelDetailsSerializer()
    cleanup_actions = Strings("What was done")
    impact_assessment = ImpactSerializer()


# --------------------------------------------------------------------------- S1–S3


class JobStartSerializer(serializers.Serializer):
    """``POST /system/jobs``: which registered job, over which portfolios."""

    job_name = serializers.CharField(
        max_length=64, validators=[_startable_job_name], help_text="A registered job name"
    )
    portfolio_ids = serializers.ListField(
        child=serializers.UUIDField(),
        required=False,
        allow_null=True,
        min_length=1,
        max_length=1000,
        help_text="Live portfolios to cover (any user's); omit for every live portfolio",
    )


class JobStartedSerializer(serializers.Serializer):
    job_id = serializers.CharField(help_text="job_YYYYMMDD_HHMMSS_<name>_<4 hex>, UTC")
    status = serializers.CharField(help_text="pending, or running if it started already")
    status_url = serializers.CharField(help_text="Where to follow it: GET /api/v1/system/jobs/{id}")


class JobListSerializer(serializers.Serializer):
    jobs = JobSerializer(many=True)
    pagination = PaginationSerializer()


class JobBriefSerializer(serializers.Serializer):
    id = serializers.CharField()
    job_name = serializers.CharField()
    status = serializers.CharField()
    created_at = Timestamp()
    started_at = Timestamp()
    completed_at = Timestamp()
    duration_seconds = Seconds()
    processed_items = serializers.IntegerField()
    error_message = serializers.CharField(
        allow_null=True, help_text="Safe to show: no database text; details in the server log"
    )
    error_id = serializers.CharField(
        allow_null=True, required=False, help_text="Finds the full error in the server log"
    )


class CelerySerializer(serializers.Serializer):
    mode = serializers.CharField(help_text="eager (tasks run inline) or broker")
    broker = serializers.CharField(help_text="ok, eager or error: <reason>")


class MarketSerializer(serializers.Serializer):
    status = serializers.CharField(
        allow_null=True, help_text="open, pre_market, after_hours, closed"
    )
    last_completed_session = serializers.DateField(allow_null=True)


class BatchStateSerializer(serializers.Serializer):
    last_runs = serializers.DictField(
        child=JobBriefSerializer(allow_null=True), help_text="Newest job per job name"
    )
    running_jobs = JobBriefSerializer(many=True)
    pending_jobs = serializers.IntegerField()
    failures_24h = serializers.IntegerField()
    recent_failures = JobBriefSerializer(many=True, help_text="Newest ten of the last 24 h")
    last_processed_session = serializers.DateField(
        allow_null=True, help_text="Latest session the daily sequence claimed"
    )


class SchedulerEntrySerializer(serializers.Serializer):
    name = serializers.CharField()
    task = serializers.CharField()
    enabled = serializers.BooleanField()
    schedule = serializers.CharField(help_text="Crontab: minute hour day month weekday")
    timezone = serializers.CharField(allow_null=True)
    last_run_at = Timestamp()
    total_run_count = serializers.IntegerField()


class SchedulerSerializer(serializers.Serializer):
    entries = SchedulerEntrySerializer(many=True)


class SystemStatusSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="ok or degraded, as GET /health")
    checks = serializers.DictField(child=serializers.CharField(), help_text="As GET /health")
    celery = CelerySerializer()
    market = MarketSerializer()
    batch = BatchStateSerializer()
    scheduler = SchedulerSerializer()
    warnings = Warnings()
    last_updated = Timestamp()
