"""Tests of signals.engine.payoff: hand-computed payoffs and a Black-Scholes reference.

The Black-Scholes prices and lognormal probabilities are written here with
scipy.stats.norm, independently of the module under test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy.stats import norm

from signals.engine.payoff import (
    MULTIPLIER,
    Leg,
    RiskMetrics,
    expiry_value,
    implied_cdf,
    net_premium,
    probability_of_profit,
    risk_metrics,
)

# --- Black-Scholes reference (independent of the module) ---------------------------

SPOT = 100.0
SIGMA = 0.2
T_YEARS = 1.0 / 365.0
RATE = 0.05
GRID = np.round(np.arange(90.0, 110.0 + 1e-9, 0.25), 10)  # 81 strikes, $0.25 apart


def _d2(strike: NDArray[np.float64] | float) -> NDArray[np.float64]:
    k = np.asarray(strike, dtype=np.float64)
    return (np.log(SPOT / k) + (RATE - 0.5 * SIGMA**2) * T_YEARS) / (SIGMA * math.sqrt(T_YEARS))


def _bs_call(strike: NDArray[np.float64] | float) -> NDArray[np.float64]:
    d2 = _d2(strike)
    d1 = d2 + SIGMA * math.sqrt(T_YEARS)
    k = np.asarray(strike, dtype=np.float64)
    return SPOT * norm.cdf(d1) - k * math.exp(-RATE * T_YEARS) * norm.cdf(d2)


def _bs_put(strike: NDArray[np.float64] | float) -> NDArray[np.float64]:
    d2 = _d2(strike)
    d1 = d2 + SIGMA * math.sqrt(T_YEARS)
    k = np.asarray(strike, dtype=np.float64)
    return k * math.exp(-RATE * T_YEARS) * norm.cdf(-d2) - SPOT * norm.cdf(-d1)


def _rn_cdf(x: NDArray[np.float64] | float) -> NDArray[np.float64]:
    """Lognormal risk-neutral P(S_T < x) = N(−d2(x))."""
    return np.asarray(norm.cdf(-_d2(x)), dtype=np.float64)


# --- Leg ------------------------------------------------------------------------------


def test_leg_defaults_and_coercion() -> None:
    leg = Leg("buy", "call", 100)
    assert leg.quantity == 1
    assert isinstance(leg.strike, float) and leg.strike == 100.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"action": "long", "option_type": "call", "strike": 100.0},
        {"action": "buy", "option_type": "C", "strike": 100.0},
        {"action": "buy", "option_type": "call", "strike": 0.0},
        {"action": "buy", "option_type": "call", "strike": -5.0},
        {"action": "buy", "option_type": "call", "strike": math.nan},
        {"action": "buy", "option_type": "call", "strike": math.inf},
        {"action": "buy", "option_type": "call", "strike": 100.0, "quantity": 0},
        {"action": "buy", "option_type": "call", "strike": 100.0, "quantity": -1},
        {"action": "buy", "option_type": "call", "strike": 100.0, "quantity": 1.5},
        {"action": "buy", "option_type": "call", "strike": 100.0, "quantity": True},
    ],
)
def test_leg_rejects_invalid_fields(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Leg(**kwargs)  # type: ignore[arg-type]


# --- expiry_value / net_premium -------------------------------------------------------


def test_expiry_value_of_iron_condor_is_vectorized() -> None:
    legs = [
        Leg("buy", "put", 95.0),
        Leg("sell", "put", 100.0),
        Leg("sell", "call", 110.0),
        Leg("buy", "call", 115.0),
    ]
    s = np.array([0.0, 90.0, 95.0, 97.5, 100.0, 105.0, 110.0, 112.0, 115.0, 130.0])
    # Below 95 the put spread is worth −5; it rises to 0 at 100; flat to 110; the call
    # spread takes it down to −5 at 115 and it stays there.
    expected = np.array([-5.0, -5.0, -5.0, -2.5, 0.0, 0.0, 0.0, -2.0, -5.0, -5.0])
    np.testing.assert_allclose(expiry_value(legs, s), expected)
    assert expiry_value(legs, 97.5).shape == ()


def test_expiry_value_weights_quantity() -> None:
    # 1x2 call ratio: long 1 100C, short 2 105C; at 110: 10 − 2 × 5 = 0.
    legs = [Leg("buy", "call", 100.0), Leg("sell", "call", 105.0, quantity=2)]
    np.testing.assert_allclose(expiry_value(legs, [100.0, 105.0, 110.0]), [0.0, 5.0, 0.0])


def test_net_premium_signs() -> None:
    debit = [Leg("buy", "call", 100.0), Leg("sell", "call", 105.0)]
    assert net_premium(debit, [3.10, 0.60]) == 2.5  # 3.10 − 0.60, float noise removed
    credit = [Leg("sell", "put", 100.0), Leg("buy", "put", 95.0)]
    assert net_premium(credit, [1.00, 0.30]) == pytest.approx(-0.70, abs=1e-12)
    with pytest.raises(ValueError):
        net_premium(debit, [3.10])
    with pytest.raises(ValueError):
        net_premium(debit, [3.10, -0.10])
    with pytest.raises(ValueError):
        net_premium([], [])


# --- risk_metrics: hand-computed cases ------------------------------------------------


def test_bull_call_spread_metrics() -> None:
    # Buy 100C @ 3.50, sell 105C @ 1.00: debit 2.50 on a $5-wide spread.
    # Max loss = 2.50 × 100 = 250; max profit = (5 − 2.50) × 100 = 250; BE = 100 + 2.50.
    legs = [Leg("buy", "call", 100.0), Leg("sell", "call", 105.0)]
    m = risk_metrics(legs, [3.50, 1.00])
    assert m == RiskMetrics(
        net_premium=2.5,
        max_loss=250.0,
        max_profit=250.0,
        break_evens=(102.5,),
        unlimited_profit=False,
        unlimited_loss=False,
    )


def test_short_iron_condor_metrics() -> None:
    # Buy 95P @ 0.30, sell 100P @ 1.00, sell 110C @ 0.80, buy 115C @ 0.30:
    # net = 0.30 − 1.00 − 0.80 + 0.30 = −1.20 (credit). Max profit = 1.20 × 100 = 120;
    # max loss = (5 − 1.20) × 100 = 380; BEs = 100 − 1.20 = 98.80 and 110 + 1.20 = 111.20.
    legs = [
        Leg("buy", "put", 95.0),
        Leg("sell", "put", 100.0),
        Leg("sell", "call", 110.0),
        Leg("buy", "call", 115.0),
    ]
    m = risk_metrics(legs, [0.30, 1.00, 0.80, 0.30])
    assert m.net_premium == -1.2
    assert m.max_profit == 120.0
    assert m.max_loss == 380.0
    assert m.break_evens == (98.8, 111.2)
    assert not m.unlimited_profit and not m.unlimited_loss


def test_long_straddle_metrics() -> None:
    # Buy 100C @ 1.60 and 100P @ 1.40: debit 3.00. Max loss 300 at S = 100; profit
    # unlimited above; BEs 100 ± 3.
    legs = [Leg("buy", "call", 100.0), Leg("buy", "put", 100.0)]
    m = risk_metrics(legs, [1.60, 1.40])
    assert m.net_premium == 3.0
    assert m.max_loss == 300.0
    assert m.max_profit is None and m.unlimited_profit
    assert not m.unlimited_loss
    assert m.break_evens == (97.0, 103.0)


def test_short_iron_butterfly_metrics() -> None:
    # Buy 95P @ 0.50, sell 100P @ 2.00, sell 100C @ 2.20, buy 105C @ 0.20:
    # net = 0.50 − 2.00 − 2.20 + 0.20 = −3.50 (credit). Max profit 350 at S = 100;
    # max loss = (5 − 3.50) × 100 = 150 beyond the wings; BEs 100 ± 3.50.
    legs = [
        Leg("buy", "put", 95.0),
        Leg("sell", "put", 100.0),
        Leg("sell", "call", 100.0),
        Leg("buy", "call", 105.0),
    ]
    m = risk_metrics(legs, [0.50, 2.00, 2.20, 0.20])
    assert m.net_premium == -3.5
    assert m.max_profit == 350.0
    assert m.max_loss == 150.0
    assert m.break_evens == (96.5, 103.5)


def test_long_strangle_metrics() -> None:
    # Buy 95P @ 1.10 and 105C @ 0.90: debit 2.00. Max loss 200 between the strikes;
    # profit unlimited; BEs 95 − 2 = 93 and 105 + 2 = 107.
    legs = [Leg("buy", "put", 95.0), Leg("buy", "call", 105.0)]
    m = risk_metrics(legs, [1.10, 0.90])
    assert m.max_loss == 200.0
    assert m.max_profit is None and m.unlimited_profit
    assert m.break_evens == (93.0, 107.0)


def test_bear_put_spread_metrics() -> None:
    # Buy 105P @ 3.00, sell 100P @ 1.00: debit 2.00. Max loss 200 above 105;
    # max profit (5 − 2) × 100 = 300 below 100; BE = 105 − 2 = 103.
    legs = [Leg("buy", "put", 105.0), Leg("sell", "put", 100.0)]
    m = risk_metrics(legs, [3.00, 1.00])
    assert m.net_premium == 2.0
    assert m.max_loss == 200.0
    assert m.max_profit == 300.0
    assert m.break_evens == (103.0,)
    assert not m.unlimited_profit and not m.unlimited_loss


def test_short_straddle_has_unlimited_loss() -> None:
    # Sell 100C @ 1.60 and 100P @ 1.40: credit 3.00. Max profit 300; loss unlimited
    # above (and 97 at S = 0 below, which is bounded); BEs 97 and 103.
    legs = [Leg("sell", "call", 100.0), Leg("sell", "put", 100.0)]
    m = risk_metrics(legs, [1.60, 1.40])
    assert m.max_profit == 300.0
    assert m.unlimited_loss and m.max_loss == math.inf
    assert not m.unlimited_profit
    assert m.break_evens == (97.0, 103.0)


def test_ratio_spread_uses_quantities() -> None:
    # Buy 1 100C @ 2.00, sell 2 105C @ 0.50: net 2.00 − 1.00 = 1.00 debit.
    # P&L: −1 up to 100, +4 at 105, then slope −1: BEs 101 and 105 + 4 = 109.
    # Max profit 400 per package; loss unlimited above 109.
    legs = [Leg("buy", "call", 100.0), Leg("sell", "call", 105.0, quantity=2)]
    m = risk_metrics(legs, [2.00, 0.50])
    assert m.net_premium == 1.0
    assert m.max_profit == 400.0
    assert m.unlimited_loss and m.max_loss == math.inf
    assert m.break_evens == (101.0, 109.0)


def test_break_even_on_a_strike_and_a_package_that_cannot_win() -> None:
    # Paying the full width (5.00) for the 100/105 call spread: P&L −5 up to 100,
    # rising to exactly 0 at 105 and flat beyond. BE at the strike 105; no profit.
    legs = [Leg("buy", "call", 100.0), Leg("sell", "call", 105.0)]
    m = risk_metrics(legs, [5.50, 0.50])
    assert m.max_profit == 0.0
    assert m.max_loss == 500.0
    assert m.break_evens == (105.0,)


def test_dollar_metrics_scale_with_multiplier() -> None:
    assert MULTIPLIER == 100
    legs = [Leg("buy", "put", 105.0), Leg("sell", "put", 100.0)]
    m = risk_metrics(legs, [3.00, 1.00])
    assert m.max_profit is not None
    assert m.max_profit / MULTIPLIER == pytest.approx(5.0 - m.net_premium)


# --- implied_cdf ------------------------------------------------------------------------


def test_implied_cdf_matches_lognormal_reference() -> None:
    puts = _bs_put(GRID)
    points, cdf = implied_cdf(GRID, puts, RATE, T_YEARS)
    np.testing.assert_allclose(points, (GRID[1:] + GRID[:-1]) / 2)
    np.testing.assert_allclose(cdf, _rn_cdf(points), atol=1e-3)
    # The reference really spans the distribution (not a trivially flat check).
    assert cdf[0] < 0.01 and cdf[-1] > 0.99


def test_implied_cdf_sorts_unsorted_strikes_and_drops_nan() -> None:
    puts = _bs_put(GRID)
    order = np.random.default_rng(7).permutation(GRID.size)
    k, p = GRID[order].copy(), puts[order].copy()
    p[k == 100.0] = np.nan  # a missing quote: midpoints 99.875 and 100.125 become 100.0
    points, cdf = implied_cdf(k, p, RATE, T_YEARS)
    assert np.all(np.diff(points) > 0)
    assert points.size == GRID.size - 2
    assert 100.0 in set(points.tolist())
    assert not {99.875, 100.125} & set(points.tolist())
    np.testing.assert_allclose(cdf, _rn_cdf(points), atol=2e-3)


def test_implied_cdf_is_monotone_and_clipped_under_noise() -> None:
    puts = _bs_put(GRID) + np.random.default_rng(1).normal(0.0, 0.01, GRID.size)
    _, cdf = implied_cdf(GRID, puts, RATE, T_YEARS)
    assert np.all(np.diff(cdf) >= 0.0)
    assert cdf.min() >= 0.0 and cdf.max() <= 1.0


def test_implied_cdf_pools_violators_and_clips_hand_example() -> None:
    # r = 0: raw slopes (0.6 − 0.1)/1 = 0.5 and (0.9 − 0.6)/1 = 0.3 violate monotonicity
    # and pool to their (equal-width) mean 0.4.
    _, cdf = implied_cdf([99.0, 100.0, 101.0], [0.1, 0.6, 0.9], 0.0, T_YEARS)
    np.testing.assert_allclose(cdf, [0.4, 0.4])
    # Decreasing puts give a negative slope (clipped to 0); a slope of 1.5 clips to 1.
    _, cdf = implied_cdf([99.0, 100.0, 101.0], [0.5, 0.2, 1.7], 0.0, T_YEARS)
    np.testing.assert_allclose(cdf, [0.0, 1.0])


def test_implied_cdf_discounting_factor() -> None:
    # F = e^{rT} ΔP/ΔK: with r = 0.05, T = 1 a slope of 0.5 becomes 0.5 e^{0.05}.
    _, cdf = implied_cdf([100.0, 101.0], [1.0, 1.5], 0.05, 1.0)
    np.testing.assert_allclose(cdf, [0.5 * math.exp(0.05)])


def test_implied_cdf_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        implied_cdf([100.0], [1.0], RATE, T_YEARS)
    with pytest.raises(ValueError):
        implied_cdf([100.0, 100.0, 101.0], [1.0, 1.1, 1.5], RATE, T_YEARS)
    with pytest.raises(ValueError):
        implied_cdf([100.0, 101.0], [1.0], RATE, T_YEARS)
    with pytest.raises(ValueError):
        implied_cdf([100.0, 101.0], [1.0, 1.5], RATE, -1.0)


# --- probability_of_profit ------------------------------------------------------------
#
# Error budget on the $0.25 grid (sd of S_T ≈ 1.05): the midpoint difference is off by
# ≈ h²/24 · max|f'| ≈ 6e-4 and linear interpolation between midpoints by up to
# ≈ h²/8 · max|f'| ≈ 1.7e-3 (max |F_interp − N(−d2)| measured on 95..105: 2.3e-3), so
# one break-even is good to ~2e-3. With two break-evens the errors can add (F is convex
# on the left tail and concave on the right, and linear interpolation overstates both
# tails): the condor with BEs ≈ 98.81 / 101.19 is off by 3.7e-3, hence 5e-3 there.

TWO_BREAK_EVEN_TOL = 5e-3


def test_pop_of_bull_call_spread_matches_closed_form() -> None:
    legs = [Leg("buy", "call", 100.0), Leg("sell", "call", 102.0)]
    prices = [float(_bs_call(100.0)), float(_bs_call(102.0))]
    break_even = 100.0 + (prices[0] - prices[1])
    expected = float(norm.cdf(_d2(break_even)))  # risk-neutral P(S_T > BE)
    pop = probability_of_profit(legs, prices, GRID, _bs_put(GRID), RATE, T_YEARS)
    assert pop is not None
    assert 0.2 < expected < 0.6  # a non-trivial probability
    assert pop == pytest.approx(expected, abs=2e-3)


def test_pop_of_iron_condor_matches_closed_form() -> None:
    strikes = (97.0, 99.0, 101.0, 103.0)
    legs = [
        Leg("buy", "put", strikes[0]),
        Leg("sell", "put", strikes[1]),
        Leg("sell", "call", strikes[2]),
        Leg("buy", "call", strikes[3]),
    ]
    prices = [
        float(_bs_put(strikes[0])),
        float(_bs_put(strikes[1])),
        float(_bs_call(strikes[2])),
        float(_bs_call(strikes[3])),
    ]
    m = risk_metrics(legs, prices)
    lo, hi = m.break_evens
    expected = float(_rn_cdf(hi) - _rn_cdf(lo))  # P(lo < S_T < hi)
    pop = probability_of_profit(legs, prices, GRID, _bs_put(GRID), RATE, T_YEARS)
    assert pop is not None
    assert pop == pytest.approx(expected, abs=TWO_BREAK_EVEN_TOL)


def test_pop_of_long_straddle_is_the_two_tails() -> None:
    legs = [Leg("buy", "call", 100.0), Leg("buy", "put", 100.0)]
    prices = [float(_bs_call(100.0)), float(_bs_put(100.0))]
    lo, hi = risk_metrics(legs, prices).break_evens
    expected = float(_rn_cdf(lo) + 1.0 - _rn_cdf(hi))
    pop = probability_of_profit(legs, prices, GRID, _bs_put(GRID), RATE, T_YEARS)
    assert pop == pytest.approx(expected, abs=TWO_BREAK_EVEN_TOL)


def test_pop_tails_use_end_cdf_values() -> None:
    # r = 0, strikes 99/100/101, puts 0.1/0.4/1.2: cdf 0.3 at 99.5 and 0.8 at 100.5.
    k, p = [99.0, 100.0, 101.0], [0.1, 0.4, 1.2]
    inside = [Leg("buy", "call", 100.0), Leg("sell", "call", 101.0)]
    # Debit 0.25, BE 100.25: (100.25 − 99.5) / 1 = 0.75 of the way from 99.5 to 100.5,
    # so F = 0.3 + 0.75 × (0.8 − 0.3) = 0.675 and PoP = 1 − 0.675 = 0.325.
    assert probability_of_profit(inside, [0.5, 0.25], k, p, 0.0, 1.0) == pytest.approx(0.325)
    # BE 95.5 lies left of the first point: F = cdf[0] = 0.3, PoP = 0.7.
    left = [Leg("buy", "call", 95.0), Leg("sell", "call", 96.0)]
    assert probability_of_profit(left, [0.7, 0.2], k, p, 0.0, 1.0) == pytest.approx(0.7)
    # BE 105.5 lies right of the last point: F = cdf[-1] = 0.8, PoP = 0.2.
    right = [Leg("buy", "call", 105.0), Leg("sell", "call", 106.0)]
    assert probability_of_profit(right, [0.7, 0.2], k, p, 0.0, 1.0) == pytest.approx(0.2)
    # Bear put spread 101/100 for 0.40: BE 100.6, profitable below: F(100.6) = 0.8.
    bear = [Leg("buy", "put", 101.0), Leg("sell", "put", 100.0)]
    assert probability_of_profit(bear, [0.6, 0.2], k, p, 0.0, 1.0) == pytest.approx(0.8)


def test_pop_of_package_that_cannot_win_is_zero() -> None:
    legs = [Leg("buy", "call", 100.0), Leg("sell", "call", 102.0)]
    pop = probability_of_profit(legs, [2.5, 0.5], GRID, _bs_put(GRID), RATE, T_YEARS)
    assert pop == 0.0


def test_pop_needs_three_strikes() -> None:
    legs = [Leg("buy", "call", 100.0), Leg("sell", "call", 101.0)]
    assert probability_of_profit(legs, [0.5, 0.2], [100.0, 101.0], [0.4, 1.0], 0.0, 1.0) is None
    nan_third = [100.0, 101.0, 102.0], [0.4, 1.0, math.nan]
    assert probability_of_profit(legs, [0.5, 0.2], *nan_third, 0.0, 1.0) is None
