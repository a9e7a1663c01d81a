"""Build SigmaSight's real-history seed fixtures from datasets shipped inside PyPI packages.

Why: the app needs a small, reproducible and genuinely real price history (2008 included) that
works with no network access. skfolio, arch and bokeh-sampledata ship such data inside their
wheels, so this script reads them offline and writes compact CSVs plus a provenance note under
``marketdata/seed_data/``. It is a maintenance tool, not a runtime dependency of the app.

Run from the repository root:

    python -m venv /tmp/venv-data
    /tmp/venv-data/bin/pip install skfolio arch bokeh-sampledata pandas numpy
    /tmp/venv-data/bin/python scripts/build_history_fixture.py

Output is byte-for-byte reproducible for the same package versions (gzip mtime is fixed at 0).
"""

from __future__ import annotations

import gzip
import json
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = REPO_ROOT / "marketdata" / "seed_data"

START = pd.Timestamp("2005-01-01")
PRICE_COLUMNS = ["symbol", "date", "open", "high", "low", "close", "adj_close", "volume", "source"]
PRICE_DECIMALS = 4
# arch's S&P 500 and skfolio's index must agree to float32 noise on the dates both cover.
MAX_OVERLAP_REL_DIFF = 1e-6

SKFOLIO_LARGE_CAPS = [
    "AAPL", "AMD", "BAC", "BBY", "CVX", "GE", "HD", "JNJ", "JPM", "KO",
    "LLY", "MRK", "MSFT", "PEP", "PFE", "PG", "RRC", "UNH", "WMT", "XOM",
]  # fmt: skip
SKFOLIO_FACTOR_ETFS = ["MTUM", "QUAL", "SIZE", "USMV", "VLUE"]
BOKEH_TICKERS = ["AAPL", "MSFT", "IBM", "GOOG", "FB"]


@dataclass
class BuildReport:
    """Facts gathered while building, written into PROVENANCE.md so the note cannot drift."""

    gspc_overlap_dates: int = 0
    gspc_overlap_max_rel_diff: float = 0.0
    gspc_overlap_max_rel_diff_date: str = ""
    gspc_shipped_overlap_max_rel_diff: float = 0.0
    gspc_clean_overlap_max_abs_diff: float = 0.0
    arch_sp500_end: str = ""
    ixic_close_equals_adj: bool = False
    arch_float32_undone: dict[str, bool] = field(default_factory=dict)
    vix_dropped_dates: list[str] = field(default_factory=list)
    aapl_split: dict[str, float] = field(default_factory=dict)
    rf_negative_months: list[str] = field(default_factory=list)
    offline_failures: list[str] = field(default_factory=list)


def price_frame(
    symbol: str,
    dates: pd.DatetimeIndex,
    *,
    close: pd.Series | np.ndarray,
    adj_close: pd.Series | np.ndarray,
    source: str,
    open_: pd.Series | np.ndarray | None = None,
    high: pd.Series | np.ndarray | None = None,
    low: pd.Series | np.ndarray | None = None,
    volume: pd.Series | np.ndarray | None = None,
) -> pd.DataFrame:
    """Put one symbol's series into the shared column layout; missing fields stay empty."""
    n = len(dates)

    def values(x: pd.Series | np.ndarray | None) -> np.ndarray:
        return np.full(n, np.nan) if x is None else np.asarray(x, dtype="float64")

    frame = pd.DataFrame(
        {
            "symbol": symbol,
            "date": pd.DatetimeIndex(dates).strftime("%Y-%m-%d"),
            "open": values(open_),
            "high": values(high),
            "low": values(low),
            "close": values(close),
            "adj_close": values(adj_close),
            "volume": pd.array(np.rint(values(volume)), dtype="Int64"),
            "source": source,
        }
    )
    for col in ["open", "high", "low", "close", "adj_close"]:
        frame[col] = frame[col].round(PRICE_DECIMALS)
    return frame


