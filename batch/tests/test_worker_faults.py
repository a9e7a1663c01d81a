"""Jobs survive faults: a real prefork Celery worker, in its own process, is killed while a
job runs. The job must finish, or fail clearly, and never stay ``running``.

* kill -9 of the pool child: acks_late + reject_on_worker_lost hand the message back, a new
  child takes the job again (the lost attempt recorded);
* kill -9 of the whole worker: the heartbeat stops, the recovery service re-queues the job
  under a new task id, and a new worker finishes it.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from batch import services
from batch.models import BatchJob, JobSource
from batch.tests.worker_jobs import ITEMS, REGISTER_ON_IMPORT, SLOW_JOB, registered
from sigmasight.celery import app

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]
REPO = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def broker(settings: Any) -> Iterator[None]:
    if not settings.REDIS_URL or "postgresql" not in settings.DATABASES["default"]["ENGINE"]:
        pytest.skip("needs PostgreSQL and a Redis broker")
    saved = {k: app.conf[k] for k in ("task_always_eager", "broker_url", "result_backend")}
    app.conf.update(
        task_always_eager=False, broker_url=settings.REDIS_URL, result_backend=settings.REDIS_URL
    )
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.BATCH_RUN_IN_THREAD = False
    app.control.purge()
    with registered():
        yield
    app.control.purge()
    app.conf.update(saved)


def _start_worker() -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "BATCH_RUN_IN_THREAD": "false",
        "BATCH_HEARTBEAT_SECONDS": "1",
        "PYTHONPATH": str(REPO),
        REGISTER_ON_IMPORT: "1",
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "sigmasight",
            "worker",
            "-P",
            "prefork",
            "-c",
            "1",
            "-I",
            "batch.tests.worker_jobs",
            "--without-gossip",
            "--without-mingle",
            "-l",
            "warning",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: killed as one
    )


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.extend(int(c) for c in text)
    return found


def _wait(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _job(job_id: str) -> BatchJob:
    return BatchJob.objects.get(pk=job_id)


def _running_with_progress(job_id: str) -> bool:
    job = _job(job_id)
    return job.status == "running" and job.processed_items >= 3


def _stop(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)


def test_killing_the_pool_child_mid_job_reruns_it_to_completion(broker: None) -> None:
    job = services.job_create(job_name=SLOW_JOB, source=JobSource.API_TRIGGER)
    services.job_dispatch(job)
    worker = _start_worker()
    try:
        _wait(lambda: _running_with_progress(job.pk), 60, "the job to run on the worker")
        [child] = _wait(lambda: _children(worker.pid), 10, "the pool child")
        os.kill(child, signal.SIGKILL)
        done = _wait(
            lambda: _job(job.pk).status in ("completed", "failed") and _job(job.pk),
            90,
            "the job to end after its child was killed",
        )
    finally:
        _stop(worker)
    assert done.status == "completed", done.error_message
    assert done.processed_items == ITEMS
    [lost] = done.metadata["attempts"]
    assert lost["found_by"] == "redelivered" and lost["outcome"] == "worker_lost"


def test_killing_the_whole_worker_is_recovered_by_the_heartbeat(broker: None) -> None:
    job = services.job_create(job_name=SLOW_JOB, source=JobSource.API_TRIGGER)
    services.job_dispatch(job)
    first = _start_worker()
    try:
        _wait(lambda: _running_with_progress(job.pk), 60, "the job to run on the worker")
        started = _job(job.pk).started_at
    finally:
        _stop(first)  # master and child at once: nobody hands the message back
    time.sleep(3)
    assert _job(job.pk).status == "running"  # what ops saw before: stuck
    outcome = services.jobs_recover_stale(stale_after=dt.timedelta(seconds=2))
    assert outcome.requeued == [job.pk]
    second = _start_worker()
    try:
        done = _wait(
            lambda: _job(job.pk).status in ("completed", "failed") and _job(job.pk),
            90,
            "the re-queued job to end on a new worker",
        )
    finally:
        _stop(second)
    assert done.status == "completed", done.error_message
    assert done.started_at == started  # honest timing: from the first start
    assert done.duration_seconds >= 3
    assert [a["found_by"] for a in done.metadata["attempts"]] == ["stale_heartbeat"]
