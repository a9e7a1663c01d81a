"""Which symbols the market-data update keeps fresh.

The update covers whatever the apps ask for: this app's factor ETFs and benchmarks, the
symbols the portfolios app holds open, later the 0DTE underlyings. Each app registers a
source from its ``AppConfig.ready()``, so this app never reads another app's tables. (No
model import here: the apps' configurations import this module before models load.)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from uuid import UUID

from pytickersymbols import PyTickerSymbols

from marketdata.gics import gics_sector, industry_label

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


# --------------------------------------------------------------------------- index constituents

#: The indices whose constituents make up the bookable universe (RISK-MODEL.md, "Universe").
INDEX_NAMES = ("S&P 500", "S&P 600", "NASDAQ 100")


_VENUES = {"NASDAQ": "NASDAQ", "NYSE": "NYSE", "NYSEAMERICAN": "NYSE American"}
_TRADED_AS = re.compile(r"\b(NYSE American|NYSE|Nasdaq)\b", re.IGNORECASE)


def _exchange(entry: dict[str, Any]) -> str | None:
    """The US listing: from the Google ticker ("NYSE:MMM"), else from the "traded as" text
    ("Nasdaq : AAPL ..."); None where neither names NYSE or NASDAQ."""
    for listing in entry.get("symbols") or []:
        google = str(listing.get("google") or "")
        if listing.get("currency") == "USD" and ":" in google:
            venue = google.split(":", 1)[0].upper()
            if venue in _VENUES:
                return _VENUES[venue]
    traded_as = str((entry.get("metadata") or {}).get("traded_as") or "")
    match = _TRADED_AS.search(traded_as)
    if match:
        return _VENUES[match.group(1).upper().replace(" ", "")]
    return None


def index_constituents() -> list[dict[str, Any]]:
    """The S&P 500, S&P 600 and NASDAQ-100 constituents shipped by ``pytickersymbols``
    (offline, MIT), one dict per symbol in our spelling (class shares with "-": BRK.B →
    BRK-B): symbol, name, industries (free text), sector (``marketdata.gics``), industry,
    isin (the first listed, None where absent), exchange and the indices it belongs to."""
    data = PyTickerSymbols()
    out: dict[str, dict[str, Any]] = {}
    for index in INDEX_NAMES:
        for entry in data.get_stocks_by_index(index):
            symbol = str(entry["symbol"]).strip().upper().replace(".", "-")
            row = out.get(symbol)
            if row is None:
                industries = [str(i) for i in entry.get("industries") or []]
                isins = entry.get("isins") or []
                row = out[symbol] = {
                    "symbol": symbol,
                    "name": str(entry.get("name") or symbol),
                    "industries": industries,
                    "sector": gics_sector(industries, symbol),
                    "industry": industry_label(industries),
                    "isin": str(isins[0]) if isins else None,
                    "exchange": _exchange(entry),
                    "indices": [],
                }
            row["indices"].append(index)
    return [out[s] for s in sorted(out)]
