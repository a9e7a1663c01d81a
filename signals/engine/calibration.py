"""Calibration of probabilistic signals: Wilson intervals, Brier score, reliability buckets.

Pure numpy: no Django, nothing from the project. Every function takes plain arrays (or
anything :func:`numpy.asarray` accepts) and returns Python ``float``/``int`` figures, so
the results can go straight into JSON.

Units and conventions
---------------------
* A *probability* (or *confidence*) is the forecast probability that a signal's event
  happens, a dimensionless number in ``[0, 1]``.
* An *outcome* is ``1`` if the event happened (a *hit*) and ``0`` if not.
* The Brier score, reliability, resolution and uncertainty are in squared probability
  units (each lies in ``[0, 1]``; lower Brier is better). The expected calibration error
  is in probability units (``[0, 1]``).
* Forecasts are grouped into confidence *buckets* by ``edges`` (default
  :data:`DEFAULT_BUCKETS`). Bucket ``b`` is ``[edges[b], edges[b + 1])``, except the last,
  which is closed, ``[edges[-2], edges[-1]]``, so a probability of exactly ``1.0`` falls in
  it. A bucket's key is :func:`bucket_label`, e.g. ``"0.6-0.7"``.

Methods
-------
Wilson score interval (Wilson 1927). For ``k`` hits in ``n`` trials, ``p = k / n`` and the
normal quantile ``z`` (default ``z = 1.959963984540054``, a two-sided 95% interval)::

    centre = (p + z^2 / (2n)) / (1 + z^2 / n)
    half   = z / (1 + z^2 / n) * sqrt(p (1 - p) / n + z^2 / (4 n^2))
    interval = [centre - half, centre + half], clipped to [0, 1]

This is the same formula as ``statsmodels.stats.proportion.proportion_confint(...,
method="wilson")``. Unlike the normal (Wald) interval it is sensible at ``k = 0`` and
``k = n``.

Brier score (Brier 1950) on the raw forecasts ``p_i`` and outcomes ``o_i``::

    BS = (1/N) sum_i (p_i - o_i)^2

Binned Murphy (1973) decomposition. With ``n_b`` forecasts in bucket ``b``, their mean
forecast ``pbar_b``, their hit rate ``obar_b`` and the overall base rate ``obar``::

    REL = (1/N) sum_b n_b (pbar_b - obar_b)^2      reliability (lower is better)
    RES = (1/N) sum_b n_b (obar_b - obar)^2        resolution (higher is better)
    UNC = obar (1 - obar)                          uncertainty (of the outcomes alone)

``BS = REL - RES + UNC`` holds exactly only when the forecasts are constant within each
bucket. Otherwise (Stephenson, Coelho & Jolliffe 2008)::

    BS = REL - RES + UNC + WBV - WBC
    WBV = (1/N) sum_b sum_{i in b} (p_i - pbar_b)^2                    within-bin variance
    WBC = (2/N) sum_b sum_{i in b} (p_i - pbar_b) (o_i - obar_b)       within-bin covariance

The report gives the Brier score on the raw forecasts and REL/RES/UNC over the buckets, so
the identity is only approximate for forecasts that vary inside a bucket.

Expected calibration error (Naeini, Cooper & Hauskrecht 2015; Guo et al. 2017), over the
non-empty buckets::

    ECE = sum_b (n_b / N) |obar_b - pbar_b|

References
----------
* E. B. Wilson (1927), "Probable inference, the law of succession, and statistical
  inference", J. Amer. Statist. Assoc. 22(158), 209-212.
* G. W. Brier (1950), "Verification of forecasts expressed in terms of probability",
  Monthly Weather Review 78(1), 1-3.
* A. H. Murphy (1973), "A new vector partition of the probability score", J. Appl.
  Meteor. 12(4), 595-600.
* D. B. Stephenson, C. A. S. Coelho & I. T. Jolliffe (2008), "Two extra components in the
  Brier score decomposition", Weather and Forecasting 23(4), 752-757.
* M. P. Naeini, G. F. Cooper & M. Hauskrecht (2015), "Obtaining well calibrated
  probabilities using Bayesian binning", AAAI 2015.
* C. Guo, G. Pleiss, Y. Sun & K. Q. Weinberger (2017), "On calibration of modern neural
  networks", ICML 2017.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "DEFAULT_BUCKETS",
    "Bucket",
    "CalibrationReport",
    "brier_score",
    "bucket_index",
    "bucket_label",
    "calibration_report",
    "wilson_interval",
]

FloatArray = NDArray[np.float64]

#: Confidence bucket edges: ``[0.0, 0.5), [0.5, 0.6), ..., [0.8, 0.9), [0.9, 1.0]``.
DEFAULT_BUCKETS: tuple[float, ...] = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)

#: ``scipy.stats.norm.ppf(0.975)``: the two-sided 95% normal quantile.
_Z95 = 1.959963984540054


def wilson_interval(hits: int, n: int, z: float = _Z95) -> tuple[float, float]:
    """Wilson score interval ``(low, high)`` for ``hits`` successes in ``n`` trials.

    ``z`` is the normal quantile (default: two-sided 95%). ``n == 0`` gives
    ``(nan, nan)``. Bounds are clipped to ``[0, 1]``. Raises :class:`ValueError` unless
    ``0 <= hits <= n`` and ``z`` is finite and positive.
    """
    k = operator.index(hits)
    m = operator.index(n)
    if m < 0 or k < 0 or k > m:
        raise ValueError(f"need 0 <= hits <= n, got hits={k}, n={m}")
    if not (math.isfinite(z) and z > 0):
        raise ValueError(f"z must be finite and positive, got {z}")
    if m == 0:
        return (math.nan, math.nan)
    p = k / m
    z2 = z * z
    denom = 1.0 + z2 / m
    centre = (p + z2 / (2.0 * m)) / denom
    half = z * math.sqrt(p * (1.0 - p) / m + z2 / (4.0 * m * m)) / denom
    # At k = 0 (k = n) the lower (upper) bound is exactly 0 (1); rounding can miss it.
    low = 0.0 if k == 0 else min(max(centre - half, 0.0), 1.0)
    high = 1.0 if k == m else min(max(centre + half, 0.0), 1.0)
    return (low, high)


def _forecasts(probability: ArrayLike, outcome: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Validated 1-D float arrays of probabilities in [0, 1] and outcomes in {0, 1}."""
    p = np.asarray(probability, dtype=np.float64)
    o = np.asarray(outcome, dtype=np.float64)
    if p.ndim != 1 or o.ndim != 1:
        raise ValueError(f"probability and outcome must be 1-D, got shapes {p.shape} and {o.shape}")
    if p.shape != o.shape:
        raise ValueError(f"length mismatch: {p.shape[0]} probabilities, {o.shape[0]} outcomes")
    if not np.all((p >= 0.0) & (p <= 1.0)):  # also rejects NaN
        raise ValueError("probabilities must lie in [0, 1]")
    if not np.all((o == 0.0) | (o == 1.0)):
        raise ValueError("outcomes must be 0 or 1")
    return p, o


