"""The simulated provider's intraday side: minute bars that agree with the simulated daily
bars, are fixed by (seed, symbol, session), co-move like the days, carry the U-shape, and
whose daily moves follow the VIX."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from marketdata import calendar
from marketdata.engine.intraday import VOLATILITY_WINDOWS, session_minute_returns, window_rms
from marketdata.providers.simulated import SimulatedProvider

TODAY = dt.date(2026, 11, 30)
SYMBOLS = ["SPY", "QQQ", "IWM", "^VIX", "AAPL"]


@pytest.fixture(scope="module")
def provider() -> SimulatedProvider:
    return SimulatedProvider(seed=20240101, today=TODAY)


@pytest.mark.parametrize("session, minutes", [(TODAY, 390), (dt.date(2026, 11, 27), 210)])
def test_minute_bars_agree_with_the_daily_bar(
    provider: SimulatedProvider, session: dt.date, minutes: int
) -> None:
    daily = provider.history(SYMBOLS, session, session).set_index("symbol")
    bars = provider.minute_bars(SYMBOLS, session)
    assert sorted(bars) == sorted(SYMBOLS)
    for symbol, m in bars.items():
        day = daily.loc[symbol]
        assert len(m.close) == minutes and m.timestamps[0] == calendar.session_open_utc(session)
        assert m.timestamps[-1] == calendar.session_close_utc(session) - dt.timedelta(minutes=1)
        assert m.open[0] == day.open and m.close[-1] == day.close
        assert m.high.max() == day.high and m.low.min() == day.low
        if np.isfinite(day.volume):
            assert m.volume.sum() == day.volume
        else:
            assert np.isnan(m.volume).all()  # the VIX has no volume
        np.testing.assert_array_equal(m.open[1:], m.close[:-1])


def test_a_symbols_minutes_do_not_depend_on_what_else_is_asked(
    provider: SimulatedProvider,
) -> None:
    alone = provider.minute_bars(["QQQ"], TODAY)["QQQ"]
    together = provider.minute_bars(["IWM", "QQQ", "AAPL"], TODAY)["QQQ"]
    np.testing.assert_array_equal(alone.close, together.close)
    other_seed = SimulatedProvider(seed=7, today=TODAY).minute_bars(["QQQ"], TODAY)["QQQ"]
    assert not np.array_equal(alone.close, other_seed.close)


def test_what_has_no_minutes_is_left_out(provider: SimulatedProvider) -> None:
    assert provider.minute_bars(["NOPE", "SPY"], TODAY).keys() == {"SPY"}
    assert provider.minute_bars(["SPY"], dt.date(2026, 11, 26)) == {}  # Thanksgiving
    assert provider.minute_bars(["SPY"], TODAY + dt.timedelta(days=1)) == {}  # after today


def test_minutes_co_move_carry_the_u_shape_and_the_days_follow_the_vix(
    provider: SimulatedProvider,
) -> None:
    sessions = calendar.sessions_between(dt.date(2026, 9, 1), TODAY)[-20:]
    returns: dict[str, list[np.ndarray]] = {s: [] for s in ("SPY", "QQQ", "IWM", "^VIX")}
    for session in sessions:
        day = provider.minute_bars(list(returns), session)
        for symbol, m in day.items():
            if len(m.close) == 390:
                returns[symbol].append(session_minute_returns(m.open[None], m.close[None])[0])
    spy, qqq, vix = (np.concatenate(returns[s]) for s in ("SPY", "QQQ", "^VIX"))
    assert np.corrcoef(spy, qqq)[0, 1] > 0.6
    assert np.corrcoef(spy, vix)[0, 1] < -0.4
    rms = window_rms(np.vstack(returns["SPY"]), VOLATILITY_WINDOWS)
    assert rms[0] / rms[1] > 1.8 and rms[2] / rms[1] > 1.3
    # A year of simulated sessions: SPY's daily move is about VIX / sqrt(252).
    year = provider.history(["SPY", "^VIX"], dt.date(2025, 12, 1), TODAY)
    closes = year.pivot(index="date", columns="symbol", values="close")
    daily = np.log(closes["SPY"] / closes["SPY"].shift(1)).dropna()
    implied = (closes["^VIX"].shift(1) / 100 / np.sqrt(252)).dropna()
    assert 0.75 < float(np.sqrt(np.mean(daily**2)) / implied.mean()) < 1.3
