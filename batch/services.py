"""The job runner every batch job uses: create, run, report progress, cancel, schedule.

How a job runs
--------------
:func:`job_create` writes a pending :class:`~batch.models.BatchJob`; :func:`job_dispatch`
queues ``batch.tasks.run_batch_job`` for it (after the surrounding transaction commits);
the task calls :func:`job_run`, which claims the job (pending → running, atomically),
resolves its step from ``batch.registry`` (a chain runs its members' steps in order,
:func:`run_chain`) and calls ``step(ctx, portfolio_ids=...)``. The outcome is recorded
as completed, failed or cancelled, with the duration. A failure's ``error_message`` is
safe to show (:func:`failure_message`): never a stack trace or database text; the full
error goes to the log under the job id and an error id kept in ``metadata.error_id``.

In the embedded default (``BATCH_RUN_IN_THREAD``: one server process, no worker) a
dispatched job runs in a background thread of that process, so the request that started
it answers at once with the job id.

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
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from asgiref.sync import async_to_sync
from celery import current_app
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import DatabaseError, IntegrityError, close_old_connections, connections, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from batch import registry, scope
from batch.consumers import JOBS_GROUP
from batch.models import BatchJob, JobSource, JobStatus, ScheduledRun
from batch.selectors import check_job_id, job_payload
from sigmasight.errors import Conflict, DomainError, JobNotFound, TransientFailure, ValidationFailed
from sigmasight.timefmt import utc_stamp

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Seconds between progress writes (DB row + WebSocket event) while items stream by;
#: the final counts are always written.
PROGRESS_INTERVAL = 0.25
#: How many failed items' reasons are kept in ``metadata["item_errors"]``.
MAX_ITEM_ERRORS = 20
#: A second cancel of a job still running this long after the first is applied at once:
#: its worker is presumed dead (were it alive, its next checkpoint stops it anyway).
FORCE_CANCEL_AFTER = dt.timedelta(minutes=5)


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
        return utc_stamp(value)
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


class StepFailed(Exception):
    """A member of a chain failed; the message (already safe to show) names the member."""


def error_text(exc: BaseException) -> str:
    """The first line of ``exc``'s message (or its type), at most 500 characters."""
    lines = str(exc).strip().splitlines()
    return (lines[0].strip() if lines else "")[:500] or type(exc).__name__


