"""Facts about the shipped real-history fixtures in marketdata/seed_data/.

Why: the risk engine and the simulated provider trust these files; these tests pin the real
values (from skfolio, arch and bokeh-sampledata) so a bad rebuild or a hand edit is caught.
Plain pandas, no Django, no database. Regenerate with scripts/build_history_fixture.py.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd
import pytest

SEED_DIR = Path(__file__).resolve().parents[1] / "seed_data"
PRICE_COLUMNS = ["symbol", "date", "open", "high", "low", "close", "adj_close", "volume", "source"]
PRICE_FIELDS = ["open", "high", "low", "close", "adj_close"]

LARGE_CAPS = [
    "AAPL", "AMD", "BAC", "BBY", "CVX", "GE", "HD", "JNJ", "JPM", "KO",
    "LLY", "MRK", "MSFT", "PEP", "PFE", "PG", "RRC", "UNH", "WMT", "XOM",
]  # fmt: skip
FACTOR_ETFS = ["MTUM", "QUAL", "SIZE", "USMV", "VLUE"]
INDICES = ["^GSPC", "^IXIC", "^VIX"]

# Symbols with a span too short for 2,000 daily rows, and the rows they do have.
SHORT_SPANS = {
    ("real_history.csv.gz", "^VIX"): 1259,  # arch.data.vix: 2014-01-03 to 2019-01-03
    ("bokeh_stocks.csv.gz", "FB"): 196,  # IPO 2012-05-18 to 2013-03-01
}
MIN_ROWS = 2000


@cache
def load(name: str) -> pd.DataFrame:
    """Read a shipped price file with dates as text, exactly as a loader would see it."""
    return pd.read_csv(SEED_DIR / name, dtype={"symbol": str, "date": str, "source": str})


PRICE_FILES = ["real_history.csv.gz", "bokeh_stocks.csv.gz"]
EXPECTED_SYMBOLS = {
    "real_history.csv.gz": LARGE_CAPS + FACTOR_ETFS + INDICES,
    "bokeh_stocks.csv.gz": ["AAPL", "MSFT", "IBM", "GOOG", "FB"],
}


@pytest.mark.parametrize("name", PRICE_FILES)
def test_price_file_has_exact_columns(name: str) -> None:
    assert list(load(name).columns) == PRICE_COLUMNS


@pytest.mark.parametrize("name", PRICE_FILES)
def test_no_duplicate_symbol_dates_and_sorted(name: str) -> None:
    df = load(name)
    assert not df.duplicated(["symbol", "date"]).any()
    keys = list(zip(df["symbol"], df["date"], strict=True))
    assert keys == sorted(keys)


@pytest.mark.parametrize("name", PRICE_FILES)
def test_every_symbol_present_with_enough_rows(name: str) -> None:
    counts = load(name)["symbol"].value_counts()
    assert set(counts.index) == set(EXPECTED_SYMBOLS[name])
    for symbol in EXPECTED_SYMBOLS[name]:
        expected_min = SHORT_SPANS.get((name, symbol), MIN_ROWS)
        assert counts[symbol] >= expected_min, symbol


@pytest.mark.parametrize("name", PRICE_FILES)
def test_dates_are_iso_business_days(name: str) -> None:
    dates = load(name)["date"]
    assert dates.str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    parsed = pd.to_datetime(dates, format="%Y-%m-%d")
    assert (parsed.dt.day_of_week < 5).all()


@pytest.mark.parametrize("name", PRICE_FILES)
def test_prices_positive_and_close_always_present(name: str) -> None:
    df = load(name)
    assert df["close"].notna().all() and df["adj_close"].notna().all()
    for col in PRICE_FIELDS:
        assert (df[col].dropna() > 0).all(), col
    assert (df["volume"].dropna() >= 0).all()
    assert (df["volume"].dropna() % 1 == 0).all()


@pytest.mark.parametrize("name", PRICE_FILES)
def test_ohlc_bracket_close_where_present(name: str) -> None:
    df = load(name).dropna(subset=["open", "high", "low"])
    assert len(df) > 0
    assert (df["high"] >= df[["open", "close", "low"]].max(axis=1) - 1e-9).all()
    assert (df["low"] <= df[["open", "close", "high"]].min(axis=1) + 1e-9).all()


def test_real_history_starts_2005_and_keeps_2008() -> None:
    df = load("real_history.csv.gz")
    assert df["date"].min() >= "2005-01-01"
    spx = df[df["symbol"] == "^GSPC"].set_index("date")["close"]
    # Lehman autumn: the S&P 500 closed below 900 on 2008-10-10 (899.22) and 2008-11-20 (752.44).
    assert spx["2008-10-10"] == pytest.approx(899.22, abs=0.005)
    assert spx["2008-11-20"] == pytest.approx(752.44, abs=0.005)


def test_skfolio_prices_are_adjusted_so_close_equals_adj_close() -> None:
    df = load("real_history.csv.gz")
    sk = df[df["source"].str.startswith("skfolio")]
    assert (sk["close"] == sk["adj_close"]).all()
    assert sk[["open", "high", "low", "volume"]].isna().all().all()
    aapl = sk[sk["symbol"] == "AAPL"].set_index("date")["close"]
    # Adjusted series: no 2:1 step at AAPL's 2005-02-28 split.
    assert aapl["2005-02-28"] / aapl["2005-02-25"] == pytest.approx(1.0, abs=0.1)


def test_gspc_spliced_from_arch_then_skfolio() -> None:
    spx = load("real_history.csv.gz").query("symbol == '^GSPC'")
    arch = spx[spx["source"] == "arch.data.sp500"]
    sk = spx[spx["source"] == "skfolio.load_sp500_index"]
    assert len(arch) + len(sk) == len(spx)
    assert arch["date"].max() == "2018-12-31" and sk["date"].min() == "2019-01-02"
    assert arch[["open", "high", "low", "volume"]].notna().all().all()
    assert sk["date"].max() == "2022-12-28"


def test_aapl_split_shows_in_bokeh_raw_close_not_adj_close() -> None:
    df = load("bokeh_stocks.csv.gz")
    aapl = df[df["symbol"] == "AAPL"].set_index("date")
    assert aapl.loc["2005-02-25", "close"] == pytest.approx(88.99, abs=1e-9)
    assert aapl.loc["2005-02-28", "close"] == pytest.approx(44.86, abs=1e-9)
    ratio = aapl.loc["2005-02-28", "adj_close"] / aapl.loc["2005-02-25", "adj_close"]
    assert ratio == pytest.approx(1.0, abs=0.1)
    assert set(df["source"]) == {"bokeh_sampledata.stocks"}


def test_risk_free_monthly_is_annual_decimal() -> None:
    rf = pd.read_csv(SEED_DIR / "risk_free_monthly.csv", dtype={"month": str})
    assert list(rf.columns) == ["month", "rf_annual", "source"]
    assert rf["month"].str.fullmatch(r"\d{4}-(0[1-9]|1[0-2])").all()
    assert rf["month"].is_unique and rf["month"].is_monotonic_increasing
    assert rf["month"].iloc[0] == "1926-07" and rf["month"].iloc[-1] == "2018-11"
    by_month = rf.set_index("month")["rf_annual"]
    # Fama-French RF: 0.22 %/month in 1926-07 and 0.18 %/month in 2018-11, times 12.
    assert by_month["1926-07"] == pytest.approx(0.0264, abs=1e-9)
    assert by_month["2018-11"] == pytest.approx(0.0216, abs=1e-9)
    assert rf["rf_annual"].between(-0.01, 0.20).all()


def test_bond_yields_monthly_are_decimals() -> None:
    bonds = pd.read_csv(SEED_DIR / "bond_yields_monthly.csv", dtype={"month": str})
    assert list(bonds.columns) == ["month", "aaa", "baa", "source"]
    assert bonds["month"].is_unique and bonds["month"].is_monotonic_increasing
    assert bonds["month"].iloc[0] == "1919-01" and bonds["month"].iloc[-1] == "2018-12"
    first = bonds.iloc[0]
    assert first["aaa"] == pytest.approx(0.0535) and first["baa"] == pytest.approx(0.0712)
    assert bonds[["aaa", "baa"]].gt(0).all().all() and bonds[["aaa", "baa"]].lt(0.25).all().all()
    assert (bonds["baa"] >= bonds["aaa"]).all()


def test_provenance_note_covers_every_file() -> None:
    text = (SEED_DIR / "PROVENANCE.md").read_text(encoding="utf-8")
    for name in [*PRICE_FILES, "risk_free_monthly.csv", "bond_yields_monthly.csv"]:
        assert name in text
    assert "scripts/build_history_fixture.py" in text
