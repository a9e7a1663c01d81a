"""Job names → the step that runs them, resolved lazily by dotted path.

Why lazy: the risk steps live in another app that is written (and may be broken) on its
own schedule. Importing a step only when its job runs means a missing step fails that job
cleanly ("step not available: ..."), never the import of this module or an HTTP request.

A step is ``step(ctx: JobContext, *, portfolio_ids: list[UUID] | None) -> dict``: it does
its work through ``ctx`` (progress, cancellation), commits per item, and returns a
JSON-able summary that lands in ``BatchJob.metadata["result"]``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

Step = Callable[..., dict[str, Any]]

#: Every job name of the spec, and where its step lives. Values may also be callables
#: (tests register fakes that way).
JOB_STEPS: dict[str, str | Step] = {
    "market_data_update": "batch.steps.market_data_update_step",
    "greeks_calculation": "risk.services.greeks_calculation_step",
    "factor_analysis": "risk.services.factor_analysis_step",
    "risk_metrics": "risk.services.risk_metrics_step",
    "stress_testing": "risk.services.stress_testing_step",
    "correlations": "risk.services.correlations_step",
    "portfolio_snapshot": "risk.services.portfolio_snapshot_step",
    "data_quality_assessment": "risk.services.data_quality_assessment_step",
    "data_quality_refresh": "risk.services.data_quality_refresh_step",
    "full_portfolio_calculation": "batch.steps.full_portfolio_calculation_step",
}

#: The chain ``full_portfolio_calculation`` runs, in order, inside one BatchJob.
FULL_CHAIN: tuple[str, ...] = (
    "market_data_update",
    "greeks_calculation",
    "factor_analysis",
    "risk_metrics",
    "stress_testing",
    "correlations",
    "portfolio_snapshot",
    "data_quality_assessment",
)

#: ``metadata.calculation_engines`` of each job (what the spec's example lists).
ENGINES: dict[str, list[str]] = {
    "market_data_update": ["market_data"],
    "greeks_calculation": ["greeks"],
    "factor_analysis": ["factor_exposure"],
    "risk_metrics": ["var", "performance"],
    "stress_testing": ["stress"],
    "correlations": ["correlation"],
    "portfolio_snapshot": ["snapshot"],
    "data_quality_assessment": ["data_quality"],
    "data_quality_refresh": ["market_data", "data_quality"],
    "full_portfolio_calculation": ["all"],
}


class StepNotAvailable(Exception):
    """The step's module or function does not exist (yet)."""


def job_names() -> list[str]:
    return list(JOB_STEPS)


def is_job_name(name: str) -> bool:
    return name in JOB_STEPS


def resolve(job_name: str) -> Step:
    """The step callable of ``job_name``.

    Raises :class:`StepNotAvailable` when the name is unknown, its module does not exist
    or has no such function. Any other error raised while importing the module (a bug in
    it) propagates, so that a broken step fails loudly instead of being skipped.
    """
    target = JOB_STEPS.get(job_name)
    if target is None:
        raise StepNotAvailable(f"step not available: unknown job {job_name!r}")
    if callable(target):
        return target
    module_path, _, attribute = target.rpartition(".")
    try:
        module = importlib.import_module(module_path)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if module_path == missing or module_path.startswith(f"{missing}."):
            raise StepNotAvailable(f"step not available: {target} (no module {missing})") from exc
        raise
    step = getattr(module, attribute, None)
    if not callable(step):
        raise StepNotAvailable(f"step not available: {target} (no function {attribute})")
    return step
