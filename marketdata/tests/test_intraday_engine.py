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
    correlated_normals,
    fit_u_shape,
    minute_bars,
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


@pytest.mark.parametrize("minutes", [SESSION_MINUTES, 210])
def test_minute_bars_run_from_the_open_to_the_close_and_make_the_daily_bar(minutes: int) -> None:
    k = 400
    rng = np.random.default_rng(minutes)
    o = 100.0 * np.exp(rng.normal(0, 0.2, k))
    c = o * np.exp(rng.normal(0, 0.01, k))
    c[0] = o[0]  # a flat day
    volume = np.round(rng.uniform(1e6, 5e7, k))
    sigma = np.full(k, 0.01)
    sigma[1] = 0.0  # no volatility: a straight line from the open to the close
    z = [rng.standard_normal((k, minutes)) for _ in range(3)]
    bars = minute_bars(o, c, volume, sigma, *z, minutes=minutes)
    assert bars.close.shape == (k, minutes)
    np.testing.assert_array_equal(bars.open[:, 0], o)
    np.testing.assert_array_equal(bars.close[:, -1], c)
    np.testing.assert_array_equal(bars.volume.sum(axis=1), volume)
    np.testing.assert_array_equal(bars.open[:, 1:], bars.close[:, :-1])
    assert np.all(bars.low <= np.minimum(bars.open, bars.close))
    assert np.all(bars.high >= np.maximum(bars.open, bars.close))
    line = o[1] * (c[1] / o[1]) ** (np.arange(1, minutes + 1) / minutes)
    np.testing.assert_allclose(bars.close[1], line, rtol=1e-12)
    # The day's range is the path's: wider than the open-close body on a volatile day.
    assert np.all(bars.high.max(axis=1)[2:] > np.maximum(o, c)[2:])


def test_minute_returns_follow_the_u_shape_at_the_session_volatility() -> None:
    k, sigma = 3_000, 0.01
    rng = np.random.default_rng(7)
    o = np.full(k, 100.0)
    c = o * np.exp(sigma * rng.standard_normal(k))  # the close of the same process
    z = [rng.standard_normal((k, SESSION_MINUTES)) for _ in range(3)]
    bars = minute_bars(o, c, np.full(k, np.nan), np.full(k, sigma), *z)
    returns = session_minute_returns(bars.open, bars.close)
    rms = window_rms(returns, VOLATILITY_WINDOWS)
    s = VOLATILITY_SHAPE.values()
    expected = np.array([s[a:b].mean() for a, b in VOLATILITY_WINDOWS])
    np.testing.assert_allclose(rms / rms[1], expected / expected[1], rtol=0.05)
    # The session's variance is the stated one, and its range says so (Parkinson).
    assert np.sqrt(np.mean(returns.sum(axis=1) ** 2)) == pytest.approx(sigma, rel=0.05)
    implied = parkinson_volatility(bars.high.max(axis=1), bars.low.min(axis=1))
    assert np.sqrt(np.mean(implied**2)) == pytest.approx(sigma, rel=0.25)
    assert np.all(np.isnan(bars.volume))  # unknown volume stays unknown


def test_correlated_normals_have_the_asked_correlation() -> None:
    target = np.array([[1.0, 0.9, -0.8], [0.9, 1.0, -0.7], [-0.8, -0.7, 1.0]])
    z = correlated_normals(np.random.default_rng(2).standard_normal((3, 200_000)), target)
    np.testing.assert_allclose(np.corrcoef(z), target, atol=0.01)
    singular = np.ones((2, 2))
    w = correlated_normals(np.random.default_rng(3).standard_normal((2, 10)), singular)
    np.testing.assert_allclose(w[0], w[1])


def test_a_non_positive_price_is_refused() -> None:
    z = np.zeros((1, 5))
    with pytest.raises(ValueError):
        minute_bars([100.0], [0.0], [1.0], [0.01], z, z, z, minutes=5)
    with pytest.raises(ValueError):
        minute_bars([100.0], [101.0], [1.0], [0.01], np.zeros((1, 4)), z, z, minutes=5)
