"""The features behind a 0DTE signal: what the market in one ticker says at one minute.
Pure numpy.

Every feature is a **score**: a raw figure x, in units of the scale it is measured in,
squashed into (−1, 1) as tanh(x / 2), so that features of different units can be weighed
together. Directional scores are positive when the feature points up.

Inputs are the session's completed one-minute bars (oldest first) and the chain figures
the caller reads. ``sigma_1m`` is the session's realized volatility of one-minute log
returns (a fraction per minute, at least :data:`MIN_SIGMA_1M`): it is the scale of every
price feature, so a 0.1% move means more on a calm day than on a wild one.

==========================  ========  ===========  =============================================
feature                     category  directional  raw figure and scale
==========================  ========  ===========  =============================================
``momentum_5m``             momentum  yes          ln(close / close 5 minutes ago) / (sigma_1m √5)
``momentum_15m``            momentum  yes          the same over 15 minutes
``momentum_30m``            momentum  yes          the same over 30 minutes
``vwap_deviation``          momentum  yes          ln(close / session VWAP) / (sigma_1m √15)
``relative_volume``         volume    no           ln(volume so far / the mean volume of past
                                                   sessions by the same minute) / ln 2
``skew_25d``                skew      no           (25-delta put IV − 25-delta call IV) / 2 vol
                                                   points
``skew_change``             skew      yes          −(change of that skew over 30 minutes) / 1
                                                   vol point (a rising put skew is bearish)
``cross_ticker_strength``   cross     yes          (own 30-minute return − the mean of the other
                                                   tickers') / (sigma_1m √30)
``divergence``              cross     no           mean |divergence z-score| of the ticker's
                                                   pairs (scale 1)
``regime_adaptation``       regime    no           the VIX regime's adaptation factor − 1 (not
                                                   squashed: 0.2, 0, −0.3, −0.5)
==========================  ========  ===========  =============================================

tanh(x / 2) keeps a two-sigma move at 0.76 and saturates slowly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "DIRECTIONAL",
    "FEATURE_CATEGORY",
    "FEATURE_NAMES",
    "MIN_SIGMA_1M",
    "MOMENTUM_WINDOWS",
    "FeatureInputs",
    "direction_score",
    "feature_scores",
    "realized_sigma_1m",
    "skew_25_delta",
    "vwap",
]

FloatArray = NDArray[np.float64]

MOMENTUM_WINDOWS = (5, 15, 30)
#: A floor on the per-minute volatility (0.01% a minute) so that a flat tape scores 0,
#: not an infinite z.
MIN_SIGMA_1M = 1e-4
CROSS_WINDOW = 30
SKEW_CHANGE_MINUTES = 30

FEATURE_CATEGORY: dict[str, str] = {
    "momentum_5m": "momentum",
    "momentum_15m": "momentum",
    "momentum_30m": "momentum",
    "vwap_deviation": "momentum",
    "relative_volume": "volume",
    "skew_25d": "skew",
    "skew_change": "skew",
    "cross_ticker_strength": "cross",
    "divergence": "cross",
    "regime_adaptation": "regime",
}
FEATURE_NAMES: tuple[str, ...] = tuple(FEATURE_CATEGORY)
DIRECTIONAL = frozenset(
    {
        "momentum_5m",
        "momentum_15m",
        "momentum_30m",
        "vwap_deviation",
        "skew_change",
        "cross_ticker_strength",
    }
)
#: Weights of the directional scores in the direction score (they sum to 1).
DIRECTION_WEIGHTS: dict[str, float] = {
    "momentum_5m": 0.10,
    "momentum_15m": 0.15,
    "momentum_30m": 0.15,
    "vwap_deviation": 0.20,
    "skew_change": 0.15,
    "cross_ticker_strength": 0.25,
}


def _squash(x: float) -> float:
    return float(np.tanh(x / 2.0)) if np.isfinite(x) else float("nan")


def realized_sigma_1m(closes: ArrayLike) -> float:
    """Standard deviation of one-minute log returns (fraction per minute), floored at
    :data:`MIN_SIGMA_1M`; the floor where fewer than two returns exist."""
    c = np.asarray(closes, dtype=np.float64)
    if c.size < 3:
        return MIN_SIGMA_1M
    sigma = float(np.std(np.diff(np.log(c)), ddof=1))
    return max(sigma, MIN_SIGMA_1M) if np.isfinite(sigma) else MIN_SIGMA_1M


def vwap(high: ArrayLike, low: ArrayLike, close: ArrayLike, volume: ArrayLike) -> float:
    """Volume-weighted average of the typical price (high + low + close) / 3; NaN without
    volume."""
    h, lo, c, v = (np.asarray(a, dtype=np.float64) for a in (high, low, close, volume))
    typical = (h + lo + c) / 3.0
    keep = np.isfinite(typical) & np.isfinite(v)  # a bar without a price carries no weight
    total = float(v[keep].sum())
    if not total > 0:
        return float("nan")
    return float((typical[keep] * v[keep]).sum() / total)


def skew_25_delta(
    call_delta: ArrayLike, call_iv: ArrayLike, put_delta: ArrayLike, put_iv: ArrayLike
) -> float:
    """25-delta put IV minus 25-delta call IV (annualized fractions), each interpolated
    linearly in delta along its side of the chain; NaN where a side does not span 0.25."""

    def at_quarter(delta: ArrayLike, iv: ArrayLike) -> float:
        d = np.abs(np.asarray(delta, dtype=np.float64))
        v = np.asarray(iv, dtype=np.float64)
        keep = np.isfinite(d) & np.isfinite(v)
        d, v = d[keep], v[keep]
        if d.size < 2 or not d.min() <= 0.25 <= d.max():
            return float("nan")
        order = np.argsort(d)
        return float(np.interp(0.25, d[order], v[order]))

    return at_quarter(put_delta, put_iv) - at_quarter(call_delta, call_iv)


@dataclass(frozen=True)
class FeatureInputs:
    """What the features of one ticker at one minute are computed from.

    ``high``/``low``/``close``/``volume``: the session's completed minute bars, oldest
    first; ``past_volume_same_minute``: the cumulative volume by the same minute in each
    of the past sessions; ``other_returns_30m``: the other tickers' 30-minute log returns;
    ``skew_now``/``skew_before``: :func:`skew_25_delta` now and 30 minutes earlier;
    ``divergence_z``: the divergence z-scores of the ticker's pairs;
    ``adaptation_factor``: the VIX regime's (1 in the normal regime)."""

    high: ArrayLike
    low: ArrayLike
    close: ArrayLike
    volume: ArrayLike
    past_volume_same_minute: ArrayLike
    other_returns_30m: ArrayLike
    skew_now: float
    skew_before: float
    divergence_z: ArrayLike
    adaptation_factor: float


