"""Tests of risk.engine.factors against references: statsmodels OLS (betas, intercept, R²,
residual standard deviation, residuals), the ridge closed form and scikit-learn's Ridge,
pandas' EWM for the RiskMetrics covariance, and hand cases (docs RISK-MODEL.md, "Factor
model").

Tolerance for "within 1e-8": |ours - reference| <= 1e-8 * max(1, |reference|).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import ArrayLike

from risk.engine.factors import (
    TRADING_DAYS,
    Attribution,
    FactorFit,
    ewma_covariance,
    factor_design,
    option_betas,
    portfolio_exposures,
    regress,
    risk_attribution,
)

TOL = 1e-8


def assert_close(ours: ArrayLike, ref: ArrayLike, tol: float = TOL) -> None:
    a = np.asarray(ours, dtype=float)
    b = np.asarray(ref, dtype=float)
    assert a.shape == b.shape
    err = np.abs(a - b) / np.maximum(1.0, np.abs(b))
    assert np.all(err <= tol), f"max scaled error {np.nanmax(err):.3g}"


def market_and_styles(
    t: int, k: int, seed: int, style_noise: float = 0.004
) -> tuple[np.ndarray, np.ndarray]:
    """Daily market returns (mean 5bp, vol 1%) and k style ETFs that track the market with
    betas 0.8-1.2 plus noise of ``style_noise`` per day: collinear, as real ETFs are."""
    rng = np.random.default_rng(seed)
    market = rng.normal(0.0005, 0.01, t)
    styles = market[:, None] * rng.uniform(0.8, 1.2, k) + rng.normal(0.0, style_noise, (t, k))
    return market, styles


def positions(design: np.ndarray, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p = design.shape[1]
    betas = rng.normal(0.0, 0.5, (n, p))
    betas[:, 0] += 1.0
    alpha = rng.normal(0.0, 0.0003, n)
    returns = alpha + design @ betas.T + rng.normal(0.0, 0.015, (design.shape[0], n))
    return returns, betas


def statsmodels_fit(y: np.ndarray, x: np.ndarray) -> dict[str, np.ndarray | float]:
    import statsmodels.api as sm

    res = sm.OLS(y, sm.add_constant(x, has_constant="add")).fit()
    return {
        "alpha": res.params[0],
        "betas": res.params[1:],
        "r_squared": res.rsquared,
        "residual_vol": np.sqrt(res.scale) * np.sqrt(TRADING_DAYS),
        "resid": res.resid,
    }


def assert_matches_statsmodels(
    fit: FactorFit, returns: np.ndarray, design: np.ndarray, *, full_rank: bool = True
) -> int:
    """Compare every valid position with statsmodels on its own usable days; return how
    many were compared. With ``full_rank=False`` the residual volatility is skipped:
    statsmodels then divides by n - rank, the engine by n - p - 1."""
    day_ok = np.isfinite(design).all(axis=1)
    compared = 0
    for i in np.flatnonzero(fit.valid):
        rows = day_ok & np.isfinite(returns[:, i])
        assert fit.n_obs[i] == rows.sum()
        ref = statsmodels_fit(returns[rows, i], design[rows])
        assert_close(fit.alpha[i], ref["alpha"])
        assert_close(fit.betas[i], ref["betas"])
        assert_close(fit.r_squared[i], ref["r_squared"])
        assert_close(fit.idiosyncratic_share[i], 1.0 - ref["r_squared"])
        if full_rank:
            assert_close(fit.residual_vol[i], ref["residual_vol"])
        assert_close(fit.residuals[rows, i], ref["resid"])
        assert np.isnan(fit.residuals[~rows, i]).all()
        compared += 1
    return compared


def test_design_is_market_then_styles_in_excess_of_market_orthogonalized() -> None:
    # Issue 11 changed the design: each style spread is now residualized on the market.
    market = np.array([0.01, -0.02, 0.005, 0.0])
    styles = np.array([[0.012, 0.0], [-0.01, -0.03], [0.005, np.nan], [0.004, 0.001]])
    x = factor_design(market, styles)
    assert x.shape == (4, 3)
    assert_close(x[:, 0], market)
    # Column 1 by hand: spread s = style - market, then s - a - b m with the OLS a, b.
    s1 = styles[:, 0] - market
    b1 = np.cov(s1, market, bias=True)[0, 1] / np.var(market)
    a1 = s1.mean() - b1 * market.mean()
    assert_close(x[:, 1], s1 - a1 - b1 * market)
    # Column 2 is fitted on its own finite days only; the missing day stays missing.
    rows = np.isfinite(styles[:, 1])
    s2 = styles[rows, 1] - market[rows]
    res = statsmodels_fit(s2, market[rows])
    assert_close(x[rows, 2], res["resid"])
    assert np.isnan(x[2, 2])
    # In sample, the styles have zero mean and zero covariance with the market.
    assert abs(x[:, 1].mean()) < 1e-15
    assert abs(x[:, 1] @ (market - market.mean())) < 1e-15


@pytest.mark.parametrize("ridge", [0.0, 1e-4, 0.05])
def test_market_loading_is_the_single_factor_beta(ridge: float) -> None:
    """RISK-MODEL "Regression": the market coefficient of the multi-factor fit equals the
    position's beta from a one-factor OLS (statsmodels), with or without ridge, to 1e-8."""
    market, styles = market_and_styles(252, 7, seed=21)
    x = factor_design(market, styles)
    y, _ = positions(x, 15, seed=22)
    y += 0.3 * styles[:, [2]]  # a real style tilt, so the multi-factor fit differs
    fit = regress(y, x, ridge=ridge)
    for i in range(15):
        single = statsmodels_fit(y[:, i], market)
        assert_close(fit.betas[i, 0], single["betas"][0])
    # Without orthogonalization (plain spreads) the loading would differ materially.
    raw = np.column_stack([market, styles - market[:, None]])
    plain = regress(y, raw)
    assert np.max(np.abs(plain.betas[:, 0] - fit.betas[:, 0])) > 1e-3


