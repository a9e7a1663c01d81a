"""The index universe (S&P 500, S&P 600, NASDAQ-100 from pytickersymbols on stated proxies)
and the simulated dividends with their backward-adjusted closes. No database."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest

from marketdata import calendar
from marketdata.gics import GICS_SECTORS, gics_sector, industry_label
from marketdata.providers.simulated import SimulatedProvider
from marketdata.providers.simulated.dividends import dividend_cycle
from marketdata.providers.simulated.index_universe import DEFAULT_INDEX_UNIVERSE_PATH
from marketdata.providers.simulated.streams import _normal
from marketdata.universe import index_constituents

TODAY = dt.date(2026, 11, 24)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def provider() -> SimulatedProvider:
    return SimulatedProvider(today=TODAY)


@pytest.fixture(scope="module")
def snapshot() -> dict:
    return json.loads(DEFAULT_INDEX_UNIVERSE_PATH.read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------- GICS table


def test_a_named_sector_wins_and_conflicts_follow_the_stated_precedence() -> None:
    assert gics_sector(["Conglomerate", "Industrial Conglomerates", "Industrials"]) == "Industrials"
    assert gics_sector(["Healthcare", "Medical devices"]) == "Health Care"
    assert gics_sector(["Energy", "Utilities"]) == "Utilities"  # AES, DUK: utilities
    assert gics_sector(["Financials", "Real Estate", "Apartments"]) == "Real Estate"  # REITs
    assert gics_sector(["Energy", "Industrials"]) == "Industrials"  # GEV
    assert gics_sector(["Electric Utilities", "Health Care", "Utilities"]) == "Health Care"  # STE


def test_keywords_settle_entries_that_name_no_sector_and_nothing_is_guessed() -> None:
    assert gics_sector(["Semiconductor", "Semiconductors"]) == "Information Technology"
    assert gics_sector(["Biotechnology"]) == "Health Care"
    assert gics_sector(["Beverages", "Soft Drinks"]) == "Consumer Staples"
    assert gics_sector(["Catalog/Specialty Distribution", "E-commerce"]) == "Consumer Discretionary"
    assert gics_sector(["EDP Services", "Internet"], "PDD") == "Consumer Discretionary"
    assert gics_sector(["Widgets"]) is None
    assert industry_label(["Information Technology", "Software"]) == "Software"


def test_every_constituent_gets_one_of_the_eleven_sectors() -> None:
    rows = index_constituents()
    assert len(rows) > 1100
    assert {r["sector"] for r in rows} <= set(GICS_SECTORS)
    by_symbol = {r["symbol"]: r for r in rows}
    assert by_symbol["ORCL"]["isin"] == "US68389X1054"
    assert "S&P 600" in by_symbol["ABCB"]["indices"]
    assert "BRK-B" in by_symbol  # class shares in our spelling


# ---------------------------------------------------------------------------- the snapshot


def test_the_committed_snapshot_is_what_the_builder_makes(snapshot) -> None:
    spec = importlib.util.spec_from_file_location(
        "build_index_universe", ROOT / "scripts" / "build_index_universe.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built = module.build()
    assert built == DEFAULT_INDEX_UNIVERSE_PATH.read_text(encoding="utf-8"), (
        "index_universe.json is stale: run scripts/build_index_universe.py (securities.json, "
        "the real history, marketdata/gics.py or pytickersymbols changed)"
    )


def test_curated_names_stay_out_and_proxies_are_stated(snapshot) -> None:
    curated = json.loads((DEFAULT_INDEX_UNIVERSE_PATH.parent / "securities.json").read_text())
    assert not set(snapshot["securities"]) & set(curated["securities"])
    assert "AAPL" not in snapshot["securities"] and "ORCL" in snapshot["securities"]
    proxies = snapshot["proxies"]
    # Sectors with at least three real-history stocks get a basket, the others the market.
    assert set(proxies) == {
        "^GSPC",
        "sector:Consumer Staples",
        "sector:Energy",
        "sector:Health Care",
        "sector:Information Technology",
    }
    assert proxies["sector:Health Care"]["symbol"] == {
        s: 0.2 for s in ["JNJ", "LLY", "MRK", "PFE", "UNH"]
    }
    assert (
        snapshot["securities"]["JPM" if "JPM" in snapshot["securities"] else "GS"]["proxy"]
        == "^GSPC"
    )
    for proxy in proxies.values():
        assert proxy["beta"] == 1.0 and 0.05 < proxy["residual_vol"] < 0.6 and proxy["reason"]
        assert len(proxy.get("label", "sector:Information Technology")) <= 32


# ---------------------------------------------------------------------------- the provider


@pytest.mark.parametrize("symbol", ["ORCL", "IBM", "ABCB"])
def test_index_names_have_bars_quotes_and_a_profile(provider, symbol) -> None:
    frame = provider.history([symbol], dt.date(2021, 1, 1), TODAY)
    sessions = calendar.sessions_between(dt.date(2021, 1, 1), TODAY)
    assert list(frame["date"]) == sessions
    assert set(frame["source"]) == {"simulated"}
    assert (frame["low"] <= frame["close"]).all() and (frame["close"] <= frame["high"]).all()
    [quote] = provider.quotes([symbol.lower()])
    assert quote.bid < quote.ask and quote.last == frame["close"].iloc[-1]
    profile = provider.profile(symbol)
    assert profile is not None and profile.asset_type == "stock"
    assert profile.isin == {"ORCL": "US68389X1054", "IBM": "US4592001014", "ABCB": None}[symbol]
    assert profile.sector in GICS_SECTORS and profile.proxy_symbol
    assert "simulated" in profile.source
    assert provider.proxy_for(symbol)["role"] == "history"
    assert provider.option_inputs(f"{symbol}261218C00100000") is not None


def test_a_name_is_its_sector_basket_plus_its_own_residual(provider, snapshot) -> None:
    """ORCL's log return = mean of AAPL, AMD, MSFT's + residual_vol/sqrt(252) * z, with z
    the stream ("residual", ORCL): the stated proxy relation, to the closes' rounding."""
    start, end = dt.date(2024, 1, 2), dt.date(2024, 12, 31)
    frame = provider.history(["ORCL", "AAPL", "AMD", "MSFT"], start, end)
    closes = frame.pivot(index="date", columns="symbol", values="close")
    r = np.log(closes).diff().iloc[1:]
    ordinals = np.array([(d - dt.date(1970, 1, 1)).days for d in r.index])
    vol = snapshot["proxies"]["sector:Information Technology"]["residual_vol"]
    expected = r[["AAPL", "AMD", "MSFT"]].mean(axis=1) + vol / math.sqrt(252) * _normal(
        provider.seed, "residual", "ORCL", ordinals
    )
    np.testing.assert_allclose(r["ORCL"], expected, atol=5e-5)


