"""Reads of batch jobs: rows, filtered lists, the summaries of spec 3.1–3.3 and S3.

Every function returns plain data. Times are aware UTC (the API renders them with ``Z``);
durations are seconds; rates are percent (83.33 means 83.33%).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any, cast
from uuid import UUID

from django.conf import settings
from django.db.models import Avg, Count, QuerySet
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from batch import registry, scope
from batch.models import BatchJob, JobStatus, ScheduledRun
from sigmasight.errors import JobNotFound
from sigmasight.health import health_report, status_sections
from sigmasight.timefmt import utc_stamp

#: Every status, always sent whole in summaries (zeros included).
STATUSES: list[str] = list(JobStatus.values)
#: Failed jobs' messages grouped into this many patterns in the summary.
TOP_ERROR_PATTERNS = 5
#: A job running longer than this is reported as possibly stuck.
STUCK_AFTER = dt.timedelta(hours=2)


#: What a job id can look like; anything else is not found without a query (a NUL byte,
#: for one, is an error in PostgreSQL text).
_JOB_ID = re.compile(r"[A-Za-z0-9_\-]{1,100}")


def check_job_id(job_id: str) -> str:
    """``job_id`` if it can be a job id, else :class:`JobNotFound`."""
    if not isinstance(job_id, str) or not _JOB_ID.fullmatch(job_id):
        raise JobNotFound()
    return job_id


def _iso(value: dt.datetime | None) -> str | None:
    return utc_stamp(value) if value else None


def _round(value: float | None, places: int = 2) -> float | None:
    return None if value is None else round(float(value), places)


def _percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


# --------------------------------------------------------------------------- rows


def job_payload(job: BatchJob) -> dict[str, Any]:
    """One job as JSON primitives: the row of 3.1, S1 and S2 and of ``/ws/jobs`` events."""
    total = job.total_items
    return {
        "id": job.pk,
        "job_name": job.job_name,
        "status": job.status,
        "portfolio_id": str(job.portfolio_id) if job.portfolio_id else None,
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "completed_at": _iso(job.completed_at),
        "duration_seconds": _round(job.duration_seconds, 3),
        "total_items": total,
        "processed_items": job.processed_items,
        "successful_items": job.successful_items,
        "failed_items": job.failed_items,
        "progress_percent": _percent(job.processed_items, total) if total else None,
        "error_message": job.error_message,
        "error_id": (job.metadata or {}).get("error_id"),
        "cancel_requested_at": _iso(job.cancel_requested_at),
        "requested_by": str(job.requested_by_id) if job.requested_by_id else None,
        "metadata": job.metadata or {},
    }


def job_get(*, job_id: str) -> BatchJob:
    job = BatchJob.objects.filter(pk=check_job_id(job_id)).first()
    if job is None:
        raise JobNotFound()
    return job


def jobs_query(
    *,
    job_name: str | None = None,
    status: str | None = None,
    portfolio_id: UUID | None = None,
    since: dt.datetime | None = None,
) -> QuerySet[BatchJob]:
    query = BatchJob.objects.all()
    if job_name:
        query = query.filter(job_name=job_name)
    if status:
        query = query.filter(status=status)
    if portfolio_id:
        query = query.filter(portfolio_id=portfolio_id)
    if since is not None:
        query = query.filter(created_at__gte=since)
    return query.order_by("-created_at", "-id")


def _status_counts(query: QuerySet[BatchJob]) -> dict[str, int]:
    counts = dict(query.order_by().values_list("status").annotate(n=Count("id")))
    return {status: int(counts.get(status, 0)) for status in STATUSES}


# --------------------------------------------------------------------------- 3.1


def job_status_report(
    *,
    job_name: str | None,
    status: str | None,
    portfolio_id: UUID | None,
    days_back: int,
    limit: int,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Recent jobs (created in the last ``days_back`` × 24 h), newest first, at most
    ``limit`` of them; the summary counts every matching job, by status."""
    now = now or timezone.now()
    query = jobs_query(
        job_name=job_name,
        status=status,
        portfolio_id=portfolio_id,
        since=now - dt.timedelta(days=days_back),
    )
    counts = _status_counts(query)
    total = sum(counts.values())
    jobs = [job_payload(job) for job in query[:limit]]
    warnings = []
    if total > limit:
        warnings.append(f"Showing the newest {limit} of {total} jobs; raise limit to see more.")
    return {
        "jobs": jobs,
        "summary": {"total_jobs": total, **counts},
        "filters_applied": {
            "days_back": days_back,
            "job_name": job_name,
            "status": status,
            "portfolio_id": str(portfolio_id) if portfolio_id else None,
        },
        "warnings": warnings,
        "last_updated": now,
    }


