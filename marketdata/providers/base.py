"""The market-data provider interface.

Every source of prices (simulated, CSV, FMP, Polygon) implements
:class:`MarketDataProvider`. Providers return plain data; they never touch the
ORM. Services in ``marketdata.services`` upsert what they return.

Units: prices in the instrument's currency per share (per option share for
options), volumes in shares or contracts, timestamps timezone-aware UTC.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import pandas as pd

from sigmasight.errors import TransientFailure

#: Columns of the frame returned by :meth:`MarketDataProvider.history`.
HISTORY_COLUMNS: tuple[str, ...] = (
    "symbol",  # str
    "date",  # datetime.date (a session date)
    "open",  # float or NaN where the source has closes only
    "high",
    "low",
    "close",  # float, the raw (unadjusted) close
    "adj_close",  # float, split- and dividend-adjusted close
    "volume",  # float (NaN where unknown)
    "source",  # str: "simulated", "csv", "fmp", "polygon", or the real dataset's name
)


#: Columns of a frame of one-minute bars (``minute_bars`` of the intraday providers).
MINUTE_COLUMNS: tuple[str, ...] = (
    "symbol",  # str
    "timestamp",  # aware UTC datetime, the minute's start
    "open",
    "high",
    "low",
    "close",
    "volume",  # float (NaN where unknown)
    "vwap",  # float or NaN
    "source",
)


@dataclass(frozen=True)
class OptionSnapshot:
    """One contract of an option chain snapshot. Prices per share of underlying, IV a
    fraction, Greeks as the source states them (theta per day, vega per vol point)."""

    contract: str  # OCC symbol
    underlying: str
    is_call: bool
    strike: float
    expiration: dt.date
    bid: float | None
    ask: float | None
    bid_size: int | None
    ask_size: int | None
    last: float | None
    volume: int | None
    open_interest: int | None
    implied_volatility: float | None
    delta: float | None
    gamma: float | None
    theta: float | None
    vega: float | None
    underlying_price: float | None
    timestamp: dt.datetime
    source: str


@dataclass(frozen=True)
class QuoteData:
    """Latest quote for one symbol (stock, ETF, index or OCC option)."""

    symbol: str
    bid: float | None
    ask: float | None
    bid_size: int | None
    ask_size: int | None
    last: float | None
    volume: int | None
    timestamp: dt.datetime
    source: str
    implied_volatility: float | None = None  # options only, a fraction (0.18 = 18%)


@dataclass(frozen=True)
class Profile:
    """Reference data for one symbol. Unknown figures are ``None``."""

    symbol: str
    name: str
    asset_type: str  # "stock", "etf", "mutual_fund", "index", "option"
    sector: str | None = None
    industry: str | None = None
    exchange: str | None = None
    currency: str = "USD"
    dividend_yield: float | None = None  # a fraction (0.0045 = 0.45%)
    shares_outstanding: float | None = None
    eps_ttm: float | None = None  # trailing twelve-month EPS, for P/E = price / EPS
    duration: float | None = None  # modified duration in years, bond funds only
    proxy_symbol: str | None = None  # where the history is a stated proxy
    source: str = ""
    isin: str | None = None
    asset_class: str | None = None  # ETFs, funds and indices: AssetClass values


class ProviderError(TransientFailure):
    """A provider could not answer (network, HTTP error, bad payload). Transient: the job
    runner retries the work with backoff before failing it."""


class RateLimited(ProviderError):
    """The provider answered 429 and retries were exhausted."""


class BudgetExhausted(ProviderError):
    """The configured request budget for this provider is used up."""


class SymbolNotFound(ProviderError):
    """The provider does not know the symbol."""


@runtime_checkable
class MarketDataProvider(Protocol):
    """What every market-data source offers."""

    name: str

    def history(self, symbols: Sequence[str], start: dt.date, end: dt.date) -> pd.DataFrame:
        """Daily bars for ``symbols`` between ``start`` and ``end`` inclusive, in
        :data:`HISTORY_COLUMNS` order, one row per (symbol, session date)."""
        ...

    def quotes(self, symbols: Sequence[str]) -> list[QuoteData]:
        """Latest quotes; symbols the provider does not know are left out."""
        ...

    def profile(self, symbol: str) -> Profile | None:
        """Reference data, or ``None`` when the provider does not know the symbol."""
        ...


def empty_history() -> pd.DataFrame:
    """A history frame with no rows and the right columns."""
    return pd.DataFrame({column: [] for column in HISTORY_COLUMNS})
