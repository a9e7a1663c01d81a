"""The intraday engine: the U-shapes against the recorded S&P 500 sessions and the
documented volume figures, and minute bars that agree with their daily bar exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from marketdata.engine.intraday import (
    SESSION_MINUTES,
    VOLATILITY_DECAYS,
    VOLATILITY_SHAPE,
    VOLATILITY_WINDOWS,
    best_candidates,
    bridge_paths,
    fit_to_range,
    fit_u_shape,
    minute_bars,
    minute_volatility,
    one_factor_normals,
    parkinson_volatility,
    session_minute_returns,
    volatility_profile,
    volume_profile,
    window_rms,
)

RECORDED = (
    Path(__file__).resolve().parent.parent
    / "seed_data"
    / "recorded"
    / "sp500_1min_2019-11-05_to_08.csv"
)


def _recorded_sessions() -> tuple[np.ndarray, np.ndarray]:
    frame = pd.read_csv(RECORDED)
    stamp = pd.to_datetime(frame["Date"], format="%m/%d/%Y %H:%M")
    frame["minute"] = stamp.dt.hour * 60 + stamp.dt.minute - 570
    frame["day"] = stamp.dt.date
    frame = frame[frame["minute"] < SESSION_MINUTES]  # the 16:00 print is the close's
    opens = frame.pivot(index="day", columns="minute", values="Open").ffill(axis=1)
    closes = frame.pivot(index="day", columns="minute", values="Close").ffill(axis=1)
    return opens.to_numpy(), closes.to_numpy()


def test_the_volatility_u_shape_is_the_fit_to_the_recorded_sessions() -> None:
    opens, closes = _recorded_sessions()
    assert opens.shape == (4, SESSION_MINUTES)
    returns = session_minute_returns(opens, closes)
    rms = window_rms(returns, VOLATILITY_WINDOWS)
    # Hand-checked on the file: 2.73e-4, 1.08e-4, 1.99e-4 (first half hour, 12:15-13:15,
    # last half hour; the first minute from the open).
    np.testing.assert_allclose(rms, [2.731e-4, 1.076e-4, 1.993e-4], rtol=0.005)
    fitted = fit_u_shape(
        rms, VOLATILITY_WINDOWS, open_decay=VOLATILITY_DECAYS[0], close_decay=VOLATILITY_DECAYS[1]
    )
    np.testing.assert_allclose(fitted.values(), VOLATILITY_SHAPE.values(), rtol=0.01)
    s = VOLATILITY_SHAPE.values()
    open_ratio = s[:30].mean() / s[165:225].mean()
    close_ratio = s[360:].mean() / s[165:225].mean()
    assert 2.3 < open_ratio < 2.8 and 1.6 < close_ratio < 2.1
    # Counted the way the recorded README does (the first minute from the previous close,
    # so with the overnight gap), the same file gives the "about 5x" of the first half hour.
    gapped = np.diff(np.log(closes.reshape(-1)))
    minute = np.tile(np.arange(SESSION_MINUTES), 4)[1:]
    first = np.sqrt(np.mean(gapped[minute < 30] ** 2))
    midday = np.sqrt(np.mean(gapped[(minute >= 165) & (minute < 225)] ** 2))
    assert 4.0 < first / midday < 5.0


def test_the_volatility_profile_has_unit_mean_square_on_any_session_length() -> None:
    for n in (SESSION_MINUTES, 210):
        p = volatility_profile(n)
        assert np.mean(p**2) == pytest.approx(1.0, rel=1e-12)
        assert p[0] > p[n // 2] < p[-1]


def test_the_volume_u_shape_matches_the_documented_figures() -> None:
    v = volume_profile()
    assert v.sum() == pytest.approx(1.0, rel=1e-12)
    assert v[:30].sum() == pytest.approx(0.15, rel=1e-9)
    low = int(np.argmin(v))
    assert 195 <= low <= 210  # 12:45-13:00 ET


def _true_sessions(k: int, sigma: float, seed: int, minutes: int = SESSION_MINUTES) -> tuple:
    """Daily bars of sessions drawn from the process itself (other normals than the ones
    the tests then build minute bars from)."""
    rng = np.random.default_rng(seed)
    steps = minute_volatility(np.full(k, sigma), minutes) * rng.standard_normal((k, minutes))
    true = 100.0 * np.exp(np.concatenate([np.zeros((k, 1)), np.cumsum(steps, axis=1)], axis=1))
    return true[:, 0], true.max(axis=1), true.min(axis=1), true[:, -1]


def _bars(k: int, minutes: int, candidates: int, seed: int, sigma: float = 0.01):
    o, h, lo, c = _true_sessions(k, sigma, seed, minutes)
    rng = np.random.default_rng(seed + 1)
    implied = parkinson_volatility(h, lo)
    paths = bridge_paths(o, c, implied, rng.standard_normal((k, candidates, minutes)))
    chosen = paths[np.arange(k), best_candidates(paths, h, lo)]
    volume = np.round(rng.uniform(1e6, 5e7, k))
    z = [rng.standard_normal((k, minutes)) for _ in range(2)]
    bars = minute_bars(chosen, implied, volume, *z, day_high=h, day_low=lo)
    return (o, h, lo, c, volume), bars


@pytest.mark.parametrize("minutes", [SESSION_MINUTES, 210])
def test_minute_bars_agree_with_their_daily_bar_exactly(minutes: int) -> None:
    (o, h, lo, c, volume), bars = _bars(400, minutes, candidates=16, seed=minutes)
    assert bars.close.shape == (400, minutes)
    np.testing.assert_array_equal(bars.open[:, 0], o)
    np.testing.assert_array_equal(bars.close[:, -1], c)
    np.testing.assert_array_equal(bars.high.max(axis=1), h)
    np.testing.assert_array_equal(bars.low.min(axis=1), lo)
    np.testing.assert_array_equal(bars.volume.sum(axis=1), volume)
    np.testing.assert_array_equal(bars.open[:, 1:], bars.close[:, :-1])
    assert np.all(bars.low <= np.minimum(bars.open, bars.close))
    assert np.all(bars.high >= np.maximum(bars.open, bars.close))


def test_a_day_the_path_never_leaves_the_body_on_one_side_still_touches_its_extreme() -> None:
    path = np.array([100.0, 100.5, 101.0, 101.5, 102.0])  # never below the open
    mapped = fit_to_range(path, low=99.0, high=103.0)
    assert mapped[0] == 100.0 and mapped[-1] == 102.0
    assert mapped.min() == 99.0 and mapped.max() == 103.0
    flat = fit_to_range(np.array([100.0, 100.0, 100.0]), low=100.0, high=100.0)
    np.testing.assert_array_equal(flat, 100.0)
    with pytest.raises(ValueError):
        fit_to_range(path, low=100.5, high=103.0)  # the range must hold the open


def test_bridges_are_pinned_at_the_open_and_the_close() -> None:
    rng = np.random.default_rng(3)
    o, c = np.array([100.0, 50.0]), np.array([101.0, 49.0])
    paths = bridge_paths(o, c, [0.01, 0.0], rng.standard_normal((2, 4, 390)))
    np.testing.assert_array_equal(paths[:, :, 0], o[:, None] * np.ones((2, 4)))
    np.testing.assert_array_equal(paths[:, :, -1], c[:, None] * np.ones((2, 4)))
    line = 50.0 * (49.0 / 50.0) ** (np.arange(391) / 390)  # no volatility: a straight line
    np.testing.assert_allclose(paths[1, 0], line, rtol=1e-12)
    with pytest.raises(ValueError):
        bridge_paths(o, c, [0.01, 0.01], rng.standard_normal((2, 390)))
    with pytest.raises(ValueError):
        bridge_paths([100.0, 0.0], c, [0.01, 0.01], rng.standard_normal((2, 1, 390)))


def test_minute_returns_follow_the_u_shape() -> None:
    _, bars = _bars(3_000, SESSION_MINUTES, candidates=16, seed=7)
    rms = window_rms(session_minute_returns(bars.open, bars.close), VOLATILITY_WINDOWS)
    s = VOLATILITY_SHAPE.values()
    expected = np.array([s[a:b].mean() for a, b in VOLATILITY_WINDOWS])
    np.testing.assert_allclose(rms / rms[1], expected / expected[1], rtol=0.06)
    # A single candidate would stretch the moves at the open and the close.
    _, stretched = _bars(3_000, SESSION_MINUTES, candidates=1, seed=7)
    one = window_rms(session_minute_returns(stretched.open, stretched.close), VOLATILITY_WINDOWS)
    assert one[0] / one[1] > 1.1 * expected[0] / expected[1]


def test_one_factor_normals_correlate_through_the_market() -> None:
    rng = np.random.default_rng(2)
    market = rng.standard_normal(200_000)
    rho = np.array([1.0, 0.9, -0.8])
    z = one_factor_normals(market, rng.standard_normal((3, 1, 200_000)), rho)[:, 0]
    np.testing.assert_array_equal(z[0], market)
    observed = np.corrcoef(np.vstack([market, z]))
    np.testing.assert_allclose(observed[0, 1:], rho, atol=0.01)
    assert observed[2, 3] == pytest.approx(0.9 * -0.8, abs=0.01)
    assert np.std(z[1]) == pytest.approx(1.0, abs=0.01)