def brier_score(probability: ArrayLike, outcome: ArrayLike) -> float:
    """Mean squared difference between forecast probabilities and 0/1 outcomes.

    Empty input gives ``nan``. Raises :class:`ValueError` on mismatched lengths,
    probabilities outside ``[0, 1]`` (or NaN), or outcomes other than 0 and 1.
    """
    p, o = _forecasts(probability, outcome)
    if p.size == 0:
        return math.nan
    return float(np.mean((p - o) ** 2))


def _edges(edges: Sequence[float]) -> FloatArray:
    e = np.asarray(edges, dtype=np.float64)
    if e.ndim != 1 or e.size < 2:
        raise ValueError("edges must be a sequence of at least two numbers")
    if not np.all(np.isfinite(e)) or not np.all(np.diff(e) > 0):
        raise ValueError("edges must be finite and strictly increasing")
    return e


def bucket_index(
    probability: ArrayLike, edges: Sequence[float] = DEFAULT_BUCKETS
) -> NDArray[np.intp]:
    """The bucket of each probability: ``b`` with ``edges[b] <= p < edges[b + 1]``.

    The last bucket is closed on the right, so ``p == edges[-1]`` maps to
    ``len(edges) - 2``. Raises :class:`ValueError` for a value outside
    ``[edges[0], edges[-1]]`` (or NaN) and for edges that are not strictly increasing.
    """
    e = _edges(edges)
    p = np.asarray(probability, dtype=np.float64)
    if not np.all((p >= e[0]) & (p <= e[-1])):
        raise ValueError(f"probabilities must lie in [{e[0]}, {e[-1]}]")
    idx = np.searchsorted(e, p, side="right") - 1
    return np.minimum(idx, e.size - 2).astype(np.intp)


def _trim(x: float) -> str:
    s = f"{x + 0.0:.2f}"  # + 0.0 turns -0.0 into 0.0
    s = s.rstrip("0")
    return s + "0" if s.endswith(".") else s


def bucket_label(low: float, high: float) -> str:
    """The bucket key ``"low-high"``, two decimals with trailing zeros trimmed.

    ``bucket_label(0.6, 0.7) == "0.6-0.7"``, ``bucket_label(0.0, 0.5) == "0.0-0.5"``,
    ``bucket_label(0.65, 0.7) == "0.65-0.7"``.
    """
    return f"{_trim(low)}-{_trim(high)}"


@dataclass(frozen=True)
class Bucket:
    """One confidence bucket. Figures are ``None`` when ``count == 0``.

    ``hit_rate`` is ``hits / count``; ``mean_confidence`` the mean forecast probability of
    the bucket's forecasts; ``wilson_low``/``wilson_high`` the 95% Wilson interval of the
    hit rate.
    """

    label: str
    low: float
    high: float
    count: int
    hits: int
    hit_rate: float | None
    mean_confidence: float | None
    wilson_low: float | None
    wilson_high: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "low": self.low,
            "high": self.high,
            "count": self.count,
            "hits": self.hits,
            "hit_rate": self.hit_rate,
            "mean_confidence": self.mean_confidence,
            "wilson_low": self.wilson_low,
            "wilson_high": self.wilson_high,
        }


