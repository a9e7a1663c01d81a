"""The intraday process: minute paths inside a session's daily bar.

Pure numpy. A session has ``n`` minutes (390 from 09:30 to 16:00 ET, 210 on an early close);
minute m runs from m to m + 1 minutes after the open.

* **Volatility U-shape.** The per-minute volatility of log returns follows
  s(m) = base + a_open exp(−m / τ_open) + a_close exp(−(n − 1 − m) / τ_close): high after the
  open, lowest in the early afternoon, higher again into the close. :data:`VOLATILITY_SHAPE`
  is fitted (:func:`fit_u_shape`) on the real S&P 500 1-minute sessions of 2019-11-05 to 08
  (``seed_data/recorded/``): the within-session RMS minute return over 09:30–10:00,
  12:15–13:15 and 15:30–16:00 (the first minute from the open, so the overnight gap, which
  the daily bar's open already carries, is not counted as intraday volatility).
* **Volume U-shape.** Real minute volumes are not in the recorded file, so
  :data:`VOLUME_SHAPE` follows the documented figures: about 15% of the day's volume in
  the first 30 minutes, 14% in the last 30, and the low at about 12:45–13:00.
* **Bridge.** A session's path runs from the day's open to its close as a Brownian bridge
  in log price whose clock is the cumulative variance of the U-shape, from the caller's
  normals (correlated across symbols by :func:`correlated_normals`). The daily bar the
  process produces is the bars' own: the open and close it was pinned to, and the highest
  high and lowest low of its minutes. (Mapping a path onto a given high and low instead
  stretches the moves where the path touches the open-close body, at the open and the
  close, and inflated the first half hour's volatility by a fifth in a test.)

Units: prices in the instrument's units (USD per share, index points), volatilities as
the standard deviation of a log return over the stated interval, volumes in shares.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "SESSION_MINUTES",
    "VOLATILITY_DECAYS",
    "VOLATILITY_SHAPE",
    "VOLATILITY_WINDOWS",
    "VOLUME_SHAPE",
    "MinuteBars",
    "UShape",
    "correlated_normals",
    "fit_u_shape",
    "minute_bars",
    "parkinson_volatility",
    "session_minute_returns",
    "volatility_profile",
    "volume_profile",
    "window_rms",
]

FloatArray = NDArray[np.float64]

#: Minutes of a full NYSE session (09:30–16:00 ET).
SESSION_MINUTES = 390
#: Windows of the calibration, minutes from the open: the first half hour, midday
#: (12:15–13:15) and the last half hour.
VOLATILITY_WINDOWS: tuple[tuple[int, int], ...] = ((0, 30), (165, 225), (360, 390))
#: Decay of the open and close effects of the volatility U-shape, minutes.
VOLATILITY_DECAYS = (25.0, 20.0)
#: Intraday high-low excursion of a minute bar beyond its open-close body, in units of the
#: minute's volatility (the mean of |N(0, 1)| / 2 per side on average).
WICK_SCALE = 0.5


@dataclass(frozen=True)
class UShape:
    """s(m) = base + open_amp exp(−m / open_decay) + close_amp exp(−(n − 1 − m) / close_decay),
    m the minute from the open (0 … n − 1); decays in minutes."""

    base: float
    open_amp: float
    open_decay: float
    close_amp: float
    close_decay: float

    def values(self, n: int = SESSION_MINUTES) -> FloatArray:
        m = np.arange(n, dtype=np.float64)
        out: FloatArray = (
            self.base
            + self.open_amp * np.exp(-m / self.open_decay)
            + self.close_amp * np.exp(-(n - 1 - m) / self.close_decay)
        )
        return out


def _basis(n: int, open_decay: float, close_decay: float) -> FloatArray:
    m = np.arange(n, dtype=np.float64)
    return np.stack([np.ones(n), np.exp(-m / open_decay), np.exp(-(n - 1 - m) / close_decay)])


def fit_u_shape(
    targets: Sequence[float],
    windows: Sequence[tuple[int, int]],
    *,
    open_decay: float,
    close_decay: float,
    n: int = SESSION_MINUTES,
    statistic: str = "mean",
) -> UShape:
    """The U-shape with the given decays whose mean (``statistic="mean"``) or sum
    (``"sum"``) over each of three ``windows`` [a, b) equals ``targets``."""
    if len(targets) != 3 or len(windows) != 3:
        raise ValueError("three windows and three targets fix the three amplitudes")
    basis = _basis(n, open_decay, close_decay)
    reduce = np.mean if statistic == "mean" else np.sum
    system = np.array([[reduce(row[a:b]) for row in basis] for a, b in windows])
    base, open_amp, close_amp = np.linalg.solve(system, np.asarray(targets, dtype=np.float64))
    return UShape(float(base), float(open_amp), open_decay, float(close_amp), close_decay)


def session_minute_returns(opens: ArrayLike, closes: ArrayLike) -> FloatArray:
    """Within-session minute log returns, (sessions, n): the first from the session's first
    open, then close to close. ``opens`` and ``closes`` are (sessions, n) minute bars."""
    o = np.asarray(opens, dtype=np.float64)
    c = np.asarray(closes, dtype=np.float64)
    path = np.log(np.concatenate([o[:, :1], c], axis=1))
    out: FloatArray = np.diff(path, axis=1)
    return out


def window_rms(minute_returns: ArrayLike, windows: Sequence[tuple[int, int]]) -> FloatArray:
    """Root mean square of the minute returns over each window, pooled over sessions."""
    r = np.asarray(minute_returns, dtype=np.float64)
    return np.array([float(np.sqrt(np.nanmean(r[:, a:b] ** 2))) for a, b in windows])


#: Fitted on the recorded S&P 500 sessions (module docstring; a test refits it): RMS minute
#: returns 2.73e-4, 1.08e-4 and 1.99e-4 over the three windows, i.e. the first half hour
#: about 2.5 times midday and the last half hour about 1.85 times. (Counted from the
#: previous close, with the overnight gap in the first minute, the same file gives about
#: 4.5 times: the figure often quoted as "5 times" mixes the gap into the open.)
VOLATILITY_SHAPE = UShape(
    base=1.0741e-4,
    open_amp=2.7893e-4,
    open_decay=VOLATILITY_DECAYS[0],
    close_amp=1.7304e-4,
    close_decay=VOLATILITY_DECAYS[1],
)
#: Volume shares: 15% in the first 30 minutes, 14% in the last 30, decays of 40 minutes,
#: so the low falls at minute 197 (12:47 ET).
VOLUME_SHAPE = fit_u_shape(
    (1.0, 0.15, 0.14),
    ((0, SESSION_MINUTES), (0, 30), (360, SESSION_MINUTES)),
    open_decay=40.0,
    close_decay=40.0,
    statistic="sum",
)


def parkinson_volatility(high: ArrayLike, low: ArrayLike) -> FloatArray:
    """Open-to-close volatility of a log return implied by a session's range (Parkinson,
    1980): ln(high / low) / (2 sqrt(ln 2)); 0 for a session without range."""
    h = np.asarray(high, dtype=np.float64)
    lo = np.asarray(low, dtype=np.float64)
    out: FloatArray = np.log(h / lo) / (2.0 * np.sqrt(np.log(2.0)))
    return out


def volatility_profile(n: int = SESSION_MINUTES) -> FloatArray:
    """Relative volatility of each of ``n`` minutes, with mean square 1: a session whose
    open-to-close volatility is σ has minute volatilities σ · profile / √n."""
    s = VOLATILITY_SHAPE.values(n)
    out: FloatArray = s / np.sqrt(np.mean(s**2))
    return out


def volume_profile(n: int = SESSION_MINUTES) -> FloatArray:
    """Share of the session's volume traded in each of ``n`` minutes (sums to 1)."""
    v = np.clip(VOLUME_SHAPE.values(n), 1e-12, None)
    out: FloatArray = v / v.sum()
    return out