def skfolio_large_caps() -> pd.DataFrame:
    """skfolio's 20 S&P 500 names. They are split- and dividend-adjusted closes (the loader's
    docstring says so, and the AAPL 2005 2:1 split does not show), so close == adj_close."""
    from skfolio.datasets import load_sp500_dataset

    prices = load_sp500_dataset().loc[START:]
    missing = sorted(set(SKFOLIO_LARGE_CAPS) - set(prices.columns))
    if missing:
        raise SystemExit(f"skfolio sp500 dataset lacks {missing}")
    frames = []
    for symbol in SKFOLIO_LARGE_CAPS:
        s = prices[symbol].dropna()
        frames.append(
            price_frame(symbol, s.index, close=s, adj_close=s, source="skfolio.load_sp500_dataset")
        )
    return pd.concat(frames, ignore_index=True)


def skfolio_factor_etfs() -> pd.DataFrame:
    """skfolio's five iShares factor ETFs (adjusted closes, 2014 onward)."""
    from skfolio.datasets import load_factors_dataset

    prices = load_factors_dataset().loc[START:]
    frames = []
    for symbol in SKFOLIO_FACTOR_ETFS:
        s = prices[symbol].dropna()
        frames.append(
            price_frame(
                symbol, s.index, close=s, adj_close=s, source="skfolio.load_factors_dataset"
            )
        )
    return pd.concat(frames, ignore_index=True)


def undo_float32(frame: pd.DataFrame, columns: list[str]) -> tuple[pd.DataFrame, bool]:
    """Recover 2-decimal quotes that arch stores as float32 printed to 6 places (1229.229980).

    Only done when every value is within half a float32 step of its 2-decimal rounding, so no
    information is lost; otherwise the values are left for the usual 4-decimal rounding."""
    values = frame[columns].to_numpy(dtype="float64")
    cents = np.round(values, 2)
    half_step = np.spacing(values.astype(np.float32)).astype("float64") / 2 + 1e-6
    if not (np.abs(values - cents) <= half_step).all():
        return frame, False
    out = frame.copy()
    out[columns] = cents
    return out, True


ARCH_OHLC = ["Open", "High", "Low", "Close", "Adj Close"]


def sp500_index(report: BuildReport) -> pd.DataFrame:
    """^GSPC: arch's OHLCV up to its end (2018-12-31), then skfolio's closes to 2022-12-28.

    The two sources are checked against each other on every date both cover, so the splice
    point cannot hide a level break."""
    import arch.data.sp500
    from skfolio.datasets import load_sp500_index

    arch_df = arch.data.sp500.load()
    sk = load_sp500_index()["SP500"].dropna()
    raw_close = arch_df["Close"].copy()
    arch_df, report.arch_float32_undone["^GSPC"] = undo_float32(arch_df, ARCH_OHLC)

    common = arch_df.index.intersection(sk.index)
    # Compared before the float32 clean-up, so the figure describes the packages as shipped.
    rel = (raw_close.loc[common] / sk.loc[common] - 1.0).abs()
    report.gspc_overlap_dates = len(common)
    report.gspc_overlap_max_rel_diff = float(rel.max())
    report.gspc_overlap_max_rel_diff_date = rel.idxmax().strftime("%Y-%m-%d")
    report.gspc_shipped_overlap_max_rel_diff = float(rel.loc[START:].max())
    report.arch_sp500_end = arch_df.index[-1].strftime("%Y-%m-%d")
    report.gspc_clean_overlap_max_abs_diff = float(
        (arch_df.loc[common, "Close"] - sk.loc[common]).abs().max()
    )
    if report.gspc_overlap_max_rel_diff > MAX_OVERLAP_REL_DIFF:
        raise SystemExit(f"arch and skfolio S&P 500 disagree: max rel diff {rel.max():.3g}")

    a = arch_df.loc[START:]
    head = price_frame(
        "^GSPC",
        a.index,
        open_=a["Open"],
        high=a["High"],
        low=a["Low"],
        close=a["Close"],
        adj_close=a["Adj Close"],
        volume=a["Volume"],
        source="arch.data.sp500",
    )
    tail_s = sk.loc[sk.index > arch_df.index[-1]]
    tail = price_frame(
        "^GSPC", tail_s.index, close=tail_s, adj_close=tail_s, source="skfolio.load_sp500_index"
    )
    return pd.concat([head, tail], ignore_index=True)


