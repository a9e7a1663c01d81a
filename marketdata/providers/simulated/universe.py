"""The generated universe: every symbol's rows on one XNYS session grid, and its cache.

Real rows are laid on the grid as they are; :mod:`.paths` continues the closes after them
and :mod:`.bars` gives the simulated rows their OHLC and volume. A universe is cached in
memory per (files, seed) and serves every ``today`` up to its horizon unchanged.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field

import numpy as np

from marketdata import calendar
from marketdata.providers.simulated.bars import _calibrate_intraday, _fill_bars, _Intraday
from marketdata.providers.simulated.paths import (
    PROXY_HISTORY_START,
    _bootstrap_days,
    _bootstrap_pool,
    _close_paths,
)
from marketdata.providers.simulated.reference import _read_history, _read_reference, _Reference
from marketdata.providers.simulated.streams import _date_ordinals

#: The ``source`` of every generated row and quote (real rows keep their dataset's name).
SIMULATED = "simulated"


@dataclass(frozen=True)
class _Universe:
    """Every symbol on one session grid. 2-D arrays are [session, symbol]; NaN (or source
    -1) where the symbol has no row."""

    dates: np.ndarray  # datetime64[D], XNYS sessions
    symbols: tuple[str, ...]
    column: dict[str, int]
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    adj_close: np.ndarray
    volume: np.ndarray
    source: np.ndarray  # int16 index into ``sources``; -1 = no row
    sources: tuple[str, ...]
    returns: np.ndarray  # daily log returns (NaN before a symbol's second row)
    sigma: np.ndarray  # daily EWMA volatility through each session (that day's return included)
    sigma_long: np.ndarray  # [symbol] daily realized volatility over the pool window
    horizon: dt.date  # last date generated (a session, at or after the requested horizon)
    last_real_date: dt.date  # last date of the real file
    pool: tuple[dt.date, dt.date, int]  # first and last pool day, number of pool days
    intraday_source: str
    intraday: _Intraday
    #: The index-universe names derived from this universe on demand (``.derived``), by
    #: symbol: one column each on the same grid. Mutable cache; not part of the value.
    derived: dict[str, _Universe] = field(default_factory=dict, compare=False, repr=False)


def _horizon(reference: _Reference, today: dt.date) -> dt.date:
    """The last date generated: ``today``, but never before the anchors, so that anchoring
    (and hence every value) does not depend on ``today``."""
    anchors = [s.anchor_date for s in reference.securities.values() if s.anchor_date]
    return max([today, *anchors])


_CACHE: dict[tuple[tuple[str, int], tuple[str, int], int], _Universe] = {}
_CACHE_LOCK = threading.Lock()
#: Universes kept in memory (one per files and seed; ~30 MB each for the shipped data).
_CACHE_SIZE = 4


def clear_cache() -> None:
    """Forget every generated universe (tests use it to prove regeneration is identical)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def _universe(
    history: tuple[str, int], reference: tuple[str, int], seed: int, horizon: dt.date
) -> _Universe:
    """The universe for (files, seed) reaching at least ``horizon``, from the cache when one
    reaches that far: values never depend on the horizon (package docstring), so a longer
    universe serves every earlier ``today`` exactly. Otherwise generate and cache it."""
    key = (history, reference, seed)
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
    if cached is not None and cached.horizon >= horizon:
        return cached
    universe = _generate(history, reference, seed, horizon)
    with _CACHE_LOCK:
        _CACHE.pop(key, None)
        _CACHE[key] = universe
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
    return universe


def _generate(
    history: tuple[str, int], reference: tuple[str, int], seed: int, horizon: dt.date
) -> _Universe:
    """Generate every symbol from the first real date to ``horizon`` (see the package docstring)."""
    real_all = _read_history(*history)
    ref = _read_reference(*reference)
    secs = ref.securities
    real = {s: real_all[s] for s in secs if s in real_all}
    if not real:
        raise ValueError("the history file has none of the reference symbols")

    first_real = min(series.dates[0] for series in real.values()).astype(object)
    last_real = max(series.dates[-1] for series in real.values()).astype(object)
    grid_start = min(first_real, PROXY_HISTORY_START)
    end = max(horizon, calendar.next_session(last_real))
    dates = np.array(calendar.sessions_between(grid_start, end), dtype="datetime64[D]")
    ordinals = _date_ordinals(dates)
    n_dates = dates.size
    symbols = tuple(ref.order)
    column = {s: j for j, s in enumerate(symbols)}
    n_sym = len(symbols)
    i_last_real = int(np.searchsorted(dates, np.datetime64(last_real, "D")))

    shape = (n_dates, n_sym)
    o, h, lo, c, adj, vol = (np.full(shape, np.nan) for _ in range(6))
    src = np.full(shape, -1, dtype=np.int16)
    sources: list[str] = [SIMULATED]
    real_ret = np.full(shape, np.nan)
    first_row = np.full(n_sym, -1)
    last_row = np.full(n_sym, -1)
    for symbol, series in real.items():
        j = column[symbol]
        idx = np.searchsorted(dates, series.dates)
        if np.any(idx >= n_dates) or np.any(dates[np.minimum(idx, n_dates - 1)] != series.dates):
            bad = series.dates[
                (idx >= n_dates) | (dates[np.minimum(idx, n_dates - 1)] != series.dates)
            ]
            raise ValueError(f"{symbol}: real rows on dates that are not NYSE sessions: {bad[:5]}")
        o[idx, j], h[idx, j], lo[idx, j] = series.open, series.high, series.low
        c[idx, j], adj[idx, j], vol[idx, j] = series.close, series.adj_close, series.volume
        names, codes = np.unique(series.source, return_inverse=True)
        code_of = []
        for name in names:
            if name not in sources:
                sources.append(str(name))
            code_of.append(sources.index(str(name)))
        src[idx, j] = np.asarray(code_of, dtype=np.int16)[codes]
        consecutive = np.diff(idx) == 1
        real_ret[idx[1:][consecutive], j] = np.diff(np.log(series.close))[consecutive]
        first_row[j], last_row[j] = idx[0], idx[-1]

    # Bootstrap pool: real days where most of the universe has data and every root has.
    real_cols = [column[s] for s in real]
    roots = [column[s] for s in symbols if secs[s].proxy is None]
    in_pool = _bootstrap_pool(real_ret, i_last_real, real_cols, roots)
    pool = np.flatnonzero(in_pool)
    if pool.size == 0:
        raise ValueError("no real day has data for most of the universe: cannot bootstrap")
    day = _bootstrap_days(seed, ordinals, i_last_real, pool)
    ret, sigma, sigma_long = _close_paths(
        seed, symbols, column, secs, dates, ordinals, first_row, last_row, i_last_real,
        real_ret, day, in_pool, c, src,
    )  # fmt: skip

    intraday = _calibrate_intraday(real)
    _fill_bars(seed, symbols, secs, dates, ordinals, first_row, last_row, intraday,
               c, o, h, lo, adj, vol, ret, sigma, sigma_long, real)  # fmt: skip
    return _Universe(
        dates=dates,
        symbols=symbols,
        column=column,
        open=o,
        high=h,
        low=lo,
        close=c,
        adj_close=adj,
        volume=vol,
        source=src,
        sources=tuple(sources),
        returns=ret,
        sigma=sigma,
        sigma_long=sigma_long,
        horizon=dates[-1].astype(object),
        last_real_date=last_real,
        pool=(dates[pool[0]].astype(object), dates[pool[-1]].astype(object), int(pool.size)),
        intraday_source=intraday.source,
        intraday=intraday,
    )