def failure_message(exc: BaseException, *, job_id: str, where: str = "") -> tuple[str, str]:
    """A failure as ops may see it in the job list, and the error id that finds it in the log.

    Domain errors, transient failures and chain failures carry messages this code wrote:
    their first line is shown. A database error's text quotes SQL and values, so it is
    replaced by a generic sentence; any other error shows its type and first line. The
    full error, traceback included, is logged with the job id and the error id.
    """
    error_id = f"err_{secrets.token_hex(4)}"
    logger.error(
        "batch: %s failed%s (error id %s)",
        job_id,
        f" in {where}" if where else "",
        error_id,
        exc_info=(type(exc), exc, exc.__traceback__),
    )
    if isinstance(exc, (DomainError, TransientFailure, StepFailed)):
        message = error_text(exc)
    elif isinstance(exc, DatabaseError):
        message = f"database error ({type(exc).__name__}); see the server log"
    else:
        message = error_text(exc)
    return message, error_id


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
    portfolio_ids: Sequence[uuid.UUID] | None = None,
    source: str,
    engines: list[str] | None = None,
    requested_by: Any = None,
    metadata: dict[str, Any] | None = None,
) -> BatchJob:
    """A pending job. ``engines`` defaults to the registry's list for ``job_name``.

    Its scope is every live portfolio, or ``portfolio`` (a row) or ``portfolio_ids``
    (live portfolio ids, checked through ``batch.scope``: an unknown or deleted one is a
    422 and creates nothing). A one-portfolio job also sets ``BatchJob.portfolio``.

    The id is ``job_YYYYMMDD_HHMMSS_<name>_<4 hex>`` (UTC); the random suffix keeps two
    jobs of one second apart, and a clash (1 in 65,536) is retried with a new suffix.
    """
    registry.require(job_name)
    if source not in JobSource.values:
        raise ValidationFailed({"source": [f"Use one of {JobSource.values}."]})
    if portfolio is not None:
        portfolio_ids = [portfolio.pk]
    if portfolio_ids is not None:
        portfolio_ids = list(dict.fromkeys(portfolio_ids))
        unknown = set(portfolio_ids) - set(scope.live_portfolio_ids(portfolio_ids))
        if unknown or not portfolio_ids:
            raise ValidationFailed(
                {"portfolio_ids": [f"Not a live portfolio: {', '.join(map(str, unknown))}"]}
                if unknown
                else {"portfolio_ids": ["Give at least one portfolio id, or none for all."]}
            )
    meta = {
        "source": source,
        "calculation_engines": list(engines if engines is not None else registry.ENGINES[job_name]),
        "retry_count": 0,
        "celery_task_id": None,
        **({"portfolio_ids": [str(p) for p in portfolio_ids]} if portfolio_ids else {}),
        **(metadata or {}),
    }
    now = timezone.now()
    for attempt in range(5):
        try:
            with transaction.atomic():
                return BatchJob.objects.create(
                    id=_new_job_id(job_name, now),
                    job_name=job_name,
                    portfolio_id=portfolio_ids[0]
                    if portfolio_ids and len(portfolio_ids) == 1
                    else None,
                    requested_by=requested_by,
                    metadata=meta,
                    created_at=now,
                )
        except IntegrityError:
            if attempt == 4:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def job_dispatch(job: BatchJob) -> str:
    """Queue the job once the current transaction commits (at once in autocommit) and
    return its task id.

    With a broker, ``batch.tasks.run_batch_job`` is looked up by name in the Celery app
    (the task calls this module, so this module does not import it). The task id is chosen here and stored before
    queueing, so a cancel can revoke a job that no worker has picked up yet. In the
    embedded default (``BATCH_RUN_IN_THREAD``) the job runs in a background thread of
    this process; with eager Celery (tests) it runs inline. A broker that refuses the
    message fails the job with the reason rather than the request.
    """
    task_id = str(uuid.uuid4())
    job.metadata = {**job.metadata, "celery_task_id": task_id}
    BatchJob.objects.filter(pk=job.pk, status=JobStatus.PENDING).update(metadata=job.metadata)

    def send() -> None:
        if settings.BATCH_RUN_IN_THREAD:
            run_in_background(job.pk, task_id=task_id)
            return
        try:
            current_app.tasks[RUN_TASK].apply_async(args=[job.pk], task_id=task_id)
        except Exception as exc:  # a broker outage must not become a 500
            logger.exception("batch: could not queue %s", job.pk)
            _finish(job.pk, JobStatus.FAILED, error=f"could not queue the job: {error_text(exc)}")

    transaction.on_commit(send)
    return task_id


def job_start(
    *,
    job_name: str,
    portfolio_ids: Sequence[uuid.UUID] | None = None,
    source: str = JobSource.API_TRIGGER,
    requested_by: Any = None,
) -> BatchJob:
    """Create and dispatch a job (``POST /system/jobs``, the admin's "Start a job"): it runs
    on a worker, or in a background thread of the embedded default; the caller gets it
    pending (or already running) at once. Bad input (an unknown job or portfolio) is a
    422 and creates nothing."""
    with transaction.atomic():
        job = job_create(
            job_name=job_name,
            portfolio_ids=portfolio_ids,
            source=source,
            requested_by=requested_by,
        )
        job_dispatch(job)
    job.refresh_from_db()
    return job


#: The Celery task that runs a job (``batch.tasks.run_batch_job``).
RUN_TASK = "batch.tasks.run_batch_job"


def run_in_background(job_id: str, *, task_id: str | None = None) -> threading.Thread:
    """Run the job in a daemon thread of this process (the embedded default's worker).

    The thread has its own database connection, closed when the job ends. A process that
    stops mid-job leaves it running; a second cancel five minutes later closes it
    (:data:`FORCE_CANCEL_AFTER`), as for a dead Celery worker.
    """

    def target() -> None:
        close_old_connections()
        try:
            job_run(job_id, task_id=task_id)
        except Exception:  # the job row records it; a thread has nobody to raise to
            logger.exception("batch: background run of %s ended with an error", job_id)
        finally:
            connections.close_all()

    thread = threading.Thread(target=target, name=f"batch-{job_id}", daemon=True)
    thread.start()
    return thread


# --------------------------------------------------------------------------- the context


def _scope_of(job: BatchJob) -> list[uuid.UUID] | None:
    """The portfolios a job covers: ``metadata.portfolio_ids``, else its one portfolio,
    else None (every live portfolio)."""
    listed = (job.metadata or {}).get("portfolio_ids")
    if listed:
        return [uuid.UUID(str(p)) for p in listed]
    return [job.portfolio_id] if job.portfolio_id is not None else None


