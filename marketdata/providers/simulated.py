"""The simulated market-data provider: real history, carried to today by resampling it.

Why: only ~28 of the symbols SigmaSight uses have real daily history in the repo, and every
real series ends between 2018 and 2022 (``seed_data/PROVENANCE.md``). The risk engine needs a
price for every symbol on every session up to today, with realistic volatility, fat tails and
cross-correlations. This module makes them, deterministically for a given seed, and labels
every value it makes ``source="simulated"`` (docs RISK-MODEL.md, "Data").

How a close is made (all returns are daily log returns):

* **Real rows** are the rows of ``seed_data/real_history.csv.gz`` as they are, with their
  dataset name as ``source``. They stop at each symbol's last real date.
* **Joint stationary block bootstrap** (Politis-Romano, mean block 5 sessions). Every session
  after the last real date of the file draws one *real day* from the pool of days on which
  at least 90% of the real-history symbols (and every symbol without a proxy, i.e. ^GSPC)
  have a return: 2014-01-03 to 2022-12-28 in the shipped file. Each symbol then takes its
  own real return of that same day, so cross-correlations, fat tails and the co-movement in
  crashes survive. A new block starts with probability 1/5 per session, else the next real
  day follows (wrapping around the pool).
* **Proxy relation.** A symbol with no real return on a day (a proxied symbol, or a real one
  whose file ends early, e.g. ^IXIC after 2018, ^VIX after 2019-01-03) takes
  ``r = beta * r_proxy + e``, ``e ~ N(0, residual_vol^2 / 252)``, with the proxy, beta and
  residual volatility stated in ``securities.json`` (a basket proxy is a weighted sum of its
  members' returns). Proxied symbols start at 2014-01-02 (or their first trading date, if
  later) and their path is scaled so that the close on ``anchor.date`` is ``anchor.close``
  (a real close; 100.0 where the anchor is unknown, see REFERENCE_DATA.md).
* **^VIX** is a level, not a price: its simulated log level mean-reverts (see
  ``mean_reversion`` in securities.json) so that it stays in its historical range.

Determinism and stability: randomness comes from a counter-based generator (splitmix64 of a
BLAKE2 key of (seed, stream, symbol) and the session's date), not from a sequential stream.
Each session's bootstrap draw depends only on (seed, date), each residual only on
(seed, symbol, date), and every recursion (block chain, EWMA volatility, mean reversion)
runs forward in time. So a value never depends on which symbols are requested, on
start/end, or on ``today`` for dates before it: moving ``today`` later only appends. The
generated universe is cached in memory per (files, seed); a cached universe that reaches at
least as far as a new ``today`` serves it unchanged.

Bars: simulated rows get OHLC from the close path with the intraday shape of the real
^GSPC OHLC (2008-2018; overnight gap as a share of the return plus noise, and the excursions
of high and low beyond the open-close body, all in units of the day's volatility), scaled by
the symbol's own EWMA volatility. Volume is a per-symbol level (median of the last 252 real
volumes where the file has them, else a dollar-volume default per asset type) times noise
that rises with |return| and with the volatility regime, also calibrated on ^GSPC. Real
skfolio rows keep their empty OHLC and volume. ``adj_close == close`` on simulated rows.

Units: prices in USD per share (index points for indices), volume in shares (NaN where
unknown), volatilities annualized fractions with 252 sessions a year unless named daily,
rates continuously compounded annual decimals, timestamps aware UTC.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.signal import lfilter
from scipy.special import ndtri

from marketdata import calendar
from marketdata.occ import InvalidOptionSymbol, OptionContract, parse_occ
from marketdata.providers.base import HISTORY_COLUMNS, Profile, QuoteData, empty_history
from risk.engine.conventions import BLACK76_UNDERLYINGS, EWMA_LAMBDA, TRADING_DAYS_PER_YEAR
from risk.engine.pricing import (
    IV_OK,
    black76_price,
    bsm_price,
    implied_volatility,
    years_from_minutes,
)

__all__ = ["DEFAULT_HISTORY_PATH", "DEFAULT_REFERENCE_PATH", "SimulatedProvider"]

SEED_DIR = Path(__file__).resolve().parents[1] / "seed_data"
DEFAULT_HISTORY_PATH = SEED_DIR / "real_history.csv.gz"
DEFAULT_REFERENCE_PATH = SEED_DIR / "securities.json"
DEFAULT_SEED = 20240101
DEFAULT_RATE = 0.04
SIMULATED = "simulated"

# --- price model -------------------------------------------------------------------------
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
TRADING_DAYS = TRADING_DAYS_PER_YEAR
#: Returns used to seed the EWMA variance (their mean square).
EWMA_SEED_RETURNS = 20

# --- quotes ------------------------------------------------------------------------------
#: Full bid-ask spread of stocks and ETFs in basis points of the price, by the curated
#: ``liquidity_tier``: 1 = the most traded names and ETFs (SPY, QQQ, AAPL...), 2 = other large
#: caps and large ETFs, 3 = smaller or thinner names. Untiered stocks/ETFs count as tier 3.
EQUITY_SPREAD_BPS = {1: 1.0, 2: 3.0, 3: 10.0}
#: Option spread by the underlying's tier: (fraction of the mid, cap in $); never below 2 ticks.
OPTION_SPREAD = {1: (0.03, 0.50), 2: (0.06, 1.00), 3: (0.10, 2.00)}
OPTION_TICK = 0.01
CENT = 0.01
#: Implied volatility model for simulated option quotes, from the underlying's EWMA realized
#: volatility sigma_0 and its long-run realized volatility sigma_L (pool window):
#: ATM variance mean-reverts from sigma_0^2 to sigma_L^2 at TERM_KAPPA per year (the expected
#: average variance to expiry, as in Heston), times a volatility risk premium VOL_PREMIUM;
#: the smile is sigma_atm * (1 - s*z + SKEW_CURVE*z^2) in z = ln(K/F) / (sigma_atm sqrt(t)),
#: z clipped to +-SKEW_Z_CLIP, with s = +SKEW_SLOPE for equities (put skew) and -SKEW_SLOPE
#: for VIX (call skew). Floor VOL_FLOOR.
VOL_PREMIUM = 1.10
TERM_KAPPA = 2.0
SKEW_SLOPE = 0.12
SKEW_CURVE = 0.02
SKEW_Z_CLIP = 3.0
VOL_FLOOR = 0.05
#: Typical daily option volume in contracts at the money, by the underlying's tier.
OPTION_VOLUME = {1: 20_000, 2: 3_000, 3: 500}
#: Daily dollar volume of a symbol without real volumes, by asset type (shares = this / its
#: reference close). Mutual funds and indices have no exchange volume: NaN.
DEFAULT_DOLLAR_VOLUME = {"stock": 1.0e9, "etf": 5.0e8}


# --------------------------------------------------------------------------------------
# Counter-based randomness: value = f(seed, stream, symbol, date), vectorized over dates.

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def _splitmix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer on a uint64 array (wrapping arithmetic)."""
    z = x + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


