"""Tests of risk.engine.correlation and risk.engine.concentration: numpy.corrcoef and pandas
``DataFrame.corr`` (pairwise-complete) as references, and hand-computed matrices (docs
RISK-MODEL.md, "Concentration, correlation, data quality")."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.linalg import block_diag

from risk.engine.concentration import concentration
from risk.engine.correlation import (
    average_correlation,
    clusters,
    correlation_matrix,
    effective_positions,
)

TOL = 1e-12


def block_matrix() -> np.ndarray:
    """Two clusters, {0, 1, 2} at ρ = 0.8 and {3, 4} at ρ = -0.9, 0.1 between them, and a
    loner, 5, at 0.1 with everyone."""
    c = block_diag(np.full((3, 3), 0.8), np.full((2, 2), 0.9), np.ones((1, 1)))
    c[3, 4] = c[4, 3] = -0.9
    c[c == 0.0] = 0.1
    np.fill_diagonal(c, 1.0)
    return c


def returns_with_structure(t: int, seed: int) -> np.ndarray:
    """Returns drawn with the block matrix's correlations, 1-2% daily vols."""
    rng = np.random.default_rng(seed)
    vol = rng.uniform(0.01, 0.02, 6)
    cov = block_matrix() * np.outer(vol, vol)
    return rng.multivariate_normal(np.full(6, 0.0005), cov, t)


def test_matches_numpy_corrcoef() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(0.0005, 0.01, (252, 40)) + rng.normal(0.0, 0.01, (252, 1))
    assert np.allclose(correlation_matrix(x), np.corrcoef(x, rowvar=False), rtol=0, atol=TOL)
    y = returns_with_structure(500, 2)
    corr = correlation_matrix(y)
    assert np.allclose(corr, np.corrcoef(y, rowvar=False), rtol=0, atol=TOL)
    assert np.array_equal(np.diagonal(corr), np.ones(6))
    assert np.array_equal(corr, corr.T)


def test_pairwise_complete_matches_pandas() -> None:
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(3)
    x = returns_with_structure(300, 4)
    x[rng.random(x.shape) < 0.15] = np.nan
    x[:200, 5] = np.nan  # a late listing
    ref = pd.DataFrame(x).corr(min_periods=2).to_numpy()
    assert np.allclose(correlation_matrix(x), ref, rtol=0, atol=TOL, equal_nan=True)


def test_hand_computed_two_by_two() -> None:
    # x = (1, 2, 3, 4), y = (2, 4, 5, 9): deviations (-1.5, -0.5, 0.5, 1.5) and
    # (-3, -1, 0, 4); sums of products 11, of squares 5 and 26: ρ = 11 / sqrt(130).
    x = np.array([[1.0, 2.0], [2.0, 4.0], [3.0, 5.0], [4.0, 9.0]])
    dx = x[:, 0] - 2.5
    dy = x[:, 1] - 5.0
    rho = (dx @ dy) / math.sqrt((dx @ dx) * (dy @ dy))
    assert math.isclose(correlation_matrix(x)[0, 1], rho, rel_tol=1e-14)
    assert math.isclose(rho, 11.0 / math.sqrt(130.0), rel_tol=1e-14)


def test_constant_or_short_series_give_nan() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(0.0, 0.01, (50, 3))
    x[:, 1] = 0.001  # constant
    corr = correlation_matrix(x)
    assert np.isnan(corr[1]).all() and np.isnan(corr[:, 1]).all()
    assert corr[0, 0] == 1.0 and np.isfinite(corr[0, 2])
    x[:, 1] = np.nan
    x[:1, 1] = 0.01  # one day only
    assert np.isnan(correlation_matrix(x)[1]).all()


def test_clusters_of_a_block_matrix() -> None:
    c = block_matrix()
    assert clusters(c, 0.7) == [[0, 1, 2], [3, 4]]
    assert clusters(c, 0.85) == [[3, 4]]  # |-0.9| links; 0.8 does not
    assert clusters(c, 0.05) == [[0, 1, 2, 3, 4, 5]]
    assert clusters(c, 0.7, min_size=1) == [[0, 1, 2], [3, 4], [5]]
    assert clusters(c, 0.95) == []


def test_clusters_are_connected_components_not_cliques() -> None:
    # 0-1 and 1-2 above the threshold, 0-2 not: one cluster.
    c = np.array([[1.0, 0.8, 0.5], [0.8, 1.0, 0.75], [0.5, 0.75, 1.0]])
    assert clusters(c) == [[0, 1, 2]]
    c[0, 1] = c[1, 0] = np.nan  # a NaN links nothing
    assert clusters(c) == [[1, 2]]


