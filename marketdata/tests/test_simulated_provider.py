"""The simulated provider: real rows kept, a deterministic and stable joint bootstrap after
them, proxied symbols anchored, bars and quotes that make sense, option quotes priced by the
pricing module.

Two data sets: a small synthetic history written to tmp_path (fast, every mechanism visible)
and the shipped ``seed_data/real_history.csv.gz`` with ``securities.json`` (integration).
Plain pytest, no Django, no database.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from marketdata import calendar
from marketdata.providers import simulated
from marketdata.providers.base import HISTORY_COLUMNS, MarketDataProvider
from marketdata.providers.simulated import SimulatedProvider
from risk.engine.pricing import black76_price, bsm_price

SEED_DIR = Path(simulated.__file__).resolve().parents[2] / "seed_data"
REAL_FILE = SEED_DIR / "real_history.csv.gz"
REAL_END = dt.date(2022, 12, 28)
TODAY = dt.date(2026, 11, 24)
DEMO = [
    "AAPL", "MSFT", "AMZN", "GOOGL", "TSLA", "NVDA", "JNJ", "JPM", "V", "FXNAX", "FCNTX", "FMAGX",
    "VTIAX", "VTI", "BND", "VNQ", "SPY", "QQQ", "BRK-B", "META", "UNH", "HD", "PG", "GLD", "DJP",
    "AMD", "NFLX", "SHOP", "ZM", "PTON", "ROKU", "XOM", "F", "GE", "C",
]  # fmt: skip
FACTOR_ETFS = ["SPY", "SIZE", "VLUE", "MTUM", "QUAL", "USMV", "VYM", "VUG", "VTV", "IWM", "QQQ"]


# --------------------------------------------------------------------------------------
# Synthetic fixture: ^GSPC with OHLCV, two stocks with closes only, one ETF whose file ends
# early, one basket-proxied ETF with an anchor, one mutual fund with an unknown anchor.

SYN_START, SYN_END = dt.date(2014, 1, 2), dt.date(2016, 12, 30)
CCC_START, CCC_END = dt.date(2015, 1, 2), dt.date(2016, 6, 30)
PRX_ANCHOR = (dt.date(2016, 6, 30), 50.0)


def _gap(beta: float, vol: float) -> dict:
    return {"symbol": "^GSPC", "beta": beta, "residual_vol": vol, "reason": "test"}


def _entry(asset_type: str, history: str, tier: int | None, proxy: dict | None, anchor=None):
    return {
        "name": "test",
        "asset_type": asset_type,
        "sector": "Test Sector",
        "industry": "Test Industry",
        "exchange": "TEST",
        "dividend_yield": 0.01,
        "history": history,
        "liquidity_tier": tier,
        "proxy": proxy,
        "anchor": anchor,
    }


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, pd.DataFrame]:
    """Write the synthetic history and reference files; return their paths and the rows."""
    folder = tmp_path_factory.mktemp("sim")
    rng = np.random.default_rng(7)
    dates = calendar.sessions_between(SYN_START, SYN_END)
    n = len(dates)
    market = rng.standard_t(4, n) * 0.007
    market[0] = 0.0
    frames = []

    def add(symbol: str, log_ret: np.ndarray, level: float, source: str, ohlcv: bool) -> None:
        close = np.round(level * np.exp(np.cumsum(log_ret)), 4)
        frame = pd.DataFrame({"symbol": symbol, "date": [d.isoformat() for d in dates]})
        frame["close"] = close
        frame["adj_close"] = close
        if ohlcv:
            prev = np.r_[close[0], close[:-1]]
            opn = np.round(prev * np.exp(0.1 * log_ret + rng.normal(0, 0.002, n)), 4)
            frame["open"] = opn
            frame["high"] = np.round(np.maximum(opn, close) * np.exp(rng.exponential(0.002, n)), 4)
            frame["low"] = np.round(np.minimum(opn, close) * np.exp(-rng.exponential(0.003, n)), 4)
            frame["volume"] = np.round(3e9 * np.exp(rng.normal(0, 0.2, n)))
        else:
            frame["open"] = frame["high"] = frame["low"] = frame["volume"] = np.nan
        frame["source"] = source
        frames.append(frame)

    add("^GSPC", market, 1800.0, "synthetic.index", True)
    add("AAA", 1.2 * market + rng.normal(0, 0.012, n), 40.0, "synthetic.stocks", False)
    add("BBB", 0.8 * market + rng.normal(0, 0.010, n), 70.0, "synthetic.stocks", False)
    add("CCC", 1.0 * market + rng.normal(0, 0.004, n), 25.0, "synthetic.etfs", False)
    rows = pd.concat(frames)
    ccc = rows["symbol"] == "CCC"
    in_span = (rows["date"] >= CCC_START.isoformat()) & (rows["date"] <= CCC_END.isoformat())
    rows = rows[~ccc | in_span]
    rows = rows[list(HISTORY_COLUMNS)].sort_values(["symbol", "date"]).reset_index(drop=True)
    history_path = folder / "history.csv.gz"
    with gzip.open(history_path, "wt") as fh:
        rows.to_csv(fh, index=False)

    reference = {
        "aliases": {"GSPC": "^GSPC"},
        "securities": {
            "^GSPC": _entry("index", "real", 1, None),
            "AAA": _entry("stock", "real", 1, _gap(1.2, 0.19)),
            "BBB": _entry("stock", "real", 2, _gap(0.8, 0.16)),
            "CCC": _entry("etf", "real", 3, _gap(1.0, 0.06)),
            "PRX": _entry(
                "etf",
                "proxy",
                2,
                {"symbol": {"AAA": 0.5, "BBB": 0.5}, "beta": 1.0, "residual_vol": 0.05},
                {"date": PRX_ANCHOR[0].isoformat(), "close": PRX_ANCHOR[1]},
            ),
            "MF": _entry("mutual_fund", "proxy", None, _gap(0.9, 0.05), {"date": None}),
        },
    }
    reference_path = folder / "securities.json"
    reference_path.write_text(json.dumps(reference))
    return history_path, reference_path, rows


def syn_provider(synthetic, seed: int = 1, today: dt.date = dt.date(2017, 12, 29)):
    history_path, reference_path, _ = synthetic
    return SimulatedProvider(
        seed=seed, today=today, history_path=history_path, reference_path=reference_path
    )


def returns_by_day(frame: pd.DataFrame) -> pd.DataFrame:
    closes = frame.pivot(index="date", columns="symbol", values="close")
    return np.log(closes).diff()


def assert_same_up_to_later_dividends(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """``a`` (a window ending earlier) equals ``b`` except that ``b``'s adj_close is
    backward-adjusted for the dividends between the two window ends too: one factor per symbol, at most 1, on the
    simulated rows (rounding to 4 decimals aside); real rows equal."""
    columns = [c for c in a.columns if c != "adj_close"]
    pd.testing.assert_frame_equal(a[columns], b[columns])
    real = a["source"] != "simulated"
    np.testing.assert_array_equal(a.loc[real, "adj_close"], b.loc[real, "adj_close"])
    ratio = (b["adj_close"] / a["adj_close"])[~real].groupby(a.loc[~real, "symbol"])
    assert (ratio.max() - ratio.min()).max() < 1e-4
    assert (ratio.max() <= 1 + 1e-6).all()


# --------------------------------------------------------------------------------------
# Synthetic-data tests.


def test_provider_satisfies_the_protocol(synthetic) -> None:
    provider = syn_provider(synthetic)
    assert isinstance(provider, MarketDataProvider)
    assert provider.name == "simulated"
    assert provider.universe() == ["AAA", "BBB", "CCC", "MF", "PRX", "^GSPC"]


def test_real_rows_are_returned_unchanged(synthetic) -> None:
    _, _, rows = synthetic
    frame = syn_provider(synthetic).history(["AAA", "CCC", "^GSPC"], SYN_START, SYN_END)
    real = frame[frame["source"] != "simulated"].reset_index(drop=True)
    expected = rows[rows["symbol"].isin(["AAA", "CCC", "^GSPC"])].reset_index(drop=True)
    assert list(real.columns) == list(HISTORY_COLUMNS)
    assert list(real["date"]) == [dt.date.fromisoformat(d) for d in expected["date"]]
    assert list(real["source"]) == list(expected["source"])
    for column in ("open", "high", "low", "close", "adj_close", "volume"):
        np.testing.assert_array_equal(
            real[column].to_numpy(float), expected[column].to_numpy(float)
        )


def test_same_seed_gives_identical_frames_and_other_seeds_differ_after_the_real_end(
    synthetic,
) -> None:
    symbols = ["AAA", "BBB", "CCC", "PRX", "MF", "^GSPC"]
    first = syn_provider(synthetic, seed=1).history(symbols, SYN_START, dt.date(2017, 12, 29))
    simulated.clear_cache()  # regenerate, don't just reread the cache
    again = syn_provider(synthetic, seed=1).history(symbols, SYN_START, dt.date(2017, 12, 29))
    pd.testing.assert_frame_equal(first, again)

    other = syn_provider(synthetic, seed=2).history(["AAA"], SYN_START, dt.date(2017, 12, 29))
    one = first[first["symbol"] == "AAA"].reset_index(drop=True)
    real = one["date"] <= SYN_END
    pd.testing.assert_frame_equal(one[real], other[real])
    assert not np.allclose(one.loc[~real, "close"], other.loc[~real, "close"])


def test_values_do_not_move_when_today_moves_later(synthetic) -> None:
    symbols = ["AAA", "BBB", "CCC", "PRX", "MF", "^GSPC"]
    simulated.clear_cache()  # each universe generated afresh, not cut from a longer one
    a = syn_provider(synthetic, today=dt.date(2017, 3, 31)).history(
        symbols, SYN_START, dt.date(2018, 6, 29)
    )
    simulated.clear_cache()
    b = syn_provider(synthetic, today=dt.date(2018, 6, 29)).history(
        symbols, SYN_START, dt.date(2017, 3, 31)
    )
    assert a["date"].max() == dt.date(2017, 3, 31)
    pd.testing.assert_frame_equal(a, b)


def test_values_do_not_depend_on_the_symbols_or_window_requested(synthetic) -> None:
    provider = syn_provider(synthetic)
    everything = provider.history(provider.universe(), SYN_START, dt.date(2017, 12, 29))
    alone = provider.history(["PRX"], dt.date(2017, 2, 1), dt.date(2017, 5, 31))
    same = everything[
        (everything["symbol"] == "PRX")
        & (everything["date"] >= dt.date(2017, 2, 1))
        & (everything["date"] <= dt.date(2017, 5, 31))
    ].reset_index(drop=True)
    # adj_close is as of the window's last session: the longer window adjusts for later
    # dividends too (one factor per symbol).
    assert_same_up_to_later_dividends(alone, same)


def test_only_sessions_one_row_each(synthetic) -> None:
    frame = syn_provider(synthetic).history(["AAA", "PRX", "MF"], SYN_START, dt.date(2017, 12, 29))
    assert not frame.duplicated(["symbol", "date"]).any()
    assert all(calendar.is_session(d) for d in frame["date"].unique())
    assert dt.date(2017, 12, 25) not in set(frame["date"])
    assert all(d.weekday() < 5 for d in frame["date"])


def test_proxied_symbol_is_anchored_and_starts_at_the_proxy_start(synthetic) -> None:
    frame = syn_provider(synthetic).history(["PRX", "MF"], SYN_START, dt.date(2017, 12, 29))
    prx = frame[frame["symbol"] == "PRX"].set_index("date")
    assert prx.loc[PRX_ANCHOR[0], "close"] == PRX_ANCHOR[1]
    assert prx.index.min() == simulated.PROXY_HISTORY_START
    assert set(prx["source"]) == {"simulated"}
    mf = frame[frame["symbol"] == "MF"]
    assert mf["volume"].isna().all()  # mutual funds have no exchange volume


def test_simulated_days_replay_one_real_day_for_every_symbol(synthetic) -> None:
    """The joint bootstrap: each simulated session's returns are one real day's returns."""
    provider = syn_provider(synthetic)
    real = returns_by_day(synthetic[2].assign(date=lambda f: f["date"].map(dt.date.fromisoformat)))
    pool = real.dropna()  # the days on which every real symbol has a return
    sim = provider.history(["AAA", "BBB", "^GSPC"], SYN_START, dt.date(2017, 12, 29))
    sim_ret = returns_by_day(sim).loc[dt.date(2017, 1, 3) :, ["AAA", "BBB", "^GSPC"]]
    matched_days = []
    for _, row in sim_ret.iterrows():
        distance = (pool[["AAA", "BBB", "^GSPC"]] - row.to_numpy()).abs().max(axis=1)
        assert distance.min() < 1e-5
        matched_days.append(distance.idxmin())
    # Blocks: consecutive simulated sessions mostly replay consecutive real days.
    positions = [pool.index.get_loc(d) for d in matched_days]
    follows = np.mean(np.diff(positions) == 1)
    assert 0.65 < follows < 0.95  # 1 - 1/5 in expectation


def test_continuation_starts_from_the_last_real_close(synthetic) -> None:
    frame = syn_provider(synthetic).history(["CCC", "AAA"], SYN_START, dt.date(2017, 12, 29))
    for symbol, end in (("CCC", CCC_END), ("AAA", SYN_END)):
        rows = frame[frame["symbol"] == symbol].set_index("date")
        first_sim = calendar.next_session(end)
        assert rows.loc[end, "source"] != "simulated"
        assert rows.loc[first_sim, "source"] == "simulated"
        step = math.log(rows.loc[first_sim, "close"] / rows.loc[end, "close"])
        assert abs(step) < 0.1
        gap = math.log(rows.loc[first_sim, "open"] / rows.loc[end, "close"])
        assert abs(gap) < 0.05
        assert list(rows.index) == calendar.sessions_between(rows.index.min(), rows.index.max())


def test_simulated_bars_are_consistent(synthetic) -> None:
    frame = syn_provider(synthetic).history(
        ["AAA", "PRX", "^GSPC"], SYN_START, dt.date(2017, 12, 29)
    )
    sim = frame[frame["source"] == "simulated"]
    assert (sim["low"] <= sim[["open", "close"]].min(axis=1)).all()
    assert (sim["high"] >= sim[["open", "close"]].max(axis=1)).all()
    assert (sim["low"] > 0).all()
    # Dividend-adjusted below the close before an ex-date (test_dividends_* check the factor).
    assert (sim["adj_close"] <= sim["close"]).all()
    assert (sim["adj_close"] < sim["close"]).any()
    assert (sim["volume"] > 0).all()
    # ^GSPC's simulated volume sits at its real level.
    gspc = frame[frame["symbol"] == "^GSPC"]
    real_v = gspc.loc[gspc["source"] != "simulated", "volume"].median()
    sim_v = gspc.loc[gspc["source"] == "simulated", "volume"].median()
    assert 0.7 < sim_v / real_v < 1.4


def test_aliases_resolve_and_keep_the_requested_name(synthetic) -> None:
    provider = syn_provider(synthetic)
    frame = provider.history(["GSPC", "aaa", "NOPE"], dt.date(2017, 1, 3), dt.date(2017, 1, 10))
    assert set(frame["symbol"]) == {"GSPC", "aaa"}  # as requested: failover matches on it
    assert [q.symbol for q in provider.quotes(["aaa", "GSPC"])] == ["aaa", "GSPC"]
    assert provider.profile("NOPE") is None
    assert provider.quotes(["NOPE"]) == []


# --------------------------------------------------------------------------------------
# Shipped data.


@pytest.fixture(scope="module")
def provider() -> SimulatedProvider:
    return SimulatedProvider(today=TODAY)


@pytest.fixture(scope="module")
def real_file() -> pd.DataFrame:
    frame = pd.read_csv(REAL_FILE, dtype={"symbol": str, "date": str, "source": str})
    frame["date"] = frame["date"].map(dt.date.fromisoformat)
    return frame


def test_real_part_equals_the_shipped_file(provider, real_file) -> None:
    symbols = ["AAPL", "MTUM", "^GSPC", "^IXIC", "^VIX"]
    frame = provider.history(symbols, dt.date(2005, 1, 1), REAL_END)
    real = frame[frame["source"] != "simulated"].reset_index(drop=True)
    expected = real_file[real_file["symbol"].isin(symbols)].reset_index(drop=True)
    assert len(real) == len(expected)
    assert list(real["symbol"]) == list(expected["symbol"])
    assert list(real["date"]) == list(expected["date"])
    assert list(real["source"]) == list(expected["source"])
    for column in ("open", "high", "low", "close", "adj_close", "volume"):
        np.testing.assert_array_equal(
            real[column].to_numpy(float), expected[column].to_numpy(float)
        )
    # ^IXIC's file ends in 2018: its 2019-2022 rows are simulated from its proxy.
    ixic = frame[frame["symbol"] == "^IXIC"].set_index("date")
    assert ixic.loc[dt.date(2019, 1, 2), "source"] == "simulated"
    assert (
        abs(
            math.log(
                ixic.loc[dt.date(2019, 1, 2), "close"] / ixic.loc[dt.date(2018, 12, 31), "close"]
            )
        )
        < 0.1
    )


def test_every_symbol_has_history_from_2021_to_today(provider) -> None:
    symbols = sorted(set(DEMO) | set(FACTOR_ETFS) | set(provider.universe()))
    frame = provider.history(symbols, dt.date(2021, 1, 1), TODAY)
    sessions = calendar.sessions_between(dt.date(2021, 1, 4), TODAY)
    counts = frame.groupby("symbol")["date"].agg(["min", "max", "count"])
    assert set(counts.index) == set(symbols)
    assert (counts["max"] == TODAY).all()
    assert (counts["min"] <= dt.date(2021, 1, 4)).all()
    assert (counts["count"] == len(sessions)).all()
    assert frame["close"].gt(0).all()


def test_same_seed_is_reproducible_and_stable_as_today_moves(provider) -> None:
    symbols = provider.universe()
    simulated.clear_cache()  # each universe generated afresh, not cut from a longer one
    earlier = SimulatedProvider(today=dt.date(2025, 6, 30))
    a = earlier.history(symbols, dt.date(2022, 1, 1), dt.date(2025, 6, 30))
    simulated.clear_cache()
    b = provider.history(symbols, dt.date(2022, 1, 1), dt.date(2025, 6, 30))
    pd.testing.assert_frame_equal(a, b)
    other = SimulatedProvider(seed=7, today=TODAY).history(["MSFT"], dt.date(2023, 6, 1), TODAY)
    mine = provider.history(["MSFT"], dt.date(2023, 6, 1), TODAY)
    assert not np.allclose(other["close"], mine["close"])


def test_simulated_correlation_of_aapl_and_msft_matches_the_real_one(provider) -> None:
    frame = provider.history(["AAPL", "MSFT"], dt.date(2014, 1, 1), TODAY)
    ret = returns_by_day(frame)
    real = ret.loc[dt.date(2014, 1, 3) : REAL_END]
    sim = ret.loc[calendar.next_session(REAL_END) + dt.timedelta(days=1) :]
    assert len(sim) > 900
    real_corr = real["AAPL"].corr(real["MSFT"])
    sim_corr = sim["AAPL"].corr(sim["MSFT"])
    assert abs(sim_corr - real_corr) < 0.1
    # Fat tails survive the resampling.
    assert sim["AAPL"].kurt() > 2.0


def test_proxied_symbols_start_from_their_anchor(provider) -> None:
    reference = json.loads((SEED_DIR / "securities.json").read_text())["securities"]
    for symbol in ("SPY", "NVDA", "QQQ", "BRK-B", "GLD"):
        anchor = reference[symbol]["anchor"]
        day = dt.date.fromisoformat(anchor["date"])
        frame = provider.history([symbol], day, day)
        assert frame["close"].iloc[0] == pytest.approx(anchor["close"], abs=1e-4)
        assert frame["source"].iloc[0] == "simulated"
    spy = provider.history(["SPY", "^GSPC"], dt.date(2022, 1, 3), dt.date(2022, 12, 28))
    ret = returns_by_day(spy).dropna()
    assert ret["SPY"].corr(ret["^GSPC"]) > 0.99


def test_vix_stays_in_its_historical_range(provider) -> None:
    vix = provider.history(["^VIX"], dt.date(2014, 1, 1), TODAY)
    sim = vix[vix["source"] == "simulated"]
    assert sim["close"].between(9.0, 83.0).all()


def test_stock_and_etf_quotes_have_bid_below_ask(provider) -> None:
    quotes = provider.quotes([*DEMO, "^GSPC", "VIX"])
    by_symbol = {q.symbol: q for q in quotes}
    assert set(by_symbol) == set(DEMO) | {"^GSPC", "VIX"}
    last_bars = provider.history(DEMO, TODAY, TODAY).set_index("symbol")
    for q in quotes:
        assert q.source == "simulated"
        assert q.timestamp == calendar.session_close_utc(TODAY)
        profile = provider.profile(q.symbol)
        assert profile is not None
        if profile.asset_type in ("stock", "etf"):
            assert q.bid < q.last < q.ask, q
            assert q.ask - q.bid <= q.last * 12e-4 + 0.02  # tier 3 is 10 bp, plus cent rounding
            assert q.last == last_bars.loc[q.symbol, "close"]
            assert q.bid_size > 0 and q.ask_size > 0
        elif profile.asset_type == "mutual_fund":
            assert q.bid == q.ask == q.last
        else:
            assert q.bid is None and q.ask is None and q.last > 0


def test_option_quote_mid_is_the_bsm_price_at_the_stated_inputs(provider) -> None:
    symbol = "AAPL261218C00125000"
    inputs = provider.option_inputs(symbol)
    assert inputs is not None and inputs["model"] == "bsm"
    spot = provider.history(["AAPL"], TODAY, TODAY)["close"].iloc[0]
    assert inputs["spot"] == spot
    assert inputs["div_yield"] == 0.0071 and inputs["rate"] == 0.04
    expected_minutes = calendar.minutes_to_expiry(
        calendar.session_close_utc(TODAY), dt.date(2026, 12, 18)
    )
    assert inputs["minutes"] == expected_minutes
    assert inputs["t"] == pytest.approx(expected_minutes / 525_600, rel=1e-15)
    mid = float(bsm_price(spot, 125.0, inputs["t"], 0.04, 0.0071, inputs["sigma"], True))
    assert inputs["mid"] == mid
    (quote,) = provider.quotes([symbol])
    assert quote.last == round(mid, 2)
    assert quote.bid < mid < quote.ask
    for price in (quote.bid, quote.ask):
        assert price == pytest.approx(round(price, 2), abs=1e-12)  # on the 0.01 tick
    assert quote.implied_volatility == pytest.approx(inputs["sigma"], abs=0.01)
    # The smile: an out-of-the-money put is quoted at a higher volatility than the call.
    put = provider.option_inputs("AAPL261218P00100000")
    assert put is not None and put["sigma"] > inputs["sigma"]


def test_vix_options_use_black76_on_the_vix_level(provider) -> None:
    inputs = provider.option_inputs("VIX261216C00020000")
    assert inputs is not None and inputs["model"] == "black76" and inputs["underlying"] == "^VIX"
    level = provider.history(["^VIX"], TODAY, TODAY)["close"].iloc[0]
    assert inputs["spot"] == level
    mid = float(black76_price(level, 20.0, inputs["t"], 0.04, inputs["sigma"], True))
    assert inputs["mid"] == mid
    # VIX options carry a call skew.
    put = provider.option_inputs("VIX261216P00010000")
    assert put is not None and inputs["sigma"] > put["sigma"]


def test_expired_option_is_worth_its_intrinsic_value(provider) -> None:
    (quote,) = provider.quotes(["SPY261120C00300000"])
    spy = provider.history(["SPY"], TODAY, TODAY)["close"].iloc[0]
    assert quote.last == round(spy - 300.0, 2)
    assert quote.implied_volatility is None
    assert quote.volume == 0


def test_profiles(provider) -> None:
    nvda = provider.profile("NVDA")
    assert nvda is not None and nvda.asset_type == "stock" and nvda.proxy_symbol == "AMD"
    aapl = provider.profile("AAPL")
    assert aapl is not None and aapl.proxy_symbol is None and aapl.eps_ttm == 6.11
    bnd = provider.profile("BND")
    assert bnd is not None and bnd.duration is not None
    option = provider.profile("AAPL261218C00125000")
    assert option is not None and option.asset_type == "option"
    assert option.sector == aapl.sector
    assert provider.profile("VIX") is not None
    assert provider.profile("VIX").asset_type == "index"
    assert provider.profile("UNKNOWN") is None


def test_proxy_for(provider) -> None:
    vug = provider.proxy_for("VUG")
    assert vug is not None and vug["role"] == "history"
    assert isinstance(vug["symbol"], dict) and sum(vug["symbol"].values()) == pytest.approx(1.0)
    assert provider.proxy_for("SPY")["symbol"] == "^GSPC"
    assert provider.proxy_for("AAPL")["role"] == "gap_fill"
    assert provider.proxy_for("^GSPC") is None
    assert provider.proxy_for("UNKNOWN") is None


def test_generating_the_universe_is_fast(provider) -> None:
    provider.history(["AAPL"], TODAY, TODAY)  # files read and cached
    simulated.clear_cache()
    started = time.perf_counter()
    provider.history(["AAPL"], TODAY, TODAY)
    elapsed = time.perf_counter() - started
    assert elapsed < 2.0  # ~0.1 s on the development machine; generous for a loaded CI


def test_during_a_session_quotes_follow_the_minutes_and_options_the_live_underlying() -> None:
    """Inside a session the quote is the close of the last completed minute (the opening
    print in the first), stamped at that minute's end, with the volume so far; an option is
    priced at that live underlying price: put-call parity holds against it, not the close."""
    opened = calendar.session_open_utc(TODAY)
    live = SimulatedProvider(today=TODAY, now=opened + dt.timedelta(minutes=95, seconds=20))
    assert live.live_session == TODAY
    aapl = live.minute_bars(["AAPL"], TODAY)["AAPL"]
    call, put = "AAPL261218C00125000", "AAPL261218P00125000"
    quotes = {q.symbol: q for q in live.quotes(["AAPL", call, put])}
    stock = quotes["AAPL"]
    assert stock.last == aapl.close[94] and stock.timestamp == opened + dt.timedelta(minutes=95)
    assert stock.volume == int(np.nansum(aapl.volume[:95]))
    assert stock.bid < stock.last < stock.ask
    first = SimulatedProvider(today=TODAY, now=opened + dt.timedelta(seconds=10))
    (opening,) = first.quotes(["AAPL"])
    assert opening.last == aapl.open[0] and opening.timestamp == opened

    t = calendar.minutes_to_expiry(stock.timestamp, dt.date(2026, 12, 18)) / 525_600
    q, r = 0.0071, 0.04
    c, p = quotes[call], quotes[put]
    assert c.timestamp == p.timestamp == stock.timestamp
    mids = (c.bid + c.ask) / 2 - (p.bid + p.ask) / 2
    tolerance = ((c.ask - c.bid) + (p.ask - p.bid)) / 2
    forward_gap = stock.last * math.exp(-q * t) - 125.0 * math.exp(-r * t)
    assert abs(mids - forward_gap) <= tolerance
    close = float(aapl.close[-1])
    assert abs(close - stock.last) > 2 * tolerance  # so the parity above tells them apart
    assert abs(mids - (close * math.exp(-q * t) - 125.0 * math.exp(-r * t))) > tolerance

    after = SimulatedProvider(today=TODAY, now=calendar.session_close_utc(TODAY))
    assert after.live_session is None and after.quotes(["AAPL"])[0].last == close