class JobContext:
    """What a step sees of its job: which portfolios, progress, cancellation, warnings.

    * ``progress(processed, successful, failed, message=None, *, total=None)`` sets the
      current step's counts (absolute, not increments) and persists them;
    * ``items(iterable, *, total=None)`` yields each item after a cancellation check and
      counts it when the loop body finishes: successful, unless ``item_failed(reason)``
      was called for it;
    * ``check_cancelled()`` raises :class:`JobCancelled` once a cancel was requested;
    * ``warn(message)`` adds to ``metadata["warnings"]``;
    * ``shared`` is a scratch dict that lives for the run: the steps of one chain may keep
      what they read there for the later steps (the apps choose keys and bounds).

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
        self.portfolio_ids: list[uuid.UUID] | None = _scope_of(job)
        self.metadata: dict[str, Any] = dict(job.metadata or {})
        self.processed = self.successful = self.failed = 0
        self.total: int | None = None
        self.message: str | None = None
        self.step_name: str | None = None
        self._base = [0, 0, 0, 0]  # processed, successful, failed, total of finished steps
        self._current_failed: str | None = None
        self._last_write = 0.0
        self._on_progress = on_progress
        self.shared: dict[str, Any] = {}

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


def _claim(job_id: str, task_id: str | None) -> BatchJob | None:
    """Pending → running, atomically; or the same Celery task redelivered (acks_late after
    a pool child died) taking its running job back, the lost attempt recorded. None when
    someone else has it.

    ``started_at`` is the first attempt's start, kept across retries and lost workers, so
    that ``duration_seconds`` is the honest wall-clock time the job took.
    """
    now = timezone.now()
    claimed = BatchJob.objects.filter(pk=job_id, status=JobStatus.PENDING).update(
        status=JobStatus.RUNNING,
        started_at=Coalesce(F("started_at"), Value(now)),
        heartbeat_at=now,
        completed_at=None,
        duration_seconds=None,
    )
    if not claimed and task_id is not None:
        with transaction.atomic():
            job = (
                BatchJob.objects.select_for_update()
                .filter(pk=job_id, status=JobStatus.RUNNING, metadata__celery_task_id=task_id)
                .first()
            )
            if job is not None:
                job.metadata = _with_lost_attempt(job, now=now, how="redelivered")
                job.heartbeat_at = now
                job.save(update_fields=["metadata", "heartbeat_at"])
                claimed = 1
    return BatchJob.objects.filter(pk=job_id).first() if claimed else None


def _with_lost_attempt(job: BatchJob, *, now: dt.datetime, how: str) -> dict[str, Any]:
    """The job's metadata with one more entry in ``attempts``: an attempt whose worker
    stopped answering (its last heartbeat), found by ``how`` (``redelivered`` by the
    broker, or ``stale_heartbeat`` by the watchdog)."""
    metadata = dict(job.metadata or {})
    attempts = list(metadata.get("attempts") or [])
    attempts.append(
        {
            "outcome": "worker_lost",
            "found_by": how,
            "last_heartbeat": _jsonable(job.heartbeat_at),
            "found_at": _jsonable(now),
            "celery_task_id": metadata.get("celery_task_id"),
        }
    )
    metadata["attempts"] = attempts
    return metadata


class _Heartbeat:
    """While a step runs, write ``heartbeat_at`` every ``interval`` seconds from a thread
    of this process, so that a job whose process died (the beats stop) can be told from
    a job busy in a long computation (the beats go on). The thread has its own database
    connection."""

    def __init__(self, job_id: str, interval: float) -> None:
        self.job_id = job_id
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{job_id}", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 5)

    def _beat(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    BatchJob.objects.filter(pk=self.job_id, status=JobStatus.RUNNING).update(
                        heartbeat_at=timezone.now()
                    )
                except DatabaseError as exc:  # the next beat tries again
                    logger.warning("batch: heartbeat of %s not written: %s", self.job_id, exc)
        finally:
            connections.close_all()


def _finish(
    job_id: str,
    status: str,
    *,
    error: str | None = None,
    ctx: JobContext | None = None,
    result: Any = None,
    error_id: str | None = None,
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
    if error_id is not None:
        metadata["error_id"] = error_id
    if status == JobStatus.CANCELLED:
        metadata["steps"] = _steps_stopped(metadata.get("steps"))
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


def _steps_stopped(steps: Any) -> Any:
    """A cancelled chain's steps: the one that was running (or never reported back, its
    worker dead) is marked cancelled, so no step shows as running on a finished job."""
    if not isinstance(steps, list):
        return steps
    return [
        {**s, "status": "cancelled"} if isinstance(s, dict) and s.get("status") == "running" else s
        for s in steps
    ]


def job_run(
    job_id: str,
    step: registry.Step | None = None,
    *,
    task_id: str | None = None,
    retryable: tuple[type[Exception], ...] = (),
    on_progress: Callable[[JobContext], None] | None = None,
) -> BatchJob:
    """Run job ``job_id`` here and now, and return its final row.

    ``step`` defaults to the registry's step for the job's name (a chain's is
    :func:`run_chain` over its members). A job that is not pending
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
            step = _step_of(job.job_name)
        with _Heartbeat(job_id, settings.BATCH_HEARTBEAT_SECONDS):
            result = step(ctx, portfolio_ids=ctx.portfolio_ids)
    except JobCancelled:
        ctx.message = "cancelled at a checkpoint"
        finished = _finish(job_id, JobStatus.CANCELLED, ctx=ctx)
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
    except Exception as exc:  # noqa: BLE001 - every failure is recorded (and logged) on the job
        message, error_id = failure_message(exc, job_id=job_id)
        finished = _finish(job_id, JobStatus.FAILED, error=message, ctx=ctx, error_id=error_id)
    else:
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
    if settings.CELERY_TASK_ALWAYS_EAGER or settings.BATCH_RUN_IN_THREAD:
        return False
    try:
        current_app.control.revoke(task_id)
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
            job.metadata = {
                **(job.metadata or {}),
                "steps": _steps_stopped((job.metadata or {}).get("steps")),
            }
            job.metadata.pop("current_step", None)
            fields += ["status", "completed_at", "metadata"]
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


