"""Rolling correlations, divergence and the VIX regime against direct computations."""

from __future__ import annotations

import numpy as np
import pytest

from marketdata.engine.correlation import (
    REGIMES,
    RegimeRule,
    classify_regime,
    divergence_zscore,
    log_returns,
    rolling_correlation,
    window_correlation,
)

RULE = RegimeRule((15, 25, 35), (1.2, 1.0, 0.7, 0.5), (0.0, 0.0, 0.05, 0.10), (1.0, 1.0, 0.8, 0.6))


def _pair(n: int = 400, rho: float = 0.8, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n) * 1e-3
    y = rho * x + np.sqrt(1 - rho**2) * rng.standard_normal(n) * 1e-3
    return x, y


def test_correlations_match_numpy_on_every_window() -> None:
    x, y = _pair()
    rolling = rolling_correlation(x, y, 20)
    assert rolling.shape == (400 - 20 + 1,)
    expected = [np.corrcoef(x[i : i + 20], y[i : i + 20])[0, 1] for i in range(381)]
    np.testing.assert_allclose(rolling, expected, rtol=1e-9, atol=1e-12)
    for w in (20, 60, 180):
        assert window_correlation(x, y, w) == pytest.approx(np.corrcoef(x[-w:], y[-w:])[0, 1])
    assert np.isnan(window_correlation(x[:10], y[:10], 20))  # too few returns
    assert np.isnan(window_correlation(np.zeros(30), y[:30], 20))  # a constant series


def test_log_returns_of_closes() -> None:
    np.testing.assert_allclose(log_returns([100.0, 110.0, 99.0]), [np.log(1.1), np.log(0.9)])


def test_divergence_is_the_z_of_the_current_correlation_against_its_history() -> None:
    x, y = _pair(300)
    y[-20:] = -y[-20:]  # the pair decouples in the last 20 bars
    series = np.array(
        [np.corrcoef(x[-180:][i : i + 20], y[-180:][i : i + 20])[0, 1] for i in range(161)]
    )
    expected = (series[-1] - series.mean()) / series.std(ddof=1)
    z = divergence_zscore(x, y, window=20, history=180)
    assert z == pytest.approx(expected, rel=1e-9) and z < -2.0
    assert np.isnan(divergence_zscore(x[:21], y[:21], window=20, history=180))


@pytest.mark.parametrize(
    "vix, regime, factor",
    [
        (9.0, 0, 1.2),
        (14.99, 0, 1.2),
        (15.0, 1, 1.0),
        (24.99, 1, 1.0),
        (25.0, 2, 0.7),
        (35.0, 3, 0.5),
        (80.0, 3, 0.5),
    ],
)
def test_regimes_by_vix_thresholds(vix: float, regime: int, factor: float) -> None:
    got = classify_regime(vix, RULE)
    assert got is not None
    assert got["regime_type"] == REGIMES[regime] and got["adaptation_factor"] == factor
    assert got["position_size_multiplier"] == factor


def test_no_regime_without_a_vix_level() -> None:
    assert classify_regime(float("nan"), RULE) is None and classify_regime(0.0, RULE) is None