def nasdaq_index(report: BuildReport) -> pd.DataFrame:
    """^IXIC daily OHLCV from arch (1999 to 2018; shipped from 2005)."""
    import arch.data.nasdaq

    a, report.arch_float32_undone["^IXIC"] = undo_float32(
        arch.data.nasdaq.load().loc[START:], ARCH_OHLC
    )
    report.ixic_close_equals_adj = bool(np.allclose(a["Close"], a["Adj Close"], rtol=0, atol=0))
    return price_frame(
        "^IXIC",
        a.index,
        open_=a["Open"],
        high=a["High"],
        low=a["Low"],
        close=a["Close"],
        adj_close=a["Adj Close"],
        volume=a["Volume"],
        source="arch.data.nasdaq",
    )


def vix_index(report: BuildReport) -> pd.DataFrame:
    """^VIX closes from arch. Its file carries FRED-style '.' rows on market holidays; arch
    parses them as NaN and they are dropped here rather than filled."""
    import arch.data.vix

    v = arch.data.vix.load()["vix"].loc[START:]
    report.vix_dropped_dates = v[v.isna()].index.strftime("%Y-%m-%d").tolist()
    v = v.dropna()
    return price_frame("^VIX", v.index, close=v, adj_close=v, source="arch.data.vix")


def bokeh_stocks(report: BuildReport) -> pd.DataFrame:
    """bokeh-sampledata's Quandl WIKI OHLCV: raw (unadjusted) close and the source's adj close.

    Kept separate from real_history because its close is *raw*: the AAPL 2005 split shows."""
    import bokeh_sampledata.stocks as stocks

    data = stocks.data
    frames = []
    for symbol in BOKEH_TICKERS:
        d = data[data["ticker"] == symbol].sort_values("date")
        if d.empty:
            continue
        frames.append(
            price_frame(
                symbol,
                pd.DatetimeIndex(d["date"]),
                open_=d["open"],
                high=d["high"],
                low=d["low"],
                close=d["close"],
                adj_close=d["adj_close"],
                volume=d["volume"],
                source="bokeh_sampledata.stocks",
            )
        )
    out = pd.concat(frames, ignore_index=True)
    aapl = out[out["symbol"] == "AAPL"].set_index("date")
    report.aapl_split = {
        "close_2005-02-25": float(aapl.loc["2005-02-25", "close"]),
        "close_2005-02-28": float(aapl.loc["2005-02-28", "close"]),
        "adj_close_2005-02-25": float(aapl.loc["2005-02-25", "adj_close"]),
        "adj_close_2005-02-28": float(aapl.loc["2005-02-28", "adj_close"]),
    }
    return out


def risk_free_monthly(report: BuildReport) -> pd.DataFrame:
    """Fama-French RF (one-month T-bill, percent per month) as a simple annual decimal rate.

    rf_annual = RF / 100 * 12 (no compounding). arch's loader parses the file's YYYYMM integers
    as nanoseconds since 1970 (every month becomes 1970-01-01), so the packaged CSV that
    arch.data.frenchdata.load() reads is read directly with the date kept as text."""
    import arch.data.frenchdata

    raw_file = Path(arch.data.frenchdata.__file__).parent / "frenchdata.csv.gz"
    ff = pd.read_csv(raw_file, dtype={"Date": str})
    yyyymm = ff["Date"].str.strip()
    if not yyyymm.str.fullmatch(r"(19|20)\d{2}(0[1-9]|1[0-2])").all():
        raise SystemExit("unexpected frenchdata Date column; expected YYYYMM")
    months = (yyyymm.str[:4] + "-" + yyyymm.str[4:]).tolist()
    _require_two_decimals(ff["RF"], "frenchdata RF")
    out = pd.DataFrame(
        {
            "month": months,
            "rf_annual": (ff["RF"].to_numpy() / 100.0 * 12.0).round(6),
            "source": "arch.data.frenchdata",
        }
    )
    report.rf_negative_months = out.loc[out["rf_annual"] < 0, "month"].tolist()
    return out