# --------------------------------------------------------------------------- chains


def _step_of(job_name: str) -> registry.Step:
    members = registry.chain_members(job_name)
    if members:
        return lambda ctx, *, portfolio_ids: run_chain(ctx, members, portfolio_ids=portfolio_ids)
    return registry.step_for(job_name)


def _outcome(
    ctx: JobContext, name: str, started: float, status: str, **extra: Any
) -> dict[str, Any]:
    """One member's entry in ``metadata.steps``: status, seconds and its own counts."""
    return {
        "name": name,
        "status": status,
        "seconds": round(time.perf_counter() - started, 3),
        "processed": ctx.processed,
        "successful": ctx.successful,
        "failed": ctx.failed,
        **extra,
    }


def run_chain(
    ctx: JobContext, members: Sequence[str], *, portfolio_ids: list[uuid.UUID] | None
) -> dict[str, Any]:
    """Run the steps of ``members`` in order inside one job (a registered chain).

    Each member's outcome goes to ``metadata.steps`` (a list, in order: ``{name, status,
    seconds, processed, successful, failed, result | error}``) as it finishes;
    cancellation is checked between members (and between items inside them). A failing
    member fails the chain with its (safe) message; a transient failure keeps its type,
    so that the Celery task retries the chain with backoff.
    """
    steps: list[dict[str, Any]] = []
    for name in members:
        ctx.check_cancelled()
        step = registry.step_for(name)
        ctx.begin_step(name)
        steps.append({"name": name, "status": "running"})
        ctx.set_metadata("steps", steps)
        started = time.perf_counter()
        try:
            result = step(ctx, portfolio_ids=portfolio_ids)
        except JobCancelled:
            steps[-1] = _outcome(ctx, name, started, "cancelled")
            ctx.metadata["steps"] = steps  # the runner writes it with the final status
            raise
        except TransientFailure as exc:
            steps[-1] = _outcome(ctx, name, started, "failed", error=error_text(exc))
            ctx.set_metadata("steps", steps)
            raise TransientFailure(f"{name}: {error_text(exc)}") from exc
        except Exception as exc:
            message, error_id = failure_message(exc, job_id=ctx.job_id, where=name)
            steps[-1] = _outcome(ctx, name, started, "failed", error=message, error_id=error_id)
            ctx.metadata["error_id"] = error_id
            ctx.set_metadata("steps", steps)
            raise StepFailed(f"{name}: {message}") from exc
        steps[-1] = _outcome(ctx, name, started, "completed", result=result)
        ctx.end_step()
        ctx.set_metadata("steps", steps)
    return {"completed": [s["name"] for s in steps if s["status"] == "completed"]}