def test_ols_matches_statsmodels_on_random_data() -> None:
    market, styles = market_and_styles(252, 7, seed=1)
    x = factor_design(market, styles)
    y, _ = positions(x, 40, seed=2)
    fit = regress(y, x)
    assert fit.valid.all()
    assert fit.betas.shape == (40, 8) and fit.residuals.shape == (252, 40)
    assert assert_matches_statsmodels(fit, y, x) == 40


def test_ols_matches_statsmodels_on_collinear_styles() -> None:
    # Styles that differ from the market by 0.05% a day: the excess columns are small and
    # the raw ETFs correlate at 0.999+, so the design is badly conditioned.
    market, styles = market_and_styles(252, 7, seed=3, style_noise=0.0005)
    styles = market[:, None] + 0.3 * (styles - market[:, None]) + 1e-4 * styles[:, :1]
    x = factor_design(market, styles)
    assert np.linalg.cond(np.column_stack([np.ones(252), x])) > 1e3
    y, _ = positions(x, 25, seed=4)
    fit = regress(y, x)
    assert assert_matches_statsmodels(fit, y, x) == 25
    # Same data with holes goes through the masked normal equations.
    y[np.random.default_rng(5).random(y.shape) < 0.1] = np.nan
    fit = regress(y, x)
    assert assert_matches_statsmodels(fit, y, x) == 25


def test_exactly_collinear_design_gets_statsmodels_minimum_norm_solution() -> None:
    # A style ETF equal to the market (its excess column is all zero) and a duplicated
    # style: rank-deficient. statsmodels (pinv) gives the minimum-norm solution: 0 on the
    # zero column, an equal split between the duplicates; so do both solver paths.
    market, styles = market_and_styles(252, 3, seed=20)
    styles = np.column_stack([styles, market, styles[:, 0]])
    x = factor_design(market, styles)
    y, _ = positions(x, 4, seed=21)
    y[:10, 2:] = np.nan  # positions 2 and 3 take the masked path
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels warns about the rank
        fit = regress(y, x)
        assert assert_matches_statsmodels(fit, y, x, full_rank=False) == 4
    assert (fit.betas[:, 4] == 0.0).all()
    assert_close(fit.betas[:, 1], fit.betas[:, 5])