def _require_two_decimals(values: pd.Series, name: str) -> None:
    """The monthly files are written with 4 decimals; that is exact only for 2-decimal percents."""
    cents = values.to_numpy(dtype="float64") * 100.0
    if not np.allclose(cents, np.rint(cents), rtol=0, atol=1e-6):
        raise SystemExit(f"{name}: more than 2 decimals; widen the output format")


def bond_yields_monthly() -> pd.DataFrame:
    """Moody's AAA and BAA yields from arch, converted from percent to decimals (5.35 -> 0.0535)."""
    import arch.data.default

    d = arch.data.default.load()
    if d[["AAA", "BAA"]].max().max() < 1.0:
        raise SystemExit("arch.data.default no longer looks like percent; check units")
    _require_two_decimals(d["AAA"], "default AAA")
    _require_two_decimals(d["BAA"], "default BAA")
    return pd.DataFrame(
        {
            "month": d.index.strftime("%Y-%m"),
            "aaa": (d["AAA"].to_numpy() / 100.0).round(6),
            "baa": (d["BAA"].to_numpy() / 100.0).round(6),
            "source": "arch.data.default",
        }
    )


def check_offline_loaders(report: BuildReport) -> None:
    """Record skfolio loaders that need a download, so the note says what was not usable."""
    import tempfile

    import skfolio.datasets as ds

    for name in ["load_ftse100_dataset", "load_nasdaq_dataset", "load_sp500_implied_vol_dataset"]:
        loader = getattr(ds, name, None)
        if loader is None:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            try:
                loader(data_home=tmp, download_if_missing=False)
            except Exception:  # noqa: BLE001 - any failure means "not shipped offline"
                report.offline_failures.append(f"`skfolio.datasets.{name}`")


def write_csv(df: pd.DataFrame, path: Path, *, float_format: str | None = None) -> None:
    """Write CSV (gzip if the name ends .gz) with a fixed gzip mtime so rebuilds are identical."""
    text = df.to_csv(index=False, lineterminator="\n", float_format=float_format)
    raw = text.encode("utf-8")
    if path.suffix == ".gz":
        raw = gzip.compress(raw, compresslevel=9, mtime=0)
    path.write_bytes(raw)


def validate_prices(df: pd.DataFrame, name: str) -> None:
    """Fail the build rather than ship a fixture the tests would reject."""
    if list(df.columns) != PRICE_COLUMNS:
        raise SystemExit(f"{name}: columns {list(df.columns)}")
    if df.duplicated(["symbol", "date"]).any():
        raise SystemExit(f"{name}: duplicate (symbol, date)")
    if (pd.to_datetime(df["date"]).dt.day_of_week >= 5).any():
        raise SystemExit(f"{name}: weekend dates")
    prices = df[["open", "high", "low", "close", "adj_close"]]
    if (prices <= 0).any().any() or df["close"].isna().any() or df["adj_close"].isna().any():
        raise SystemExit(f"{name}: non-positive or missing prices")


def license_of(dist: str) -> str:
    """The licence as declared in the installed distribution's metadata."""
    md = metadata.metadata(dist)
    # Some packages put the whole licence text in License; its first line is the name.
    value = md.get("License-Expression") or md.get("License") or "not declared"
    return value.strip().splitlines()[0]


def bokeh_stocks_dataset_license() -> str:
    """The per-dataset licence recorded in bokeh-sampledata's licenses/datasets.json."""
    try:
        dist = metadata.distribution("bokeh_sampledata")
        text = dist.read_text("licenses/licenses/datasets.json")
        entries = json.loads(text or "{}")
        items = entries.get("datasets", entries) if isinstance(entries, dict) else entries
        for item in items:
            if isinstance(item, dict) and item.get("module") == "stocks":
                return str(item.get("recorded_license", "not recorded"))
    except Exception:  # noqa: BLE001 - the note then says it was not found
        pass
    return "not found in package metadata"


def span_table(df: pd.DataFrame) -> str:
    """Markdown table of first date, last date, rows and source per symbol."""
    g = df.groupby(["symbol", "source"], sort=False)["date"].agg(["min", "max", "count"])
    lines = ["| symbol | source | first | last | rows |", "|---|---|---|---|---|"]
    for (symbol, source), row in g.iterrows():
        lines.append(f"| {symbol} | `{source}` | {row['min']} | {row['max']} | {row['count']:,} |")
    return "\n".join(lines)


