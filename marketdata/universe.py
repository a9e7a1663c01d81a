"""Which symbols the market-data update keeps fresh.

The update covers whatever the apps ask for: this app's factor ETFs and benchmarks, the
symbols the portfolios app holds open, later the 0DTE underlyings. Each app registers a
source from its ``AppConfig.ready()``, so this app never reads another app's tables. (No
model import here: the apps' configurations import this module before models load.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from uuid import UUID

#: Benchmarks refreshed by every daily update, whatever is held.
BENCHMARKS = ("SPY", "QQQ", "IWM")

#: ``source(portfolio_ids)`` → symbols to keep fresh (all portfolios for None).
UniverseSource = Callable[[Sequence[UUID] | None], Iterable[str]]

_SOURCES: dict[str, UniverseSource] = {}


def register_source(name: str, source: UniverseSource) -> None:
    _SOURCES[name] = source


def tracked_symbols(*, portfolio_ids: Sequence[UUID] | None = None) -> list[str]:
    """Every registered source's symbols, in registration order, without repeats (a
    source scoped by portfolio gives those of ``portfolio_ids`` only)."""
    symbols: list[str] = []
    for source in _SOURCES.values():
        symbols.extend(source(portfolio_ids))
    return list(dict.fromkeys(symbols))
