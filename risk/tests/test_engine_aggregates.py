"""The engine functions that took over numerics from the services: Greek totals, position
statistics against the portfolio, trailing figures, weighted R². Each against a hand
computation or an independent formula."""

from __future__ import annotations

import math

import numpy as np
import pytest

from risk.engine.aggregation import greek_totals
from risk.engine.factors import weighted_r_squared
from risk.engine.performance import trailing_figures
from risk.engine.var import standalone_statistics


def test_greek_totals_by_hand() -> None:
    # 100 shares at $50; 2 long calls (×100) with delta 0.6, gamma 0.05 on a $50 underlying;
    # 1 short put whose Greeks are unknown (NaN) contributes nothing.
    totals = greek_totals(
        quantity=[100, 2, -1],
        multiplier=[1, 100, 100],
        spot=[50.0, 50.0, 50.0],
        is_option=[False, True, True],
        delta=[np.nan, 0.6, np.nan],
        gamma=[np.nan, 0.05, np.nan],
        theta=[np.nan, -0.02, np.nan],
        vega=[np.nan, 0.1, np.nan],
        rho=[np.nan, 0.03, np.nan],
        market_value=[5000.0, 600.0, -250.0],
    )
    assert totals["total_delta"] == pytest.approx(100 + 0.6 * 200)
    assert totals["total_gamma"] == pytest.approx(0.05 * 200)
    assert totals["total_theta"] == pytest.approx(-0.02 * 200)
    assert totals["net_delta_exposure"] == pytest.approx(100 * 50 + 0.6 * 200 * 50)
    assert totals["options_delta_exposure"] == pytest.approx(0.6 * 200 * 50)
    assert totals["options_notional"] == pytest.approx(850.0)
    assert totals["gamma_risk"]["1_percent_move"] == pytest.approx(0.5 * 0.05 * 0.5**2 * 200)
    assert totals["gamma_risk"]["2_percent_move"] == pytest.approx(0.5 * 0.05 * 1.0**2 * 200)
    assert totals["vega_risk"]["1_vol_point_move"] == pytest.approx(20.0)
    assert totals["theta_decay"]["1_day"] == pytest.approx(-4.0)


def test_greek_totals_skip_an_unknown_spot_in_dollar_figures_only() -> None:
    totals = greek_totals(
        quantity=[10],
        multiplier=[1],
        spot=[np.nan],
        is_option=[False],
        delta=[1.0],
        gamma=[0.0],
        theta=[0.0],
        vega=[0.0],
        rho=[0.0],
    )
    assert totals["total_delta"] == 10 and totals["net_delta_exposure"] == 0
    assert math.isnan(totals["options_notional"])  # no market values given


def test_standalone_statistics_match_a_brute_force_computation() -> None:
    rng = np.random.default_rng(7)
    pnl = rng.normal(0, 100, size=(250, 4))
    pnl[:, 3] = 0.0  # a flat position: no correlation
    gross = np.array([10_000.0, 5_000.0, 2_000.0, 1_000.0])
    value = 20_000.0
    stats = standalone_statistics(pnl, gross, value, confidences=(0.95, 0.99))
    total = pnl.sum(axis=1)
    for i in range(3):
        assert stats.var[0.95][i] == pytest.approx(np.percentile(pnl[:, i], 5))
        r_i, r_p = pnl[:, i] / gross[i], total / value
        slope = np.polyfit(r_p, r_i, 1)[0]
        assert stats.beta_to_portfolio[i] == pytest.approx(slope, rel=1e-9)
        assert stats.correlation_to_portfolio[i] == pytest.approx(
            np.corrcoef(pnl[:, i], total)[0, 1], rel=1e-9
        )
    assert math.isnan(stats.correlation_to_portfolio[3])
    assert stats.var[0.99][0] < stats.var[0.95][0] < 0


def test_trailing_figures_compound_the_tail() -> None:
    returns = np.full(100, 0.01)
    ytd = np.zeros(100, dtype=bool)
    ytd[-10:] = True
    figures = trailing_figures(returns, ytd, risk_free_annual=0.0)
    assert figures["trailing_30d_return"] == pytest.approx(1.01**30 - 1)
    assert figures["trailing_90d_return"] == pytest.approx(1.01**90 - 1)
    assert figures["ytd_return"] == pytest.approx(1.01**10 - 1)
    assert figures["max_drawdown_30d"] == 0.0
    assert math.isnan(trailing_figures(returns, np.zeros(100, dtype=bool), 0.0)["ytd_return"])


def test_weighted_r_squared_ignores_positions_without_a_fit() -> None:
    assert weighted_r_squared([0.5, np.nan, 0.9], [100, 50, 300]) == pytest.approx(
        (0.5 * 100 + 0.9 * 300) / 400
    )
    assert math.isnan(weighted_r_squared([np.nan], [1.0]))