def kib(path: Path) -> str:
    return f"{path.stat().st_size / 1024:,.1f} KiB ({path.stat().st_size:,} bytes)"


def write_provenance(
    report: BuildReport,
    real: pd.DataFrame,
    bokeh: pd.DataFrame,
    rf: pd.DataFrame,
    bonds: pd.DataFrame,
) -> None:
    """Write PROVENANCE.md from the facts of this build (versions, spans, counts, checks)."""
    v = {d: metadata.version(d) for d in ["skfolio", "arch", "bokeh_sampledata", "pandas", "numpy"]}
    lic = {d: license_of(d) for d in ["skfolio", "arch", "bokeh_sampledata"]}
    files = {n: OUT_DIR / n for n in _FILES}
    split = report.aapl_split
    adj_ratio = split["adj_close_2005-02-28"] / split["adj_close_2005-02-25"]
    vix_dropped = ", ".join(report.vix_dropped_dates)
    offline = "; ".join(report.offline_failures) if report.offline_failures else "none detected"
    gspc_arch = real[(real["symbol"] == "^GSPC") & (real["source"] == "arch.data.sp500")]
    gspc_sk = real[(real["symbol"] == "^GSPC") & (real["source"] == "skfolio.load_sp500_index")]

    text = f"""# Seed data provenance

Generated by `scripts/build_history_fixture.py`. Do not edit the data files by hand.

## Regenerate

```
python3 -m venv /tmp/venv-data
/tmp/venv-data/bin/pip install skfolio=={v["skfolio"]} arch=={v["arch"]} \\
    bokeh-sampledata=={v["bokeh_sampledata"]} pandas=={v["pandas"]} numpy=={v["numpy"]}
cd <repo root> && /tmp/venv-data/bin/python scripts/build_history_fixture.py
```

Everything is read from data files inside the installed wheels; no network access is needed.
With the same package versions the output is byte-identical (gzip mtime fixed at 0).
These packages are build tools only, not runtime dependencies of the app.

## Packages and licences (from installed metadata)

- **skfolio {v["skfolio"]}**, licence `{lic["skfolio"]}`. Data:
  `skfolio/datasets/data/{{sp500_dataset,sp500_index,factors_dataset}}.csv.gz`.
- **arch {v["arch"]}**, licence `{lic["arch"]}` (University of Illinois/NCSA, BSD-like). Data:
  `arch/data/{{sp500,nasdaq,vix,frenchdata,default}}/*.csv.gz`.
- **bokeh_sampledata {v["bokeh_sampledata"]}**, package licence `{lic["bokeh_sampledata"]}`;
  the stocks dataset is recorded as `{bokeh_stocks_dataset_license()}` in the wheel's
  `licenses/datasets.json`. Data: `bokeh_sampledata/stocks.csv.gz`.
- pandas {v["pandas"]} and numpy {v["numpy"]} (BSD-3-Clause) for processing only.

Notes on the data behind those licences:

- skfolio's loaders carry the caution that the datasets are "provided solely for testing and
  example purposes ... stale ... not intended for investment, trading, or commercial use". The
  package does not name the original price vendor. We use them as test and demo history only.
- arch does not name the vendor of its S&P 500, NASDAQ, VIX or AAA/BAA files; the Fama-French
  factors are credited to Kenneth R. French's data library (arch's docstring). The Ken French
  library states no formal licence; it is redistributed here as shipped inside arch.
- bokeh-sampledata's stocks are Quandl WIKI prices (archived copy on Kaggle by marketneutral),
  which Quandl declared public domain. They replace the Yahoo exports of older bokeh versions.

## `real_history.csv.gz` ({kib(files["real_history.csv.gz"])}, {len(real):,} rows)

Columns `{",".join(PRICE_COLUMNS)}`;
date `YYYY-MM-DD`; prices in USD (index points for indices) rounded to {PRICE_DECIMALS}
decimals; volume in shares (integer); empty where the source has no such field. Rows from
2005-01-01, sorted by symbol then date (ASCII order, so the `^` indices come last).

{span_table(real)}

Adjustments and checks:

- **skfolio large caps and factor ETFs are adjusted closes**, split- and dividend-adjusted
  (skfolio docstring: "daily adjusted closing prices"). Checked: AAPL shows no 2:1 step on
  2005-02-28, and skfolio / bokeh `adj_close` is constant over 2000-2013 for AAPL and MSFT while
  skfolio / raw close drifts with every dividend (e.g. MSFT's $3 special dividend, Nov 2004).
  The value is put in both `close` and `adj_close`; open/high/low/volume are empty. Raw closes
  are not available from skfolio. skfolio stores 3 decimals, so small adjusted prices are coarse
  (AAPL in 2005 is about 1.35, a relative step of about 0.04%). GE is adjusted for its 1:8 reverse
  split of 2021-08-02 (continuous across that date), so its earlier prices are several times
  the quotes of the time (41.66 on 2020-06-01, when GE traded in single digits).
- **^GSPC** uses `arch.data.sp500` OHLCV ({gspc_arch["date"].min()} to {gspc_arch["date"].max()},
  {len(gspc_arch):,} rows) and `skfolio.load_sp500_index()` closes after arch ends
  ({gspc_sk["date"].min()} to {gspc_sk["date"].max()}, {len(gspc_sk):,} rows; close only). On all
  {report.gspc_overlap_dates:,} dates both sources cover (1999-01-04 to {report.arch_sp500_end},
  identical date sets) the max relative difference of the closes is
  {report.gspc_overlap_max_rel_diff:.2e} (on {report.gspc_overlap_max_rel_diff_date}; float32
  noise); {report.gspc_shipped_overlap_max_rel_diff:.2e} from 2005. After arch's float32 noise
  is removed (below) the largest absolute difference is {report.gspc_clean_overlap_max_abs_diff:.4f}
  index points. arch's Adj Close equals its Close for the index.
- **^IXIC** from `arch.data.nasdaq` OHLCV; Adj Close equals Close: {report.ixic_close_equals_adj}.
- **^VIX** from `arch.data.vix`, close only, put in both `close` and `adj_close` (an index level
  has no corporate actions). The source file has `.` placeholders on
  {len(report.vix_dropped_dates)} market holidays and closures, which were dropped: {vix_dropped}.
  Its span (2014-01-03 to 2019-01-03) is shorter than the other series.
- arch stores its index quotes as float32 printed to 6 places (e.g. 1229.229980). Every value
  lies within half a float32 step of a 2-decimal quote, so they are written as those 2-decimal
  quotes (1229.23) instead of float32 noise at 4 decimals. Applied: {report.arch_float32_undone}.
- Volumes are integers (shares, as in arch's files).

## `bokeh_stocks.csv.gz` ({kib(files["bokeh_stocks.csv.gz"])}, {len(bokeh):,} rows)

Same columns. `open/high/low/close/volume` are **unadjusted** (as traded); `adj_close` is the
source's split- and dividend-adjusted close, including corporate actions after 2013 (Quandl WIKI
snapshot). Full span of the package, prices rounded to {PRICE_DECIMALS} decimals.

{span_table(bokeh)}

- AAPL's 2:1 split of 2005-02-28 shows in the raw close: {split["close_2005-02-25"]:.2f} on
  2005-02-25 and {split["close_2005-02-28"]:.2f} on 2005-02-28, while `adj_close` moves
  {split["adj_close_2005-02-25"]} -> {split["adj_close_2005-02-28"]} (ratio {adj_ratio:.4f}).
- `GOOG` is Google's pre-2014 history, filed as `GOOGL` in the source (pre-2014 split prices).
- `FB` starts at its IPO (2012-05-18), so it has only {int((bokeh["symbol"] == "FB").sum())} rows.
- These are not merged into `real_history` because their `close` is raw, not adjusted.

## `risk_free_monthly.csv` ({kib(files["risk_free_monthly.csv"])}, {len(rf):,} rows)

Columns `month,rf_annual,source`; month `YYYY-MM`, {rf["month"].iloc[0]} to {rf["month"].iloc[-1]}.
From the Fama-French `RF` column (one-month Treasury bill return, **percent per month**) in
`arch.data.frenchdata`. Convention: **simple annualisation**, `rf_annual = RF / 100 * 12`
(0.35 %/month -> 0.0420 per year), no compounding. A decimal rate per year.
{len(report.rf_negative_months)} months have a small negative RF in the source
({", ".join(report.rf_negative_months)}); they are kept as published. The series ends in
2018-11; later dates use the `RISK_FREE_RATE` setting (see RISK-MODEL.md). arch parses this
file's `YYYYMM` integers as nanoseconds since 1970, so the script reads the packaged CSV
(`arch/data/frenchdata/frenchdata.csv.gz`) directly with the month kept as text.

## `bond_yields_monthly.csv` ({kib(files["bond_yields_monthly.csv"])}, {len(bonds):,} rows)

Columns `month,aaa,baa,source`; month `YYYY-MM`, {bonds["month"].iloc[0]} to
{bonds["month"].iloc[-1]}. From `arch.data.default`, which stores Moody's seasoned AAA and BAA
corporate bond yields in **percent** (e.g. AAA 5.35 in 1919-01), dated the first of each month;
converted to **decimal yields per year** (5.35 -> 0.0535). arch does not state the vendor or
whether the values are monthly averages; they match the layout of the Fed H.15 / FRED `AAA` and
`BAA` monthly series (not verified offline).

## Known gaps

- Every real series ends between 2018-11 and 2022-12; later dates are simulated by the app.
- Market closures appear as missing business days (e.g. 2007-01-02 Ford funeral, 2012-10-29/30
  Hurricane Sandy, 2018-12-05 Bush funeral); no rows are filled in.
- skfolio gives adjusted closes only (no open/high/low/volume, no raw close); ^GSPC after
  2018-12-31 and ^VIX are close only too.
- skfolio loaders whose data is not in the wheel (they download on first use, which fails
  offline with URLError) and were therefore **not** used: {offline}.
"""
    (OUT_DIR / "PROVENANCE.md").write_text(text, encoding="utf-8")


