"""The market-data jobs, registered with the batch runner from ``MarketdataConfig.ready()``.

Each step follows the runner's contract (``batch.registry``): ``step(ctx, *,
portfolio_ids)`` returns a JSON-able dict, reports progress through ``ctx`` and stops at
its checkpoints when cancelled.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from batch import registry
from batch.services import JobContext
from marketdata import services
from marketdata.providers.base import ProviderError
from marketdata.universe import tracked_symbols

#: Failed symbols named in the job's ``item_errors`` (the full map is in the result).
_NAMED_ERRORS = 20


def market_data_update_step(ctx: JobContext, *, portfolio_ids: list[UUID] | None) -> dict[str, Any]:
    """``marketdata.services.market_data_update`` as a step: the tracked universe (every
    held symbol, or those of ``portfolio_ids``; the factor ETFs and benchmarks), up to the
    last completed session.

    The service writes in its own transactions per group of symbols and is idempotent, so
    it is one item here: the cancel check comes before it. Symbols that fail are counted
    as failed items and the job goes on; if every symbol fails, the provider chain is
    down, and a :class:`ProviderError` (a transient failure) lets the runner retry with
    backoff.
    """
    ctx.check_cancelled()
    symbols = None if portfolio_ids is None else tracked_symbols(portfolio_ids=portfolio_ids)
    ctx.progress(0, 0, 0, message="updating market data")
    result = services.market_data_update(symbols=symbols)
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


def register() -> None:
    registry.register_job(
        "market_data_update",
        market_data_update_step,
        engines=["market_data"],
        description="Bars, quotes and option marks up to the last completed NYSE session",
    )
