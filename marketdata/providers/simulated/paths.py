"""The daily close paths: real returns, the joint stationary block bootstrap after them,
the proxy relation, ^VIX's mean reversion, anchoring and the EWMA volatility of each path.

All returns are daily log returns; volatilities here are daily (sigma of one session's log
return). The model is described in the package docstring; every step runs forward in time,
so a value never depends on the horizon or on which symbols are requested.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
from scipy.signal import lfilter

from marketdata.providers.simulated.reference import _Security
from marketdata.providers.simulated.streams import _normal, _uniform
from risk.engine.conventions import EWMA_LAMBDA, TRADING_DAYS_PER_YEAR

#: Mean block length of the stationary bootstrap, in sessions (a new block starts with
#: probability 1/5): long enough to keep a week of volatility clustering, short enough to mix.
MEAN_BLOCK_SESSIONS = 5.0
#: A real day enters the bootstrap pool when at least this share of the real-history symbols
#: has a return on it (and every root symbol, i.e. one without a proxy, has one).
POOL_MIN_COVERAGE = 0.9
#: First close of a proxied symbol (the first date of the factor ETFs' real history), unless
#: its ``first_trade_date`` is later.
PROXY_HISTORY_START = dt.date(2014, 1, 2)
#: Level of a proxied symbol on its anchor date when the real close is unknown (null).
UNKNOWN_ANCHOR_LEVEL = 100.0
#: Returns used to seed the EWMA variance (their mean square).
EWMA_SEED_RETURNS = 20


def _ewma_var(returns: np.ndarray) -> np.ndarray:
    """EWMA variance through each day (lambda 0.94), seeded with the mean square of the first
    returns. ``returns`` has no NaN. Causal: entry t uses returns up to t only."""
    if returns.size == 0:
        return returns.copy()
    seed_var = float(np.mean(returns[:EWMA_SEED_RETURNS] ** 2))
    out, _ = lfilter(
        [1.0 - EWMA_LAMBDA], [1.0, -EWMA_LAMBDA], returns**2, zi=[EWMA_LAMBDA * seed_var]
    )
    return out


def _bootstrap_pool(
    real_ret: np.ndarray, i_last_real: int, real_cols: list[int], roots: list[int]
) -> np.ndarray:
    """Which real sessions (rows 0 to ``i_last_real`` of ``real_ret``, [session, symbol]) may
    be replayed: those where most of the universe has data and every root has."""
    have = np.isfinite(real_ret[: i_last_real + 1])
    coverage = have[:, real_cols].mean(axis=1)
    return (coverage >= POOL_MIN_COVERAGE) & have[:, roots].all(axis=1)


def _bootstrap_days(
    seed: int, ordinals: np.ndarray, i_last_real: int, pool: np.ndarray
) -> np.ndarray:
    """Joint stationary bootstrap: the real session (grid row) whose returns each session
    replays; a real session replays itself, each later one a day of ``pool``."""
    day = np.arange(ordinals.size)
    sim_ord = ordinals[i_last_real + 1 :]
    if sim_ord.size:
        restart = _uniform(seed, "block-restart", "", sim_ord) < 1.0 / MEAN_BLOCK_SESSIONS
        restart[0] = True
        pick = np.floor(_uniform(seed, "block-pick", "", sim_ord) * pool.size).astype(np.int64)
        starts = np.flatnonzero(restart)
        block = np.cumsum(restart) - 1
        offset = np.arange(sim_ord.size) - starts[block]
        day[i_last_real + 1 :] = pool[(pick[starts][block] + offset) % pool.size]
    return day


def _close_paths(
    seed: int,
    symbols: tuple[str, ...],
    column: dict[str, int],
    secs: dict[str, _Security],
    dates: np.ndarray,
    ordinals: np.ndarray,
    first_row: np.ndarray,
    last_row: np.ndarray,
    i_last_real: int,
    real_ret: np.ndarray,
    day: np.ndarray,
    in_pool: np.ndarray,
    c: np.ndarray,
    src: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Returns, closes and EWMA volatility of every symbol, proxies first (``symbols`` is in
    topological order). Fills the closes ``c`` and marks the simulated rows in ``src``
    (code 0) in place after each symbol's real rows; returns (returns, sigma, sigma_long):
    the daily log returns and daily EWMA volatility [session, symbol], and the daily
    realized volatility over the pool window [symbol]."""
    n_dates = dates.size
    shape = real_ret.shape
    ret = np.full(shape, np.nan)
    sigma = np.full(shape, np.nan)
    sigma_long = np.full(len(symbols), np.nan)
    proxy_start = np.datetime64(PROXY_HISTORY_START, "D")
    for symbol in symbols:
        sec, j = secs[symbol], column[symbol]
        is_real = first_row[j] >= 0
        if is_real:
            start = int(first_row[j])
        else:
            first = proxy_start
            if sec.first_date is not None:
                first = max(first, np.datetime64(sec.first_date, "D"))
            start = int(np.searchsorted(dates, first))
        own = real_ret[day, j]
        if sec.proxy is not None:
            proxy_ret = np.zeros(n_dates)
            for member, weight in sec.proxy.items():
                proxy_ret += weight * np.nan_to_num(ret[:, column[member]])
            resid = _normal(seed, "residual", symbol, ordinals)
            resid *= sec.residual_vol / math.sqrt(TRADING_DAYS_PER_YEAR)
            fill = sec.beta * proxy_ret + resid
        else:
            fill = np.zeros(n_dates)  # a root missing a day (never in the pool) stands still
        r = np.where(np.isnan(own), fill, own)
        r[: start + 1] = np.nan
        ret[:, j] = r

        if is_real:
            last = int(last_row[j])
            seg = r[last + 1 :]
            if sec.mean_reversion is not None and seg.size:
                seg = _mean_revert(seg, float(c[last, j]), *sec.mean_reversion)
                ret[last + 1 :, j] = seg
            c[last + 1 :, j] = c[last, j] * np.exp(np.cumsum(seg))
            sim_from = last + 1
        else:
            cum = np.r_[0.0, np.cumsum(r[start + 1 :])]
            anchor_close = sec.anchor_close or UNKNOWN_ANCHOR_LEVEL
            a = start
            if sec.anchor_date is not None:
                a = int(np.searchsorted(dates, np.datetime64(sec.anchor_date, "D")))
                if a >= n_dates or dates[a] != np.datetime64(sec.anchor_date, "D") or a < start:
                    raise ValueError(f"{symbol}: anchor date {sec.anchor_date} is not a session")
            c[start:, j] = anchor_close * np.exp(cum - cum[a - start])
            sim_from = start
        src[sim_from:, j] = 0

        valid = ret[start + 1 :, j]  # after mean reversion, i.e. the returns of the path
        var = _ewma_var(valid)
        sigma[start + 1 :, j] = np.sqrt(var)
        window = valid[: max(0, i_last_real - start)]
        window = window[in_pool[start + 1 : i_last_real + 1][: window.size]]
        sigma_long[j] = float(np.std(window)) if window.size > 20 else float(np.std(valid))

    return ret, sigma, sigma_long


def _mean_revert(
    returns: np.ndarray, start_level: float, level: float, kappa: float, floor: float, cap: float
) -> np.ndarray:
    """Log changes of a mean-reverting level (the VIX) driven by ``returns``:
    x_t = clip((1 - kappa) x_{t-1} + r_t, ln(floor/level), ln(cap/level)), x = ln(V/level).
    A plain loop: one symbol, a few thousand sessions, and the clip makes it non-linear."""
    lo = math.log(floor / level) if floor > 0 else -math.inf
    hi = math.log(cap / level)
    x = math.log(start_level / level)
    path = np.empty(returns.size + 1)
    path[0] = x
    decay = 1.0 - kappa
    for k, r in enumerate(returns.tolist()):
        x = min(max(decay * x + r, lo), hi)
        path[k + 1] = x
    return np.diff(path)