# --------------------------------------------------------------------------- 3.2


def error_pattern(message: str | None) -> str:
    """A failed job's message with its particulars (numbers, ids, quoted text) blanked, so
    that the same failure on different days or symbols groups together."""
    text = (message or "unknown error").strip().splitlines()[0]
    text = re.sub(r"job_\w+", "<job>", text)
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "<value>", text)
    text = re.sub(r"\d+(\.\d+)?", "N", text)
    return text[:120]


def _avg_completed_duration(query: QuerySet[BatchJob]) -> float | None:
    value = query.filter(status=JobStatus.COMPLETED, duration_seconds__isnull=False).aggregate(
        avg=Avg("duration_seconds")
    )["avg"]
    return _round(value)


def _summary_recommendations(
    *,
    total: int,
    success_rate: float | None,
    by_type: dict[str, dict[str, Any]],
    patterns: list[dict[str, Any]],
    stuck: list[str],
) -> list[str]:
    advice: list[str] = []
    if total == 0:
        advice.append(
            "No batch job ran in the period: check that celery beat and a worker are running "
            "(GET /api/v1/system/status)."
        )
    for pattern in patterns:
        text = pattern["error_pattern"].lower()
        if "database error" in text:
            advice.append(
                "Jobs failed on database errors: look their error ids up in the server log."
            )
        elif "rate limit" in text or "budget" in text:
            advice.append(
                "Market-data providers are hitting rate limits or their daily budget: spread "
                "the runs, raise the plan's limit, or add a fallback provider."
            )
        elif "timeout" in text or "connection" in text:
            advice.append("Check database and network connectivity: jobs failed on timeouts.")
    if success_rate is not None and success_rate < 90:
        worst = [
            f"{name} ({stats['success_rate']}%)"
            for name, stats in by_type.items()
            if stats["total"] and (stats["success_rate"] or 0) < 90
        ]
        if worst:
            advice.append("Investigate the job types below 90% success: " + ", ".join(worst))
    if stuck:
        advice.append(
            "Jobs running for more than two hours may be stuck (their worker died?): "
            + ", ".join(stuck[:5])
            + ". Cancel them with DELETE /api/v1/admin/batch/jobs/{id}/cancel."
        )
    return list(dict.fromkeys(advice))


