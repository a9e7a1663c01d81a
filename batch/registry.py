"""The job registry: job names → the steps that run them, filled by the domain apps.

``batch`` is a generic job runner and imports no domain app. Each app registers the jobs
whose steps it owns from its ``AppConfig.ready()`` (``marketdata/jobs.py``,
``risk/jobs.py``, …): :func:`register_job` for a step, :func:`register_chain` for a job
that runs other jobs' steps in order inside one BatchJob. :func:`problems` lists what is
wrong (a chain naming a job nobody registered); ``BatchConfig.ready()`` raises on it, so
a missing step is an error at start-up, never a skipped step at run time.

A step is ``step(ctx: JobContext, *, portfolio_ids: list[UUID] | None) -> dict``: it does
its work through ``ctx`` (progress, cancellation), commits per item, and returns a
JSON-able summary that lands in ``BatchJob.metadata["result"]``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from sigmasight.errors import ValidationFailed

Step = Callable[..., dict[str, Any]]

#: Job name → its step (chains are in :data:`CHAINS`).
JOB_STEPS: dict[str, Step] = {}
#: Job name → ``metadata.calculation_engines`` (what the spec's examples list).
ENGINES: dict[str, list[str]] = {}
#: Chain name → the job names it runs, in order.
CHAINS: dict[str, tuple[str, ...]] = {}
#: Job name → one line for the admin's job picker and the API schema.
DESCRIPTIONS: dict[str, str] = {}
#: Schedules (``ScheduledRun.schedule``) that claim one exchange session each: the newest
#: of their periods is the "last processed session" of ``/system/status``.
SESSION_SCHEDULES: set[str] = set()
#: Jobs that only their app's own request starts (a report job needs the request it
#: builds): not offered by ``POST /system/jobs``, the admin's picker or ``run_batch``.
ON_REQUEST_ONLY: set[str] = set()


def register_job(
    name: str,
    step: Step,
    *,
    engines: Sequence[str],
    description: str = "",
    on_request_only: bool = False,
) -> None:
    """Make ``name`` runnable by ``step``. Registering the same step again is a no-op; a
    different step under a taken name is a configuration error (two apps claim a job).
    ``on_request_only``: the job is left out of :func:`startable_job_names`."""
    if not callable(step):
        raise ImproperlyConfigured(f"batch job {name!r}: the step {step!r} is not callable")
    existing = JOB_STEPS.get(name)
    if (existing is not None and existing is not step) or name in CHAINS:
        raise ImproperlyConfigured(f"batch job {name!r} is registered twice")
    JOB_STEPS[name] = step
    ENGINES[name] = list(engines)
    DESCRIPTIONS[name] = description
    if on_request_only:
        ON_REQUEST_ONLY.add(name)


def register_chain(
    name: str, members: Sequence[str], *, engines: Sequence[str] = ("all",), description: str = ""
) -> None:
    """Make ``name`` a chain: one BatchJob running the steps of ``members`` in order (the
    runner is ``batch.services.run_chain``). Members are job names, checked by
    :func:`problems`, so they may be registered by apps that load later."""
    if name in JOB_STEPS:
        raise ImproperlyConfigured(f"batch job {name!r} is registered as a step and a chain")
    CHAINS[name] = tuple(members)
    ENGINES[name] = list(engines)
    DESCRIPTIONS[name] = description


def register_session_schedule(name: str) -> None:
    """Declare ``name`` a schedule whose periods are exchange sessions."""
    SESSION_SCHEDULES.add(name)


def problems() -> list[str]:
    """What makes the registry unusable: chains naming unregistered or chained jobs."""
    found = []
    for chain, members in CHAINS.items():
        for member in members:
            if member not in JOB_STEPS:
                found.append(f"chain {chain!r} runs {member!r}, which no app registered")
            elif member in CHAINS:
                found.append(f"chain {chain!r} runs the chain {member!r}; chains do not nest")
    return found


def check() -> None:
    """Raise ``ImproperlyConfigured`` listing every problem (called at start-up)."""
    found = problems()
    if found:
        raise ImproperlyConfigured("Batch job registry: " + "; ".join(found))


def job_names() -> list[str]:
    """Every runnable job: the steps, then the chains, in registration order."""
    return [*JOB_STEPS, *CHAINS]


def startable_job_names() -> list[str]:
    """The jobs an operator may start by name (``POST /system/jobs``, the admin,
    ``run_batch``): every job but those started only by their app's own request."""
    return [name for name in job_names() if name not in ON_REQUEST_ONLY]


def is_job_name(name: str) -> bool:
    return name in JOB_STEPS or name in CHAINS


def chain_members(name: str) -> tuple[str, ...]:
    """The job names a chain runs, in order; () for a plain job."""
    return CHAINS.get(name, ())


def require(name: str) -> str:
    """``name`` if it is a registered job; else a validation error (422) listing them."""
    if not is_job_name(name):
        raise ValidationFailed({"job_name": [f"Unknown job; use one of {job_names()}."]})
    return name


def step_for(name: str) -> Step:
    """The step of the plain job ``name`` (validated by :func:`require`)."""
    return JOB_STEPS[require(name)]
