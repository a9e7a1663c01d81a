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
  in log price whose clock is the cumulative variance of the U-shape
  (:func:`bridge_paths`), from normals correlated with the market's
  (:func:`one_factor_normals`).
* **Agreeing with the daily bar.** Of several candidate paths the one whose high and low
  are nearest the day's is kept (:func:`best_candidates`), then mapped onto the day's range
  by a monotone map that holds the open-close body (:func:`fit_to_range`), so the minute
  bars agree with the daily bar exactly. Mapping a single path stretches its moves where
  it touches the body, at the open and the close (the first half hour came out 17% too
  volatile in a test); choosing among 16 candidates first leaves it within about 2%.

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
    "best_candidates",
    "bridge_paths",
    "fit_to_range",
    "fit_u_shape",
    "minute_bars",
    "minute_volatility",
    "one_factor_normals",
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


def one_factor_normals(market: ArrayLike, own: ArrayLike, correlation: ArrayLike) -> FloatArray:
    """Standard normals correlated with the market's: rho * market + sqrt(1 − rho²) * own.

    ``market`` (n,): the market's normals (SPY's chosen path); ``own`` (k, c, n): each
    symbol's own normals for c candidates; ``correlation`` (k,): each symbol's correlation
    with the market, in [−1, 1]. Two symbols then correlate as rho_i rho_j, and a symbol's
    path does not depend on which other symbols are asked for."""
    m = np.asarray(market, dtype=np.float64)
    e = np.asarray(own, dtype=np.float64)
    rho = np.clip(np.asarray(correlation, dtype=np.float64).reshape(-1), -1.0, 1.0)
    out: FloatArray = rho[:, None, None] * m + np.sqrt(1.0 - rho**2)[:, None, None] * e
    return out


@dataclass(frozen=True)
class MinuteBars:
    """Minute bars of k symbols over the first ``n`` minutes of a session, each (k, n)."""

    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray


def minute_volatility(session_volatility: ArrayLike, minutes: int = SESSION_MINUTES) -> FloatArray:
    """(k, minutes) volatility of each minute's log return: the session's open-to-close
    volatility spread over its minutes by the U-shape."""
    sigma = np.asarray(session_volatility, dtype=np.float64).reshape(-1)
    out: FloatArray = sigma[:, None] * volatility_profile(minutes)[None, :] / np.sqrt(minutes)
    return out


def bridge_paths(
    day_open: ArrayLike, day_close: ArrayLike, session_volatility: ArrayLike, normals: ArrayLike
) -> FloatArray:
    """Price paths (k, c, n + 1) from the open to the close: for each of k symbols and c
    candidate draws of ``normals`` (k, c, n), a Brownian bridge in log price on the clock
    of the U-shape's cumulative variance, pinned at the open (column 0) and exactly at the
    close (column n). Without volatility, a straight line in log price."""
    o, c = (np.asarray(x, dtype=np.float64).reshape(-1) for x in (day_open, day_close))
    z = np.asarray(normals, dtype=np.float64)
    if z.ndim != 3 or z.shape[0] != o.size:
        raise ValueError(f"normals must be ({o.size}, candidates, minutes)")
    if np.any(~((o > 0) & (c > 0))):
        raise ValueError("open and close must be positive")
    n = z.shape[2]
    sigma = minute_volatility(session_volatility, n)[:, None, :]  # (k, 1, n)
    walk = np.cumsum(sigma * z, axis=2)
    clock = np.cumsum(sigma**2, axis=2)
    total = clock[..., -1:]
    linear = np.broadcast_to(np.arange(1, n + 1) / n, clock.shape)
    share = np.divide(clock, total, out=linear.copy(), where=total > 0)
    bridge = walk - share * walk[..., -1:] + share * np.log(c / o)[:, None, None]
    paths = o[:, None, None] * np.exp(np.concatenate([np.zeros((*z.shape[:2], 1)), bridge], axis=2))
    paths[..., -1] = c[:, None]
    out: FloatArray = paths
    return out


