"""The batch's own steps: the market-data adapter and the full chain.

Both follow the step contract of ``batch.services``: ``step(ctx, *, portfolio_ids)``
returns a JSON-able dict, reports progress through ``ctx`` and stops at its checkpoints
when cancelled. The risk steps live in ``risk.services`` (see ``batch.registry``).
"""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

from batch import registry
from batch.services import JobCancelled, JobContext, error_text
from marketdata.providers.base import ProviderError

#: Failed symbols named in the job's ``item_errors`` (the full map is in the result).
_NAMED_ERRORS = 20


class StepFailed(Exception):
    """A step of a chain failed; the message names the step."""


def _portfolio_universe(portfolio_ids: list[UUID]) -> list[str]:
    """Symbols held open in ``portfolio_ids``, plus the factor ETFs and benchmarks that the
    risk steps of those portfolios read (option underlyings are added by the service)."""
    from marketdata.models import FactorDefinition
    from marketdata.services import BENCHMARKS
    from portfolios.models import Position

    held = (
        Position.objects.open()
        .filter(portfolio_id__in=portfolio_ids, portfolio__deleted_at__isnull=True)
        .values_list("security_id", flat=True)
        .distinct()
    )
    etfs = FactorDefinition.objects.filter(is_active=True).values_list("etf_symbol", flat=True)
    return list(dict.fromkeys([*held, *etfs, *BENCHMARKS]))


def market_data_update_step(ctx: JobContext, *, portfolio_ids: list[UUID] | None) -> dict[str, Any]:
    """``marketdata.services.market_data_update`` as a step: every held symbol (or those of
    ``portfolio_ids``), the factor ETFs and benchmarks, up to the last completed session.

    The service writes in its own transactions per group of symbols and is idempotent, so
    it is one item here: the cancel check comes before it. Symbols that fail are counted
    as failed items and the job goes on; if every symbol fails, the provider chain is
    down, and a :class:`ProviderError` lets the Celery task retry with backoff.
    """
    from marketdata.services import market_data_update

    ctx.check_cancelled()
    symbols = None if portfolio_ids is None else _portfolio_universe(portfolio_ids)
    ctx.progress(0, 0, 0, message="updating market data")
    result = market_data_update(symbols=symbols)
    errors: dict[str, str] = result.get("errors") or {}
    for symbol, reason in list(errors.items())[:_NAMED_ERRORS]:
        ctx.metadata.setdefault("item_errors", []).append(f"market_data_update {symbol}: {reason}")
    ctx.progress(
        result["processed"],
        result["successful"],
        result["failed"],
        message=f"market data through {result.get('through')}",
        total=result["processed"],
    )
    if result["processed"] and not result["successful"]:
        first = next(iter(errors.values()), "no data")
        raise ProviderError(
            f"market data: every one of {result['processed']} symbols failed; first error: {first}"
        )
    return result


def _outcome(
    ctx: JobContext, name: str, started: float, status: str, **extra: Any
) -> dict[str, Any]:
    """One chain step's entry in ``metadata.steps``: status, seconds and its own counts."""
    return {
        "name": name,
        "status": status,
        "seconds": round(time.perf_counter() - started, 3),
        "processed": ctx.processed,
        "successful": ctx.successful,
        "failed": ctx.failed,
        **extra,
    }


def full_portfolio_calculation_step(
    ctx: JobContext, *, portfolio_ids: list[UUID] | None
) -> dict[str, Any]:
    """The daily chain (``registry.FULL_CHAIN``) inside one job.

    Each step's outcome goes to ``metadata.steps`` (a list, in chain order: ``{name,
    status, seconds, processed, successful, failed, result | error | warning}``) as it
    finishes; cancellation is checked
    between steps (and between items inside them). A failing step fails the job with its
    error, except a step that is *not available* (its code is not deployed): that one is
    skipped with a warning and the chain goes on. Why: the later steps read what earlier
    ones stored and degrade to null-with-a-warning where it is missing, so a partly
    deployed engine still refreshes everything it can, while a real error in a deployed
    step is never hidden.
    """
    steps: list[dict[str, Any]] = []
    for name in registry.FULL_CHAIN:
        ctx.check_cancelled()
        try:
            step = registry.resolve(name)
        except registry.StepNotAvailable as exc:
            steps.append({"name": name, "status": "skipped", "warning": str(exc)})
            ctx.warn(f"{name} skipped: {exc}")
            ctx.set_metadata("steps", steps)
            continue
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
        except ProviderError as exc:  # keeps its type: the task retries provider outages
            steps[-1] = _outcome(ctx, name, started, "failed", error=error_text(exc))
            ctx.set_metadata("steps", steps)
            raise ProviderError(f"{name}: {error_text(exc)}") from exc
        except Exception as exc:
            steps[-1] = _outcome(ctx, name, started, "failed", error=error_text(exc))
            ctx.set_metadata("steps", steps)
            raise StepFailed(f"{name}: {error_text(exc)}") from exc
        steps[-1] = _outcome(ctx, name, started, "completed", result=result)
        ctx.end_step()
        ctx.set_metadata("steps", steps)
    return {
        "completed": [s["name"] for s in steps if s["status"] == "completed"],
        "skipped": [s["name"] for s in steps if s["status"] == "skipped"],
    }
