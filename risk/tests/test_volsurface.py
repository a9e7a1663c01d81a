"""The one-tick quote test and the chain's IV interpolated in strike, by hand."""

from __future__ import annotations

import numpy as np
import pytest

from risk.engine.volsurface import interpolate_in_strike, reliable_quotes


def test_reliable_quotes_apply_the_floor_and_the_spread_share() -> None:
    mid = [0.005, 0.05, 2.00, 2.00, 2.00, np.nan, 0.04]
    spread = [0.01, 0.02, 1.20, 1.00, 0.10, 0.01, np.nan]
    got = reliable_quotes(mid, spread, min_price=0.05, max_spread_fraction=0.5)
    # 0.005 < floor; 0.05 at the floor with 40% spread; 60% > 50%; exactly 50%; tight;
    # no mid; a last trade without bid/ask below the floor.
    assert got.tolist() == [False, True, False, True, True, False, False]
    assert reliable_quotes([0.04], [np.nan], min_price=0.01, max_spread_fraction=0.5).tolist() == [
        True
    ]


def test_interpolation_is_linear_in_strike_and_flat_beyond_the_chain() -> None:
    strikes = [110.0, 100.0, 120.0]
    vols = [0.26, 0.30, 0.25]
    got = interpolate_in_strike(strikes, vols, [105.0, 107.5, 90.0, 115.0, 130.0, 100.0])
    # (105: halfway 0.30 -> 0.26), (107.5: three quarters), flat 0.30 below, (115: halfway
    # 0.26 -> 0.25), flat 0.25 above, a chain point itself.
    assert got == pytest.approx([0.28, 0.27, 0.30, 0.255, 0.25, 0.30], abs=1e-15)


def test_interpolation_drops_unusable_points_and_averages_a_strike() -> None:
    got = interpolate_in_strike(
        [100.0, 100.0, 110.0, 105.0, np.nan], [0.30, 0.20, 0.35, np.nan, 0.9], 105.0
    )
    assert float(got) == pytest.approx((0.25 + 0.35) / 2, abs=1e-15)  # calls and puts at 100
    assert np.isnan(interpolate_in_strike([100.0], [np.nan], 100.0))
    assert np.isnan(interpolate_in_strike([], [], [1.0, 2.0])).all()
    with pytest.raises(ValueError, match="same length"):
        interpolate_in_strike([1.0, 2.0], [0.2], 1.5)