def _stream_key(seed: int, stream: str, symbol: str = "") -> np.uint64:
    digest = hashlib.blake2b(f"{seed}|{stream}|{symbol}".encode(), digest_size=8).digest()
    return np.uint64(int.from_bytes(digest, "little"))


def _uniform(seed: int, stream: str, symbol: str, ordinals: np.ndarray) -> np.ndarray:
    """Uniforms in (0, 1), one per date ordinal, fixed by (seed, stream, symbol, date)."""
    x = np.asarray(ordinals, dtype=np.int64).astype(np.uint64)
    x = _splitmix(_splitmix(x) ^ _stream_key(seed, stream, symbol))
    return ((x >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53


def _normal(seed: int, stream: str, symbol: str, ordinals: np.ndarray) -> np.ndarray:
    """Standard normals by inversion of :func:`_uniform`."""
    return ndtri(_uniform(seed, stream, symbol, ordinals))


def _date_ordinals(dates: np.ndarray) -> np.ndarray:
    return dates.astype("datetime64[D]").astype(np.int64)


# --------------------------------------------------------------------------------------
# Inputs: the real history file and the reference data.


@dataclass(frozen=True)
class _RealSeries:
    """One symbol's real rows, sorted by date; NaN where the source has no such field."""

    dates: np.ndarray  # datetime64[D]
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    adj_close: np.ndarray
    volume: np.ndarray
    source: np.ndarray  # object (str)


@lru_cache(maxsize=4)
def _read_history(path: str, mtime_ns: int) -> dict[str, _RealSeries]:
    """Real rows per symbol from a file in HISTORY_COLUMNS layout (mtime only keys the cache)."""
    frame = pd.read_csv(path, dtype={"symbol": str, "date": str, "source": str})
    missing = set(HISTORY_COLUMNS) - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: missing columns {sorted(missing)}")
    frame["date"] = pd.to_datetime(frame["date"]).values.astype("datetime64[D]")
    frame = frame.sort_values(["symbol", "date"], kind="stable")
    out: dict[str, _RealSeries] = {}
    for symbol, rows in frame.groupby("symbol", sort=False):
        close = rows["close"].to_numpy(np.float64)
        adj = rows["adj_close"].to_numpy(np.float64)
        out[str(symbol)] = _RealSeries(
            dates=rows["date"].to_numpy().astype("datetime64[D]"),
            open=rows["open"].to_numpy(np.float64),
            high=rows["high"].to_numpy(np.float64),
            low=rows["low"].to_numpy(np.float64),
            close=close,
            adj_close=np.where(np.isnan(adj), close, adj),
            volume=rows["volume"].to_numpy(np.float64),
            source=rows["source"].fillna("real").to_numpy(object),
        )
    return out


@dataclass(frozen=True)
class _Security:
    """One entry of securities.json, parsed for the price model."""

    symbol: str
    info: dict[str, Any]
    proxy: dict[str, float] | None  # {member: weight}; None for a root (^GSPC)
    beta: float
    residual_vol: float  # annualized
    anchor_date: dt.date | None
    anchor_close: float | None
    first_date: dt.date | None
    mean_reversion: tuple[float, float, float, float] | None  # level, kappa/session, floor, cap

    @property
    def asset_type(self) -> str:
        return str(self.info["asset_type"])


@dataclass(frozen=True)
class _Reference:
    securities: dict[str, _Security]
    aliases: dict[str, str]
    order: tuple[str, ...]  # proxies before the symbols that use them


@lru_cache(maxsize=4)
def _read_reference(path: str, mtime_ns: int) -> _Reference:
    """Parse and check securities.json: known proxies, no proxy cycles, basket weights."""
    with open(path, encoding="utf-8") as fh:
        raw = json.load(fh)
    securities: dict[str, _Security] = {}
    for symbol, info in raw["securities"].items():
        proxy = info.get("proxy")
        weights: dict[str, float] | None = None
        beta = resid = 0.0
        if proxy:
            target = proxy["symbol"]
            weights = {target: 1.0} if isinstance(target, str) else dict(target)
            if not math.isclose(sum(weights.values()), 1.0, abs_tol=1e-9):
                raise ValueError(f"{symbol}: proxy basket weights must sum to 1, got {weights}")
            beta = float(proxy["beta"])
            resid = float(proxy["residual_vol"])
        anchor = info.get("anchor") or {}
        mr = info.get("mean_reversion")
        securities[symbol] = _Security(
            symbol=symbol,
            info=info,
            proxy=weights,
            beta=beta,
            residual_vol=resid,
            anchor_date=dt.date.fromisoformat(anchor["date"]) if anchor.get("date") else None,
            anchor_close=float(anchor["close"]) if anchor.get("close") is not None else None,
            first_date=(
                dt.date.fromisoformat(info["first_trade_date"])
                if info.get("first_trade_date")
                else None
            ),
            mean_reversion=(
                (
                    float(mr["level"]),
                    math.log(2.0) / float(mr["half_life_sessions"]),
                    float(mr.get("floor") or 0.0),
                    float(mr.get("cap") or math.inf),
                )
                if mr
                else None
            ),
        )
    for sec in securities.values():
        for member in sec.proxy or {}:
            if member not in securities:
                raise ValueError(f"{sec.symbol}: unknown proxy member {member!r}")
        if sec.info.get("history") == "proxy" and sec.proxy is None:
            raise ValueError(f"{sec.symbol}: history 'proxy' needs a proxy")
    aliases = {str(k).upper(): str(v) for k, v in raw.get("aliases", {}).items()}
    return _Reference(securities, aliases, _topological(securities))


def _topological(securities: dict[str, _Security]) -> tuple[str, ...]:
    """Symbols ordered so that every proxy member comes before its users."""
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(symbol: str, path: tuple[str, ...]) -> None:
        if state.get(symbol) == 2:
            return
        if state.get(symbol) == 1:
            raise ValueError(f"proxy cycle: {' -> '.join((*path, symbol))}")
        state[symbol] = 1
        for member in securities[symbol].proxy or {}:
            visit(member, (*path, symbol))
        state[symbol] = 2
        order.append(symbol)

    for symbol in securities:
        visit(symbol, ())
    return tuple(order)


# --------------------------------------------------------------------------------------
# Intraday shape and volume, calibrated on the real ^GSPC OHLCV.


@dataclass(frozen=True)
class _Intraday:
    """Bar model in units of the day's volatility sigma (daily, EWMA to the day before).

    open = previous close * exp(gap_beta * r + gap_noise * sigma * z);
    high = max(open, close) * exp(sigma * U), low = min(open, close) * exp(-sigma * D),
    U and D drawn from the empirical quantiles ``up`` and ``down``;
    log volume = log level + vol_abs * (|r| / sigma - mean_abs_z)
    + vol_regime * log(sigma / sigma_long) + vol_noise * z.
    """

    gap_beta: float
    gap_noise: float
    up: np.ndarray  # sorted
    down: np.ndarray  # sorted
    mean_abs_z: float
    vol_abs: float
    vol_regime: float
    vol_noise: float
    source: str


def _exponential_quantiles(mean: float) -> np.ndarray:
    p = np.linspace(0.0, 0.999, 1000)
    return -mean * np.log1p(-p)


#: Used when the history file has no usable ^GSPC OHLCV (e.g. a test fixture). The figures
#: are those fitted on the shipped file, with exponential excursions of the fitted means.
DEFAULT_INTRADAY = _Intraday(
    gap_beta=0.076,
    gap_noise=0.237,
    up=_exponential_quantiles(0.237),
    down=_exponential_quantiles(0.316),
    mean_abs_z=0.774,
    vol_abs=0.073,
    vol_regime=0.247,
    vol_noise=0.207,
    source="defaults fitted on ^GSPC 2008-2018 (arch)",
)
CALIBRATION_SYMBOL = "^GSPC"
CALIBRATION_START = np.datetime64("2008-01-01")  # before it, arch's open is often the prior close


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


def _calibrate_intraday(real: dict[str, _RealSeries]) -> _Intraday:
    """Fit :class:`_Intraday` on ^GSPC days from 2008 with a real open that differs from the
    previous close; fall back to DEFAULT_INTRADAY with fewer than 500 such days."""
    series = real.get(CALIBRATION_SYMBOL)
    if series is None:
        return DEFAULT_INTRADAY
    close = series.close
    r = np.diff(np.log(close))
    var = _ewma_var(r)
    sigma_prev = np.sqrt(np.r_[np.nan, np.mean(r[:EWMA_SEED_RETURNS] ** 2), var[:-1]])
    prev_close = np.r_[np.nan, close[:-1]]
    ret = np.r_[np.nan, r]
    o, h, lo, v = series.open, series.high, series.low, series.volume
    with np.errstate(invalid="ignore", divide="ignore"):
        gap = np.log(o / prev_close)
        ok = (
            (series.dates >= CALIBRATION_START)
            & np.isfinite(gap)
            & (np.abs(gap) > 1e-9)
            & np.isfinite(h)
            & np.isfinite(lo)
            & (sigma_prev > 0)
        )
        if ok.sum() < 500:
            return DEFAULT_INTRADAY
        g, rr, s = gap[ok], ret[ok], sigma_prev[ok]
        gap_beta = float(np.dot(rr, g) / np.dot(rr, rr))
        gap_noise = float(np.std((g - gap_beta * rr) / s))
        body_hi = np.maximum(o[ok], close[ok])
        body_lo = np.minimum(o[ok], close[ok])
        up = np.sort(np.maximum(np.log(h[ok] / body_hi), 0.0) / s)
        down = np.sort(np.maximum(np.log(body_lo / lo[ok]), 0.0) / s)
        abs_z = np.abs(rr) / s
        cal = DEFAULT_INTRADAY
        log_v = np.log(v)
        # Volume against its trailing 252-day mean; regime = EWMA vol vs trailing 252-day vol.
        base = pd.Series(log_v).rolling(252).mean().shift(1).to_numpy()
        long_sd = pd.Series(ret).rolling(252).std().shift(1).to_numpy()
        regime = np.log(sigma_prev / long_sd)
        y = (log_v - base)[ok]
        x = np.c_[abs_z, regime[ok], np.ones(abs_z.size)]
        fit = np.isfinite(y) & np.isfinite(x).all(axis=1)
        vol_abs, vol_regime, vol_noise = cal.vol_abs, cal.vol_regime, cal.vol_noise
        if fit.sum() >= 500:
            coef, *_ = np.linalg.lstsq(x[fit], y[fit], rcond=None)
            vol_abs, vol_regime = float(coef[0]), float(coef[1])
            vol_noise = float(np.std(y[fit] - x[fit] @ coef))
    return _Intraday(
        gap_beta=gap_beta,
        gap_noise=gap_noise,
        up=up,
        down=down,
        mean_abs_z=float(abs_z.mean()),
        vol_abs=vol_abs,
        vol_regime=vol_regime,
        vol_noise=vol_noise,
        source=f"fitted on {CALIBRATION_SYMBOL}, {int(ok.sum())} days from 2008",
    )


def _quantile(sorted_values: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Empirical quantile function (linear interpolation) at probabilities ``u``."""
    n = sorted_values.size
    return np.interp(u * (n - 1), np.arange(n), sorted_values)


# --------------------------------------------------------------------------------------
# The generated universe.


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


def _file_key(path: Path | str) -> tuple[str, int]:
    p = Path(path).resolve()
    return str(p), p.stat().st_mtime_ns


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
    reaches that far: values never depend on the horizon (module docstring), so a longer
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
    """Generate every symbol from the first real date to ``horizon`` (see module docstring)."""
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
    have = np.isfinite(real_ret[: i_last_real + 1])
    coverage = have[:, real_cols].mean(axis=1)
    in_pool = (coverage >= POOL_MIN_COVERAGE) & have[:, roots].all(axis=1)
    pool = np.flatnonzero(in_pool)
    if pool.size == 0:
        raise ValueError("no real day has data for most of the universe: cannot bootstrap")

    # Joint stationary bootstrap: which real day each simulated session replays.
    day = np.arange(n_dates)
    sim_ord = ordinals[i_last_real + 1 :]
    if sim_ord.size:
        restart = _uniform(seed, "block-restart", "", sim_ord) < 1.0 / MEAN_BLOCK_SESSIONS
        restart[0] = True
        pick = np.floor(_uniform(seed, "block-pick", "", sim_ord) * pool.size).astype(np.int64)
        starts = np.flatnonzero(restart)
        block = np.cumsum(restart) - 1
        offset = np.arange(sim_ord.size) - starts[block]
        day[i_last_real + 1 :] = pool[(pick[starts][block] + offset) % pool.size]

    # Returns, levels and EWMA volatility, proxies first.
    ret = np.full(shape, np.nan)
    sigma = np.full(shape, np.nan)
    sigma_long = np.full(n_sym, np.nan)
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
            resid *= sec.residual_vol / math.sqrt(TRADING_DAYS)
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
    )


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


def _fill_bars(
    seed: int,
    symbols: tuple[str, ...],
    secs: dict[str, _Security],
    dates: np.ndarray,
    ordinals: np.ndarray,
    first_row: np.ndarray,
    last_row: np.ndarray,
    cal: _Intraday,
    c: np.ndarray,
    o: np.ndarray,
    h: np.ndarray,
    lo: np.ndarray,
    adj: np.ndarray,
    vol: np.ndarray,
    ret: np.ndarray,
    sigma: np.ndarray,
    sigma_long: np.ndarray,
    real: dict[str, _RealSeries],
) -> None:
    """Open, high, low, adj_close and volume of the simulated rows, in place; closes are
    rounded to 4 decimals like the real file."""
    for j, symbol in enumerate(symbols):
        sec = secs[symbol]
        rows = np.flatnonzero(np.isfinite(c[:, j]))
        if rows.size == 0:
            continue
        sim = np.arange(last_row[j] + 1, dates.size) if first_row[j] >= 0 else rows
        if sim.size == 0:
            continue
        s_long = sigma_long[j]
        prev_sigma = np.r_[np.nan, sigma[:-1, j]][sim]
        s = np.where(np.isfinite(prev_sigma) & (prev_sigma > 0), prev_sigma, s_long)
        r = np.nan_to_num(ret[sim, j])
        close = c[sim, j]
        prev_close = np.where(sim > 0, c[np.maximum(sim - 1, 0), j], np.nan)
        prev_close = np.where(np.isfinite(prev_close), prev_close, close)
        ords = ordinals[sim]
        gap = cal.gap_beta * r + cal.gap_noise * s * _normal(seed, "gap", symbol, ords)
        opn = prev_close * np.exp(gap)
        up = _quantile(cal.up, _uniform(seed, "high", symbol, ords))
        down = _quantile(cal.down, _uniform(seed, "low", symbol, ords))
        high = np.maximum(opn, close) * np.exp(s * up)
        low = np.minimum(opn, close) * np.exp(-s * down)
        c[sim, j] = np.round(close, 4)
        o[sim, j] = np.round(opn, 4)
        h[sim, j] = np.round(high, 4)
        lo[sim, j] = np.round(low, 4)
        adj[sim, j] = c[sim, j]

        level = _volume_level(sec, real.get(symbol))
        if math.isnan(level):
            vol[sim, j] = np.nan
            continue
        log_v = (
            math.log(level)
            + cal.vol_abs * (np.abs(r) / s - cal.mean_abs_z)
            + cal.vol_regime * np.log(s / s_long)
            + cal.vol_noise * _normal(seed, "volume", symbol, ords)
        )
        vol[sim, j] = np.round(np.exp(log_v))


def _volume_level(sec: _Security, series: _RealSeries | None) -> float:
    """Typical daily volume in shares: the median of the last 252 real volumes, else the
    asset type's default dollar volume at the symbol's reference close (its anchor, or its
    last real close); NaN for mutual funds and indices without real volumes."""
    if series is not None:
        real_v = series.volume[np.isfinite(series.volume)]
        if real_v.size:
            return float(np.median(real_v[-TRADING_DAYS:]))
    dollars = DEFAULT_DOLLAR_VOLUME.get(sec.asset_type)
    if dollars is None:
        return math.nan
    if series is not None:
        ref_close = float(series.close[-1])
    elif sec.anchor_close is not None:
        ref_close = sec.anchor_close
    else:
        ref_close = UNKNOWN_ANCHOR_LEVEL
    return dollars / ref_close


# --------------------------------------------------------------------------------------
# The provider.


def _floor_tick(x: float, tick: float) -> float:
    return round(math.floor(round(x / tick, 9)) * tick, 10)


def _ceil_tick(x: float, tick: float) -> float:
    return round(math.ceil(round(x / tick, 9)) * tick, 10)


def option_sigma(
    sigma_now: float, sigma_long: float, t: float, log_moneyness: float, call_skew: bool
) -> float:
    """Volatility (annualized fraction) at which a simulated option is quoted.

    ``sigma_now``/``sigma_long``: the underlying's EWMA and long-run realized volatility
    (annualized); ``t`` in years; ``log_moneyness`` = ln(strike / forward). ATM variance
    decays from sigma_now^2 to sigma_long^2 at TERM_KAPPA per year (average expected variance
    to expiry), scaled by VOL_PREMIUM; the smile is quadratic in standardized moneyness with
    a put skew for equities and a call skew for VIX (``call_skew``). See the constants."""
    tt = max(t, 1.0 / 365.0)
    kt = TERM_KAPPA * tt
    weight = (1.0 - math.exp(-kt)) / kt
    var_atm = sigma_long**2 + (sigma_now**2 - sigma_long**2) * weight
    atm = VOL_PREMIUM * math.sqrt(max(var_atm, 0.0))
    atm = max(atm, VOL_FLOOR)
    z = log_moneyness / (atm * math.sqrt(tt))
    z = min(max(z, -SKEW_Z_CLIP), SKEW_Z_CLIP)
    slope = -SKEW_SLOPE if call_skew else SKEW_SLOPE
    return max(VOL_FLOOR, atm * (1.0 - slope * z + SKEW_CURVE * z * z))


class SimulatedProvider:
    """Deterministic simulated prices, quotes and reference data (see the module docstring).

    ``seed`` fixes every simulated value; ``today`` is the last date generated (default:
    the last completed NYSE session at construction); ``now`` is the quote timestamp
    (default: the close of the last session on or before ``today``); ``rate`` is the
    risk-free rate used for option quotes (annual decimal, continuously compounded).
    """

    name = "simulated"

    def __init__(
        self,
        seed: int = DEFAULT_SEED,
        today: dt.date | None = None,
        history_path: Path | str = DEFAULT_HISTORY_PATH,
        reference_path: Path | str = DEFAULT_REFERENCE_PATH,
        *,
        rate: float = DEFAULT_RATE,
        now: dt.datetime | None = None,
    ) -> None:
        self.seed = int(seed)
        self.rate = float(rate)
        if today is None:
            today = calendar.last_completed_session(now or dt.datetime.now(dt.UTC))
        self.today = today
        last = today if calendar.is_session(today) else calendar.previous_session(today)
        self.now = now if now is not None else calendar.session_close_utc(last)
        # Quotes use the last session closed by ``now`` (and not after ``today``).
        closed = calendar.last_completed_session(self.now)
        self.quote_date: dt.date = min(last, closed)
        self._history_key = _file_key(history_path)
        self._reference_key = _file_key(reference_path)

    # -- internals -----------------------------------------------------------------------

    @property
    def _ref(self) -> _Reference:
        return _read_reference(*self._reference_key)

    @property
    def _u(self) -> _Universe:
        return _universe(
            self._history_key, self._reference_key, self.seed, _horizon(self._ref, self.today)
        )

    def _canonical(self, symbol: str) -> str | None:
        key = symbol.strip().upper()
        ref = self._ref
        if key in ref.securities:
            return key
        return ref.aliases.get(key)

    def _row(self, d: dt.date) -> int:
        """Grid index of the last session on or before ``d``."""
        u = self._u
        return int(np.searchsorted(u.dates, np.datetime64(d, "D"), side="right")) - 1

    # -- public API ----------------------------------------------------------------------

    def universe(self) -> list[str]:
        """Every symbol with reference data and a price series, sorted."""
        return sorted(self._ref.securities)

    def proxy_for(self, symbol: str) -> dict[str, Any] | None:
        """The stated proxy of ``symbol`` (a copy of securities.json's ``proxy`` plus
        ``role``: "history" for a symbol without real history, "gap_fill" for a real one,
        whose proxy only fills days it has no real bar), or None (^GSPC, options)."""
        canonical = self._canonical(symbol)
        if canonical is None:
            return None
        info = self._ref.securities[canonical].info
        if not info.get("proxy"):
            return None
        role = "history" if info.get("history") == "proxy" else "gap_fill"
        return {**info["proxy"], "role": role}

    def history(self, symbols: Sequence[str], start: dt.date, end: dt.date) -> pd.DataFrame:
        """Daily bars in HISTORY_COLUMNS order, sorted by symbol then date, for sessions from
        ``start`` to ``min(end, today)``; unknown symbols (and options) are left out. Rows
        carry the symbol exactly as requested (an alias such as VIX stays VIX; symbols are
        matched case-insensitively), as the failover chain matches answers by that string."""
        u = self._u
        hi_date = min(end, self.today)
        lo_i = int(np.searchsorted(u.dates, np.datetime64(start, "D"), side="left"))
        hi_i = int(np.searchsorted(u.dates, np.datetime64(hi_date, "D"), side="right"))
        parts: list[dict[str, np.ndarray]] = []
        seen: set[str] = set()
        for requested in symbols:
            canonical = self._canonical(requested)
            label = requested
            if canonical is None or label in seen or hi_i <= lo_i:
                continue
            seen.add(label)
            j = u.column[canonical]
            rows = np.arange(lo_i, hi_i)
            rows = rows[u.source[lo_i:hi_i, j] >= 0]
            if rows.size == 0:
                continue
            parts.append(
                {
                    "symbol": np.full(rows.size, label, dtype=object),
                    "date": u.dates[rows].astype(object),
                    "open": u.open[rows, j],
                    "high": u.high[rows, j],
                    "low": u.low[rows, j],
                    "close": u.close[rows, j],
                    "adj_close": u.adj_close[rows, j],
                    "volume": u.volume[rows, j],
                    "source": np.asarray(u.sources, dtype=object)[u.source[rows, j]],
                }
            )
        if not parts:
            return empty_history()
        parts.sort(key=lambda p: p["symbol"][0])
        frame = pd.DataFrame(
            {col: np.concatenate([p[col] for p in parts]) for col in HISTORY_COLUMNS}
        )
        return frame.reset_index(drop=True)

    def quotes(self, symbols: Sequence[str]) -> list[QuoteData]:
        """End-of-day quotes at ``now``: ``last`` is the close of the quote session (the last
        session closed by ``now``); there is no intraday path. Stocks and ETFs get a bid/ask
        of EQUITY_SPREAD_BPS by tier around it, rounded out to the cent; mutual funds trade
        at NAV (bid = ask = last, no sizes); indices have no bid/ask. OCC option symbols are
        priced by :meth:`option_inputs`. Each quote carries the symbol exactly as requested;
        unknown symbols are left out."""
        out: list[QuoteData] = []
        for symbol in symbols:
            quote = self._option_quote(symbol) if self._is_option(symbol) else None
            if quote is None:
                quote = self._equity_quote(symbol)
            if quote is not None:
                out.append(quote)
        return out

    def profile(self, symbol: str) -> Profile | None:
        """Reference data from securities.json; options get asset_type "option" and their
        underlying's sector and industry. None for an unknown symbol."""
        canonical = self._canonical(symbol)
        if canonical is not None:
            return self._profile(canonical, symbol)
        if not self._is_option(symbol):
            return None
        contract = parse_occ(symbol)
        under = self._canonical(contract.underlying)
        if under is None:
            return None
        base = self._ref.securities[under].info
        right = "Call" if contract.is_call else "Put"
        return Profile(
            symbol=symbol,
            name=f"{contract.underlying} {contract.expiry.isoformat()} {contract.strike} {right}",
            asset_type="option",
            sector=base.get("sector"),
            industry=base.get("industry"),
            exchange=None,
            source="simulated (option on " + under + ", reference data securities.json)",
        )

    def option_inputs(self, symbol: str) -> dict[str, Any] | None:
        """The inputs and model price behind an option quote, or None when ``symbol`` is not
        an option on a known underlying. Keys: underlying, model ("bsm" or "black76"), spot
        (the underlying's close, the forward for Black-76), strike, minutes (to the expiry
        session's close), t (years), rate, div_yield (0 where unknown), sigma (annualized),
        sigma_ewma and sigma_long (the underlying's realized vols), is_call, multiplier,
        mid (the model price per unit of underlying, unrounded)."""
        if not self._is_option(symbol):
            return None
        contract = parse_occ(symbol)
        under = self._canonical(contract.underlying)
        if under is None:
            return None
        u = self._u
        j, i = u.column[under], self._row(self.quote_date)
        spot = float(u.close[i, j])
        if not math.isfinite(spot):
            return None
        sec = self._ref.securities[under]
        model = "black76" if under in BLACK76_UNDERLYINGS else "bsm"
        q = 0.0 if model == "black76" else float(sec.info.get("dividend_yield") or 0.0)
        minutes = calendar.minutes_to_expiry(self.now, contract.expiry)
        t = float(years_from_minutes(minutes))
        strike = float(contract.strike)
        annual = math.sqrt(TRADING_DAYS)
        sigma_ewma = float(u.sigma[i, j]) * annual
        sigma_long = float(u.sigma_long[j]) * annual
        forward = spot if model == "black76" else spot * math.exp((self.rate - q) * t)
        sigma = option_sigma(
            sigma_ewma, sigma_long, t, math.log(strike / forward), call_skew=model == "black76"
        )
        if model == "black76":
            mid = float(black76_price(spot, strike, t, self.rate, sigma, contract.is_call))
        else:
            mid = float(bsm_price(spot, strike, t, self.rate, q, sigma, contract.is_call))
        return {
            "underlying": under,
            "model": model,
            "spot": spot,
            "strike": strike,
            "minutes": minutes,
            "t": t,
            "rate": self.rate,
            "div_yield": q,
            "sigma": sigma,
            "sigma_ewma": sigma_ewma,
            "sigma_long": sigma_long,
            "is_call": contract.is_call,
            "multiplier": contract.multiplier,
            "mid": mid,
        }

    # -- quotes --------------------------------------------------------------------------

    def _is_option(self, symbol: str) -> bool:
        if self._canonical(symbol) is not None:
            return False
        try:
            parse_occ(symbol)
        except InvalidOptionSymbol:
            return False
        return True

    def _hash_uniform(self, stream: str, symbol: str) -> float:
        ordinal = np.array([self.quote_date.toordinal()])
        return float(_uniform(self.seed, stream, symbol, ordinal)[0])

    def _equity_quote(self, symbol: str) -> QuoteData | None:
        canonical = self._canonical(symbol)
        if canonical is None:
            return None
        u = self._u
        j, i = u.column[canonical], self._row(self.quote_date)
        if i < 0:
            return None
        last = float(u.close[i, j])
        if not math.isfinite(last):
            return None
        info = self._ref.securities[canonical].info
        volume = u.volume[i, j]
        vol_int = int(volume) if math.isfinite(volume) else None
        label = symbol
        asset_type = info["asset_type"]
        if asset_type == "index":
            bid = ask = None
            bid_size = ask_size = None
        elif asset_type == "mutual_fund":
            bid = ask = last
            bid_size = ask_size = None
        else:
            bps = EQUITY_SPREAD_BPS.get(info.get("liquidity_tier") or 3, EQUITY_SPREAD_BPS[3])
            half = last * bps / 2e4
            bid = _floor_tick(last - half, CENT)
            ask = _ceil_tick(last + half, CENT)
            if ask <= bid:
                ask = round(bid + CENT, 2)
            bid_size = 100 * (1 + int(self._hash_uniform("bid-size", canonical) * 20))
            ask_size = 100 * (1 + int(self._hash_uniform("ask-size", canonical) * 20))
        return QuoteData(
            symbol=label,
            bid=bid,
            ask=ask,
            bid_size=bid_size,
            ask_size=ask_size,
            last=last,
            volume=vol_int,
            timestamp=self.now,
            source=SIMULATED,
        )

    def _option_quote(self, symbol: str) -> QuoteData | None:
        inputs = self.option_inputs(symbol)
        if inputs is None:
            return None
        contract: OptionContract = parse_occ(symbol)
        mid = inputs["mid"]
        tier = self._ref.securities[inputs["underlying"]].info.get("liquidity_tier") or 3
        share, cap = OPTION_SPREAD.get(tier, OPTION_SPREAD[3])
        spread = max(2 * OPTION_TICK, min(share * mid, cap))
        bid = max(0.0, _floor_tick(mid - spread / 2, OPTION_TICK))
        ask = max(bid + OPTION_TICK, _ceil_tick(mid + spread / 2, OPTION_TICK))
        ask = round(ask, 2)
        quoted_mid = 0.5 * (bid + ask)
        iv_result = implied_volatility(
            quoted_mid,
            inputs["spot"],
            inputs["strike"],
            inputs["t"],
            inputs["rate"],
            inputs["div_yield"],
            inputs["is_call"],
            model=inputs["model"],
        )
        iv = float(iv_result.iv) if int(iv_result.status) == IV_OK else None
        key = contract.occ_symbol  # the random streams follow the contract, not the spelling
        # Volume falls off with distance from the money (in standard deviations).
        z = abs(math.log(inputs["strike"] / inputs["spot"])) / (
            inputs["sigma"] * math.sqrt(max(inputs["t"], 1.0 / 365.0))
        )
        base = OPTION_VOLUME.get(tier, OPTION_VOLUME[3])
        noise = math.exp(0.5 * float(ndtri(self._hash_uniform("option-volume", key))))
        volume = int(base * math.exp(-0.5 * z * z) * noise) if inputs["t"] > 0 else 0
        return QuoteData(
            symbol=symbol,
            bid=bid,
            ask=ask,
            bid_size=1 + int(self._hash_uniform("option-bid-size", key) * 50),
            ask_size=1 + int(self._hash_uniform("option-ask-size", key) * 50),
            last=round(mid, 2),
            volume=volume,
            timestamp=self.now,
            source=SIMULATED,
            implied_volatility=iv,
        )

    def _profile(self, canonical: str, label: str) -> Profile:
        sec = self._ref.securities[canonical]
        info = sec.info
        proxy_symbol = None
        if sec.proxy is not None and self._proxied_in_real_era(canonical):
            proxy_symbol = (
                next(iter(sec.proxy))
                if len(sec.proxy) == 1
                else "basket:" + "+".join(sorted(sec.proxy))
            )
        return Profile(
            symbol=label,
            name=info["name"],
            asset_type=info["asset_type"],
            sector=info.get("sector"),
            industry=info.get("industry"),
            exchange=info.get("exchange"),
            currency=info.get("currency") or "USD",
            dividend_yield=info.get("dividend_yield"),
            shares_outstanding=info.get("shares_outstanding"),
            eps_ttm=info.get("eps_ttm"),
            duration=info.get("duration"),
            proxy_symbol=proxy_symbol,
            source="securities.json (curated; see seed_data/REFERENCE_DATA.md)",
        )

    def _proxied_in_real_era(self, canonical: str) -> bool:
        """True when part of the symbol's history before the file's last real date comes from
        its proxy: a proxied symbol, or a real one whose file ends early (^IXIC, ^VIX)."""
        real = _read_history(*self._history_key)
        end = self._real_end(canonical)
        file_end = max(series.dates[-1] for series in real.values()).astype(object)
        return end is None or end < file_end

    def _real_end(self, canonical: str) -> dt.date | None:
        """Last real date of ``canonical`` in the history file (None if it has none)."""
        series = _read_history(*self._history_key).get(canonical)
        return series.dates[-1].astype(object) if series is not None else None