_FILES = [
    "real_history.csv.gz",
    "bokeh_stocks.csv.gz",
    "risk_free_monthly.csv",
    "bond_yields_monthly.csv",
]


def main() -> int:
    """Build every fixture, validate it, write it and print a one-line summary per file."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    report = BuildReport()

    real = pd.concat(
        [
            skfolio_large_caps(),
            skfolio_factor_etfs(),
            sp500_index(report),
            nasdaq_index(report),
            vix_index(report),
        ],
        ignore_index=True,
    )
    real = real.sort_values(["symbol", "date"], kind="stable").reset_index(drop=True)
    validate_prices(real, "real_history")

    bokeh = bokeh_stocks(report)
    bokeh = bokeh.sort_values(["symbol", "date"], kind="stable").reset_index(drop=True)
    validate_prices(bokeh, "bokeh_stocks")

    rf = risk_free_monthly(report)
    bonds = bond_yields_monthly()
    check_offline_loaders(report)

    write_csv(real, OUT_DIR / "real_history.csv.gz")
    write_csv(bokeh, OUT_DIR / "bokeh_stocks.csv.gz")
    # RF and the yields are 2-decimal percents in the source, so 4 decimals are exact.
    write_csv(rf, OUT_DIR / "risk_free_monthly.csv", float_format="%.4f")
    write_csv(bonds, OUT_DIR / "bond_yields_monthly.csv", float_format="%.4f")
    write_provenance(report, real, bokeh, rf, bonds)

    for name in [*_FILES, "PROVENANCE.md"]:
        print(f"{name}: {kib(OUT_DIR / name)}")
    print(
        f"^GSPC overlap: {report.gspc_overlap_dates} dates, max rel diff "
        f"{report.gspc_overlap_max_rel_diff:.3e} on {report.gspc_overlap_max_rel_diff_date}"
    )
    print(f"AAPL split (bokeh): {report.aapl_split}")
    if report.offline_failures:
        print("not available offline:", "; ".join(report.offline_failures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