def _log_return(closes: FloatArray, window: int) -> float:
    if closes.size <= window:
        return float("nan")
    return float(np.log(closes[-1] / closes[-1 - window]))


def feature_scores(inputs: FeatureInputs) -> dict[str, float]:
    """Every feature of :data:`FEATURE_NAMES` as a score (module docstring). A feature the
    inputs cannot give (too few minutes, no past sessions, a chain that does not span the
    25 delta) is NaN: the caller stores it as missing and the model reads it as 0."""
    close = np.asarray(inputs.close, dtype=np.float64)
    sigma = realized_sigma_1m(close)
    scores: dict[str, float] = {}
    for window in MOMENTUM_WINDOWS:
        scores[f"momentum_{window}m"] = _squash(
            _log_return(close, window) / (sigma * np.sqrt(window))
        )
    average = vwap(inputs.high, inputs.low, close, inputs.volume)
    deviation = float(np.log(close[-1] / average)) if close.size and average > 0 else float("nan")
    scores["vwap_deviation"] = _squash(deviation / (sigma * np.sqrt(15.0)))
    volume_so_far = float(np.nansum(np.asarray(inputs.volume, dtype=np.float64)))
    past = np.asarray(inputs.past_volume_same_minute, dtype=np.float64)
    past = past[np.isfinite(past) & (past > 0)]
    if past.size and volume_so_far > 0:
        scores["relative_volume"] = _squash(np.log(volume_so_far / past.mean()) / np.log(2.0))
    else:
        scores["relative_volume"] = float("nan")
    scores["skew_25d"] = _squash(inputs.skew_now / 0.02)
    scores["skew_change"] = _squash(-(inputs.skew_now - inputs.skew_before) / 0.01)
    others = np.asarray(inputs.other_returns_30m, dtype=np.float64)
    own = _log_return(close, CROSS_WINDOW)
    relative = own - float(np.mean(others)) if others.size else float("nan")
    scores["cross_ticker_strength"] = _squash(relative / (sigma * np.sqrt(CROSS_WINDOW)))
    z = np.asarray(inputs.divergence_z, dtype=np.float64)
    z = z[np.isfinite(z)]
    scores["divergence"] = _squash(float(np.mean(np.abs(z)))) if z.size else float("nan")
    scores["regime_adaptation"] = float(inputs.adaptation_factor) - 1.0
    return scores


def direction_score(scores: Mapping[str, float]) -> float:
    """The weighted mean of the directional scores (weights :data:`DIRECTION_WEIGHTS`,
    renormalized over the finite ones): in (−1, 1), positive pointing up; 0 when none
    is finite."""
    total = weight = 0.0
    for name, w in DIRECTION_WEIGHTS.items():
        value = scores.get(name, float("nan"))
        if np.isfinite(value):
            total += w * value
            weight += w
    return total / weight if weight > 0 else 0.0
