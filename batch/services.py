"""The job runner every batch job uses: create, run, report progress, cancel, schedule.

How a job runs
--------------
:func:`job_create` writes a pending :class:`~batch.models.BatchJob`; :func:`job_dispatch`
queues ``batch.tasks.run_batch_job`` for it (after the surrounding transaction commits);
the task calls :func:`job_run`, which claims the job (pending → running, atomically),
resolves its step from ``batch.registry`` and calls ``step(ctx, portfolio_ids=...)``.
The outcome is recorded as completed, failed (``error_message``: the error's text, never a
stack trace; the traceback goes to the log) or cancelled, with the duration.

The step contract
-----------------
``step(ctx: JobContext, *, portfolio_ids: list[UUID] | None) -> dict``. ``portfolio_ids``
None means every live portfolio. A step reports progress through ``ctx`` (usually by
iterating ``ctx.items(...)``, which also checks for cancellation between items) and
returns a JSON-able summary, stored in ``metadata["result"]``. **A step's per-item
writes must be atomic per item** (``with transaction.atomic():`` around each item's
writes): cancellation stops a step only between items, so an item is either fully
written or not at all, and a cancel never leaves half an item behind.

Cancellation is cooperative
---------------------------
:func:`job_cancel` sets ``cancel_requested_at``. A pending job becomes cancelled at once.
A running job keeps running until its step reaches the next checkpoint
(``ctx.items`` between items, ``ctx.check_cancelled()``, and between the steps of a
chain), where :class:`JobCancelled` unwinds it and the job is recorded as cancelled.
The Celery task is also revoked (without ``terminate``: killing a worker mid-item is what
per-item atomicity exists to avoid), so a queued or retried message of it is discarded.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import secrets
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from batch import registry
from batch.consumers import JOBS_GROUP
from batch.models import BatchJob, JobSource, JobStatus, ScheduledRun
from batch.selectors import check_job_id, job_payload
from sigmasight.errors import Conflict, JobNotFound, ValidationFailed

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Seconds between progress writes (DB row + WebSocket event) while items stream by;
#: the final counts are always written.
PROGRESS_INTERVAL = 0.25
#: How many failed items' reasons are kept in ``metadata["item_errors"]``.
MAX_ITEM_ERRORS = 20
#: The scheduled run waits this long after a close (RISK-MODEL.md, "Schedule").
CLOSE_DELAY = dt.timedelta(minutes=30)
#: A second cancel of a job still running this long after the first is applied at once:
#: its worker is presumed dead (were it alive, its next checkpoint stops it anyway).
FORCE_CANCEL_AFTER = dt.timedelta(minutes=5)
DAILY_SCHEDULE = "daily_sequence"
WEEKLY_CORRELATIONS_SCHEDULE = "weekly_correlations"


class JobCancelled(BaseException):  # a signal, not an error
    """Raised at a checkpoint when the job was asked to stop.

    A ``BaseException`` (like ``KeyboardInterrupt``), so that a step's ``except
    Exception`` around an item cannot swallow it; ``transaction.atomic`` still rolls the
    current item back.
    """


# --------------------------------------------------------------------------- helpers


def _jsonable(value: Any) -> Any:
    """Step results as JSON for ``metadata``: dates and datetimes as ISO strings, Decimals
    and numpy scalars as numbers, sets as lists, NaN/inf as null (PostgreSQL's jsonb
    rejects them), anything else as its string."""
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return _jsonable(float(value))
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        try:
            return _jsonable(value.item())
        except (TypeError, ValueError):
            pass
    return str(value)


def error_text(exc: BaseException) -> str:
    """What a job's ``error_message`` says about ``exc``: its message, or its type."""
    text = str(exc).strip() or type(exc).__name__
    return text[:2000]


def push_job_event(job: BatchJob) -> None:
    """Send ``{"type": "job_progress", "data": <job row>}`` to the ``/ws/jobs`` group.

    A channel-layer failure is logged, never raised: progress events are a convenience,
    the database row is the record.
    """
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "job_progress", "data": job_payload(job)}
    try:
        async_to_sync(layer.group_send)(JOBS_GROUP, {"type": "broadcast", "message": message})
    except Exception as exc:  # noqa: BLE001 - see docstring
        logger.warning("batch: progress event for %s not sent: %s", job.id, exc)


def _new_job_id(job_name: str, now: dt.datetime) -> str:
    return f"job_{now.astimezone(dt.UTC):%Y%m%d_%H%M%S}_{job_name}_{secrets.token_hex(2)}"