def test_each_position_uses_only_its_own_days() -> None:
    rng = np.random.default_rng(6)
    market, styles = market_and_styles(252, 5, seed=7)
    x = factor_design(market, styles)
    y, _ = positions(x, 30, seed=8)
    y[:120, 0] = np.nan  # listed half-way through the window
    y[rng.random(252) < 0.2, 1] = np.nan  # random holes
    y[200:, 2] = np.nan  # delisted
    y[::2, 3] = np.nan  # every other day
    block = y[:, 10:20]  # a view: a different random pattern for each of ten positions
    block[rng.random(block.shape) < 0.05] = np.nan
    x[17, 3] = np.nan  # a day without one style: no position may use it
    fit = regress(y, x)
    assert fit.valid.all()
    assert (fit.n_obs[20:] == 251).all()  # complete positions lose only the design's gap
    assert assert_matches_statsmodels(fit, y, x) == 30
    assert np.isnan(fit.residuals[17]).all()


def test_a_day_missing_from_the_design_is_dropped_for_complete_positions() -> None:
    market, styles = market_and_styles(252, 4, seed=22)
    x = factor_design(market, styles)
    y, _ = positions(x, 6, seed=23)
    x[100, 2] = np.nan
    fit = regress(y, x)
    assert (fit.n_obs == 251).all()
    assert np.isnan(fit.residuals[100]).all()
    assert assert_matches_statsmodels(fit, y, x) == 6


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), hole=st.floats(0.0, 0.5))
def test_any_missing_pattern_equals_least_squares_on_its_rows(seed: int, hole: float) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 0.01, (150, 4))
    y = 0.001 + x @ rng.normal(1.0, 1.0, (4, 12)) + rng.normal(0.0, 0.01, (150, 12))
    y[rng.random(y.shape) < hole] = np.nan
    fit = regress(y, x, min_obs=30)
    for i in range(12):
        rows = np.isfinite(y[:, i])
        if rows.sum() < 30:
            assert not fit.valid[i] and np.isnan(fit.betas[i]).all()
            continue
        a = np.column_stack([np.ones(rows.sum()), x[rows]])
        coef = np.linalg.lstsq(a, y[rows, i], rcond=None)[0]
        assert_close(fit.alpha[i], coef[0])
        assert_close(fit.betas[i], coef[1:])


def test_positions_below_min_obs_are_flagged_and_nan() -> None:
    market, styles = market_and_styles(252, 3, seed=9)
    x = factor_design(market, styles)
    y, _ = positions(x, 4, seed=10)
    y[:193, 0] = np.nan  # 59 days
    y[:192, 1] = np.nan  # 60 days: enough
    y[:, 2] = np.nan  # no data
    fit = regress(y, x, min_obs=60)
    assert fit.valid.tolist() == [False, True, False, True]
    assert fit.n_obs.tolist() == [59, 60, 0, 252]
    for field in (fit.alpha, fit.r_squared, fit.residual_vol, fit.idiosyncratic_share):
        assert np.isnan(field[[0, 2]]).all() and np.isfinite(field[[1, 3]]).all()
    assert np.isnan(fit.betas[[0, 2]]).all()
    assert np.isnan(fit.residuals[:, [0, 2]]).all()
    assert_matches_statsmodels(fit, y, x)
    # Too few days for the degrees of freedom is invalid whatever min_obs says.
    tiny = regress(y[-5:], x[-5:], min_obs=1)
    assert not tiny.valid.any()