def test_clusters_recovered_from_returns() -> None:
    corr = correlation_matrix(returns_with_structure(2000, 6))
    assert clusters(corr, 0.7) == [[0, 1, 2], [3, 4]]


def test_effective_positions_hand_cases() -> None:
    w = np.array([0.5, 0.3, 0.2])
    hhi = w @ w
    assert math.isclose(effective_positions(w, np.eye(3)), 1.0 / hhi, rel_tol=1e-14)
    assert math.isclose(effective_positions(w, np.ones((3, 3))), 1.0, rel_tol=1e-14)
    # Two equal positions at ρ = 0.5: 1 / (0.25 + 0.25 + 2 * 0.25 * 0.5) = 4/3.
    half = np.array([[1.0, 0.5], [0.5, 1.0]])
    assert math.isclose(effective_positions([1.0, 1.0], half), 4.0 / 3.0, rel_tol=1e-14)
    # Only sizes matter: a short, or market values instead of weights, change nothing; a
    # long/short pair on names at ρ = -0.5 is as concentrated as a long pair at +0.5.
    assert math.isclose(effective_positions([5e5, -5e5], half), 4.0 / 3.0, rel_tol=1e-14)
    assert math.isclose(effective_positions([1.0, 1.0], -half + 2 * np.eye(2)), 4.0 / 3.0)
    # NaN correlation counts as 0.
    assert math.isclose(effective_positions([1.0, 1.0], [[1.0, np.nan], [np.nan, 1.0]]), 2.0)
    assert math.isnan(effective_positions([0.0, 0.0], half))


def test_effective_positions_block_matrix_between_one_and_inverse_hhi() -> None:
    c = block_matrix()
    rng = np.random.default_rng(7)
    for _ in range(50):
        w = rng.uniform(-1.0, 1.0, 6)
        a = np.abs(w) / np.abs(w).sum()
        n_eff = effective_positions(w, c)
        assert 1.0 <= n_eff <= 1.0 / (a @ a) + 1e-12
        assert math.isclose(n_eff, 1.0 / (a @ np.abs(c) @ a), rel_tol=1e-13)


def test_average_correlation_hand_cases() -> None:
    c = block_matrix()
    equal = np.ones(6)
    off = c[~np.eye(6, dtype=bool)]
    assert math.isclose(average_correlation(equal, c), off.mean(), rel_tol=1e-14)
    # Weights 2, 1, 1 on a 3x3: pairs (0,1), (0,2) weigh 2 each, (1,2) weighs 1.
    c3 = np.array([[1.0, 0.2, 0.4], [0.2, 1.0, -0.6], [0.4, -0.6, 1.0]])
    expected = (2 * 0.2 + 2 * 0.4 + 1 * -0.6) / 5.0
    assert math.isclose(average_correlation([2.0, -1.0, 1.0], c3), expected, rel_tol=1e-14)
    assert math.isnan(average_correlation([1.0, 0.0, 0.0], c3))
    c3[0, 1] = c3[1, 0] = np.nan  # the pair is left out
    assert math.isclose(average_correlation([2.0, 1.0, 1.0], c3), (0.8 - 0.6) / 3.0)


def test_concentration_hand_case() -> None:
    values = np.array([50_000.0, -30_000.0, 10_000.0, 5_000.0, 3_000.0, 2_000.0, 0.0])
    out = concentration(values)
    w = np.array([0.5, 0.3, 0.1, 0.05, 0.03, 0.02])
    assert math.isclose(out["herfindahl"], w @ w, rel_tol=1e-14)
    assert math.isclose(out["herfindahl"], 0.3538, rel_tol=1e-12)
    assert math.isclose(out["effective_positions"], 1.0 / 0.3538, rel_tol=1e-12)
    assert math.isclose(out["top_5_weight"], 0.98, rel_tol=1e-14)
    assert math.isclose(out["largest_position_weight"], 0.5, rel_tol=1e-14)
    assert out["gross_exposure"] == 100_000.0 and out["n_positions"] == 6.0


def test_concentration_edge_cases() -> None:
    few = concentration([1.0, 1.0, 2.0])
    assert math.isclose(few["top_5_weight"], 1.0)
    assert math.isclose(few["effective_positions"], 1.0 / (0.25 + 0.0625 * 2))  # 8/3
    equal = concentration(np.full(100, 7.0))
    assert math.isclose(equal["effective_positions"], 100.0, rel_tol=1e-12)
    assert math.isclose(equal["top_5_weight"], 0.05, rel_tol=1e-12)
    empty = concentration([])
    assert math.isnan(empty["herfindahl"]) and empty["gross_exposure"] == 0.0
    assert math.isclose(concentration([np.nan, 4.0])["largest_position_weight"], 1.0)