# --------------------------------------------------------------------------- create, dispatch


def job_create(
    *,
    job_name: str,
    portfolio: Any = None,
    source: str,
    engines: list[str] | None = None,
    requested_by: Any = None,
    metadata: dict[str, Any] | None = None,
) -> BatchJob:
    """A pending job. ``engines`` defaults to the registry's list for ``job_name``.

    The id is ``job_YYYYMMDD_HHMMSS_<name>_<4 hex>`` (UTC); the random suffix keeps two
    jobs of one second apart, and a clash (1 in 65,536) is retried with a new suffix.
    """
    if not registry.is_job_name(job_name):
        raise ValidationFailed({"job_name": [f"Unknown job; use one of {registry.job_names()}."]})
    if source not in JobSource.values:
        raise ValidationFailed({"source": [f"Use one of {JobSource.values}."]})
    meta = {
        "source": source,
        "calculation_engines": list(engines if engines is not None else registry.ENGINES[job_name]),
        "retry_count": 0,
        "celery_task_id": None,
        **(metadata or {}),
    }
    now = timezone.now()
    for attempt in range(5):
        try:
            with transaction.atomic():
                return BatchJob.objects.create(
                    id=_new_job_id(job_name, now),
                    job_name=job_name,
                    portfolio=portfolio,
                    requested_by=requested_by,
                    metadata=meta,
                    created_at=now,
                )
        except IntegrityError:
            if attempt == 4:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def job_dispatch(job: BatchJob) -> str:
    """Queue ``run_batch_job`` for ``job`` once the current transaction commits (at once in
    autocommit) and return the Celery task id.

    The task id is chosen here and stored before queueing, so a cancel can revoke a job that
    no worker has picked up yet. In the embedded default (eager Celery) the job runs inline.
    A broker that refuses the message fails the job with the reason rather than the request.
    """
    from batch.tasks import run_batch_job  # tasks import this module

    task_id = str(uuid.uuid4())
    job.metadata = {**job.metadata, "celery_task_id": task_id}
    BatchJob.objects.filter(pk=job.pk, status=JobStatus.PENDING).update(metadata=job.metadata)

    def send() -> None:
        try:
            run_batch_job.apply_async(args=[job.pk], task_id=task_id)
        except Exception as exc:  # a broker outage must not become a 500
            logger.exception("batch: could not queue %s", job.pk)
            _finish(job.pk, JobStatus.FAILED, error=f"could not queue the job: {error_text(exc)}")

    transaction.on_commit(send)
    return task_id


# --------------------------------------------------------------------------- the context


