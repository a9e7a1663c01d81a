"""Market inputs of the risk engine, read from stored data into numpy arrays.

A thin layer between the ORM and the pure engines: every function returns arrays or
plain values and runs a fixed number of queries.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path

import numpy as np
from django.conf import settings

from marketdata import calendar
from marketdata.models import PriceBar

RF_FILE = (
    Path(__file__).resolve().parent.parent / "marketdata" / "seed_data" / "risk_free_monthly.csv"
)
EWMA_LAMBDA = 0.94
TRADING_DAYS = 252


@cache
def _fama_french_rf() -> dict[str, float]:
    with RF_FILE.open() as handle:
        return {row["month"]: float(row["rf_annual"]) for row in csv.DictReader(handle)}


def risk_free_rate(on: dt.date) -> tuple[float, str]:
    """The annual risk-free rate on a date, and its source (RISK-MODEL.md: the Fama-French
    one-month T-bill ``RF`` up to 2018-11, then the ``RISK_FREE_RATE`` setting)."""
    series = _fama_french_rf()
    month = f"{on.year:04d}-{on.month:02d}"
    if month in series:
        return series[month], "fama_french_rf"
    return float(settings.RISK_FREE_RATE), "config"


def session_window(end: dt.date, sessions: int) -> list[dt.date]:
    """The last ``sessions`` NYSE sessions up to and including ``end`` (or the one before)."""
    start = end - dt.timedelta(days=int(sessions * 1.6) + 15)
    days = [d for d in calendar.sessions_between(start, end)]
    return days[-sessions:]


def close_matrix(symbols: Sequence[str], dates: Sequence[dt.date]) -> np.ndarray:
    """Adjusted closes, dates × symbols, NaN where a bar is missing (one query)."""
    column = {symbol: j for j, symbol in enumerate(symbols)}
    row = {date: i for i, date in enumerate(dates)}
    matrix = np.full((len(dates), len(symbols)), np.nan)
    if not symbols or not dates:
        return matrix
    bars = PriceBar.objects.filter(
        security_id__in=list(column), date__gte=dates[0], date__lte=dates[-1]
    ).values_list("security_id", "date", "adj_close")
    for symbol, date, close in bars:
        i = row.get(date)
        if i is not None:
            matrix[i, column[symbol]] = float(close)
    return matrix


def returns_matrix(
    symbols: Sequence[str], *, end: dt.date, lookback: int
) -> tuple[list[dt.date], np.ndarray]:
    """Daily simple returns over the last ``lookback`` sessions to ``end``: dates × symbols,
    NaN where either close is missing."""
    dates = session_window(end, lookback + 1)
    closes = close_matrix(symbols, dates)
    with np.errstate(invalid="ignore", divide="ignore"):
        returns = closes[1:] / closes[:-1] - 1.0
    return dates[1:], returns


def ewma_volatility(returns: np.ndarray, lam: float = EWMA_LAMBDA) -> np.ndarray:
    """RiskMetrics EWMA volatility of each column of daily returns, annualized (√252).
    NaNs are skipped (a missing day contributes nothing). Vectorized over columns."""
    r = np.where(np.isfinite(returns), returns, 0.0)
    present = np.isfinite(returns).astype(float)
    t = r.shape[0]
    w = lam ** np.arange(t - 1, -1, -1, dtype=float)[:, None] * present
    total = w.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        variance = (w * r * r).sum(axis=0) / total
    return np.sqrt(variance * TRADING_DAYS)


def dated(values: Iterable[float | None]) -> list[float | None]:
    """NaN and inf become None, for JSON."""
    return [None if v is None or not math.isfinite(v) else float(v) for v in values]