def job_summary_report(*, days_back: int, now: dt.datetime | None = None) -> dict[str, Any]:
    """Statistics over the jobs created in the last ``days_back`` × 24 h.

    * ``success_rate``: completed / all jobs of the period, in percent (null without jobs);
    * ``avg_duration_seconds`` / ``avg_duration``: mean duration of *completed* jobs, in
      seconds (a failed or cancelled run says little about how long the work takes);
    * ``daily_job_counts``: one entry per UTC date of the period, newest first, zeros
      included, so the entries add up to ``total_jobs``;
    * ``avg_duration_trend``: mean completed duration over the last 7 days against the 7
      before; ``improvement_percent`` is positive when jobs got faster.
    """
    now = now or timezone.now()
    start = now - dt.timedelta(days=days_back)
    period = jobs_query(since=start)
    rows = list(
        period.values_list("job_name", "status", "created_at", "duration_seconds", "error_message")
    )
    counts = Counter(status for _, status, _, _, _ in rows)
    total = len(rows)
    success_rate = _percent(counts[JobStatus.COMPLETED], total)

    names = [*registry.job_names(), *sorted({r[0] for r in rows} - set(registry.job_names()))]
    by_type: dict[str, dict[str, Any]] = {}
    for name in names:
        mine = [r for r in rows if r[0] == name]
        durations = [r[3] for r in mine if r[1] == JobStatus.COMPLETED and r[3] is not None]
        type_counts = Counter(r[1] for r in mine)
        by_type[name] = {
            "total": len(mine),
            **{status: type_counts[status] for status in STATUSES},
            "success_rate": _percent(type_counts[JobStatus.COMPLETED], len(mine)),
            "avg_duration": _round(sum(durations) / len(durations)) if durations else None,
        }

    end_date = now.astimezone(dt.UTC).date()
    start_date = start.astimezone(dt.UTC).date()
    daily: dict[dt.date, Counter[str]] = defaultdict(Counter)
    for _, status, created_at, _, _ in rows:
        daily[created_at.astimezone(dt.UTC).date()][status] += 1
    daily_counts = []
    day = end_date
    while day >= start_date:
        c = daily.get(day, Counter())
        daily_counts.append(
            {
                "date": day,
                "total": sum(c.values()),
                "completed": c[JobStatus.COMPLETED],
                "failed": c[JobStatus.FAILED],
                "cancelled": c[JobStatus.CANCELLED],
            }
        )
        day -= dt.timedelta(days=1)

    week = dt.timedelta(days=7)
    current = _avg_completed_duration(jobs_query(since=now - week))
    previous = _avg_completed_duration(
        BatchJob.objects.filter(created_at__gte=now - 2 * week, created_at__lt=now - week)
    )
    improvement = (
        round(100.0 * (previous - current) / previous, 1)
        if current is not None and previous
        else None
    )

    failed = [r for r in rows if r[1] == JobStatus.FAILED]
    pattern_counts = Counter(error_pattern(r[4]) for r in failed)
    patterns = [
        {"error_pattern": p, "count": n, "percentage": _percent(n, len(failed))}
        for p, n in pattern_counts.most_common(TOP_ERROR_PATTERNS)
    ]
    failures_by_type = Counter(r[0] for r in failed)
    stuck = list(
        BatchJob.objects.filter(status=JobStatus.RUNNING, started_at__lt=now - STUCK_AFTER)
        .order_by("started_at")
        .values_list("id", flat=True)[:5]
    )
    warnings = []
    if total == 0:
        warnings.append("No jobs in the period: rates and averages are null.")
    return {
        "period": {"start_date": start_date, "end_date": end_date, "days_covered": days_back},
        "job_statistics": {
            "total_jobs": total,
            **{f"{status}_jobs": counts[status] for status in STATUSES},
            "success_rate": success_rate,
            "avg_duration_seconds": _avg_completed_duration(period),
        },
        "by_job_type": by_type,
        "performance_trends": {
            "daily_job_counts": daily_counts,
            "avg_duration_trend": {
                "current_week": current,
                "previous_week": previous,
                "improvement_percent": improvement,
            },
        },
        "error_analysis": {
            "top_error_types": patterns,
            "most_failed_job_type": failures_by_type.most_common(1)[0][0]
            if failures_by_type
            else None,
        },
        "recommendations": _summary_recommendations(
            total=total,
            success_rate=success_rate,
            by_type=by_type,
            patterns=patterns,
            stuck=stuck,
        ),
        "warnings": warnings,
        "last_updated": now,
    }


# --------------------------------------------------------------------------- 3.3