def ridge_closed_form(y: np.ndarray, x: np.ndarray, lam: float) -> tuple[float, np.ndarray]:
    """min ||y - a - X b||² + lam ||b||² with an unpenalized intercept: centre, then
    b = (Xc'Xc + lam P)^-1 Xc'yc and a = mean(y) - mean(X) b, with P the identity except
    for the market column (0), which is never penalized (issue 11)."""
    xc = x - x.mean(axis=0)
    yc = y - y.mean()
    pen = np.eye(x.shape[1])
    pen[0, 0] = 0.0
    b = np.linalg.solve(xc.T @ xc + lam * pen, xc.T @ yc)
    return float(y.mean() - x.mean(axis=0) @ b), b


@pytest.mark.parametrize("lam", [1e-4, 1e-3, 0.05])
def test_ridge_matches_closed_form(lam: float) -> None:
    market, styles = market_and_styles(252, 7, seed=11)
    x = factor_design(market, styles)
    y, _ = positions(x, 20, seed=12)
    y[:100, 5] = np.nan
    y[np.random.default_rng(13).random(252) < 0.3, 6] = np.nan
    fit = regress(y, x, ridge=lam)
    ols = regress(y, x)
    for i in range(20):
        rows = np.isfinite(y[:, i])
        a, b = ridge_closed_form(y[rows, i], x[rows], lam)
        assert_close(fit.alpha[i], a)
        assert_close(fit.betas[i], b)
        resid = y[rows, i] - a - x[rows] @ b
        ssr = resid @ resid
        sst = ((y[rows, i] - y[rows, i].mean()) ** 2).sum()
        assert_close(fit.r_squared[i], 1.0 - ssr / sst)
        assert_close(fit.residual_vol[i], np.sqrt(ssr / (rows.sum() - 9) * TRADING_DAYS))
    # The penalty shrinks the coefficient vector.
    assert (np.linalg.norm(fit.betas, axis=1) < np.linalg.norm(ols.betas, axis=1)).all()


def test_ridge_matches_scikit_learn() -> None:
    linear_model = pytest.importorskip("sklearn.linear_model")
    market, styles = market_and_styles(252, 7, seed=14)
    x = factor_design(market, styles)
    y, _ = positions(x, 10, seed=15)
    fit = regress(y, x, ridge=0.002)
    # The market column is not penalized (issue 11). The styles are orthogonal to it (and
    # centred), so by Frisch-Waugh-Lovell the style slopes are scikit-learn's ridge on the
    # styles alone, and the market slope is the one-factor OLS beta.
    ref = linear_model.Ridge(alpha=0.002, fit_intercept=True, solver="svd").fit(x[:, 1:], y)
    assert_close(fit.betas[:, 1:], ref.coef_)
    single = linear_model.LinearRegression().fit(x[:, :1], y)
    assert_close(fit.betas[:, 0], single.coef_[:, 0])
    assert_close(fit.alpha, y.mean(axis=0) - x.mean(axis=0) @ fit.betas.T)


def test_one_dimensional_inputs_are_one_position_and_one_factor() -> None:
    rng = np.random.default_rng(16)
    x = rng.normal(0.0, 0.01, 100)
    y = 0.0001 + 1.3 * x + rng.normal(0.0, 0.005, 100)
    fit = regress(y, x)
    assert fit.betas.shape == (1, 1)
    ref = statsmodels_fit(y, x)
    assert_close(fit.betas[0], ref["betas"])


def test_option_beta_is_underlying_beta_times_elasticity() -> None:
    # delta 0.5 per $1, spot 100, price 5: elasticity 0.5 * 100 / 5 = 10.
    under = np.array([[1.2, 0.3], [0.8, -0.1], [1.0, 0.0], [1.0, 0.5]])
    delta = np.array([0.5, -0.4, 0.6, 0.2])
    spot = np.array([100.0, 50.0, 80.0, 20.0])
    price = np.array([5.0, 2.0, 0.0, np.nan])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = option_betas(under, delta, spot, price)
    assert_close(out[0], [12.0, 3.0])
    assert_close(out[1], [-8.0, 1.0])  # put: elasticity -0.4 * 50 / 2 = -10
    assert np.isnan(out[2:]).all()


