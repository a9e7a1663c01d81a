"""Tests of risk.engine.performance against empyrical-reloaded (the reference named in docs
RISK-MODEL.md, "VaR, ES and performance"), numpy, and hand cases.

Tolerance: 1e-10 relative, |ours - reference| <= 1e-10 * |reference| (plus 1e-15 absolute
for figures that are 0).
"""

from __future__ import annotations

import math
from types import ModuleType

import numpy as np
import pytest

from risk.engine.performance import (
    TRADING_DAYS,
    annualized_volatility,
    beta,
    correlation,
    cumulative_return,
    daily_risk_free,
    information_ratio,
    max_drawdown,
    performance_summary,
    sharpe_ratio,
    sortino_ratio,
    tracking_error,
)

REL = 1e-10
RF_ANNUAL = 0.045
SUMMARY_KEYS = {
    "portfolio_beta",
    "correlation_with_spy",
    "tracking_error",
    "information_ratio",
    "sharpe_ratio",
    "sortino_ratio",
    "max_drawdown",
    "volatility_30d",
    "volatility_90d",
}


def ep() -> ModuleType:
    """empyrical-reloaded, imported only by the tests that compare with it."""
    import empyrical

    return empyrical


def close(ours: float, ref: float) -> bool:
    return math.isclose(ours, float(ref), rel_tol=REL, abs_tol=1e-15)


def series(seed: int, n: int = 252, holes: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """A portfolio (beta ~1.1 to the benchmark plus noise) and a benchmark, daily."""
    rng = np.random.default_rng(seed)
    bench = rng.standard_t(4, n) * 0.008 + 0.0004
    port = 0.0001 + 1.1 * bench + rng.normal(0.0, 0.006, n)
    if holes:
        port[rng.random(n) < 0.05] = np.nan
        bench[rng.random(n) < 0.05] = np.nan
    return port, bench


CASES = [
    pytest.param(1, 252, False, id="252d"),
    pytest.param(2, 90, False, id="90d"),
    pytest.param(3, 1000, False, id="1000d"),
    pytest.param(4, 252, True, id="with-nans"),
]


def test_daily_risk_free_compounds_back_to_the_annual_rate() -> None:
    rf_d = daily_risk_free(RF_ANNUAL)
    assert close((1.0 + rf_d) ** TRADING_DAYS - 1.0, RF_ANNUAL)
    assert daily_risk_free(0.0) == 0.0


@pytest.mark.parametrize(("seed", "n", "holes"), CASES)
def test_single_series_figures_match_empyrical(seed: int, n: int, holes: bool) -> None:
    emp = ep()
    r, _ = series(seed, n, holes)
    rf_d = daily_risk_free(RF_ANNUAL)
    assert close(sharpe_ratio(r, RF_ANNUAL), emp.sharpe_ratio(r, risk_free=rf_d))
    assert close(sharpe_ratio(r), emp.sharpe_ratio(r))
    assert close(sortino_ratio(r, RF_ANNUAL), emp.sortino_ratio(r, required_return=rf_d))
    assert close(sortino_ratio(r), emp.sortino_ratio(r))
    assert close(max_drawdown(r), emp.max_drawdown(r))
    assert close(annualized_volatility(r), emp.annual_volatility(r))
    assert close(cumulative_return(r), emp.cum_returns_final(r))


@pytest.mark.parametrize(("seed", "n", "holes"), CASES)
def test_benchmark_figures_match_empyrical(seed: int, n: int, holes: bool) -> None:
    emp = ep()
    r, b = series(seed, n, holes)
    both = ~(np.isnan(r) | np.isnan(b))
    assert close(beta(r, b), emp.beta(r, b))
    assert close(tracking_error(r, b), emp.annual_volatility(r - b))
    assert close(information_ratio(r, b), emp.excess_sharpe(r, b) * math.sqrt(TRADING_DAYS))
    assert close(correlation(r, b), np.corrcoef(r[both], b[both])[0, 1])


def test_information_ratio_is_annualized_mean_over_tracking_error() -> None:
    r, b = series(5)
    active = r - b
    assert close(information_ratio(r, b), active.mean() * TRADING_DAYS / tracking_error(r, b))


def test_max_drawdown_hand_case() -> None:
    # Value 1 -> 1.1 -> 0.88 -> 0.968 -> 1.1616 -> 0.8712: the worst fall is from the
    # 1.1616 peak to 0.8712, -25%; the earlier one (1.1 -> 0.88) is -20%.
    r = np.array([0.10, -0.20, 0.10, 0.20, -0.25])
    assert close(max_drawdown(r), -0.25)
    assert max_drawdown([0.01, 0.02, 0.0]) == 0.0
    assert close(max_drawdown([-0.1, 0.05]), -0.1)  # the start is a peak
    assert close(max_drawdown([0.1, np.nan, -0.5]), -0.5)


def test_undefined_figures_are_nan_not_errors() -> None:
    one = np.array([0.01])
    flat = np.full(50, 0.001)
    up = np.abs(series(6)[0]) + 0.001
    r, b = series(7)
    for value in (
        sharpe_ratio(one),
        sortino_ratio(one),
        annualized_volatility(one),
        beta(one, one),
        correlation(one, one),
        tracking_error(one, one),
        information_ratio(one, one),
        max_drawdown([]),
        cumulative_return([]),
        sharpe_ratio(flat),  # zero variance (empyrical: inf)
        sortino_ratio(up),  # no downside day (empyrical: inf)
        beta(r[:50], flat),  # flat benchmark
        correlation(flat, b[:50]),
        information_ratio(flat, flat),  # zero tracking error
        sharpe_ratio(np.full(10, np.nan)),
    ):
        assert math.isnan(value)
    assert tracking_error(flat, flat) == 0.0
    assert abs(beta(flat, b[:50])) < 1e-15  # a constant portfolio has no beta


def test_mismatched_shapes_raise() -> None:
    with pytest.raises(ValueError):
        beta(np.zeros(5), np.zeros(6))


def test_performance_summary_names_and_values() -> None:
    emp = ep()
    r, b = series(8, n=252)
    out = performance_summary(r, b, RF_ANNUAL)
    assert set(out) == SUMMARY_KEYS
    rf_d = daily_risk_free(RF_ANNUAL)
    assert close(out["portfolio_beta"], emp.beta(r, b))
    assert close(out["correlation_with_spy"], np.corrcoef(r, b)[0, 1])
    assert close(out["tracking_error"], emp.annual_volatility(r - b))
    assert close(out["information_ratio"], emp.excess_sharpe(r, b) * math.sqrt(TRADING_DAYS))
    assert close(out["sharpe_ratio"], emp.sharpe_ratio(r, risk_free=rf_d))
    assert close(out["sortino_ratio"], emp.sortino_ratio(r, required_return=rf_d))
    assert close(out["max_drawdown"], emp.max_drawdown(r))
    assert close(out["volatility_30d"], emp.annual_volatility(r[-30:]))
    assert close(out["volatility_90d"], emp.annual_volatility(r[-90:]))
    assert out["max_drawdown"] < 0.0


def test_performance_summary_on_a_short_history() -> None:
    r, b = series(9, n=60)
    out = performance_summary(r, b, 0.0)
    assert math.isnan(out["volatility_90d"])
    assert math.isfinite(out["volatility_30d"]) and math.isfinite(out["sharpe_ratio"])
    assert all(math.isnan(v) for v in performance_summary([], [], 0.0).values())
