"""A slow job for the worker-fault tests, registered when this module is imported (the
test process imports it; the worker subprocess loads it with ``celery worker -I``)."""

from __future__ import annotations

import time
from typing import Any

from batch import registry
from batch.services import JobContext

SLOW_JOB = "test_slow_job"
ITEMS = 40
ITEM_SECONDS = 0.25


def slow_step(ctx: JobContext, *, portfolio_ids: Any) -> dict[str, Any]:
    for _ in ctx.items(range(ITEMS)):
        time.sleep(ITEM_SECONDS)
    return {"items": ITEMS}


if SLOW_JOB not in registry.JOB_STEPS:
    registry.register_job(SLOW_JOB, slow_step, engines=["test"], description="test only")