class JobContext:
    """What a step sees of its job: which portfolios, progress, cancellation, warnings.

    * ``progress(processed, successful, failed, message=None, *, total=None)`` sets the
      current step's counts (absolute, not increments) and persists them;
    * ``items(iterable, *, total=None)`` yields each item after a cancellation check and
      counts it when the loop body finishes: successful, unless ``item_failed(reason)``
      was called for it;
    * ``check_cancelled()`` raises :class:`JobCancelled` once a cancel was requested;
    * ``warn(message)`` adds to ``metadata["warnings"]``.

    The job row holds the sum over the steps of a chain: ``begin_step``/``end_step`` (used
    by ``full_portfolio_calculation``) fold each finished step's counts into it. Progress
    is written at most every :data:`PROGRESS_INTERVAL` seconds while items stream, and
    always when a step ends; each write also pushes a ``job_progress`` WebSocket event.
    """

    def __init__(
        self,
        job: BatchJob,
        *,
        on_progress: Callable[[JobContext], None] | None = None,
    ) -> None:
        self.job_id: str = job.pk
        self.job_name: str = job.job_name
        self.portfolio_ids: list[uuid.UUID] | None = (
            [job.portfolio_id] if job.portfolio_id is not None else None
        )
        self.metadata: dict[str, Any] = dict(job.metadata or {})
        self.processed = self.successful = self.failed = 0
        self.total: int | None = None
        self.message: str | None = None
        self.step_name: str | None = None
        self._base = [0, 0, 0, 0]  # processed, successful, failed, total of finished steps
        self._current_failed: str | None = None
        self._last_write = 0.0
        self._on_progress = on_progress

    # -- counts

    @property
    def job_counts(self) -> dict[str, int | None]:
        """The job row's counts: finished steps plus the current one."""
        p, s, f, t = self._base
        current_total = self.total if self.total is not None else self.processed
        known = t + current_total
        return {
            "processed_items": p + self.processed,
            "successful_items": s + self.successful,
            "failed_items": f + self.failed,
            "total_items": known if known or self.total is not None else None,
        }

    def progress(
        self,
        processed: int,
        successful: int,
        failed: int,
        message: str | None = None,
        *,
        total: int | None = None,
    ) -> None:
        self.processed, self.successful, self.failed = int(processed), int(successful), int(failed)
        if total is not None:
            self.total = int(total)
        if message is not None:
            self.message = message
        self._save(force=True)

    def items(self, iterable: Iterable[T], *, total: int | None = None) -> Iterator[T]:
        if total is None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        if total is not None:  # a step may loop more than once: totals add up
            self.total = (self.total or 0) + total
        self._save(force=True)
        for item in iterable:
            self.check_cancelled()
            self._current_failed = None
            yield item
            self.processed += 1
            if self._current_failed is None:
                self.successful += 1
            else:
                self.failed += 1
                errors = self.metadata.setdefault("item_errors", [])
                if len(errors) < MAX_ITEM_ERRORS:
                    errors.append(f"{self.step_name or self.job_name}: {self._current_failed}")
            self._save(force=False)
        self._save(force=True)

    def item_failed(self, reason: str) -> None:
        """Count the item being processed by ``items`` as failed (the job goes on)."""
        self._current_failed = str(reason)[:500] or "failed"

    def warn(self, message: str) -> None:
        warnings = self.metadata.setdefault("warnings", [])
        if message not in warnings:
            warnings.append(message)

    def check_cancelled(self) -> None:
        row = BatchJob.objects.filter(pk=self.job_id).values_list("cancel_requested_at", "status")
        found = row.first()
        if found is None or found[0] is not None or found[1] == JobStatus.CANCELLED:
            raise JobCancelled(self.job_id)

    # -- chains

    def begin_step(self, name: str) -> None:
        self.step_name = name
        self.processed = self.successful = self.failed = 0
        self.total = None
        self.message = None

    def end_step(self) -> None:
        current_total = self.total if self.total is not None else self.processed
        self._base = [
            self._base[0] + self.processed,
            self._base[1] + self.successful,
            self._base[2] + self.failed,
            self._base[3] + current_total,
        ]
        self.processed = self.successful = self.failed = 0
        self.total = None
        self.step_name = None
        self._save(force=True)

    def set_metadata(self, key: str, value: Any) -> None:
        """Record ``value`` under ``metadata[key]`` and persist it now."""
        self.metadata[key] = _jsonable(value)
        self._save(force=True)

    # -- persistence

    def _save(self, *, force: bool) -> None:
        if self._on_progress is not None:
            self._on_progress(self)
        now = time.monotonic()
        if not force and now - self._last_write < PROGRESS_INTERVAL:
            return
        self._last_write = now
        metadata = dict(self.metadata)
        if self.message is not None:
            metadata["message"] = self.message
        if self.step_name is not None:
            metadata["current_step"] = self.step_name
        else:
            metadata.pop("current_step", None)
        BatchJob.objects.filter(pk=self.job_id).update(
            **self.job_counts, metadata=_jsonable(metadata)
        )
        job = BatchJob.objects.filter(pk=self.job_id).first()
        if job is not None:
            push_job_event(job)


# --------------------------------------------------------------------------- run

#: Jobs after which the data-quality score is measured and kept in ``metadata.quality_score``
#: (the history behind ``quality_trends`` of ``GET /admin/batch/data-quality``).
QUALITY_SCORED_JOBS = (
    "data_quality_assessment",
    "data_quality_refresh",
    "full_portfolio_calculation",
)


def _record_quality_score(ctx: JobContext) -> None:
    from batch import quality

    try:
        ctx.metadata["quality_score"] = quality.overall_score(portfolio_ids=ctx.portfolio_ids)
    except Exception as exc:  # noqa: BLE001 - a score is a by-product, not the job
        logger.warning("batch: quality score after %s not measured: %s", ctx.job_id, exc)


def _claim(job_id: str, task_id: str | None) -> BatchJob | None:
    """Pending → running, atomically; or the same Celery task redelivered (acks_late after
    a worker died) taking its running job back. None when someone else has it."""
    now = timezone.now()
    claimed = BatchJob.objects.filter(pk=job_id, status=JobStatus.PENDING).update(
        status=JobStatus.RUNNING, started_at=now, completed_at=None, duration_seconds=None
    )
    if not claimed and task_id is not None:
        claimed = BatchJob.objects.filter(
            pk=job_id, status=JobStatus.RUNNING, metadata__celery_task_id=task_id
        ).update(started_at=now)
    return BatchJob.objects.filter(pk=job_id).first() if claimed else None