def test_option_dollar_exposure_is_beta_times_delta_dollars() -> None:
    under = np.array([[1.2, 0.3]])
    delta, spot, price, qty, mult = 0.5, 100.0, 5.0, 3.0, 100.0
    by_value = portfolio_exposures(
        option_betas(under, [delta], [spot], [price]), [price * qty * mult], 10_000.0
    )
    by_delta = portfolio_exposures(under, [delta * qty * mult * spot], 10_000.0)
    assert_close(by_value[1], by_delta[1])
    assert_close(by_delta[1], [1.2 * 15_000.0, 0.3 * 15_000.0])
    assert_close(by_delta[0], [1.8, 0.45])


def test_portfolio_exposures_sum_dollar_exposures() -> None:
    betas = np.array([[1.0, 0.2], [1.5, -0.4], [np.nan, np.nan]])
    dollars = np.array([60_000.0, -20_000.0, 5_000.0])
    exposures, dollar_exp = portfolio_exposures(betas, dollars, total_value=100_000.0)
    assert_close(dollar_exp, [60_000.0 - 30_000.0, 12_000.0 + 8_000.0])
    assert_close(exposures, [0.3, 0.2])
    nan_exp, _ = portfolio_exposures(betas, dollars, total_value=0.0)
    assert np.isnan(nan_exp).all()


def test_risk_attribution_hand_case() -> None:
    b = np.array([100.0, -50.0])
    cov = np.array([[0.04, 0.01], [0.01, 0.09]])
    res = np.array([100.0, 125.0])
    out = risk_attribution(b, cov, res)
    assert isinstance(out, Attribution)
    # Σb = [3.5, -3.5]; b'Σb = 350 + 175 = 525; total 525 + 225 = 750.
    assert_close(out.systematic_variance, 525.0)
    assert_close(out.total_variance, 750.0)
    assert_close(out.systematic_share, 0.7)
    assert_close(out.idiosyncratic_share, 0.3)
    assert_close(out.factor_contributions, [350.0 / 525.0, 175.0 / 525.0])


def test_euler_shares_sum_to_one() -> None:
    rng = np.random.default_rng(17)
    for _ in range(20):
        a = rng.normal(size=(8, 8))
        cov = a @ a.T * 1e-4
        b = rng.normal(0.0, 1e5, 8)
        out = risk_attribution(b, cov, rng.uniform(0.0, 1e6, 30))
        assert_close(out.factor_contributions.sum(), 1.0, tol=1e-12)
        assert 0.0 < out.systematic_share < 1.0
    flat = risk_attribution(np.zeros(2), np.eye(2), [1.0])
    assert np.isnan(flat.factor_contributions).all() and flat.systematic_share == 0.0


def test_ewma_covariance_matches_pandas_and_the_recursion() -> None:
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(18)
    r = rng.multivariate_normal([0.0, 0.0, 0.0], [[1, 0.5, 0.2], [0.5, 2, 0.3], [0.2, 0.3, 1]], 300)
    r *= 0.01
    lam = 0.94
    cov = ewma_covariance(r, lam)
    ref = np.empty((3, 3))
    for i in range(3):
        for j in range(3):
            s = pd.Series(r[:, i] * r[:, j]).ewm(alpha=1.0 - lam, adjust=True).mean()
            ref[i, j] = s.iloc[-1] * TRADING_DAYS
    assert_close(cov, ref, tol=1e-12)
    assert np.allclose(cov, cov.T)
    # Long windows: the normalized weights become the RiskMetrics recursion.
    long = rng.normal(0.0, 0.01, (2000, 2))
    sigma = np.outer(long[0], long[0])
    for row in long[1:]:
        sigma = lam * sigma + (1.0 - lam) * np.outer(row, row)
    assert_close(ewma_covariance(long, lam), sigma * TRADING_DAYS, tol=1e-12)
    # Days with a NaN are dropped.
    holey = r.copy()
    holey[10, 1] = np.nan
    assert_close(ewma_covariance(holey, lam), ewma_covariance(np.delete(r, 10, axis=0), lam))