def cancel_report(
    *, job: BatchJob, previous_status: str, cancelled_at: dt.datetime, revoked_task_id: str | None
) -> dict[str, Any]:
    """Spec 3.3's body for a cancel that was accepted.

    ``new_status`` is ``cancelled`` for a job that had not started, and ``cancelling`` for
    a running one: it stops at its next checkpoint (between items), which the job's own
    status shows once reached. ``items_in_progress`` is the item being worked on (0 or 1:
    steps process items one at a time and finish it); ``incomplete_calculations`` the
    announced items that will not be processed.
    """
    running = previous_status == JobStatus.RUNNING and job.status == JobStatus.RUNNING
    runtime = (cancelled_at - job.started_at).total_seconds() if job.started_at else 0.0
    remaining = (
        max(0, job.total_items - job.processed_items) if job.total_items is not None else None
    )
    actions = ["Recorded the cancellation request in the database"]
    if revoked_task_id:
        actions.append(f"Revoked Celery task {revoked_task_id} (queued or retrying copies)")
    if running:
        actions.append("The job stops at its next checkpoint; the item in progress completes")
    else:
        actions.append("Updated job status in database")
    scoped = (job.metadata or {}).get("portfolio_ids")
    if scoped:
        affected = len(scoped)
    elif job.portfolio_id is not None:
        affected = 1
    else:
        affected = len(scope.live_portfolio_ids(None))
    return {
        "message": "Batch job cancellation requested; it stops at its next checkpoint"
        if running
        else "Batch job cancelled successfully",
        "job_details": {
            "id": job.pk,
            "job_name": job.job_name,
            "previous_status": previous_status,
            "new_status": "cancelling" if running else job.status,
            "cancelled_at": cancelled_at,
            "runtime_before_cancellation": round(runtime, 1),
            "processed_items": job.processed_items,
            "successful_items": job.successful_items,
            "items_in_progress": 1 if running else 0,
        },
        "cleanup_actions": actions,
        "impact_assessment": {
            "affected_portfolios": affected,
            "incomplete_calculations": remaining,
            "data_consistency_status": "maintained",
            "rollback_required": False,
        },
    }


# --------------------------------------------------------------------------- S3


def _crontab_text(crontab: Any) -> str:
    return (
        f"{crontab.minute} {crontab.hour} {crontab.day_of_month} "
        f"{crontab.month_of_year} {crontab.day_of_week}"
    )


def scheduler_entries() -> list[dict[str, Any]]:
    """django-celery-beat's periodic tasks, as the admin edits them."""
    entries = []
    for task in PeriodicTask.objects.select_related(
        "crontab", "interval", "solar", "clocked"
    ).order_by("name"):
        if task.crontab is not None:
            schedule, zone = _crontab_text(task.crontab), str(task.crontab.timezone)
        elif task.interval is not None:
            schedule, zone = f"every {task.interval.every} {task.interval.period}", None
        else:
            schedule, zone = str(task.schedule), None
        entries.append(
            {
                "name": task.name,
                "task": task.task,
                "enabled": task.enabled,
                "schedule": schedule,
                "timezone": zone,
                "last_run_at": task.last_run_at,
                "total_run_count": task.total_run_count,
            }
        )
    return entries


def _brief(job: BatchJob) -> dict[str, Any]:
    return {
        "id": job.pk,
        "job_name": job.job_name,
        "status": job.status,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "completed_at": job.completed_at,
        "duration_seconds": _round(job.duration_seconds, 3),
        "processed_items": job.processed_items,
        "error_message": job.error_message,
        "error_id": (job.metadata or {}).get("error_id"),
    }


def last_runs(names: Iterable[str]) -> dict[str, dict[str, Any] | None]:
    """The newest job of each name (one query per name, on the (job_name, created_at)
    index; the names are the ten of the registry)."""
    result: dict[str, dict[str, Any] | None] = {}
    for name in names:
        job = BatchJob.objects.filter(job_name=name).order_by("-created_at").first()
        result[name] = _brief(job) if job else None
    return result