def _finish(
    job_id: str,
    status: str,
    *,
    error: str | None = None,
    ctx: JobContext | None = None,
    result: Any = None,
) -> BatchJob | None:
    job = BatchJob.objects.filter(pk=job_id).first()
    if job is None:
        return None
    if job.status == JobStatus.CANCELLED:
        status = JobStatus.CANCELLED  # a forced cancel stands, even if the step then finished
    now = timezone.now()
    fields: dict[str, Any] = {"status": status, "completed_at": now, "error_message": error}
    fields["duration_seconds"] = (
        round((now - job.started_at).total_seconds(), 3) if job.started_at else None
    )
    metadata = dict(ctx.metadata if ctx is not None else job.metadata)
    metadata.pop("current_step", None)
    if ctx is not None:
        fields.update(ctx.job_counts)
        if ctx.message is not None:
            metadata["message"] = ctx.message
    if result is not None:
        metadata["result"] = result
    fields["metadata"] = _jsonable(metadata)
    BatchJob.objects.filter(pk=job_id).update(**fields)
    job.refresh_from_db()
    push_job_event(job)
    return job


def job_run(
    job_id: str,
    step: registry.Step | None = None,
    *,
    task_id: str | None = None,
    retryable: tuple[type[Exception], ...] = (),
    on_progress: Callable[[JobContext], None] | None = None,
) -> BatchJob:
    """Run job ``job_id`` here and now, and return its final row.

    ``step`` defaults to the registry's step for the job's name. A job that is not pending
    (already finished, cancelled, or running elsewhere) is returned untouched. An exception
    of a ``retryable`` type puts the job back to pending with ``metadata.retry_count`` and
    ``last_error`` updated and is re-raised, for the Celery task to retry; any other error
    fails the job with its message.
    """
    job = _claim(job_id, task_id)
    if job is None:
        existing = BatchJob.objects.filter(pk=job_id).first()
        if existing is None:
            raise JobNotFound()
        logger.info("batch: %s is %s; not running it", job_id, existing.status)
        return existing
    if task_id is not None and job.metadata.get("celery_task_id") != task_id:
        job.metadata = {**job.metadata, "celery_task_id": task_id}
        BatchJob.objects.filter(pk=job_id).update(metadata=job.metadata)
    push_job_event(job)
    ctx = JobContext(job, on_progress=on_progress)
    try:
        if step is None:
            step = registry.resolve(job.job_name)
        result = step(ctx, portfolio_ids=ctx.portfolio_ids)
    except JobCancelled:
        ctx.message = "cancelled at a checkpoint"
        finished = _finish(job_id, JobStatus.CANCELLED, ctx=ctx)
    except registry.StepNotAvailable as exc:
        finished = _finish(job_id, JobStatus.FAILED, error=error_text(exc), ctx=ctx)
    except retryable as exc:
        logger.warning("batch: %s will be retried: %s", job_id, exc)
        ctx.metadata["retry_count"] = int(ctx.metadata.get("retry_count") or 0) + 1
        ctx.metadata["last_error"] = error_text(exc)
        BatchJob.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(
            status=JobStatus.PENDING, metadata=_jsonable(ctx.metadata), **ctx.job_counts
        )
        raise
    except KeyboardInterrupt:
        _finish(job_id, JobStatus.CANCELLED, error="interrupted", ctx=ctx)
        raise
    except Exception as exc:  # every failure is recorded on the job
        logger.exception("batch: %s failed", job_id)
        finished = _finish(job_id, JobStatus.FAILED, error=error_text(exc), ctx=ctx)
    else:
        if job.job_name in QUALITY_SCORED_JOBS:
            _record_quality_score(ctx)
        finished = _finish(job_id, JobStatus.COMPLETED, ctx=ctx, result=_jsonable(result))
    if finished is None:
        raise JobNotFound()
    return finished


# --------------------------------------------------------------------------- cancel


@dataclass(frozen=True)
class CancelOutcome:
    job: BatchJob
    previous_status: str
    cancelled_at: dt.datetime
    revoked_task_id: str | None


