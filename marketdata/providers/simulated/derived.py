"""The index-universe names (``index_universe.json``), generated one at a time on demand.

Why not in the joint universe: ~1,100 names on the full session grid would multiply the
cached universe (~30 MB) forty-fold. None of them has real history, so each is a function of
the joint universe and its own random streams only: ``r = beta * r_proxy + e`` with
``r_proxy`` the weighted sum of its proxy members' returns in the joint universe and
``e ~ N(0, residual_vol^2 / 252)`` drawn from the stream ("residual", symbol) — the same
relation and streams as a proxied symbol of securities.json (:mod:`.paths`). A name starts
at PROXY_HISTORY_START (or its first trade date) and is at UNKNOWN_ANCHOR_LEVEL on
DEFAULT_ANCHOR_DATE unless it states an anchor (no real close is known: a stated level); bars and volume come from :func:`.bars._fill_bars` with the joint universe's intraday
calibration. Every row is ``simulated``. The result is a one-column universe on the same
grid, cached on the joint universe (so values never depend on which names were asked first).
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np

from marketdata.providers.simulated.bars import _fill_bars
from marketdata.providers.simulated.paths import (
    PROXY_HISTORY_START,
    UNKNOWN_ANCHOR_LEVEL,
    _ewma_var,
)
from marketdata.providers.simulated.reference import _Security
from marketdata.providers.simulated.streams import _date_ordinals, _normal
from marketdata.providers.simulated.universe import _CACHE_LOCK, SIMULATED, _Universe
from risk.engine.conventions import TRADING_DAYS_PER_YEAR

#: Where a name without a stated anchor is at UNKNOWN_ANCHOR_LEVEL: the as-of date of the
#: reference data (the last session of 2022, as the curated anchors), so that today's level
#: reflects the path since then, not a compounding from 2014.
DEFAULT_ANCHOR_DATE = dt.date(2022, 12, 30)
#: Derived names kept per joint universe (~0.4 MB each on the shipped grid).
DERIVED_CACHE_SIZE = 256


def derived_universe(u: _Universe, sec: _Security, seed: int) -> _Universe:
    """The one-column universe of the index-universe name ``sec`` (module docstring),
    from the cache on ``u`` when already made."""
    with _CACHE_LOCK:
        cached = u.derived.get(sec.symbol)
    if cached is not None:
        return cached
    made = _derive(u, sec, seed)
    with _CACHE_LOCK:
        u.derived[sec.symbol] = made
        while len(u.derived) > DERIVED_CACHE_SIZE:
            u.derived.pop(next(iter(u.derived)))
    return made


def _derive(u: _Universe, sec: _Security, seed: int) -> _Universe:
    symbol = sec.symbol
    dates = u.dates
    n = dates.size
    ordinals = _date_ordinals(dates)
    first = np.datetime64(PROXY_HISTORY_START, "D")
    if sec.first_date is not None:
        first = max(first, np.datetime64(sec.first_date, "D"))
    start = int(np.searchsorted(dates, first))
    if start >= n - 1:
        raise ValueError(f"{symbol}: starts after the last generated session")

    proxy_ret = np.zeros(n)
    for member, weight in (sec.proxy or {}).items():
        proxy_ret += weight * np.nan_to_num(u.returns[:, u.column[member]])
    resid = _normal(seed, "residual", symbol, ordinals)
    resid *= sec.residual_vol / math.sqrt(TRADING_DAYS_PER_YEAR)
    r = sec.beta * proxy_ret + resid
    r[: start + 1] = np.nan

    c = np.full((n, 1), np.nan)
    cum = np.r_[0.0, np.cumsum(r[start + 1 :])]
    anchor_date = sec.anchor_date or DEFAULT_ANCHOR_DATE
    a = int(np.searchsorted(dates, np.datetime64(anchor_date, "D")))
    if a >= n or dates[a] != np.datetime64(anchor_date, "D") or a < start:
        if sec.anchor_date is not None:
            raise ValueError(f"{symbol}: anchor date {sec.anchor_date} is not a session")
        a = start  # a name listed after the default anchor starts at the level
    level = sec.anchor_close or UNKNOWN_ANCHOR_LEVEL
    c[start:, 0] = level * np.exp(cum - cum[a - start])

    ret = r.reshape(n, 1)
    sigma = np.full((n, 1), np.nan)
    valid = r[start + 1 :]
    sigma[start + 1 :, 0] = np.sqrt(_ewma_var(valid))
    i_last_real = int(np.searchsorted(dates, np.datetime64(u.last_real_date, "D")))
    window = r[start + 1 : i_last_real + 1]
    sigma_long = np.array([float(np.std(window)) if window.size > 20 else float(np.std(valid))])

    o, h, lo, adj, vol = (np.full((n, 1), np.nan) for _ in range(5))
    _fill_bars(seed, (symbol,), {symbol: sec}, dates, ordinals, np.array([-1]), np.array([-1]),
               u.intraday, c, o, h, lo, adj, vol, ret, sigma, sigma_long, {})  # fmt: skip
    source = np.where(np.isfinite(c), 0, -1).astype(np.int16)
    return _Universe(
        dates=dates,
        symbols=(symbol,),
        column={symbol: 0},
        open=o,
        high=h,
        low=lo,
        close=c,
        adj_close=adj,
        volume=vol,
        source=source,
        sources=(SIMULATED,),
        returns=ret,
        sigma=sigma,
        sigma_long=sigma_long,
        horizon=u.horizon,
        last_real_date=u.last_real_date,
        pool=u.pool,
        intraday_source=u.intraday_source,
        intraday=u.intraday,
    )
