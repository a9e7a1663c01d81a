"""The simulated provider's intraday side: minute bars inside each simulated daily bar.

The engine (:mod:`marketdata.engine.intraday`) gives the shapes and the bridge; this module
draws its normals from the counter-based streams, so that a symbol's minutes are fixed by
(seed, symbol, session) alone:

* **The market is SPY.** SPY's candidate paths come from its own stream; the one nearest
  SPY's high and low is the market path. Every other symbol's normals are
  rho * (SPY's chosen normals) + sqrt(1 − rho²) * (its own), rho its correlation with SPY
  over the 60 sessions before (the VIX's is negative), so minutes co-move as days do and
  a symbol's path does not depend on which others are asked for.
* **Volatility** of a session is the Parkinson volatility of its own simulated range
  (which the daily model scales with the symbol's EWMA volatility, and so, for SPY, with
  the VIX: SPY's simulated daily move averages about VIX / √252).
* **Agreement.** Of :data:`CANDIDATES` bridges from the open to the close the one nearest
  the day's high and low is kept and mapped onto that range: the minute bars agree with
  the daily bar exactly, and their prices are rounded to the daily bar's 4 decimals
  (which keeps the day's high and low the extremes).

Units: prices as the daily bars (USD per share, index points for ^VIX), volumes in shares,
timestamps the start of each minute, aware UTC.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from marketdata import calendar
from marketdata.engine.intraday import (
    best_candidates,
    bridge_paths,
    minute_bars,
    one_factor_normals,
    parkinson_volatility,
)
from marketdata.providers.simulated.streams import _normal

#: Candidate bridges per symbol and session (the engine's docstring: 16 keep the U-shape
#: within about 2% after the range map).
CANDIDATES = 16
#: The symbol whose chosen path is the market's.
MARKET_SYMBOL = "SPY"
#: Sessions of daily returns behind each symbol's correlation with the market.
CORRELATION_SESSIONS = 60
#: Decimals of simulated prices (those of the daily bars).
PRICE_DECIMALS = 4
# Counters of the streams: a session's day number, then the candidate and the minute.
_MINUTE_SLOTS = 512
_CANDIDATE_SLOTS = 32


@dataclass(frozen=True)
class DailyBar:
    open: float
    high: float
    low: float
    close: float
    volume: float  # NaN where unknown


@dataclass(frozen=True)
class SessionMinutes:
    """One symbol's minute bars over a whole session, each array (minutes,)."""

    symbol: str
    session: dt.date
    timestamps: list[dt.datetime]
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray


def _counters(session: dt.date, candidates: int, minutes: int) -> np.ndarray:
    day = (session - dt.date(1970, 1, 1)).days
    c = np.arange(candidates)[:, None]
    m = np.arange(minutes)[None, :]
    return (day * _CANDIDATE_SLOTS + c) * _MINUTE_SLOTS + m  # (candidates, minutes)


def _normals(seed: int, stream: str, symbol: str, counters: np.ndarray) -> np.ndarray:
    return _normal(seed, stream, symbol, counters.reshape(-1)).reshape(counters.shape)


def _chosen_paths(
    bars: list[DailyBar], sigma: np.ndarray, normals: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The candidate (k, c, n) normals and (k, n + 1) paths kept for each bar."""
    o = np.array([b.open for b in bars])
    c = np.array([b.close for b in bars])
    paths = bridge_paths(o, c, sigma, normals)
    best = best_candidates(paths, [b.high for b in bars], [b.low for b in bars])
    rows = np.arange(len(bars))
    return normals[rows, best], paths[rows, best]


def session_minutes(
    *,
    seed: int,
    session: dt.date,
    bars: dict[str, DailyBar],
    market_correlation: dict[str, float],
) -> dict[str, SessionMinutes]:
    """Minute bars of each symbol of ``bars`` (its daily bar for ``session``; the market's,
    SPY's, must be among them) over the whole session. ``market_correlation``: each
    symbol's correlation of daily returns with SPY (missing: 0)."""
    if MARKET_SYMBOL not in bars:
        raise ValueError("the market's (SPY's) daily bar is needed for its minutes")
    opened = calendar.session_open_utc(session)
    minutes = int((calendar.session_close_utc(session) - opened).total_seconds() // 60)
    counters = _counters(session, CANDIDATES, minutes)
    symbols = [MARKET_SYMBOL, *sorted(s for s in bars if s != MARKET_SYMBOL)]
    daily = [bars[s] for s in symbols]
    sigma = parkinson_volatility([b.high for b in daily], [b.low for b in daily])
    own = np.stack([_normals(seed, "intraday", s, counters) for s in symbols])
    market_normals, _ = _chosen_paths(daily[:1], sigma[:1], own[:1])
    rho = np.array([1.0] + [market_correlation.get(s, 0.0) for s in symbols[1:]])
    normals = one_factor_normals(market_normals[0], own, rho)
    normals[0] = own[0]  # SPY is the market: its candidates are its own
    _, paths = _chosen_paths(daily, sigma, normals)
    minute_counters = counters[0]
    wick = np.stack([_normals(seed, "intraday-wick", s, minute_counters) for s in symbols])
    noise = np.stack([_normals(seed, "intraday-volume", s, minute_counters) for s in symbols])
    out = minute_bars(
        paths,
        sigma,
        [b.volume for b in daily],
        wick,
        noise,
        day_high=[b.high for b in daily],
        day_low=[b.low for b in daily],
    )
    stamps = [opened + dt.timedelta(minutes=m) for m in range(minutes)]
    result: dict[str, SessionMinutes] = {}
    for i, symbol in enumerate(symbols):
        result[symbol] = SessionMinutes(
            symbol=symbol,
            session=session,
            timestamps=stamps,
            open=np.round(out.open[i], PRICE_DECIMALS),
            high=np.round(out.high[i], PRICE_DECIMALS),
            low=np.round(out.low[i], PRICE_DECIMALS),
            close=np.round(out.close[i], PRICE_DECIMALS),
            volume=out.volume[i],
        )
    return result