def best_candidates(paths: ArrayLike, day_high: ArrayLike, day_low: ArrayLike) -> NDArray[np.intp]:
    """Per symbol, the candidate path (k, c, n + 1) whose high and low are nearest the
    day's, in |log(path high / high)| + |log(path low / low)|."""
    p = np.asarray(paths, dtype=np.float64)
    h = np.asarray(day_high, dtype=np.float64).reshape(-1, 1)
    lo = np.asarray(day_low, dtype=np.float64).reshape(-1, 1)
    miss = np.abs(np.log(p.max(axis=2) / h)) + np.abs(np.log(p.min(axis=2) / lo))
    out: NDArray[np.intp] = np.argmin(miss, axis=1)
    return out


def fit_to_range(path: ArrayLike, low: float, high: float) -> FloatArray:
    """One price path (open first, close last) mapped onto the day's range [low, high] by
    a monotone, piecewise-linear map of prices that holds the open-close body fixed: the
    path's highest price becomes the high and its lowest the low. Where the path never
    left the body on a side where the day did, its most extreme interior minute on that
    side touches the day's extreme."""
    x = np.asarray(path, dtype=np.float64)
    body_low, body_high = float(min(x[0], x[-1])), float(max(x[0], x[-1]))
    if not low <= body_low <= body_high <= high:
        raise ValueError("the day's range must hold its open and close")
    p_min, p_max = float(x.min()), float(x.max())
    xp = [p_min, body_low, body_high, p_max]
    fp = [low, body_low, body_high, high]
    keep = [0] + [i for i in range(1, 4) if xp[i] > xp[i - 1]]
    out: FloatArray = np.interp(x, [xp[i] for i in keep], [fp[i] for i in keep])
    if x.size > 2:
        interior = x[1:-1]
        if p_min >= body_low and low < body_low:
            out[1 + int(np.argmin(interior))] = low
        if p_max <= body_high and high > body_high:
            out[1 + int(np.argmax(interior))] = high
    out[0], out[-1] = x[0], x[-1]
    return out


def minute_bars(
    paths: ArrayLike,
    session_volatility: ArrayLike,
    day_volume: ArrayLike,
    wick_normals: ArrayLike,
    volume_noise: ArrayLike,
    *,
    day_high: ArrayLike | None = None,
    day_low: ArrayLike | None = None,
) -> MinuteBars:
    """Minute bars of k symbols from their price paths (k, n + 1) (open first, then each
    minute's close), for a session of n minutes.

    ``session_volatility`` (k,): open-to-close volatility of a log return, which sets the
    wicks; ``day_volume`` (k,): the session's volume in shares (NaN if unknown);
    ``wick_normals`` (k, n): normals of the high and low excursions beyond each bar's body;
    ``volume_noise`` (k, n): normals of the log-normal noise (scaled by 0.25) of the volume
    split. With ``day_high`` and ``day_low`` (k,), the paths are first mapped onto that
    range (:func:`fit_to_range`) and the wicks kept inside it, so that the bars agree with
    the daily bar exactly: the first open is the open, the last close the close, the
    highest high the high, the lowest low the low, and the volumes sum to the volume.
    """
    p = np.asarray(paths, dtype=np.float64)
    k, n = p.shape[0], p.shape[1] - 1
    if day_high is not None and day_low is not None:
        h = np.asarray(day_high, dtype=np.float64).reshape(-1)
        lo = np.asarray(day_low, dtype=np.float64).reshape(-1)
        p = np.stack([fit_to_range(p[i], float(lo[i]), float(h[i])) for i in range(k)])
    else:
        h, lo = np.full(k, np.inf), np.zeros(k)
    opens, closes = p[:, :-1], p[:, 1:]
    sigma = minute_volatility(session_volatility, n)
    wick = WICK_SCALE * sigma * np.abs(np.asarray(wick_normals, dtype=np.float64))
    highs = np.minimum(np.maximum(opens, closes) * np.exp(wick), h[:, None])
    lows = np.maximum(np.minimum(opens, closes) * np.exp(-wick), lo[:, None])
    volume = np.asarray(day_volume, dtype=np.float64).reshape(-1)
    weights = volume_profile(n)[None, :] * np.exp(0.25 * np.asarray(volume_noise, dtype=np.float64))
    weights /= weights.sum(axis=1, keepdims=True)
    volumes = np.floor(weights * volume[:, None])
    short = volume - volumes.sum(axis=1)  # the shares that rounding down left out
    known = np.isfinite(short)
    volumes[known, -1] += short[known]  # the closing minute takes them (the close auction)
    return MinuteBars(open=opens.copy(), high=highs, low=lows, close=closes.copy(), volume=volumes)
