"""The index universe: S&P 500, S&P 600 and NASDAQ-100 names on stated proxies.

``seed_data/index_universe.json`` is built by ``scripts/build_index_universe.py`` from
``pytickersymbols`` (names, free-text industries mapped to GICS sectors by
``marketdata.gics``, ISINs) and from the shipped real history; a test checks that building it
again gives the committed file. Names in ``securities.json`` are left out: the curated
entries are authoritative.

The proxy of a name (RISK-MODEL.md, "Factor model → Universe"): none has real history, so
its daily log return is ``r = beta * r_proxy + e``, ``e ~ N(0, residual_vol^2 / 252)``, with

* ``r_proxy`` the equal-weighted return of the real-history stocks of its GICS sector in
  ``securities.json`` where there are at least MIN_SECTOR_NAMES of them, and beta 1;
* otherwise ^GSPC (the market) with beta 1.

The residual volatility (annualized) is fitted on the real 2014-2022 history, the era of the
proxies (PROXY_HISTORY_START to the file's end): for a sector basket, the mean over its
members of the volatility of the member's return minus the basket of the *other* members
(leave-one-out: the error of proxying one name by its peers); for the market, the mean over
every real-history stock of the volatility of its return minus ^GSPC's. Volatilities are
annualized with 252 sessions. Prices start at UNKNOWN_ANCHOR_LEVEL on the first proxy
session: no real price is known, so the level is a stated convention, not a quote.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from marketdata.providers.simulated.paths import PROXY_HISTORY_START
from marketdata.providers.simulated.reference import SEED_DIR
from risk.engine.conventions import TRADING_DAYS_PER_YEAR

DEFAULT_INDEX_UNIVERSE_PATH = SEED_DIR / "index_universe.json"
#: A sector basket needs at least this many real-history names; else the market proxy.
MIN_SECTOR_NAMES = 3
MARKET = "^GSPC"
#: The label of the market proxy (a proxy's label is its key in the file's ``proxies``).
MARKET_KEY = "^GSPC"
#: Longest ``Security.industry`` (some free-text industries run to 200+ characters).
INDUSTRY_MAX = 128
#: Longest ``proxy_symbol`` the Security column holds; a basket is labelled by its sector.
PROXY_LABEL_MAX = 32


def _daily_returns(history_path: Path | str, symbols: list[str]) -> pd.DataFrame:
    """Daily log returns [date, symbol] of ``symbols`` on the proxy era of the real file."""
    frame = pd.read_csv(history_path, usecols=["symbol", "date", "close"])
    frame = frame[frame["symbol"].isin(symbols)]
    closes = frame.pivot(index="date", columns="symbol", values="close").sort_index()
    closes = closes[closes.index >= PROXY_HISTORY_START.isoformat()]
    returns: pd.DataFrame = np.log(closes).diff().iloc[1:]
    return returns


def fit_proxies(reference: dict[str, Any], history_path: Path | str) -> dict[str, Any]:
    """The proxies by label: MARKET_KEY, and "sector:<GICS sector>" for each sector with at
    least MIN_SECTOR_NAMES real-history stocks (an equal-weighted basket), each with its
    fitted residual volatility (annualized); see the module docstring. ``reference`` is the
    parsed securities.json. A label is what ``Security.proxy_symbol`` stores."""
    by_sector: dict[str, list[str]] = {}
    for symbol, info in reference["securities"].items():
        real_stock = info.get("asset_type") == "stock" and info.get("history") == "real"
        if real_stock and info.get("sector"):
            by_sector.setdefault(str(info["sector"]), []).append(symbol)
    real_stocks = sorted(s for members in by_sector.values() for s in members)
    returns = _daily_returns(history_path, [*real_stocks, MARKET]).dropna()
    annual = math.sqrt(TRADING_DAYS_PER_YEAR)
    market_resid = float(
        np.mean([np.std(returns[s] - returns[MARKET], ddof=1) * annual for s in real_stocks])
    )
    span = f"{returns.index[0]} to {returns.index[-1]}"
    out: dict[str, Any] = {
        MARKET_KEY: {
            "symbol": MARKET,
            "beta": 1.0,
            "residual_vol": round(market_resid, 4),
            "reason": (
                f"Market proxy (^GSPC, beta 1): residual volatility {market_resid:.1%}, the mean "
                f"volatility of a real-history stock's return minus ^GSPC's ({len(real_stocks)} "
                f"stocks, {span})."
            ),
        },
    }
    for sector, members in sorted(by_sector.items()):
        members = sorted(members)
        if len(members) < MIN_SECTOR_NAMES:
            continue
        resid = []
        for m in members:
            others = returns[[o for o in members if o != m]].mean(axis=1)
            resid.append(float(np.std(returns[m] - others, ddof=1)) * annual)
        vol = float(np.mean(resid))
        weight = 1.0 / len(members)
        out[f"sector:{sector}"[:PROXY_LABEL_MAX]] = {
            "symbol": {m: weight for m in members},
            "beta": 1.0,
            "residual_vol": round(vol, 4),
            "reason": (
                f"{sector} basket: the equal-weighted real-history {sector} names "
                f"({', '.join(members)}), beta 1; residual volatility {vol:.1%}, the mean "
                f"volatility of one member's return minus the other members' basket ({span})."
            ),
        }
    return out


def build_index_universe(
    constituents: list[dict[str, Any]],
    reference: dict[str, Any],
    history_path: Path | str,
    *,
    package_version: str,
) -> dict[str, Any]:
    """The content of ``index_universe.json``: every constituent not curated in
    ``reference`` (securities.json, aliases included), with its stated proxy."""
    curated = set(reference["securities"]) | {str(k).upper() for k in reference.get("aliases", {})}
    proxies = fit_proxies(reference, history_path)
    securities: dict[str, Any] = {}
    for row in constituents:
        symbol = row["symbol"]
        if symbol in curated:
            continue
        sector = row["sector"]
        basket = f"sector:{sector}"[:PROXY_LABEL_MAX]
        proxy = basket if basket in proxies else MARKET_KEY
        securities[symbol] = {
            "name": row["name"],
            "asset_type": "stock",
            "sector": sector,
            "industry": row["industry"][:INDUSTRY_MAX] if row["industry"] else None,
            "exchange": row["exchange"],
            "isin": row["isin"],
            "indices": row["indices"],
            "dividend_yield": None,
            "history": "proxy",
            "liquidity_tier": None,
            "proxy": proxy,
        }
    return {
        "_about": (
            "Generated by scripts/build_index_universe.py: S&P 500, S&P 600 and NASDAQ-100 "
            "constituents from pytickersymbols (MIT), GICS sectors by marketdata/gics.py, "
            "proxies fitted on seed_data/real_history.csv.gz (marketdata/providers/simulated/"
            "index_universe.py). Names curated in securities.json are left out. Do not edit."
        ),
        "source": f"pytickersymbols {package_version}",
        "proxies": proxies,
        "securities": securities,
    }


def dumps(content: dict[str, Any]) -> str:
    """The file's text (stable: the builder's test compares it byte for byte)."""
    return json.dumps(content, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
