"""risk.engine.payoff against hand-computed payoffs and vollib's prices."""

from __future__ import annotations

import numpy as np
import pytest
from vollib.black import black
from vollib.black_scholes_merton import black_scholes_merton

from risk.engine import payoff

SPOTS = np.array([90.0, 100.0, 105.0, 110.0, 120.0])


def test_a_long_call_at_expiry_is_intrinsic_minus_the_premium() -> None:
    pnl = payoff.pnl_at_expiry(SPOTS, [100.0], [1], [2], [100], [3.0])
    # 2 contracts × 100 shares × (max(S − 100, 0) − 3)
    assert pnl.tolist() == [-600.0, -600.0, 400.0, 1400.0, 3400.0]


def test_a_bull_call_spread_is_capped_both_ways() -> None:
    pnl = payoff.pnl_at_expiry(SPOTS, [100.0, 110.0], [1, 1], [1, -1], [100, 100], [4.0, 1.5])
    # debit 2.50 a share: −250 below 100, +750 above 110, linear between
    assert pnl.tolist() == [-250.0, -250.0, 250.0, 750.0, 750.0]
    assert payoff.break_evens(SPOTS, pnl) == [pytest.approx(102.5)]


def test_a_short_put_and_its_break_even() -> None:
    pnl = payoff.pnl_at_expiry(SPOTS, [100.0], [0], [-1], [100], [2.0])
    assert pnl.tolist() == [-800.0, 200.0, 200.0, 200.0, 200.0]
    assert payoff.break_evens(SPOTS, pnl) == [pytest.approx(98.0)]


def test_today_at_zero_time_is_the_expiry_payoff() -> None:
    args = ([100.0, 110.0], [1, 0], [1, -2], [100, 100], [4.0, 6.0])
    at_expiry = payoff.pnl_at_expiry(SPOTS, *args)
    today = payoff.pnl_today(SPOTS, *args, [0.0, 0.0], [0.04, 0.04], [0.0, 0.0], [0.2, 0.3], [0, 0])
    np.testing.assert_allclose(today, at_expiry, atol=1e-9)


def test_today_prices_each_leg_like_vollib() -> None:
    t, r, q = 30 / 365, 0.045, 0.012
    legs = ([100.0, 95.0], [1, 0], [3, -2], [100, 100], [2.4, 1.1])
    today = payoff.pnl_today(SPOTS, *legs, [t, t], [r, r], [q, q], [0.22, 0.25], [0, 0])
    for s, got in zip(SPOTS, today, strict=True):
        call = black_scholes_merton("c", s, 100.0, t, r, 0.22, q)
        put = black_scholes_merton("p", s, 95.0, t, r, 0.25, q)
        want = 3 * 100 * (call - 2.4) - 2 * 100 * (put - 1.1)
        assert got == pytest.approx(want, rel=1e-9)


def test_a_black76_leg_prices_on_the_forward_like_vollib() -> None:
    t, r = 20 / 365, 0.04
    today = payoff.pnl_today(
        [18.0, 25.0], [20.0], [1], [10], [100], [1.5], [t], [r], [0.0], [0.9], [1]
    )
    for forward, got in zip([18.0, 25.0], today, strict=True):
        want = 10 * 100 * (black("c", forward, 20.0, t, r, 0.9) - 1.5)
        assert got == pytest.approx(want, rel=1e-9)


def test_the_axis_covers_every_strike() -> None:
    axis = payoff.spot_axis(100.0, [60.0, 150.0], points=11)
    assert axis[0] <= 60.0 * 0.95 + 1e-9 and axis[-1] >= 150.0 * 1.05 - 1e-9
    assert len(axis) == 11
    with pytest.raises(ValueError):
        payoff.spot_axis(0.0, [1.0])
    with pytest.raises(ValueError):
        payoff.pnl_at_expiry(SPOTS, [1.0, 2.0], [1], [1], [1], [1])
