"""Engine pieces of issue 11, against independent references: per-underlying residuals in
parametric VaR (an explicit n x n covariance), rate betas (statsmodels), implied vol moving
with the VIX in historical and Monte Carlo VaR (a direct repricing), vol betas (a hand
case), and the VIX moving by the vol shock in a stress scenario."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import statsmodels.api as sm
from scipy.special import ndtri

from risk.engine.aggregation import greek_totals
from risk.engine.factors import rate_betas
from risk.engine.pricing import black76_price, bsm_price
from risk.engine.revaluation import MODEL_BLACK76, revalue
from risk.engine.stress import stress_scenario
from risk.engine.var import (
    historical_full_revaluation,
    monte_carlo_var,
    overlapping_horizon_returns,
    parametric_var,
    vol_betas,
)
from risk.tests.test_var import make_book


def test_parametric_residual_is_per_underlying_against_an_explicit_covariance() -> None:
    # Two underlyings: a stock, a call on it (delta dollars w1) and a second stock.
    w = np.array([10_000.0, -6_000.0, 4_000.0])
    loadings = np.array([[1.1, 0.2], [1.1, 0.2], [0.7, -0.3]])
    cov = np.array([[1e-4, 2e-5], [2e-5, 4e-5]])
    ui = np.array([0, 0, 1])
    vol = np.array([0.015, 0.02])
    got = parametric_var(
        exposure=w,
        factor_loadings=loadings,
        factor_cov=cov,
        underlying_index=ui,
        residual_vol=vol,
        confidence=0.99,
    )
    # Reference: Σ = B Σ_f B' + D with D the *shared* residual of positions on the same name.
    same = ui[:, None] == ui[None, :]
    full = loadings @ cov @ loadings.T + np.where(same, np.outer(vol[ui], vol[ui]), 0.0)
    sigma = math.sqrt(w @ full @ w)
    assert got.var == pytest.approx(-float(ndtri(0.99)) * sigma, rel=1e-12)
    assert got.component == pytest.approx(w * (full @ w) / sigma**2 * got.var, rel=1e-12)
    assert got.component.sum() == pytest.approx(got.var, rel=1e-12)
    # Netted: the idiosyncratic variance is (10000 - 6000)² σ0² + 4000² σ1², not the sum of
    # each position's own.
    assert got.idiosyncratic_variance == pytest.approx(
        4000.0**2 * 0.015**2 + 4000.0**2 * 0.02**2, rel=1e-12
    )
    with pytest.raises(ValueError):
        parametric_var(exposure=w, factor_loadings=loadings, factor_cov=cov, confidence=0.99)


def test_rate_betas_match_statsmodels_and_need_enough_months() -> None:
    rng = np.random.default_rng(3)
    dy = rng.normal(0.0, 0.002, 120)
    returns = np.column_stack(
        [
            0.005 - 4.0 * dy + rng.normal(0.0, 0.04, 120),
            0.002 + 1.5 * dy + rng.normal(0.0, 0.05, 120),
            np.r_[np.full(100, np.nan), rng.normal(0.0, 0.05, 20)],  # 20 months only
        ]
    )
    returns[[5, 40], 1] = np.nan
    beta, n = rate_betas(returns, dy)
    for j in range(2):
        rows = np.isfinite(returns[:, j])
        ref = sm.OLS(returns[rows, j], sm.add_constant(dy[rows])).fit().params[1]
        assert beta[j] == pytest.approx(ref, rel=1e-10)
    assert list(n) == [120, 118, 20]
    assert np.isnan(beta[2])


def test_vol_betas_recover_a_known_elasticity() -> None:
    # Each month's realized vol is exactly c × VIX level ** 1.5 (first name), flat (second).
    rng = np.random.default_rng(9)
    months = 12
    vix_level = 20.0 * np.exp(np.cumsum(rng.normal(0.0, 0.2, months)))
    vix_daily = np.repeat(vix_level, 21)  # constant within each 21-day block
    vix_returns = np.r_[0.0, vix_daily[1:] / vix_daily[:-1] - 1.0]
    signs = np.where(np.arange(21) % 2 == 0, 1.0, -1.0)  # |r| constant: rv = |r|
    r1 = np.concatenate([0.001 * (lv / 20.0) ** 1.5 * signs for lv in vix_level])
    r2 = np.tile(0.01 * signs, months)
    beta, fitted = vol_betas(np.column_stack([r1, r2]), vix_returns)
    assert fitted.all()
    assert beta[0] == pytest.approx(1.5, rel=1e-9)
    assert beta[1] == pytest.approx(0.0, abs=1e-9)
    # Too little history: 1, not fitted.
    short, ok = vol_betas(np.column_stack([r1, r2])[:100], vix_returns[:100])
    assert list(short) == [1.0, 1.0] and not ok.any()


def _option_book(vol_beta: float) -> object:
    book = make_book(
        [100.0],
        [(0, 10.0)],
        [dict(u=0, q=2.0, k=100.0, t=0.25, call=True, sigma=0.3)],
    )
    return dataclasses.replace(book, vol_beta=np.array([1.0, vol_beta]))


def test_historical_var_moves_implied_vol_with_the_vix_scaled_per_option() -> None:
    rng = np.random.default_rng(4)
    r = rng.normal(0.0, 0.015, (60, 1))
    v = -4.0 * r[:, 0] + rng.normal(0.0, 0.03, 60)
    book = _option_book(0.5)
    got = historical_full_revaluation(book, r, horizons=(5,), confidences=(0.95,), vol_returns=v)
    shocks = overlapping_horizon_returns(r, 5)[:, 0]
    vshock = overlapping_horizon_returns(v[:, None], 5)[:, 0]
    t = 0.25 - 5 * 365 / 252 / 365
    price = bsm_price(100 * (1 + shocks), 100.0, t, 0.04, 0.01, 0.3 * (1 + vshock) ** 0.5, True)
    pnl = 10 * 100 * shocks + 200 * (price - book.price0[1])  # type: ignore[attr-defined]
    assert got[(5, 0.95)].pnl_vector == pytest.approx(pnl, rel=1e-12)
    flat = historical_full_revaluation(book, r, horizons=(5,), confidences=(0.95,))
    assert flat[(5, 0.95)].var != pytest.approx(got[(5, 0.95)].var, rel=1e-6)


def test_monte_carlo_moves_implied_vol_with_the_vix_path() -> None:
    book = _option_book(1.0)
    cov = np.array([[1e-4]])
    kwargs = dict(n_paths=2000, horizons=(1,), confidences=(0.99,), seed=5)
    base = monte_carlo_var(book, cov, [[1.0]], [0.01], **kwargs)
    moved = monte_carlo_var(
        book, cov, [[1.0]], [0.01], vol_loadings=[-5.0], vol_residual=0.02, **kwargs
    )
    # Same seed, same underlying paths; the only difference is the implied vol.
    # The seed's stream gives the factor, then the VIX residual; each path's residual
    # comes from its own child stream.
    rng = np.random.default_rng(5)
    f = rng.standard_normal((2000, 1)) * 0.01
    v = -5.0 * f[:, 0] + rng.standard_normal(2000) * 0.02
    e = [np.random.default_rng(np.random.SeedSequence(5, spawn_key=(i,))) for i in range(2000)]
    x = f[:, 0] + np.array([g.standard_normal() for g in e]) * 0.01
    t = 0.25 - 365 / 252 / 365
    price = bsm_price(100 * np.exp(x), 100.0, t, 0.04, 0.01, 0.3 * np.exp(v), True)
    pnl = 1000 * np.expm1(x) + 200 * (price - book.price0[1])  # type: ignore[attr-defined]
    assert moved[(1, 0.99)].pnl_vector == pytest.approx(pnl, rel=1e-9)
    assert base[(1, 0.99)].pnl_vector[:5] != pytest.approx(pnl[:5], rel=1e-9)


def test_the_vix_moves_by_the_vol_shock_in_stress_and_its_options_keep_their_vol() -> None:
    # Underlying 0 a stock, 1 the VIX (daily market beta -8), a long VIX call.
    book = make_book(
        [100.0, 20.0],
        [(0, 100.0)],
        [dict(u=1, q=1.0, k=25.0, t=0.1, call=True, sigma=0.9, model=MODEL_BLACK76, div=0.0)],
    )
    book = dataclasses.replace(book, vol_beta=np.array([1.0, 0.0]))
    got = stress_scenario(
        book,
        underlying_betas=[[1.0], [-8.0]],
        factor_cov=[[1e-4]],
        factor_shocks=[-0.45],
        vol_shock=2.0,
        residual_vol=[0.0, 0.0],
        vol_index=[False, True],
    )
    call = black76_price(60.0, 25.0, 0.1, 0.04, 0.9, True)  # VIX × 3, vol of vol held
    assert got.direct_by_position[1] == pytest.approx(100 * (float(call) - book.price0[1]))
    assert got.direct_by_position[0] == pytest.approx(100 * 100 * -0.45, rel=1e-12)
    # Without the vol index, exp(-8 log 0.55) puts the VIX at 20 × 119: the old absurdity.
    old = stress_scenario(
        book,
        underlying_betas=[[1.0], [-8.0]],
        factor_cov=[[1e-4]],
        factor_shocks=[-0.45],
        vol_shock=2.0,
        residual_vol=[0.0, 0.0],
    )
    assert old.direct_by_position[1] > 50 * got.direct_by_position[1]


def test_vix_delta_dollars_stay_out_of_net_delta_exposure() -> None:
    totals = greek_totals(
        quantity=[100, 10],
        multiplier=[1, 100],
        spot=[50.0, 20.0],
        is_option=[False, True],
        delta=[1.0, 0.4],
        gamma=[0.0, 0.05],
        theta=[0.0, -0.02],
        vega=[0.0, 0.03],
        rho=[0.0, 0.0],
        is_volatility=[False, True],
    )
    assert totals["net_delta_exposure"] == pytest.approx(5000.0)
    assert totals["options_delta_exposure"] == 0.0
    assert totals["total_delta"] == pytest.approx(100 + 400.0)


def test_revalue_with_vol_beta_one_is_the_plain_move() -> None:
    book = _option_book(1.0)
    plain = dataclasses.replace(book, vol_beta=None)  # type: ignore[arg-type]
    r = np.array([[0.02], [-0.03]])
    assert np.array_equal(revalue(book, r, [0.5, -0.2]), revalue(plain, r, [0.5, -0.2]))