def test_index_names_are_deterministic_and_do_not_depend_on_the_order_asked(provider) -> None:
    alone = provider.history(["ABCB"], dt.date(2026, 1, 2), TODAY)
    fresh = SimulatedProvider(today=TODAY)
    together = fresh.history(["ORCL", "ABCB", "KO"], dt.date(2026, 1, 2), TODAY)
    np.testing.assert_array_equal(
        alone["close"], together.loc[together["symbol"] == "ABCB", "close"]
    )


# ---------------------------------------------------------------------------- dividends


def test_dividends_follow_the_stated_quarterly_rule(provider) -> None:
    paid = provider.dividends(["KO"], dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    months = dividend_cycle("KO")
    assert [d["ex_date"].month for d in paid] == list(months)
    closes = provider.history(["KO"], dt.date(2024, 12, 1), dt.date(2025, 12, 31)).set_index("date")
    for d in paid:
        ex = d["ex_date"]
        assert ex == calendar.next_session(dt.date(ex.year, ex.month, 14))  # first on/after 15th
        before = calendar.previous_session(ex)
        assert d["amount"] == round(0.0277 / 4 * closes.loc[before, "close"], 4)
        assert d["source"] == "simulated"
    # No yield (ORCL: null in the index universe) or an index: nothing; an ETF with a yield pays.
    assert provider.dividends(["ORCL", "^GSPC"], dt.date(2025, 1, 1), TODAY) == []
    bnd = provider.dividends(["BND"], dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    assert len(bnd) == 4 and all(d["amount"] > 0 for d in bnd)
    # Real rows carry their own dividends: none simulated before KO's real history ends.
    assert provider.dividends(["KO"], dt.date(2014, 1, 1), dt.date(2022, 12, 28)) == []


def test_adjusted_close_is_below_close_before_an_ex_date_by_the_hand_computed_factor() -> None:
    first = SimulatedProvider(today=TODAY).dividends(["KO"], dt.date(2025, 1, 1), TODAY)[:2]
    (t1, d1), (t2, d2) = [(d["ex_date"], d["amount"]) for d in first]
    p = SimulatedProvider(today=t2)  # adjusted as of t2: the factors of t1 and t2 apply
    frame = p.history(["KO"], calendar.previous_session(t1), t2).set_index("date")
    c1 = frame.loc[calendar.previous_session(t1), "close"]
    c2 = frame.loc[calendar.previous_session(t2), "close"]
    f1, f2 = 1 - d1 / c1, 1 - d2 / c2
    assert frame.loc[calendar.previous_session(t1), "adj_close"] == pytest.approx(
        round(c1 * f1 * f2, 4), abs=1e-9
    )
    assert frame.loc[calendar.previous_session(t1), "adj_close"] < c1
    between = frame.loc[t1, :]
    assert between["adj_close"] == pytest.approx(round(between["close"] * f2, 4), abs=1e-9)
    assert frame.loc[calendar.previous_session(t2), "adj_close"] == pytest.approx(
        round(c2 - d2, 4), abs=1e-9
    )
    assert frame.loc[t2, "adj_close"] == frame.loc[t2, "close"]  # on and after the last ex-date


def test_every_demo_holding_has_a_sector_or_an_asset_class(provider) -> None:
    """So no demo book has an "Unclassified" group (the individual one had 88.5% there)."""
    from portfolios.demo import DEMO_HOLDINGS

    for holdings in DEMO_HOLDINGS.values():
        for symbol, _quantity in holdings:
            profile = provider.profile(symbol)
            assert profile is not None and profile.sector, symbol
            if profile.asset_type != "stock":
                assert profile.asset_class in {
                    "broad_equity", "sector_equity", "fixed_income", "commodity", "volatility",
                }, symbol  # fmt: skip


def test_only_a_leading_simulated_provider_states_dividends(provider) -> None:
    """A chain led by a real vendor must not book the simulated dividends next to the
    vendor's bars; with the simulated provider first (the default) it does."""
    from types import SimpleNamespace

    from marketdata.services import _with_dividends

    vendor = SimpleNamespace(name="fmp")
    assert _with_dividends(SimpleNamespace(providers=[vendor, provider])) is None  # type: ignore[arg-type]
    assert _with_dividends(SimpleNamespace(providers=[provider, vendor])) is provider  # type: ignore[arg-type]
    assert _with_dividends(provider) is provider
