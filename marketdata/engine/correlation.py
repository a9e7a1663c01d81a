"""Rolling correlations of the 0DTE tickers' minute returns, their divergence, and the VIX
regime. Pure numpy.

* **Correlation** over the last w bars: the Pearson correlation of the w most recent
  one-minute log returns of two symbols (needs w + 1 closes).
* **Divergence z-score**: how unusual the current short-window correlation is against its
  own recent history: z = (rho_w(now) − mean) / std over the rolling rho_w of the last
  ``history`` bars (ddof 1). A strongly negative z means the pair has decoupled from how
  it has been moving, the cross-ticker signal's input.
* **Regime** of a VIX level by thresholds: low < 15 ≤ normal < 25 ≤ high < 35 ≤ extreme.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "REGIMES",
    "RegimeRule",
    "classify_regime",
    "divergence_zscore",
    "log_returns",
    "rolling_correlation",
    "window_correlation",
]

FloatArray = NDArray[np.float64]

#: Regime names in order of rising VIX (API-CONVENTIONS, "Names").
REGIMES = ("low_volatility", "normal", "high_volatility", "extreme_volatility")


def log_returns(closes: ArrayLike) -> FloatArray:
    """One-bar log returns of closes (T,) or (T, k), oldest first: (T − 1,) or (T − 1, k)."""
    c = np.asarray(closes, dtype=np.float64)
    out: FloatArray = np.diff(np.log(c), axis=0)
    return out


def window_correlation(x: ArrayLike, y: ArrayLike, window: int) -> float:
    """Correlation of the last ``window`` returns of x and y; NaN with fewer returns or a
    constant series."""
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(y, dtype=np.float64)
    if window < 2 or a.size < window or b.size < window:
        return float("nan")
    a, b = a[-window:] - a[-window:].mean(), b[-window:] - b[-window:].mean()
    denominator = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denominator) if denominator > 0 else float("nan")


def rolling_correlation(x: ArrayLike, y: ArrayLike, window: int) -> FloatArray:
    """Correlation over each window of ``window`` consecutive returns: entry i covers
    returns i … i + window − 1 (length T − window + 1); NaN where a window is constant."""
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(y, dtype=np.float64)
    n = a.size - window + 1
    if window < 2 or n <= 0:
        return np.empty(0)

    def sums(v: FloatArray) -> FloatArray:
        c = np.concatenate([[0.0], np.cumsum(v)])
        out: FloatArray = c[window:] - c[:-window]
        return out

    # Centred on the whole sample first: the windowed co-moments are then differences of
    # small numbers only where the data are, not of large running sums.
    a = a - a.mean()
    b = b - b.mean()
    sa, sb = sums(a), sums(b)
    cov = sums(a * b) - sa * sb / window
    va = sums(a * a) - sa * sa / window
    vb = sums(b * b) - sb * sb / window
    with np.errstate(invalid="ignore", divide="ignore"):
        out: FloatArray = cov / np.sqrt(va * vb)
    out[~((va > 0) & (vb > 0))] = np.nan
    return np.clip(out, -1.0, 1.0)


def divergence_zscore(x: ArrayLike, y: ArrayLike, window: int, history: int) -> float:
    """z of the current ``window``-bar correlation against the rolling correlations of the
    last ``history`` bars (NaN without at least two finite values or with no spread)."""
    a = np.asarray(x, dtype=np.float64)[-history:]
    b = np.asarray(y, dtype=np.float64)[-history:]
    series = rolling_correlation(a, b, window)
    series = series[np.isfinite(series)]
    if series.size < 3:
        return float("nan")
    spread = float(series.std(ddof=1))
    return float((series[-1] - series.mean()) / spread) if spread > 0 else float("nan")


@dataclass(frozen=True)
class RegimeRule:
    """VIX thresholds (upper bounds of the first three regimes) and, per regime in
    :data:`REGIMES` order, the adaptation factor and the risk adjustments."""

    thresholds: Sequence[float]  # (15, 25, 35)
    adaptation: Sequence[float]  # (1.2, 1.0, 0.7, 0.5)
    confidence_bump: Sequence[float]  # added to the confidence threshold, fraction
    stop_tightening: Sequence[float]  # multiplies the stop distance (1: unchanged)


def classify_regime(vix: float, rule: RegimeRule) -> dict[str, float | str] | None:
    """The regime of VIX level ``vix`` (index points) under ``rule``: its name, the
    adaptation factor (which is also the position-size multiplier), the confidence
    threshold bump and the stop tightening. None for a missing or non-positive level."""
    if not np.isfinite(vix) or vix <= 0:
        return None
    i = int(np.searchsorted(np.asarray(rule.thresholds, dtype=np.float64), vix, side="right"))
    return {
        "regime_type": REGIMES[i],
        "adaptation_factor": float(rule.adaptation[i]),
        "position_size_multiplier": float(rule.adaptation[i]),
        "confidence_threshold_bump": float(rule.confidence_bump[i]),
        "stop_loss_tightening": float(rule.stop_tightening[i]),
    }