def correlated_normals(independent: ArrayLike, correlation: ArrayLike) -> FloatArray:
    """Rows of ``independent`` (k, n) standard normals made correlated as ``correlation``
    (k, k) says, by its Cholesky factor (its PSD square root where it is singular)."""
    z = np.asarray(independent, dtype=np.float64)
    c = np.asarray(correlation, dtype=np.float64)
    try:
        root = np.linalg.cholesky(c)
    except np.linalg.LinAlgError:
        vals, vecs = np.linalg.eigh(0.5 * (c + c.T))
        root = vecs * np.sqrt(np.clip(vals, 0.0, None))
    out: FloatArray = root @ z
    return out


@dataclass(frozen=True)
class MinuteBars:
    """Minute bars of k symbols over the first ``n`` minutes of a session, each (k, n)."""

    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray


def minute_bars(
    day_open: ArrayLike,
    day_close: ArrayLike,
    day_volume: ArrayLike,
    session_volatility: ArrayLike,
    normals: ArrayLike,
    wick_normals: ArrayLike,
    volume_noise: ArrayLike,
    *,
    minutes: int = SESSION_MINUTES,
) -> MinuteBars:
    """Minute bars of k symbols for a whole session of ``minutes`` minutes.

    ``day_open``, ``day_close`` (k,): the session's open and close; ``day_volume`` (k,): its
    volume in shares (NaN if unknown); ``session_volatility`` (k,): the open-to-close
    volatility of a log return (VIX / 100 / √252 is about SPY's daily move);
    ``normals`` (k, minutes): standard normals of the minute returns, correlated across
    symbols as the caller wants; ``wick_normals`` (k, minutes) for the excursions of high
    and low beyond each bar's body; ``volume_noise`` (k, minutes): standard normals of the
    log-normal noise (scaled by 0.25) of the volume split.

    The path is a Brownian bridge from the open to the close in log price, on the clock of
    the U-shape's cumulative variance, so the first open is the open and the last close the
    close exactly; the session's high and low are those of the bars (the daily bar the
    process produces), and the volumes sum to the day's where it is known.
    """
    o, c = (np.asarray(x, dtype=np.float64).reshape(-1) for x in (day_open, day_close))
    volume = np.asarray(day_volume, dtype=np.float64).reshape(-1)
    sigma_day = np.asarray(session_volatility, dtype=np.float64).reshape(-1)
    z = np.asarray(normals, dtype=np.float64)
    k = o.size
    if z.shape != (k, minutes):
        raise ValueError(f"normals must be ({k}, {minutes})")
    if np.any(~((o > 0) & (c > 0) & (sigma_day >= 0))):
        raise ValueError("open and close must be positive and the volatility non-negative")
    minute_sigma = sigma_day[:, None] * volatility_profile(minutes)[None, :] / np.sqrt(minutes)
    walk = np.cumsum(minute_sigma * z, axis=1)
    clock = np.cumsum(minute_sigma**2, axis=1)
    total = clock[:, -1:]
    linear = np.broadcast_to(np.arange(1, minutes + 1) / minutes, clock.shape)
    share = np.divide(clock, total, out=linear.copy(), where=total > 0)
    # Pinned at log(close / open) on the last minute; without volatility, a straight line.
    bridge = walk - share * walk[:, -1:] + share * np.log(c / o)[:, None]
    closes = o[:, None] * np.exp(bridge)
    closes[:, -1] = c
    opens = np.concatenate([o[:, None], closes[:, :-1]], axis=1)
    wick = WICK_SCALE * minute_sigma * np.abs(np.asarray(wick_normals, dtype=np.float64))
    highs = np.maximum(opens, closes) * np.exp(wick)
    lows = np.minimum(opens, closes) * np.exp(-wick)
    weights = volume_profile(minutes)[None, :] * np.exp(
        0.25 * np.asarray(volume_noise, dtype=np.float64)
    )
    weights /= weights.sum(axis=1, keepdims=True)
    volumes = np.floor(weights * volume[:, None])
    short = volume - volumes.sum(axis=1)  # the shares that rounding down left out
    known = np.isfinite(short)
    volumes[known, -1] += short[known]  # the closing minute takes them (the close auction)
    return MinuteBars(open=opens, high=highs, low=lows, close=closes, volume=volumes)