@dataclass(frozen=True)
class CalibrationReport:
    """Calibration summary of a set of forecasts; see the module docstring.

    Figures are ``None`` when ``count == 0``. ``buckets`` lists every bucket in edge
    order, empty ones included.
    """

    count: int
    hits: int
    base_rate: float | None
    brier_score: float | None
    reliability: float | None
    resolution: float | None
    uncertainty: float | None
    expected_calibration_error: float | None
    buckets: tuple[Bucket, ...]

    def as_dict(self) -> dict[str, Any]:
        """A plain JSON-able dict; ``buckets`` is a list of dicts."""
        return {
            "count": self.count,
            "hits": self.hits,
            "base_rate": self.base_rate,
            "brier_score": self.brier_score,
            "reliability": self.reliability,
            "resolution": self.resolution,
            "uncertainty": self.uncertainty,
            "expected_calibration_error": self.expected_calibration_error,
            "buckets": [b.as_dict() for b in self.buckets],
        }


def calibration_report(
    probability: ArrayLike, outcome: ArrayLike, edges: Sequence[float] = DEFAULT_BUCKETS
) -> CalibrationReport:
    """Brier score, binned Murphy decomposition, ECE and per-bucket hit rates.

    ``probability`` and ``outcome`` are aligned 1-D arrays (probabilities in ``[0, 1]``,
    outcomes 0/1). The Brier score uses the raw probabilities; reliability, resolution
    and ECE use the buckets given by ``edges`` (see :func:`bucket_index`)::

        REL = (1/N) sum_b n_b (pbar_b - obar_b)^2
        RES = (1/N) sum_b n_b (obar_b - obar)^2
        UNC = obar (1 - obar)
        ECE = sum_b (n_b / N) |obar_b - pbar_b|      (non-empty buckets)

    ``BS = REL - RES + UNC`` exactly when the forecasts are constant within each bucket;
    otherwise it differs by the within-bucket variance and covariance terms,
    ``BS = REL - RES + UNC + WBV - WBC`` (Stephenson, Coelho & Jolliffe 2008).

    Raises :class:`ValueError` on invalid forecasts (see :func:`brier_score`), on edges
    that are not strictly increasing or that coincide at two decimals (the labels), and
    on a probability outside ``[edges[0], edges[-1]]``.
    """
    p, o = _forecasts(probability, outcome)
    e = _edges(edges)
    nb = e.size - 1
    lows = [float(x) for x in e[:-1]]
    highs = [float(x) for x in e[1:]]
    rounded = [_trim(x) for x in e]
    if len(set(rounded)) != len(rounded):
        raise ValueError(f"edges must differ at two decimals (the labels), got {rounded}")
    labels = [bucket_label(lo, hi) for lo, hi in zip(lows, highs, strict=True)]

    idx = bucket_index(p, edges)
    counts = np.bincount(idx, minlength=nb)
    hit_counts = np.bincount(idx, weights=o, minlength=nb)
    p_sums = np.bincount(idx, weights=p, minlength=nb)

    buckets: list[Bucket] = []
    for b in range(nb):
        n_b = int(counts[b])
        h_b = round(float(hit_counts[b]))
        if n_b == 0:
            buckets.append(Bucket(labels[b], lows[b], highs[b], 0, 0, None, None, None, None))
            continue
        w_low, w_high = wilson_interval(h_b, n_b)
        buckets.append(
            Bucket(
                label=labels[b],
                low=lows[b],
                high=highs[b],
                count=n_b,
                hits=h_b,
                hit_rate=h_b / n_b,
                mean_confidence=float(p_sums[b] / n_b),
                wilson_low=w_low,
                wilson_high=w_high,
            )
        )

    n = int(p.size)
    hits = round(float(o.sum()))
    if n == 0:
        return CalibrationReport(0, 0, None, None, None, None, None, None, tuple(buckets))

    obar = hits / n
    full = counts > 0
    n_full = counts[full].astype(np.float64)
    pbar = p_sums[full] / n_full
    obar_b = hit_counts[full] / n_full
    reliability = float(np.sum(n_full * (pbar - obar_b) ** 2) / n)
    resolution = float(np.sum(n_full * (obar_b - obar) ** 2) / n)
    ece = float(np.sum(n_full * np.abs(obar_b - pbar)) / n)
    return CalibrationReport(
        count=n,
        hits=hits,
        base_rate=obar,
        brier_score=float(np.mean((p - o) ** 2)),
        reliability=reliability,
        resolution=resolution,
        uncertainty=obar * (1.0 - obar),
        expected_calibration_error=ece,
        buckets=tuple(buckets),
    )
