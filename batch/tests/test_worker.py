"""Batch jobs on a real Celery worker (in a thread) over the Redis broker.

These are the only tests that exercise what eager mode hides: the message going through
the broker, the worker's own database connection, a cancel arriving from another thread
while the job runs, and retries with backoff.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from celery.result import AsyncResult
from celery.signals import task_postrun
from django.db import connections

from batch import registry, services
from batch.models import BatchJob, JobSource
from batch.tests.conftest import fast_step
from marketdata.providers.base import ProviderError
from risk.jobs import FULL_CHAIN
from sigmasight.celery import app

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True),
]

SLOW_ITEMS = 300
SLOW_ITEM_SECONDS = 0.02


def _close_worker_connections(**kwargs: Any) -> None:
    """The worker thread's database connection is closed after each task, so that the test
    database can be flushed and dropped."""
    connections.close_all()


@pytest.fixture
def celery_worker(settings: Any) -> Iterator[Any]:
    if not settings.REDIS_URL:
        pytest.skip("needs a Redis broker (REDIS_URL)")
    saved = {
        key: app.conf[key]
        for key in (
            "task_always_eager",
            "broker_url",
            "result_backend",
            "worker_hijack_root_logger",
        )
    }
    app.conf.update(
        task_always_eager=False,
        broker_url=settings.REDIS_URL,
        result_backend=settings.REDIS_URL,
        worker_hijack_root_logger=False,
    )
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.control.purge()  # messages left by an interrupted earlier run
    task_postrun.connect(_close_worker_connections, weak=False)
    try:
        with start_worker(app, perform_ping_check=False, pool="solo", shutdown_timeout=60) as w:
            yield w
    finally:
        task_postrun.disconnect(_close_worker_connections)
        app.conf.update(saved)


def _wait_for(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_a_job_runs_end_to_end_on_a_real_worker(celery_worker: Any) -> None:
    """The real market-data step (simulated provider) through the broker and the worker."""
    from batch.tasks import run_batch_job

    job = services.job_create(job_name="market_data_update", source=JobSource.API_TRIGGER)
    started = time.perf_counter()
    result = run_batch_job.delay(job.pk)
    assert result.get(timeout=120) == {"job_id": job.pk, "status": "completed"}
    elapsed = time.perf_counter() - started
    job.refresh_from_db()
    assert job.status == "completed"
    assert job.processed_items > 0 and job.successful_items == job.processed_items
    assert job.metadata["celery_task_id"] == result.id
    assert job.metadata["result"]["bars"] > 0
    print(
        f"\nend-to-end market_data_update on a worker: {elapsed:.2f} s "
        f"({job.processed_items} symbols, job duration {job.duration_seconds:.2f} s)"
    )


def test_cancel_through_the_api_stops_a_running_chain(
    celery_worker: Any, monkeypatch: pytest.MonkeyPatch, admin_client: Any
) -> None:
    def slow_step(ctx: services.JobContext, *, portfolio_ids: Any) -> dict[str, Any]:
        for _ in ctx.items(range(SLOW_ITEMS)):
            time.sleep(SLOW_ITEM_SECONDS)
        return {"items": SLOW_ITEMS}

    for name in FULL_CHAIN:
        monkeypatch.setitem(registry.JOB_STEPS, name, fast_step)
    monkeypatch.setitem(registry.JOB_STEPS, "greeks_calculation", slow_step)

    job = services.job_create(job_name="full_portfolio_calculation", source=JobSource.API_TRIGGER)
    task_id = services.job_dispatch(job)
    started = time.perf_counter()
    _wait_for(
        lambda: BatchJob.objects.filter(
            pk=job.pk,
            status="running",
            metadata__current_step="greeks_calculation",
            processed_items__gte=10,
        ).exists(),
        30,
        "the slow step to be under way",
    )
    response = admin_client.delete(f"/api/v1/admin/batch/jobs/{job.pk}/cancel")
    cancel_sent = time.perf_counter()
    assert response.status_code == 200, response.content
    details = response.json()["job_details"]
    assert details["previous_status"] == "running" and details["new_status"] == "cancelling"
    assert any("Revoked Celery task" in a for a in response.json()["cleanup_actions"])

    outcome = AsyncResult(task_id, app=app).get(timeout=30)  # the worker task returned
    stopped = time.perf_counter()
    assert outcome == {"job_id": job.pk, "status": "cancelled"}
    job.refresh_from_db()
    assert job.status == "cancelled"
    total = 3 + SLOW_ITEMS  # the market-data fake's three items, then the slow step's
    assert job.total_items == total
    assert job.processed_items < total / 2, job.processed_items  # it stopped early
    steps = {s["name"]: s["status"] for s in job.metadata["steps"]}
    assert steps == {"market_data_update": "completed", "greeks_calculation": "cancelled"}
    assert job.completed_at is not None and job.duration_seconds is not None
    print(
        f"\ncancel: job running {cancel_sent - started:.2f} s before the cancel, stopped "
        f"{(stopped - cancel_sent) * 1000:.0f} ms after it; {job.processed_items}/{total} items"
    )


def test_provider_outage_is_retried_with_backoff_then_fails(
    celery_worker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[float] = []

    def outage(ctx: services.JobContext, *, portfolio_ids: Any) -> dict[str, Any]:
        attempts.append(time.perf_counter())
        raise ProviderError("failover: every provider failed for history")

    monkeypatch.setitem(registry.JOB_STEPS, "market_data_update", outage)
    job = services.job_create(job_name="market_data_update", source=JobSource.SCHEDULED_JOB)
    task_id = services.job_dispatch(job)
    outcome = AsyncResult(task_id, app=app).get(timeout=60)
    assert outcome == {"job_id": job.pk, "status": "failed"}
    job.refresh_from_db()
    assert len(attempts) == 4  # the first run and three retries
    assert job.metadata["retry_count"] == 3
    assert job.error_message == "failover: every provider failed for history"
    gaps = ", ".join(f"{b - a:.2f}" for a, b in itertools.pairwise(attempts))
    print(f"\nretries: backoff gaps {gaps} s")
