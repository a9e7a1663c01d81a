"""Tests of signals.engine.confidence: the logistic fit against statsmodels' Logit, the
penalized optimum checked by its gradient, and hand-computed probabilities/inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import statsmodels.api as sm
from numpy.typing import NDArray

from signals.engine.confidence import (
    STRATEGY_FAMILY,
    aligned_inputs,
    fit_logistic,
    logistic,
    probability,
)
from signals.engine.features import DIRECTIONAL, FEATURE_NAMES

# --- a deterministic synthetic data set -----------------------------------------------

N = 2000
TRUE_INTERCEPT = -0.4
TRUE_WEIGHTS = np.array([1.2, -0.8, 0.5])


def _data(seed: int = 20240607) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N, 3))
    p = 1.0 / (1.0 + np.exp(-(TRUE_INTERCEPT + x @ TRUE_WEIGHTS)))
    y = (rng.random(N) < p).astype(np.float64)
    return x, y


def _penalized_gradient(
    x: NDArray[np.float64], y: NDArray[np.float64], b0: float, w: NDArray[np.float64], l2: float
) -> NDArray[np.float64]:
    """Gradient of Σ[log(1 + e^z) − y z] + l2/2 · Σ w² at (b0, w), the intercept unpenalized:
    d/db0 = Σ(p − y), d/dw = Xᵀ(p − y) + l2 · w."""
    p = 1.0 / (1.0 + np.exp(-(b0 + x @ w)))
    residual = p - y
    return np.concatenate(([residual.sum()], x.T @ residual + l2 * w))


# --- fit_logistic ---------------------------------------------------------------------


def test_fit_logistic_unpenalized_matches_statsmodels() -> None:
    x, y = _data()
    reference = sm.Logit(y, sm.add_constant(x)).fit(disp=0).params
    b0, weights = fit_logistic(x, y, l2=0.0)
    assert list(weights) == ["x0", "x1", "x2"]
    fitted = np.array([b0, *weights.values()])
    np.testing.assert_allclose(fitted, reference, atol=1e-4, rtol=0)
    # and the data set is informative: close to the true coefficients
    np.testing.assert_allclose(fitted, [TRUE_INTERCEPT, *TRUE_WEIGHTS], atol=0.15)


def test_fit_logistic_names() -> None:
    x, y = _data()
    b0, weights = fit_logistic(x, y, l2=0.0, names=["a", "b", "c"])
    reference = sm.Logit(y, sm.add_constant(x)).fit(disp=0).params
    assert list(weights) == ["a", "b", "c"]
    assert weights["b"] == pytest.approx(reference[2], abs=1e-4)
    assert b0 == pytest.approx(reference[0], abs=1e-4)


def test_fit_logistic_l2_shrinks_weights_and_zeroes_penalized_gradient() -> None:
    x, y = _data()
    _, plain = fit_logistic(x, y, l2=0.0)
    l2 = 200.0
    b0, weights = fit_logistic(x, y, l2=l2)
    w = np.array(list(weights.values()))
    w_plain = np.array(list(plain.values()))
    assert np.linalg.norm(w) < 0.95 * np.linalg.norm(w_plain)
    assert np.all(np.abs(w) < np.abs(w_plain))
    assert np.all(np.sign(w) == np.sign(w_plain))

    # first-order optimality of the objective with an unpenalized intercept: the
    # gradient (a sum over 2000 rows) is ~0, and the Newton step it implies,
    # H⁻¹ g with H = Xᵀ diag(p(1 − p)) X + diag(0, l2, l2, l2), is below 1e-5.
    gradient = _penalized_gradient(x, y, b0, w, l2)
    assert np.max(np.abs(gradient)) < 1e-2
    design = np.column_stack([np.ones(N), x])
    p = 1.0 / (1.0 + np.exp(-(design @ np.array([b0, *w]))))
    hessian = design.T @ (design * (p * (1 - p))[:, None]) + np.diag([0.0, l2, l2, l2])
    assert np.max(np.abs(np.linalg.solve(hessian, gradient))) < 1e-5
    # a penalized intercept would leave l2 · b0 there: clearly not 0 at this solution
    assert abs(gradient[0] + l2 * b0) > 1.0


def test_fit_logistic_huge_l2_leaves_intercept_at_base_log_odds() -> None:
    # weights → 0; the unpenalized intercept → log-odds of the base rate (≈ −0.4 here,
    # far from the 0 a penalized intercept would be pushed to).
    x, y = _data()
    b0, weights = fit_logistic(x, y, l2=1e9)
    base = y.mean()
    assert max(abs(v) for v in weights.values()) < 1e-5
    assert b0 == pytest.approx(math.log(base / (1 - base)), abs=1e-4)
    assert b0 < -0.2


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        (1.0, math.log(0.999 / 0.001)),  # base rate 1, clipped to 0.999: +6.9068
        (0.0, math.log(0.001 / 0.999)),  # base rate 0, clipped to 0.001: −6.9068
    ],
)
def test_fit_logistic_single_class(label: float, expected: float) -> None:
    x = np.arange(12.0).reshape(4, 3)
    b0, weights = fit_logistic(x, np.full(4, label), names=["a", "b", "c"])
    assert b0 == pytest.approx(expected, rel=1e-12)
    assert abs(b0) == pytest.approx(6.906754778648554, rel=1e-12)
    assert weights == {"a": 0.0, "b": 0.0, "c": 0.0}


def test_fit_logistic_empty_input() -> None:
    # no rows: base rate 0.5, log-odds 0
    b0, weights = fit_logistic(np.zeros((0, 2)), np.zeros(0))
    assert b0 == 0.0
    assert weights == {"x0": 0.0, "x1": 0.0}


@pytest.mark.parametrize(
    ("x", "y", "names"),
    [
        (np.zeros(4), np.zeros(4), None),  # x is 1-D
        (np.zeros((4, 2, 1)), np.zeros(4), None),  # x is 3-D
        (np.zeros((4, 2)), np.zeros(3), None),  # one outcome short
        (np.zeros((4, 2)), np.zeros((4, 1)), None),  # y is a column
        (np.zeros((4, 2)), np.array([0.0, 1.0, 2.0, 1.0]), None),  # a label of 2
        (np.zeros((4, 2)), np.array([0.0, 1.0, 0.5, 1.0]), None),  # a label of 0.5
        (np.zeros((4, 2)), np.array([0.0, 1.0, np.nan, 1.0]), None),  # a NaN label
        (np.zeros((4, 2)), np.array([0.0, 1.0, 0.0, 1.0]), ["a"]),  # one name short
    ],
)
def test_fit_logistic_bad_input_raises(
    x: NDArray[np.float64], y: NDArray[np.float64], names: list[str] | None
) -> None:
    with pytest.raises(ValueError):
        fit_logistic(x, y, names=names)


# --- probability / logistic -----------------------------------------------------------


def test_probability_by_hand() -> None:
    # z = 0.3 + 0.5·0.4 + (−1.2)·0.25 = 0.3 + 0.2 − 0.3 = 0.2; "c" has no weight and is
    # ignored; p = 1 / (1 + e^−0.2) = 0.549833997...
    p = probability(0.3, {"a": 0.5, "b": -1.2}, {"a": 0.4, "b": 0.25, "c": 9.0})
    assert p == pytest.approx(1.0 / (1.0 + math.exp(-0.2)), rel=1e-12)
    assert p == pytest.approx(0.549833997, abs=1e-9)


def test_probability_missing_input_is_zero() -> None:
    # "b" is not among the inputs: z = −1 + 2·0.5 + 3·0 = 0, p = 1/2.
    assert probability(-1.0, {"a": 2.0, "b": 3.0}, {"a": 0.5}) == pytest.approx(0.5, abs=1e-15)


def test_probability_no_weights_is_logistic_of_intercept() -> None:
    # 1 / (1 + e^−1.5) = 0.817574476...
    assert probability(1.5, {}, {"a": 1.0}) == pytest.approx(0.8175744762, abs=1e-10)


def test_probability_does_not_overflow() -> None:
    assert probability(-1000.0, {}, {}) == 0.0
    assert probability(1000.0, {}, {}) == 1.0
    np.testing.assert_allclose(logistic([-2.0, 0.0, 2.0]), [0.11920292, 0.5, 0.88079708])


# --- aligned_inputs -------------------------------------------------------------------

SCORES = {
    "momentum_5m": 0.4,
    "momentum_15m": -0.3,
    "momentum_30m": 0.2,
    "vwap_deviation": -0.1,
    "relative_volume": -0.5,
    "skew_25d": 0.6,
    "skew_change": float("nan"),
    "cross_ticker_strength": 0.7,
    "divergence": 0.25,
    "regime_adaptation": -0.3,
}
NON_DIRECTIONAL = {
    "relative_volume": -0.5,
    "skew_25d": 0.6,
    "divergence": 0.25,
    "regime_adaptation": -0.3,
}


def test_aligned_inputs_bull_keeps_signs() -> None:
    out = aligned_inputs(SCORES, strategy="bull_call_spread", direction=1)
    assert out == {
        "momentum_5m": 0.4,
        "momentum_15m": -0.3,
        "momentum_30m": 0.2,
        "vwap_deviation": -0.1,
        "skew_change": 0.0,  # NaN -> 0
        "cross_ticker_strength": 0.7,
        **NON_DIRECTIONAL,
    }
    assert list(out) == list(FEATURE_NAMES)


def test_aligned_inputs_bear_flips_directional_only() -> None:
    out = aligned_inputs(SCORES, strategy="bear_put_spread", direction=-1)
    assert out == {
        "momentum_5m": -0.4,
        "momentum_15m": 0.3,
        "momentum_30m": -0.2,
        "vwap_deviation": 0.1,
        "skew_change": 0.0,
        "cross_ticker_strength": -0.7,
        **NON_DIRECTIONAL,  # non-directional scores are not flipped
    }


@pytest.mark.parametrize("strategy", ["iron_condor", "iron_butterfly"])
@pytest.mark.parametrize("direction", [0, 1, -1])
def test_aligned_inputs_range_is_minus_abs(strategy: str, direction: int) -> None:
    out = aligned_inputs(SCORES, strategy=strategy, direction=direction)
    assert out == {
        "momentum_5m": -0.4,
        "momentum_15m": -0.3,
        "momentum_30m": -0.2,
        "vwap_deviation": -0.1,
        "skew_change": 0.0,
        "cross_ticker_strength": -0.7,
        **NON_DIRECTIONAL,
    }


@pytest.mark.parametrize("strategy", ["long_straddle", "long_strangle"])
@pytest.mark.parametrize("direction", [0, 1, -1])
def test_aligned_inputs_breakout_is_plus_abs(strategy: str, direction: int) -> None:
    out = aligned_inputs(SCORES, strategy=strategy, direction=direction)
    assert out == {
        "momentum_5m": 0.4,
        "momentum_15m": 0.3,
        "momentum_30m": 0.2,
        "vwap_deviation": 0.1,
        "skew_change": 0.0,
        "cross_ticker_strength": 0.7,
        **NON_DIRECTIONAL,
    }


def test_aligned_inputs_missing_and_non_finite_are_zero() -> None:
    out = aligned_inputs(
        {"momentum_5m": float("inf"), "divergence": float("nan")},
        strategy="bear_put_spread",
        direction=-1,
    )
    assert out == dict.fromkeys(FEATURE_NAMES, 0.0)


def test_aligned_inputs_no_negative_zero() -> None:
    # a 0 score flipped for a bearish trade or made −|0| for a range trade stays +0.0
    zeros = dict.fromkeys(FEATURE_NAMES, 0.0)
    for strategy, direction in (("bear_put_spread", -1), ("iron_condor", 0)):
        out = aligned_inputs(zeros, strategy=strategy, direction=direction)
        assert all(math.copysign(1.0, v) == 1.0 for v in out.values())


def test_aligned_inputs_families_cover_directional_features() -> None:
    # the table the module aligns with: six strategies in three families
    assert set(STRATEGY_FAMILY.values()) == {"directional", "range", "breakout"}
    assert sorted(DIRECTIONAL) == [
        "cross_ticker_strength",
        "momentum_15m",
        "momentum_30m",
        "momentum_5m",
        "skew_change",
        "vwap_deviation",
    ]
