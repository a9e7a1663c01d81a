"""``trading.engine.equity``: drawdown in dollars and the session-horizon scaling, against
hand-worked cases and a plain loop."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trading.engine.equity import max_drawdown_dollars, session_horizon_returns


def _loop_drawdown(pnl: list[float]) -> float:
    peak, worst = 0.0, 0.0
    for x in pnl:
        peak = max(peak, x)
        worst = min(worst, x - peak)
    return worst


def test_the_drawdown_is_the_largest_fall_from_the_running_peak() -> None:
    assert max_drawdown_dollars([100, 40, 150, 90]) == -60
    assert max_drawdown_dollars([-30, -50, 20]) == -50  # the start (0) is a peak
    assert max_drawdown_dollars([10, 20, 30]) == 0
    assert max_drawdown_dollars([]) == 0
    assert max_drawdown_dollars([5, float("nan"), -5]) == -10


def test_the_drawdown_matches_a_plain_loop() -> None:
    rng = np.random.default_rng(7)
    for _ in range(50):
        pnl = list(np.cumsum(rng.normal(0, 100, size=200)))
        assert max_drawdown_dollars(pnl) == pytest.approx(_loop_drawdown(pnl), abs=1e-9)


def test_daily_moves_scale_to_the_minutes_left_by_the_square_root_of_time() -> None:
    daily = np.array([[0.01, -0.02], [0.03, np.nan], [-0.04, 0.0]])
    scaled = session_horizon_returns(daily, 97.5)  # a quarter of a session: half the move
    np.testing.assert_allclose(scaled, [[0.005, -0.01], [-0.02, 0.0]], atol=1e-15)
    whole = session_horizon_returns(daily, 390)
    np.testing.assert_allclose(whole, [[0.01, -0.02], [-0.04, 0.0]], atol=1e-15)
    assert not session_horizon_returns(daily, 0).any()
    assert math.isclose(math.sqrt(97.5 / 390), 0.5)
    with pytest.raises(ValueError):
        session_horizon_returns(daily, -1)
