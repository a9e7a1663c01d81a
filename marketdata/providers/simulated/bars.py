"""Daily bars of the simulated rows: open, high and low from the close path, and volume.

The intraday shape (overnight gap, excursions beyond the open-close body) and the volume's
response to |return| and to the volatility regime are calibrated on the real ^GSPC OHLCV and
scaled by each symbol's own EWMA volatility (package docstring, "Bars"). Prices in USD per
share (index points for indices), volume in shares (NaN where unknown), sigma daily.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from marketdata.providers.simulated.paths import (
    EWMA_SEED_RETURNS,
    UNKNOWN_ANCHOR_LEVEL,
    _ewma_var,
)
from marketdata.providers.simulated.reference import _RealSeries, _Security
from marketdata.providers.simulated.streams import _normal, _uniform
from risk.engine.conventions import TRADING_DAYS_PER_YEAR

#: Daily dollar volume of a symbol without real volumes, by asset type (shares = this / its
#: reference close). Mutual funds and indices have no exchange volume: NaN.
DEFAULT_DOLLAR_VOLUME = {"stock": 1.0e9, "etf": 5.0e8}


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
            return float(np.median(real_v[-TRADING_DAYS_PER_YEAR:]))
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
