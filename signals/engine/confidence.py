"""The confidence of a 0DTE signal: a logistic model of its weighted features. Pure
numpy/scipy.

confidence = 1 / (1 + exp(−(b0 + Σ_i w_i x_i)))

* x_i are the feature scores of ``signals.engine.features`` **aligned with the trade**
  (:func:`aligned_inputs`): for a directional strategy a directional score is multiplied
  by the direction (+1 bullish, −1 bearish), so that "the tape agrees with the trade" is
  positive either way; for a range strategy (iron condor, iron butterfly: short premium)
  it becomes −|score| (a quiet tape helps); for a breakout strategy (long straddle, long
  strangle: long premium) +|score|. Non-directional scores enter as they are. A missing
  score (NaN) enters as 0, its neutral value.
* b0 and w_i are fitted per strategy family by :func:`fit_logistic` (maximum likelihood
  with an L2 penalty on the weights, not on the intercept) on outcomes of replayed
  sessions, and stored with a version (``manage.py fit_signal_model``).
* The probability predicts the signal's stated outcome: the target is reached before
  the stop or the time exit, at fill prices (``signals.engine.fills``).

There is no randomness anywhere: the same features and model give the same confidence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize
from scipy.special import expit

from signals.engine.features import DIRECTIONAL, FEATURE_NAMES

__all__ = [
    "FAMILIES",
    "STRATEGY_FAMILY",
    "aligned_inputs",
    "fit_logistic",
    "logistic",
    "probability",
]

FloatArray = NDArray[np.float64]

STRATEGY_FAMILY: dict[str, str] = {
    "bull_call_spread": "directional",
    "bear_put_spread": "directional",
    "iron_condor": "range",
    "iron_butterfly": "range",
    "long_straddle": "breakout",
    "long_strangle": "breakout",
}
FAMILIES = ("directional", "range", "breakout")


def logistic(z: ArrayLike) -> FloatArray:
    """1 / (1 + e^−z) (scipy's ``expit``, which does not overflow)."""
    out: FloatArray = expit(np.asarray(z, dtype=np.float64))
    return out


def aligned_inputs(
    scores: Mapping[str, float], *, strategy: str, direction: int
) -> dict[str, float]:
    """The model's inputs x_i (module docstring) for a signal of ``strategy`` whose
    direction is ``direction`` (+1, −1 or 0)."""
    family = STRATEGY_FAMILY[strategy]
    out: dict[str, float] = {}
    for name in FEATURE_NAMES:
        value = float(scores.get(name, float("nan")))
        if not np.isfinite(value):
            value = 0.0
        elif name in DIRECTIONAL:
            if family == "directional":
                value *= 1.0 if direction >= 0 else -1.0
            elif family == "range":
                value = -abs(value)
            else:
                value = abs(value)
        out[name] = value + 0.0  # no negative zero in stored figures
    return out


def probability(
    intercept: float, weights: Mapping[str, float], inputs: Mapping[str, float]
) -> float:
    """The logistic probability b0 + Σ w_i x_i over the features of ``weights``."""
    z = intercept + sum(float(w) * float(inputs.get(name, 0.0)) for name, w in weights.items())
    return float(logistic(z))


def fit_logistic(
    x: ArrayLike, y: ArrayLike, *, l2: float = 1.0, names: Sequence[str] | None = None
) -> tuple[float, dict[str, float]]:
    """Maximum-likelihood logistic regression of outcomes ``y`` (n,) in {0, 1} on inputs
    ``x`` (n, k), with the penalty ``l2`` / 2 · Σ w_i² on the weights (not the intercept);
    ``l2 = 0`` is plain maximum likelihood (statsmodels' ``Logit``, which the tests
    check against). Returns (intercept, weights by name). With one class only the weights
    are 0 and the intercept is the clipped log-odds of the base rate."""
    features = np.asarray(x, dtype=np.float64)
    outcome = np.asarray(y, dtype=np.float64)
    if features.ndim != 2 or outcome.shape != (features.shape[0],):
        raise ValueError("x must be (n, k) and y (n,)")
    if not np.isin(outcome, (0.0, 1.0)).all():
        raise ValueError("outcomes must be 0 or 1")
    n, k = features.shape
    labels = list(names) if names is not None else [f"x{i}" for i in range(k)]
    if len(labels) != k:
        raise ValueError("one name per column")
    base = float(outcome.mean()) if n else 0.5
    if n == 0 or base in (0.0, 1.0):
        rate = min(max(base, 1e-3), 1 - 1e-3)
        return float(np.log(rate / (1 - rate))), dict.fromkeys(labels, 0.0)
    design = np.column_stack([np.ones(n), features])
    penalty = np.full(k + 1, float(l2))
    penalty[0] = 0.0

    def objective(beta: FloatArray) -> tuple[float, FloatArray]:
        z = design @ beta
        # log(1 + e^z) − y z, stable for large |z|
        nll = float(np.sum(np.logaddexp(0.0, z) - outcome * z))
        gradient = design.T @ (logistic(z) - outcome)
        return nll + 0.5 * float(np.sum(penalty * beta * beta)), gradient + penalty * beta

    start = np.zeros(k + 1)
    start[0] = np.log(base / (1 - base))
    result = minimize(
        objective,
        start,
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 1000, "gtol": 1e-8, "ftol": 1e-14},
    )
    beta = result.x
    return float(beta[0]), {name: float(b) for name, b in zip(labels, beta[1:], strict=True)}