# --------------------------------------------------------------------------- lost workers


@dataclass(frozen=True)
class RecoveryOutcome:
    requeued: list[str]
    failed: list[str]
    cancelled: list[str]


def jobs_recover_stale(
    *, now: dt.datetime | None = None, stale_after: dt.timedelta | None = None
) -> RecoveryOutcome:
    """Find running jobs whose worker died (no heartbeat for ``stale_after``, default
    ``BATCH_STALE_AFTER_SECONDS``) and settle each one clearly, never leaving it running:

    * a cancel was asked: cancelled;
    * fewer than ``BATCH_MAX_LOST_ATTEMPTS`` lost attempts: the attempt is recorded in
      ``metadata.attempts``, the job goes back to pending and is dispatched again under a
      new task id (the old message, should the broker redeliver it later, finds the id
      changed and is discarded); items already written stay written (they are atomic and
      idempotent per item);
    * otherwise: failed, saying the worker was lost that many times.

    Run every minute by beat (``batch.tasks.recover_stale_jobs``). In the embedded
    default the job threads die with the server, so a restart fails what they left.
    """
    now = now or timezone.now()
    stale_after = stale_after or dt.timedelta(seconds=settings.BATCH_STALE_AFTER_SECONDS)
    cutoff = now - stale_after
    requeued: list[str] = []
    failed: list[str] = []
    cancelled: list[str] = []
    candidates = list(
        BatchJob.objects.filter(status=JobStatus.RUNNING)
        .filter(_stale(cutoff))
        .values_list("pk", flat=True)
    )
    for job_id in candidates:
        with transaction.atomic():
            job = (
                BatchJob.objects.select_for_update()
                .filter(pk=job_id, status=JobStatus.RUNNING)
                .filter(_stale(cutoff))
                .first()
            )
            if job is None:  # it beat or finished meanwhile
                continue
            job.metadata = _with_lost_attempt(job, now=now, how="stale_heartbeat")
            job.metadata["steps"] = _steps_stopped(job.metadata.get("steps"))
            job.metadata.pop("current_step", None)
            lost = len(job.metadata["attempts"])
            fields = ["metadata", "status"]
            if job.cancel_requested_at is not None:
                job.status = JobStatus.CANCELLED
                cancelled.append(job.pk)
            elif lost >= settings.BATCH_MAX_LOST_ATTEMPTS or settings.BATCH_RUN_IN_THREAD:
                job.status = JobStatus.FAILED
                job.error_message = (
                    f"the worker running the job stopped ({lost} time(s)); "
                    "its finished items are kept: start the job again"
                )
                fields.append("error_message")
                failed.append(job.pk)
            else:
                job.status = JobStatus.PENDING
                requeued.append(job.pk)
            if job.status != JobStatus.PENDING:
                job.completed_at = now
                job.duration_seconds = (
                    round((now - job.started_at).total_seconds(), 3) if job.started_at else None
                )
                fields += ["completed_at", "duration_seconds"]
            job.save(update_fields=fields)
            if job.status == JobStatus.PENDING:
                old_task_id = job.metadata.get("celery_task_id")
                job_dispatch(job)
                if old_task_id:
                    transaction.on_commit(lambda task=old_task_id: _revoke(task))
        logger.warning("batch: %s lost its worker; now %s", job_id, job.status)
    return RecoveryOutcome(requeued=requeued, failed=failed, cancelled=cancelled)


def _stale(cutoff: dt.datetime) -> Q:
    """Running jobs whose last sign of life (heartbeat, else start) is before ``cutoff``."""
    return Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)


# --------------------------------------------------------------------------- schedule


def period_job_start(
    *, schedule: str, period: dt.date, job_name: str, metadata: dict[str, Any] | None = None
) -> BatchJob | None:
    """Start ``job_name`` (every live portfolio) for ``period`` of ``schedule`` (an NYSE
    session, a week) unless that period was claimed before; return it, or None.

    One row per schedule and period, enforced by a unique constraint, so concurrent beat
    firings, retries and workers cannot both win. The period counts as done once claimed,
    whatever the job's outcome: a failed run is rerun by hand (``manage.py run_batch``).
    """
    with transaction.atomic():
        run, created = ScheduledRun.objects.get_or_create(schedule=schedule, period=period)
        if not created:
            return None
        job = job_create(job_name=job_name, source=JobSource.SCHEDULED_JOB, metadata=metadata)
        run.job = job
        run.save(update_fields=["job"])
        job_dispatch(job)
    return job