def _revoke(task_id: str) -> bool:
    """Revoke a queued or retrying Celery task (no ``terminate``). Eager mode has none."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return False
    from sigmasight.celery import app

    try:
        app.control.revoke(task_id)
    except Exception as exc:  # noqa: BLE001 - the cooperative check stops the job anyway
        logger.warning("batch: could not revoke task %s: %s", task_id, exc)
        return False
    return True


def job_cancel(*, job_id: str) -> CancelOutcome:
    """Ask a job to stop: a pending job is cancelled at once; a running one when its step
    reaches the next checkpoint (or at once, when a cancel requested more than
    :data:`FORCE_CANCEL_AFTER` ago has not stopped it). A finished job answers 409."""
    check_job_id(job_id)
    with transaction.atomic():
        job = BatchJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None:
            raise JobNotFound()
        if job.is_finished:
            raise Conflict(
                f"Batch job {job_id} is already {job.status}",
                details={"job_id": job_id, "status": job.status},
            )
        previous = job.status
        now = timezone.now()
        fields = ["cancel_requested_at"]
        stuck = (
            job.cancel_requested_at is not None
            and now - job.cancel_requested_at > FORCE_CANCEL_AFTER
        )
        job.cancel_requested_at = job.cancel_requested_at or now
        if previous == JobStatus.PENDING or stuck:
            job.status = JobStatus.CANCELLED
            job.completed_at = now
            fields += ["status", "completed_at"]
        job.save(update_fields=fields)
    task_id = (job.metadata or {}).get("celery_task_id")
    revoked = task_id if task_id and _revoke(task_id) else None
    push_job_event(job)
    return CancelOutcome(
        job=job,
        previous_status=previous,
        cancelled_at=job.cancel_requested_at,
        revoked_task_id=revoked,
    )


# --------------------------------------------------------------------------- schedule


def _claim_period(
    schedule: str, period: dt.date, create: Callable[[], BatchJob]
) -> BatchJob | None:
    """Create the period's job unless the period was claimed before (one row per schedule and
    period, enforced by a unique constraint, so concurrent calls cannot both win)."""
    with transaction.atomic():
        run, created = ScheduledRun.objects.get_or_create(schedule=schedule, period=period)
        if not created:
            return None
        job = create()
        run.job = job
        run.save(update_fields=["job"])
        job_dispatch(job)
    return job


def scheduled_daily_start(*, now: dt.datetime | None = None) -> BatchJob | None:
    """The daily sequence: if an NYSE session closed at least 30 minutes ago and has not been
    processed, start one ``full_portfolio_calculation`` for every live portfolio (one job, so
    market data is fetched once) and return it; else None.

    Only the latest such session is run; the market-data step fills any earlier gap, since
    it brings every symbol up to the last completed session. The session counts as
    processed once claimed, whatever the job's outcome: a failed run is rerun by hand
    (``manage.py run_batch``), not by the next beat firing.
    """
    from marketdata import calendar

    now = now or timezone.now()
    session = calendar.last_completed_session(now - CLOSE_DELAY)
    return _claim_period(
        DAILY_SCHEDULE,
        session,
        lambda: job_create(
            job_name="full_portfolio_calculation",
            source=JobSource.SCHEDULED_JOB,
            metadata={"session": session.isoformat()},
        ),
    )


def scheduled_weekly_start(*, now: dt.datetime | None = None) -> BatchJob | None:
    """The weekly correlation run, once per New York calendar week (Monday-dated)."""
    from marketdata import calendar

    now = now or timezone.now()
    local = now.astimezone(calendar.EASTERN).date()
    monday = local - dt.timedelta(days=local.weekday())
    return _claim_period(
        WEEKLY_CORRELATIONS_SCHEDULE,
        monday,
        lambda: job_create(
            job_name="correlations",
            source=JobSource.SCHEDULED_JOB,
            metadata={"week_of": monday.isoformat()},
        ),
    )


# --------------------------------------------------------------------------- data-quality refresh


def data_quality_refresh_start(
    *, portfolio: Any = None, requested_by: Any = None
) -> dict[str, Any]:
    """Start a ``data_quality_refresh`` job for ``portfolio`` (None: all) and describe it
    (spec 3.5). The quality before the refresh is measured first, so that in eager mode
    (the job runs inline) it is still the "before"."""
    from batch import quality

    before = quality.refresh_preview(portfolio=portfolio)
    job = job_create(
        job_name="data_quality_refresh",
        portfolio=portfolio,
        source=JobSource.API_TRIGGER,
        requested_by=requested_by,
        metadata={"quality_score_before": before["overall_score"]},
    )
    job_dispatch(job)
    job.refresh_from_db()
    return quality.refresh_report(job=job, preview=before)