def system_status(*, now: dt.datetime | None = None) -> dict[str, Any]:
    """S3: the health checks of ``/health``, the sections other apps register there (the
    exchange's state, from the market-data app), the batch's state and the schedule."""
    now = now or timezone.now()
    health = health_report()
    checks = cast(dict[str, str], health["checks"])
    warnings: list[str] = []
    running = list(BatchJob.objects.filter(status=JobStatus.RUNNING).order_by("started_at"))
    failed_24h = BatchJob.objects.filter(
        status=JobStatus.FAILED, created_at__gte=now - dt.timedelta(hours=24)
    ).order_by("-created_at")
    stuck = [j.pk for j in running if j.started_at and j.started_at < now - STUCK_AFTER]
    if stuck:
        warnings.append(f"Running for more than two hours (stuck?): {', '.join(stuck)}")
    last_session = (
        ScheduledRun.objects.filter(schedule__in=registry.SESSION_SCHEDULES)
        .order_by("-period")
        .first()
    )
    sections, section_warnings = status_sections(now=now)
    warnings += section_warnings
    market = sections.get("market") or {"status": None, "last_completed_session": None}
    entries = scheduler_entries()
    if not any(e["enabled"] for e in entries):
        warnings.append("No enabled celery beat entry: nothing runs on a schedule.")
    return {
        "status": health["status"],
        "checks": checks,
        "celery": {
            "mode": "eager" if settings.CELERY_TASK_ALWAYS_EAGER else "broker",
            "broker": checks["broker"],
        },
        "market": market,
        "batch": {
            "last_runs": last_runs(registry.job_names()),
            "running_jobs": [_brief(j) for j in running],
            "pending_jobs": BatchJob.objects.filter(status=JobStatus.PENDING).count(),
            "failures_24h": failed_24h.count(),
            "recent_failures": [_brief(j) for j in failed_24h[:10]],
            "last_processed_session": last_session.period if last_session else None,
        },
        "scheduler": {"entries": entries},
        "warnings": warnings,
        "last_updated": now,
    }


def step_outcomes(*, step: str, since: dt.datetime) -> list[dict[str, Any]]:
    """How job ``step`` went in every run since ``since``: run alone, or as a member of a
    chain (from the chain's ``metadata.steps``). Each entry: ``processed``, ``failed``
    (items), ``ok`` (the step completed) and ``completed_at`` (the job's end)."""
    chains = [name for name, members in registry.CHAINS.items() if step in members]
    outcomes: list[dict[str, Any]] = []
    for job in BatchJob.objects.filter(job_name__in=[step, *chains], created_at__gte=since).only(
        "job_name", "metadata", "completed_at", "status", "processed_items", "failed_items"
    ):
        if job.job_name == step:
            processed, failed = job.processed_items, job.failed_items
            ok = job.status == JobStatus.COMPLETED
        else:
            entry: dict[str, Any] = next(
                (s for s in (job.metadata or {}).get("steps") or [] if s.get("name") == step), {}
            )
            if entry.get("status") not in ("completed", "failed"):
                continue
            processed, failed = int(entry.get("processed") or 0), int(entry.get("failed") or 0)
            ok = entry.get("status") == "completed"
        outcomes.append(
            {"processed": processed, "failed": failed, "ok": ok, "completed_at": job.completed_at}
        )
    return outcomes


def job_history(
    *, job_name: str, completed_only: bool = False, exclude: str | None = None, limit: int = 10
) -> list[BatchJob]:
    """The newest jobs of ``job_name`` (completed ones only, if asked), newest first."""
    query = BatchJob.objects.filter(job_name=job_name)
    if completed_only:
        query = query.filter(status=JobStatus.COMPLETED)
    if exclude is not None:
        query = query.exclude(pk=exclude)
    return list(query.order_by("-completed_at", "-created_at")[:limit])


def recorded_scores(
    *, key: str, since: dt.datetime, portfolio_id: UUID | None = None
) -> list[tuple[dt.datetime, float]]:
    """``(completed_at, metadata[key])`` of the completed jobs since ``since`` that recorded
    a number under ``key``, oldest first: for one portfolio's jobs, or (None) for the jobs
    over every portfolio."""
    query = BatchJob.objects.filter(
        status=JobStatus.COMPLETED, completed_at__gte=since, **{f"metadata__{key}__isnull": False}
    ).order_by("completed_at")
    query = (
        query.filter(portfolio_id=portfolio_id)
        if portfolio_id
        else query.filter(portfolio__isnull=True)
    )
    scores = []
    for completed_at, metadata in query.values_list("completed_at", "metadata"):
        value = (metadata or {}).get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            scores.append((completed_at, float(value)))
    return scores
