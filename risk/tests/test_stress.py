"""Tests of risk.engine.stress against hand computations: exposure x beta x shock for
stocks, the textbook bivariate-normal conditional mean, ``np.linalg.solve`` for the
conditional shocks, a direct ``bsm_price`` call for an option under a crash, and
-D x dy x value for a bond fund. See docs RISK-MODEL.md ("Stress scenarios")."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from risk.engine.pricing import bsm_price
from risk.engine.revaluation import MODEL_BSM, Book, model_prices
from risk.engine.stress import (
    ScenarioSpec,
    conditional_factor_shocks,
    run_scenarios,
    stress_scenario,
)

FACTORS = [
    "market",
    "size",
    "value",
    "momentum",
    "quality",
    "low_volatility",
    "dividend_yield",
    "growth",
]
NAN = float("nan")


def make_book(
    spot0: Sequence[float],
    stocks: Sequence[tuple[int, float]],
    options: Sequence[dict[str, Any]] = (),
) -> Book:
    """Stocks (underlying, quantity) and BSM options (dicts: u, q, k, t, call, sigma), r 4%,
    no dividends, multiplier 100; price0 = model price."""
    rows = [dict(u=u, q=q, opt=False) for u, q in stocks] + [dict(o, opt=True) for o in options]

    def col(key: str, default: Any, dtype: type = float) -> np.ndarray:
        return np.array([r.get(key, default) for r in rows], dtype=dtype)

    is_option = col("opt", False, bool)
    kwargs: dict[str, np.ndarray] = dict(
        quantity=col("q", 0.0),
        multiplier=np.where(is_option, 100.0, 1.0),
        is_option=is_option,
        underlying_index=col("u", 0, np.intp),
        strike=col("k", 0.0),
        t_years=col("t", 0.0),
        is_call=col("call", False, bool),
        rate=np.full(len(rows), 0.04),
        div_yield=np.zeros(len(rows)),
        sigma=col("sigma", 0.0),
        model=np.full(len(rows), MODEL_BSM, dtype=np.int8),
        spot0=np.asarray(spot0, dtype=float),
        price0=np.zeros(len(rows)),
    )
    kwargs["price0"] = model_prices(Book(**kwargs))
    return Book(**kwargs)


def two_factor_cov(sig_m: float, sig_v: float, rho: float) -> np.ndarray:
    return np.array([[sig_m**2, rho * sig_m * sig_v], [rho * sig_m * sig_v, sig_v**2]])


def ewma_cov(returns: np.ndarray, lam: float = 0.94) -> np.ndarray:
    """EWMA covariance of daily returns, computed inline (oldest first)."""
    cov = np.cov(returns[:20].T)
    for row in returns[20:]:
        cov = lam * cov + (1.0 - lam) * np.outer(row, row)
    return cov


def test_stock_only_direct_impact_is_exposure_times_beta_times_shock() -> None:
    spot0 = [100.0, 50.0, 20.0]
    book = make_book(spot0, [(0, 100.0), (1, -200.0), (2, 1000.0), (0, 30.0)])
    betas = np.array([[1.1, 0.3], [0.8, -0.4], [1.5, 0.0]])
    cov = two_factor_cov(0.01, 0.006, 0.5)
    got = stress_scenario(
        book,
        underlying_betas=betas,
        factor_cov=cov,
        factor_shocks=[-0.10, 0.05],
        residual_vol=np.zeros(3),
    )
    expected = []
    for u, q in [(0, 100.0), (1, -200.0), (2, 1000.0), (0, 30.0)]:
        # Issue 11: shocks act as log returns, exp(sum beta log(1 + shock)) - 1.
        move = (0.9 ** betas[u, 0]) * (1.05 ** betas[u, 1]) - 1.0
        expected.append(q * spot0[u] * move)
    np.testing.assert_allclose(got.direct_by_position, expected, rtol=1e-12)
    assert got.direct_impact == pytest.approx(sum(expected), rel=1e-12)
    # both factors listed: nothing is implied, so correlated == direct
    assert got.correlated_impact == pytest.approx(got.direct_impact, rel=1e-14)


@pytest.mark.parametrize("rho", [-0.6, 0.0, 0.3, 0.9])
def test_market_only_scenario_implies_the_textbook_conditional_value_shock(rho: float) -> None:
    sig_m, sig_v = 0.012, 0.007
    cov = two_factor_cov(sig_m, sig_v, rho)
    shocks = conditional_factor_shocks(cov, [0], [-0.10])
    assert shocks[0] == -0.10
    assert shocks[1] == pytest.approx(rho * sig_v / sig_m * -0.10, rel=1e-12, abs=1e-15)
    # the stress result uses it: a pure value tilt moves only in the correlated impact
    book = make_book([100.0, 80.0], [(0, 10.0), (1, 10.0)])
    betas = np.array([[1.0, 0.0], [0.0, 1.0]])
    got = stress_scenario(
        book,
        underlying_betas=betas,
        factor_cov=cov,
        factor_shocks=[-0.10, NAN],
        residual_vol=[0.0, 0.0],
    )
    assert got.direct_by_position[1] == 0.0
    assert got.correlated_by_position[1] == pytest.approx(800.0 * shocks[1], rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(got.correlated_factor_shocks, shocks, rtol=1e-15)
    np.testing.assert_array_equal(got.direct_factor_shocks, [-0.10, 0.0])


def test_conditional_shocks_match_a_linear_solve_on_an_ewma_covariance() -> None:
    rng = np.random.default_rng(3)
    mix = rng.normal(0.0, 1.0, (8, 8)) * 0.004 + np.eye(8) * 0.008
    cov = ewma_cov(rng.standard_normal((300, 8)) @ mix.T)
    listed = [0, 2, 7]
    values = np.array([-0.45, -0.30, 0.15])
    got = conditional_factor_shocks(cov, listed, values, cap=10.0)
    free = [i for i in range(8) if i not in listed]
    expected = cov[np.ix_(free, listed)] @ np.linalg.solve(cov[np.ix_(listed, listed)], values)
    np.testing.assert_allclose(got[free], expected, rtol=1e-9, atol=1e-13)
    np.testing.assert_array_equal(got[listed], values)


def test_collinear_listed_factors_use_the_pseudo_inverse() -> None:
    # factor 1 is a copy of factor 0: Sigma_ss is singular; consistent shocks still give
    # the one-factor answer for factor 2.
    c = np.array([[1.0, 1.0, 0.5], [1.0, 1.0, 0.5], [0.5, 0.5, 1.0]]) * 1e-4
    got = conditional_factor_shocks(c, [0, 1], [-0.2, -0.2])
    assert np.all(np.isfinite(got))
    assert got[2] == pytest.approx(0.5 * -0.2, rel=1e-9)


def test_implied_shocks_are_capped_but_listed_shocks_are_not() -> None:
    cov = two_factor_cov(0.01, 0.03, 0.9)  # beta of factor 1 on factor 0: 2.7
    got = conditional_factor_shocks(cov, [0], [-0.6])
    assert got[1] == -1.0  # -1.62 clipped to -100%
    got = conditional_factor_shocks(cov, [0], [0.6], cap=0.5)
    assert got[1] == 0.5
    got = conditional_factor_shocks(cov, [1], [-1.5])
    assert got[0] == pytest.approx(-1.5 * 0.9 * 0.01 / 0.03, rel=1e-13)
    assert got[1] == -1.5  # listed: unclipped
    np.testing.assert_array_equal(conditional_factor_shocks(cov, [], []), [0.0, 0.0])


def test_option_under_a_crash_with_vol_up_200_percent_is_fully_repriced() -> None:
    book = make_book(
        [400.0],
        [(0, -50.0)],
        [
            dict(u=0, q=-5.0, k=380.0, t=0.2, call=False, sigma=0.22),
            dict(u=0, q=3.0, k=420.0, t=0.6, call=True, sigma=0.18),
        ],
    )
    betas = np.array([[1.2, 0.0]])
    got = stress_scenario(
        book,
        underlying_betas=betas,
        factor_cov=np.eye(2) * 1e-4,
        factor_shocks=[-0.35, NAN],
        vol_shock=2.0,
        residual_vol=[0.0],
    )
    spot = 400.0 * 0.65**1.2  # log returns (issue 11): 0.65 ** beta
    put = bsm_price(spot, 380.0, 0.2, 0.04, 0.0, 0.66, False)
    call = bsm_price(spot, 420.0, 0.6, 0.04, 0.0, 0.54, True)
    expected = [
        -50.0 * 400.0 * (0.65**1.2 - 1.0),
        -500.0 * (float(put) - book.price0[1]),
        300.0 * (float(call) - book.price0[2]),
    ]
    np.testing.assert_allclose(got.direct_by_position, expected, rtol=1e-11)
    assert got.direct_by_position[1] < -10_000.0  # the short put loses heavily
    assert got.top_contributors[0] == 1


def test_rate_shift_moves_a_bond_fund_by_minus_duration_times_shift_times_value() -> None:
    # TLT-like fund (duration 17), a stock with rate beta -2, a call repriced at r + dy
    book = make_book(
        [90.0, 100.0],
        [(0, 1000.0), (1, 200.0)],
        [dict(u=1, q=1.0, k=100.0, t=1.0, call=True, sigma=0.2)],
    )
    betas = np.array([[0.1], [1.0]])
    got = stress_scenario(
        book,
        underlying_betas=betas,
        factor_cov=[[1e-4]],
        factor_shocks=[NAN],
        rate_shift=0.01,
        residual_vol=[0.0, 0.0],
        duration=[17.0, 0.0],
        rate_beta=[0.0, -2.0],
    )
    assert got.direct_by_position[0] == pytest.approx(-17.0 * 0.01 * 90_000.0, rel=1e-14)
    # Issue 11: a stock's rate move compounds like the factor moves, exp(beta dy) - 1; the
    # fund's duration term stays linear (RISK-MODEL: -D x dy x value).
    assert got.direct_by_position[1] == pytest.approx(math.expm1(-0.02) * 20_000.0, rel=1e-12)
    call = bsm_price(100.0 * math.exp(-0.02), 100.0, 1.0, 0.05, 0.0, 0.2, True)
    assert got.direct_by_position[2] == pytest.approx(100.0 * (float(call) - book.price0[2]))
    assert got.correlated_impact == got.direct_impact  # nothing listed, nothing implied


def test_idiosyncratic_band_is_two_sigma_of_residual_dollar_moves() -> None:
    book = make_book([100.0, 50.0], [(0, 100.0), (1, -400.0), (0, 50.0)])
    betas = np.array([[1.0], [0.5]])
    got = stress_scenario(
        book,
        underlying_betas=betas,
        factor_cov=[[1e-4]],
        factor_shocks=[-0.2],
        residual_vol=[0.02, 0.01],
        horizon_days=4,
    )
    dd0 = 150.0 * 100.0 * 0.8  # dollar exposure at the stressed price (0.8 ** 1)
    dd1 = -400.0 * 50.0 * 0.8**0.5  # log returns (issue 11)
    sigma = math.sqrt(((dd0 * 0.02) ** 2 + (dd1 * 0.01) ** 2) * 4)
    assert got.idiosyncratic_sigma == pytest.approx(sigma, rel=1e-13)
    assert got.idiosyncratic_band == pytest.approx(2.0 * sigma, rel=1e-13)
    assert got.systematic_impact == got.correlated_impact


def test_run_scenarios_matches_one_scenario_at_a_time() -> None:
    rng = np.random.default_rng(5)
    u = 6
    spot0 = list(rng.uniform(20.0, 300.0, u))
    stocks = [(i, float(rng.integers(-500, 500))) for i in range(u)]
    options = [
        dict(
            u=int(rng.integers(u)),
            q=float(rng.integers(-10, 10)),
            k=spot0[0] * 1.05,
            t=0.3,
            call=bool(i % 2),
            sigma=0.3,
        )
        for i in range(6)
    ]
    for o in options:
        o["k"] = spot0[o["u"]] * 1.05
    book = make_book(spot0, stocks, options)
    betas = rng.normal(0.0, 0.3, (u, 8))
    betas[:, 0] += 1.0
    cov = ewma_cov(rng.standard_normal((200, 8)) * 0.01)
    library = [
        ScenarioSpec("market_crash_35", {"market": -0.35}, vol_shock=2.0),
        ScenarioSpec("rates_up_100bp", {}, rate_shift=0.01),
        ScenarioSpec("value_rotation_20", {"value": 0.20, "growth": -0.10}),
        ScenarioSpec(
            "covid_crash_2020",
            {"market": -0.35, "growth": 0.15, "value": -0.40, "size": -0.30, "quality": 0.10},
            vol_shock=3.0,
        ),
    ]
    resid = rng.uniform(0.005, 0.02, u)
    duration = np.array([0, 0, 0, 0, 0, 7.0])
    batch = run_scenarios(
        book,
        library,
        factor_names=FACTORS,
        underlying_betas=betas,
        factor_cov=cov,
        residual_vol=resid,
        duration=duration,
    )
    for spec, got in zip(library, batch, strict=True):
        shocks = np.full(8, np.nan)
        for key, value in spec.factor_shocks.items():
            shocks[FACTORS.index(key)] = value
        one = stress_scenario(
            book,
            underlying_betas=betas,
            factor_cov=cov,
            factor_shocks=shocks,
            vol_shock=spec.vol_shock,
            rate_shift=spec.rate_shift,
            residual_vol=resid,
            duration=duration,
            scenario_id=spec.id,
        )
        assert got.scenario_id == spec.id
        np.testing.assert_allclose(
            got.correlated_by_position, one.correlated_by_position, rtol=1e-12, atol=1e-9
        )
        np.testing.assert_allclose(
            got.direct_by_position, one.direct_by_position, rtol=1e-12, atol=1e-9
        )
        assert got.idiosyncratic_sigma == pytest.approx(one.idiosyncratic_sigma, rel=1e-12)
        assert np.all(np.abs(got.correlated_factor_shocks) <= 1.0)
        order = np.argsort(-np.abs(got.correlated_by_position), kind="stable")[:5]
        np.testing.assert_array_equal(got.top_contributors, order)
    with pytest.raises(KeyError):
        run_scenarios(
            book,
            [ScenarioSpec("bad", {"rates": 0.01})],
            factor_names=FACTORS,
            underlying_betas=betas,
            factor_cov=cov,
            residual_vol=resid,
        )
    assert (
        run_scenarios(
            book,
            [],
            factor_names=FACTORS,
            underlying_betas=betas,
            factor_cov=cov,
            residual_vol=resid,
        )
        == []
    )


def test_an_underlying_cannot_fall_more_than_100_percent() -> None:
    book = make_book([10.0], [(0, 100.0)])
    got = stress_scenario(
        book,
        underlying_betas=[[3.0]],
        factor_cov=[[1e-4]],
        factor_shocks=[-0.45],
        residual_vol=[0.0],
    )
    # Issue 11: log returns, so a beta of 3 to -45% loses 1 - 0.55**3 = 83.4%, not the
    # linear 135% floored at 100%; even a -100% shock leaves a sliver (floored at -99.9%).
    assert got.direct_impact == pytest.approx(1000.0 * (0.55**3 - 1.0), rel=1e-12)
    assert got.direct_impact > -1000.0
    wipe = stress_scenario(
        book,
        underlying_betas=[[1.0]],
        factor_cov=[[1e-4]],
        factor_shocks=[-1.0],
        residual_vol=[0.0],
    )
    assert -1000.0 <= wipe.direct_impact < -998.0
