"""Tests of risk.engine.revaluation and risk.engine.var against references: a sort in a
Python loop (VaR/ES), loops over windows and scenarios, direct ``bsm_price`` /
``black76_price`` calls (full revaluation), an explicit n x n covariance (parametric VaR)
and the normal quantile (Monte Carlo on a linear book). See docs RISK-MODEL.md ("VaR, ES
and performance").

"Components sum to VaR" is checked to |sum - VaR| <= 1e-12 x sum |component|: the
rounding of the sum of n terms of both signs, i.e. float precision.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import ndtri

from risk.engine.pricing import black76_price, bsm_greeks, bsm_price
from risk.engine.revaluation import (
    MODEL_BLACK76,
    MODEL_BSM,
    Book,
    dollar_delta,
    market_values,
    model_prices,
    portfolio_pnl,
    position_weights,
    revalue,
)
from risk.engine.var import (
    CALENDAR_DAYS_PER_TRADING_DAY,
    component_var_historical,
    default_kernel_size,
    historical_full_revaluation,
    historical_var,
    marginal_var,
    monte_carlo_var,
    overlapping_horizon_returns,
    parametric_var,
    tail_scenarios,
)

SUM_TOL = 1e-12


def make_book(
    spot0: Sequence[float] | np.ndarray,
    stocks: Sequence[tuple[int, float]] = (),
    options: Sequence[dict[str, Any]] = (),
) -> Book:
    """A book from (underlying, quantity) stock positions and option dicts with keys u, q,
    k, t, call, sigma, and optionally r, div, model, mult (100). price0 = model price."""
    rows = [dict(u=u, q=q, opt=False) for u, q in stocks] + [dict(o, opt=True) for o in options]

    def col(key: str, default: Any, dtype: type = float) -> np.ndarray:
        return np.array([r.get(key, default) for r in rows], dtype=dtype)

    is_option = col("opt", False, bool)
    book = Book(
        quantity=col("q", 0.0),
        multiplier=np.where(is_option, col("mult", 100.0), 1.0),
        is_option=is_option,
        underlying_index=col("u", 0, np.intp),
        strike=col("k", 0.0),
        t_years=col("t", 0.0),
        is_call=col("call", False, bool),
        rate=np.where(is_option, col("r", 0.04), 0.0),
        div_yield=np.where(is_option, col("div", 0.01), 0.0),
        sigma=col("sigma", 0.0),
        model=col("model", MODEL_BSM, np.int8),
        spot0=np.asarray(spot0, dtype=float),
        price0=np.zeros(len(rows)),
    )
    return _with_price0(book, model_prices(book))


def _with_price0(book: Book, price0: np.ndarray) -> Book:
    fields = {f: getattr(book, f) for f in book.__dataclass_fields__}
    fields["price0"] = price0
    return Book(**fields)


def random_book(n: int, u: int, option_share: float, seed: int) -> Book:
    rng = np.random.default_rng(seed)
    spot0 = rng.uniform(20.0, 500.0, u)
    n_opt = round(n * option_share)
    stocks = [
        (int(rng.integers(u)), float(rng.choice([-1, 1]) * rng.integers(1, 1000)))
        for _ in range(n - n_opt)
    ]
    options = []
    for _ in range(n_opt):
        j = int(rng.integers(u))
        options.append(
            dict(
                u=j,
                q=float(rng.choice([-1, 1]) * rng.integers(1, 20)),
                k=float(spot0[j] * rng.uniform(0.8, 1.2)),
                t=float(rng.uniform(5 / 365, 1.0)),
                call=bool(rng.random() < 0.5),
                sigma=float(rng.uniform(0.15, 0.6)),
            )
        )
    return make_book(spot0, stocks, options)


def random_returns(t: int, u: int, seed: int) -> np.ndarray:
    """Fat-tailed daily returns: one market factor (Student t, 4 dof) plus noise."""
    rng = np.random.default_rng(seed)
    market = 0.012 * rng.standard_t(4, size=(t, 1)) / math.sqrt(2.0)
    beta = rng.uniform(0.5, 1.5, u)
    return market * beta + 0.015 * rng.standard_normal((t, u))


# --------------------------------------------------------------------------------------
# historical_var against a sort in a loop


def reference_var_es(pnl: list[float], confidence: float) -> tuple[float, float]:
    """Sort, then the type-7 quantile at h = (1 - c)(S - 1); ES = mean of P&L <= VaR."""
    x = sorted(pnl)
    h = (1.0 - confidence) * (len(x) - 1)
    if abs(h - round(h)) <= 1e-9 * max(1.0, h):  # the documented snap: 1 - 0.9 != 0.1
        h = round(h)
    j = math.floor(h)
    g = h - j
    var = x[j] if j + 1 >= len(x) else x[j] + g * (x[j + 1] - x[j])
    tail = [v for v in x if v <= var]
    return var, sum(tail) / len(tail)


@settings(max_examples=300, deadline=None)
@given(
    pnl=st.lists(
        st.floats(-1e7, 1e7, allow_nan=False, allow_infinity=False), min_size=1, max_size=400
    ),
    confidence=st.sampled_from([0.9, 0.95, 0.975, 0.99, 0.995]),
)
def test_historical_var_and_es_match_a_sorted_loop(pnl: list[float], confidence: float) -> None:
    var, es = historical_var(np.array(pnl), confidence)
    ref_var, ref_es = reference_var_es(pnl, confidence)
    scale = max(1.0, max(abs(v) for v in pnl))
    assert abs(var - ref_var) <= 1e-12 * scale
    assert abs(es - ref_es) <= 1e-12 * scale
    assert es <= var
    assert abs(var - float(np.quantile(pnl, 1.0 - confidence))) <= 1e-12 * scale


def test_a_rank_a_rounding_error_away_from_an_integer_is_that_scenario() -> None:
    # 11 scenarios at 90%: h = 0.1 x 10 = 1 (0.9999999999999998 in floating point)
    pnl = np.array([0.0] * 9 + [-32143.0, -20496.0])
    assert historical_var(pnl, 0.9) == (-20496.0, (-32143.0 - 20496.0) / 2)


def test_historical_var_on_a_known_sample() -> None:
    pnl = np.arange(1.0, 101.0) * -1.0  # -1 ... -100
    var, es = historical_var(pnl, 0.95)
    # h = 0.05 * 99 = 4.95 -> -96 + 0.95 * (-95 - -96) = -95.05; tail -100..-96
    assert var == pytest.approx(-95.05, abs=1e-12)
    assert es == pytest.approx(-98.0, abs=1e-12)


def test_confidence_out_of_range_is_rejected() -> None:
    with pytest.raises(ValueError):
        historical_var(np.ones(10), 1.0)


# --------------------------------------------------------------------------------------
# Overlapping windows


@pytest.mark.parametrize("h", [1, 2, 5, 10, 60])
def test_overlapping_horizon_returns_match_a_loop(h: int) -> None:
    r = random_returns(120, 7, seed=h)
    got = overlapping_horizon_returns(r, h)
    assert got.shape == (120 - h + 1, 7)
    for j in range(got.shape[0]):
        for i in range(7):
            ref = 1.0
            for d in range(j, j + h):
                ref *= 1.0 + r[d, i]
            assert got[j, i] == pytest.approx(ref - 1.0, rel=1e-13, abs=1e-15)


def test_overlapping_horizon_rejects_h_beyond_history() -> None:
    with pytest.raises(ValueError):
        overlapping_horizon_returns(np.zeros((5, 2)), 6)


# --------------------------------------------------------------------------------------
# Full revaluation


def test_long_call_pnl_is_the_bsm_price_difference() -> None:
    # 3 long calls, K=105, 0.5y, 25% vol, r 4%, q 1%; scenario: spot +5%, vol +10%, 2 days.
    book = make_book([100.0], [], [dict(u=0, q=3.0, k=105.0, t=0.5, call=True, sigma=0.25)])
    pnl = revalue(book, [[0.05]], 0.10, 0.0, 2.0)
    old = bsm_price(100.0, 105.0, 0.5, 0.04, 0.01, 0.25, True)
    new = bsm_price(105.0, 105.0, 0.5 - 2.0 / 365.0, 0.04, 0.01, 0.275, True)
    assert pnl.shape == (1, 1)
    assert pnl[0, 0] == pytest.approx(float(new - old) * 100.0 * 3.0, rel=1e-13)


def test_short_put_rate_shift_and_vol_floor() -> None:
    book = make_book([50.0], [], [dict(u=0, q=-2.0, k=48.0, t=0.25, call=False, sigma=0.3)])
    pnl = revalue(book, [[-0.1], [0.0]], np.array([-2.0, 0.0]), np.array([0.0, 0.01]))
    crash = bsm_price(45.0, 48.0, 0.25, 0.04, 0.01, 1e-4, False)  # vol x (1 - 2) -> floor
    rate_up = bsm_price(50.0, 48.0, 0.25, 0.05, 0.01, 0.3, False)
    base = book.price0[0]
    assert pnl[0, 0] == pytest.approx(-200.0 * (float(crash) - base), rel=1e-13)
    assert pnl[1, 0] == pytest.approx(-200.0 * (float(rate_up) - base), rel=1e-13)


def test_vix_option_is_revalued_with_black76_on_the_level() -> None:
    book = make_book(
        [20.0],
        [],
        [dict(u=0, q=10.0, k=25.0, t=30 / 365, call=True, sigma=0.9, model=MODEL_BLACK76)],
    )
    pnl = revalue(book, [[0.5]], 0.2)
    old = black76_price(20.0, 25.0, 30 / 365, 0.04, 0.9, True)
    new = black76_price(30.0, 25.0, 30 / 365, 0.04, 1.08, True)
    assert pnl[0, 0] == pytest.approx(float(new - old) * 1000.0, rel=1e-13)


def test_stock_pnl_is_exposure_times_return() -> None:
    book = make_book([100.0, 40.0], [(0, 10.0), (1, -50.0), (0, 5.0)])
    pnl = revalue(book, [[0.02, -0.01]], 0.5, 0.01, 10.0)  # vol, rate, decay: no effect
    np.testing.assert_allclose(pnl, [[20.0, 20.0, 10.0]], rtol=1e-15)


def test_a_return_below_minus_100_percent_leaves_the_underlying_at_zero() -> None:
    book = make_book([100.0], [], [dict(u=0, q=1.0, k=90.0, t=1.0, call=False, sigma=0.3)])
    pnl = revalue(book, [[-1.5]])
    assert pnl[0, 0] == pytest.approx(100.0 * (90.0 * math.exp(-0.04) - book.price0[0]))


def test_long_options_lose_to_ten_days_of_time_decay_and_short_ones_gain() -> None:
    options = [
        dict(u=0, q=q, k=k, t=t, call=c, sigma=s)
        for q in (1.0, -1.0)
        for k in (90.0, 100.0, 110.0)
        for t in (0.1, 0.5)
        for c in (True, False)
        for s in (0.2, 0.5)
    ]
    book = make_book([100.0], [], options)
    pnl = revalue(book, np.zeros((1, 1)), 0.0, 0.0, 10.0)[0]
    assert np.all(pnl[book.quantity > 0] < 0.0)
    assert np.all(pnl[book.quantity < 0] > 0.0)
    np.testing.assert_array_equal(revalue(book, np.zeros((1, 1)))[0], 0.0)


def test_an_option_expiring_inside_the_horizon_is_worth_its_intrinsic_value() -> None:
    book = make_book([100.0], [], [dict(u=0, q=1.0, k=95.0, t=3 / 365, call=True, sigma=0.4)])
    pnl = revalue(book, [[0.1]], 0.0, 0.0, 5.0)
    assert pnl[0, 0] == pytest.approx(100.0 * (15.0 - book.price0[0]), rel=1e-14)


def test_chunking_and_portfolio_pnl_agree_with_the_full_matrix() -> None:
    book = random_book(300, 12, 0.3, seed=1)
    r = random_returns(80, 12, seed=2)
    vol = np.linspace(-0.3, 0.5, 80)
    full = revalue(book, r, vol, 0.002, 3.0)
    small = revalue(book, r, vol, 0.002, 3.0, chunk_elements=50)
    np.testing.assert_array_equal(full, small)
    total = portfolio_pnl(book, r, vol, 0.002, 3.0, chunk_elements=77)
    np.testing.assert_allclose(total, full.sum(axis=1), rtol=1e-12, atol=1e-8)


def test_dollar_delta_matches_bsm_delta_at_the_shocked_state() -> None:
    book = make_book(
        [100.0, 30.0],
        [(0, 10.0), (1, -4.0)],
        [dict(u=0, q=2.0, k=100.0, t=0.3, call=True, sigma=0.3)],
    )
    got = dollar_delta(book, [[0.1, 0.0]], 0.5)
    delta = bsm_greeks(110.0, 100.0, 0.3, 0.04, 0.01, 0.45, True).delta
    expected_0 = 10.0 * 110.0 + 2.0 * 100.0 * float(delta) * 110.0
    np.testing.assert_allclose(got, [[expected_0, -120.0]], rtol=1e-13)


def test_book_rejects_inconsistent_arrays() -> None:
    with pytest.raises(ValueError):
        make_book([100.0], [(1, 1.0)])  # underlying index out of range
    book = make_book([100.0], [(0, 1.0)])
    with pytest.raises(ValueError):
        revalue(book, np.zeros((3, 2)))
    assert not book.quantity.flags.writeable


# --------------------------------------------------------------------------------------
# Historical VaR with full revaluation, and its components


def test_stock_only_historical_var_uses_overlapping_windows() -> None:
    book = make_book([100.0, 50.0, 20.0], [(0, 100.0), (1, -300.0), (2, 1000.0)])
    r = random_returns(252, 3, seed=3)
    res = historical_full_revaluation(book, r)
    exposure = np.array([10_000.0, -15_000.0, 20_000.0])
    for h in (1, 5, 10):
        pnl_ref = []
        for j in range(252 - h + 1):
            pnl_ref.append(
                sum(exposure[i] * (np.prod(1.0 + r[j : j + h, i]) - 1.0) for i in range(3))
            )
        for c in (0.95, 0.99):
            var_ref, es_ref = reference_var_es(pnl_ref, c)
            got = res[(h, c)]
            assert got.var == pytest.approx(var_ref, rel=1e-12)
            assert got.es == pytest.approx(es_ref, rel=1e-12)
            assert got.pnl_vector.shape == (252 - h + 1,)
            assert got.var < 0.0 and got.es <= got.var


def test_historical_components_sum_to_var_and_match_a_kernel_loop() -> None:
    book = random_book(400, 15, 0.2, seed=4)
    r = random_returns(252, 15, seed=5)
    res = historical_full_revaluation(book, r, horizons=(1, 10), confidences=(0.95, 0.99))
    for (h, c), got in res.items():
        assert abs(got.component.sum() - got.var) <= SUM_TOL * np.abs(got.component).sum()
        # reference: sort the scenarios in a loop, average the window's rows by hand
        shocks = overlapping_horizon_returns(r, h)
        matrix = revalue(book, shocks, 0.0, 0.0, h * CALENDAR_DAYS_PER_TRADING_DAY)
        totals = [float(row.sum()) for row in matrix]
        ranked = sorted(range(len(totals)), key=lambda i: totals[i])
        k = default_kernel_size(len(totals), c)
        hq = (1.0 - c) * (len(totals) - 1)
        best = min(range(len(totals) - k + 1), key=lambda s: (abs(s + (k - 1) / 2 - hq), s))
        window = ranked[best : best + k]
        mean = [sum(matrix[i, p] for i in window) / k for p in range(book.n_positions)]
        expected = np.array(mean) * got.var / sum(mean)
        np.testing.assert_allclose(got.component, expected, rtol=1e-9, atol=1e-9)
        np.testing.assert_array_equal(np.sort(got.tail_scenarios), np.sort(window))
        # component = weight x marginal
        w = position_weights(book)
        np.testing.assert_allclose(w * got.marginal, got.component, rtol=1e-12, atol=1e-9)


def test_component_var_historical_on_a_given_matrix() -> None:
    rng = np.random.default_rng(6)
    m = rng.standard_normal((500, 30)) * rng.uniform(1.0, 100.0, 30)
    var, _ = historical_var(m.sum(axis=1), 0.99)
    comp = component_var_historical(m, var, confidence=0.99, k=21)
    assert abs(comp.sum() - var) <= SUM_TOL * np.abs(comp).sum()
    idx = tail_scenarios(m.sum(axis=1), 0.99, 21)
    totals = m.sum(axis=1)
    assert idx.size == 21
    assert np.all(np.diff(totals[idx]) >= 0.0)  # ascending in P&L


def test_default_kernel_size() -> None:
    assert default_kernel_size(252, 0.99) == 5
    assert default_kernel_size(252, 0.95) == 7
    assert default_kernel_size(10_000, 0.95) == 250
    assert default_kernel_size(10_000, 0.99) == 199
    assert default_kernel_size(3, 0.99) == 3


def test_delta_hedged_straddle_has_a_small_var_against_the_unhedged_one() -> None:
    straddle = [
        dict(u=0, q=10.0, k=110.0, t=0.25, call=True, sigma=0.3),
        dict(u=0, q=10.0, k=110.0, t=0.25, call=False, sigma=0.3),
    ]
    unhedged = make_book([100.0], [], straddle)
    g = bsm_greeks(100.0, 110.0, 0.25, 0.04, 0.01, 0.3, np.array([True, False]))
    hedge = -float((g.delta * 10.0 * 100.0).sum())  # shares
    hedged = make_book([100.0], [(0, hedge)], straddle)
    r = random_returns(252, 1, seed=7)
    ratios = []
    for h in (1, 5, 10):
        var_u = historical_full_revaluation(unhedged, r, (h,), (0.99,))[(h, 0.99)].var
        var_h = historical_full_revaluation(hedged, r, (h,), (0.99,))[(h, 0.99)].var
        decay = revalue(hedged, [[0.0]], 0.0, 0.0, h * CALENDAR_DAYS_PER_TRADING_DAY).sum()
        assert var_u < 0.0 and decay < 0.0
        # long gamma, delta-neutral: the worst case is no move, so the loss is about the
        # time decay (here 1.00x to 1.03x of it), while the unhedged book loses its delta.
        assert decay * 1.1 <= var_h < 0.0
        ratios.append(var_h / var_u)
    assert ratios[0] < 0.1  # 1 day: 0.06
    assert max(ratios) < 0.35  # 10 days: 0.31, time decay grows faster than sqrt(h)


def test_marginal_var_is_component_over_weight_and_nan_at_zero_weight() -> None:
    got = marginal_var([-10.0, 4.0, 0.0], [0.5, 0.25, 0.0])
    np.testing.assert_array_equal(got[:2], [-20.0, 16.0])
    assert math.isnan(got[2])


def test_market_values_and_weights() -> None:
    book = make_book(
        [100.0], [(0, -10.0)], [dict(u=0, q=1.0, k=100.0, t=0.5, call=True, sigma=0.2)]
    )
    mv = market_values(book)
    assert mv[0] == -1000.0 and mv[1] == pytest.approx(100.0 * book.price0[1])
    np.testing.assert_allclose(position_weights(book), np.abs(mv) / np.abs(mv).sum())


# --------------------------------------------------------------------------------------
# Parametric VaR against an explicit n x n covariance


def parametric_case(n: int, k: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    daily = rng.standard_normal((300, k)) * 0.01
    # EWMA (lambda 0.94) covariance of simulated factor returns, computed inline
    cov = np.zeros((k, k))
    for row in daily:
        cov = 0.94 * cov + 0.06 * np.outer(row, row)
    w = rng.uniform(-1e6, 1e6, n)
    loadings = rng.normal(0.0, 0.6, (n, k))
    loadings[:, 0] += 1.0
    resid_vol = rng.uniform(0.005, 0.03, n)
    return dict(w=w, b=loadings, cov=cov, res=(w * resid_vol) ** 2, resid_vol=resid_vol)


@pytest.mark.parametrize("horizon", [1, 10])
def test_parametric_var_matches_an_explicit_covariance(horizon: int) -> None:
    case = parametric_case(40, 6, seed=horizon)
    got = parametric_var(
        exposure=case["w"],
        factor_loadings=case["b"],
        factor_cov=case["cov"],
        residual_var=case["res"],
        confidence=0.99,
        horizon_days=horizon,
    )
    w = case["w"]
    sigma_n = case["b"] @ case["cov"] @ case["b"].T + np.diag(case["resid_vol"] ** 2)
    sigma_w = sigma_n @ w
    variance = float(w @ sigma_w)
    z = float(ndtri(0.99))
    var_ref = -z * math.sqrt(variance * horizon)
    es_ref = -math.sqrt(variance * horizon) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi) / 0.01
    assert got.var == pytest.approx(var_ref, rel=1e-12)
    assert got.es == pytest.approx(es_ref, rel=1e-12)
    assert got.sigma**2 == pytest.approx(variance, rel=1e-12)
    assert got.systematic_variance + got.idiosyncratic_variance == pytest.approx(variance)
    np.testing.assert_allclose(
        got.component, w * sigma_w / variance * var_ref, rtol=1e-10, atol=1e-6
    )
    assert abs(got.component.sum() - got.var) <= SUM_TOL * np.abs(got.component).sum()
    np.testing.assert_allclose(got.factor_exposure, case["b"].T @ w, rtol=1e-12)


# --------------------------------------------------------------------------------------
# Monte Carlo


def test_monte_carlo_linear_book_matches_the_normal_quantile() -> None:
    # one stock, market beta 1.2, market vol 1%/day, residual 0.5%/day; small vols keep
    # expm1 near linear. Reference: -z sigma sqrt(h) x value.
    book = make_book([100.0], [(0, 1000.0)])
    cov = np.array([[1e-4]])
    res = monte_carlo_var(
        book, cov, [[1.2]], [0.005], n_paths=200_000, horizons=(1, 5), confidences=(0.99,), seed=11
    )
    sigma = math.sqrt(1.2**2 * 1e-4 + 0.005**2)
    for h in (1, 5):
        # quantile of a monotone map = map of the quantile: value x expm1(-z sigma sqrt h)
        ref = 100_000.0 * math.expm1(-float(ndtri(0.99)) * sigma * math.sqrt(h))
        assert res[(h, 0.99)].var == pytest.approx(ref, rel=0.015)


def test_monte_carlo_is_deterministic_and_components_sum_to_var() -> None:
    book = random_book(200, 10, 0.25, seed=8)
    rng = np.random.default_rng(9)
    a = rng.standard_normal((3, 3)) * 0.01
    cov = a @ a.T
    loadings = rng.normal(1.0, 0.3, (10, 3))
    resid = rng.uniform(0.005, 0.02, 10)
    one = monte_carlo_var(book, cov, loadings, resid, n_paths=3000, seed=5)
    two = monte_carlo_var(book, cov, loadings, resid, n_paths=3000, seed=5)
    other = monte_carlo_var(book, cov, loadings, resid, n_paths=3000, seed=6)
    for key, got in one.items():
        assert got.method == "monte_carlo"
        assert got.var == two[key].var and got.var != other[key].var
        np.testing.assert_array_equal(got.component, two[key].component)
        assert abs(got.component.sum() - got.var) <= SUM_TOL * np.abs(got.component).sum()
        assert got.es <= got.var < 0.0
        assert got.pnl_vector.shape == (3000,) and got.tail_scenarios.size == default_kernel_size(
            3000, key[1]
        )


def test_monte_carlo_pnl_vector_equals_full_revaluation_of_the_paths() -> None:
    book = random_book(50, 4, 0.4, seed=10)
    cov = np.diag([1e-4, 4e-5])
    loadings = np.array([[1.0, 0.2], [0.8, -0.5], [1.3, 0.0], [0.5, 1.0]])
    resid = np.full(4, 0.01)
    res = monte_carlo_var(book, cov, loadings, resid, n_paths=500, horizons=(5,), seed=1)
    # rebuild the same draws: the factors from the seed's stream, each path's residuals
    # from its own child stream (SeedSequence(seed, spawn_key=(path,)))
    rng = np.random.default_rng(1)
    z = rng.standard_normal((500, 2))
    vals, vecs = np.linalg.eigh(cov)
    residuals = np.array(
        [
            np.random.default_rng(np.random.SeedSequence(1, spawn_key=(i,))).standard_normal(4)
            for i in range(500)
        ]
    )
    x = (z @ (vecs * np.sqrt(vals)).T) @ loadings.T + residuals * resid
    shocks = np.expm1(math.sqrt(5) * x)
    matrix = revalue(book, shocks, 0.0, 0.0, 5 * CALENDAR_DAYS_PER_TRADING_DAY)
    got = res[(5, 0.99)]
    np.testing.assert_allclose(got.pnl_vector, matrix.sum(axis=1), rtol=1e-12, atol=1e-8)
    expected = component_var_historical(matrix, got.var, confidence=0.99)
    np.testing.assert_allclose(got.component, expected, rtol=1e-9, atol=1e-9)


def test_a_book_without_exposure_has_zero_parametric_var_not_an_error() -> None:
    """Expired or zero-delta positions carry no dollar exposure: the loss quantile is 0
    (the batch failed on such a book before); a real non-positive variance still raises."""
    b = np.array([[1.0, 0.2], [0.5, 0.1]])
    cov = np.array([[1e-4, 2e-5], [2e-5, 4e-5]])
    result = parametric_var(
        exposure=[0.0, 0.0],
        factor_loadings=b,
        factor_cov=cov,
        residual_var=[1.0, 1.0],
        confidence=0.99,
        horizon_days=10,
    )
    assert result.var == result.es == result.sigma == 0.0
    assert result.component.tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="not positive"):
        parametric_var(
            exposure=[1000.0, 0.0],
            factor_loadings=b,
            factor_cov=-cov,
            residual_var=[0.0, 0.0],
            confidence=0.99,
            horizon_days=1,
        )
