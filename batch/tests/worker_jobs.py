"""A slow job for the worker-fault tests. The test process registers it for the length of a
test (:func:`registered`); the worker subprocess loads this module with ``celery worker -I``
and the environment variable below, so the job exists only where a test asked for it."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from batch import registry
from batch.services import JobContext

SLOW_JOB = "test_slow_job"
#: Set in the worker subprocess's environment: register the job when loaded.
REGISTER_ON_IMPORT = "SIGMASIGHT_TEST_WORKER_JOBS"
ITEMS = 40
ITEM_SECONDS = 0.25


def slow_step(ctx: JobContext, *, portfolio_ids: Any) -> dict[str, Any]:
    for _ in ctx.items(range(ITEMS)):
        time.sleep(ITEM_SECONDS)
    return {"items": ITEMS}


def register() -> None:
    if SLOW_JOB not in registry.JOB_STEPS:
        registry.register_job(SLOW_JOB, slow_step, engines=["test"], description="test only")


@contextmanager
def registered() -> Iterator[None]:
    """The slow job registered in this process, and gone again afterwards (the registry is
    process-wide: a leftover job would show up in every later test's job list)."""
    register()
    try:
        yield
    finally:
        for table in (registry.JOB_STEPS, registry.ENGINES, registry.DESCRIPTIONS):
            table.pop(SLOW_JOB, None)


if os.environ.get(REGISTER_ON_IMPORT):
    register()
