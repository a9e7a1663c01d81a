"""A portfolio as the engines see it: aligned arrays built from stored data.

:func:`risk_inputs` reads positions, marks, Greeks inputs, underlying and factor returns
in a fixed number of queries and returns plain arrays; the engines in ``risk/engine`` do
the maths, ``risk/services.py`` stores the results.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

import numpy as np
from django.conf import settings

from marketdata import selectors as market
from marketdata.selectors import active_factors, price_snapshots, returns_matrix, risk_free_rate
from portfolios.selectors import cash_balance, open_positions
from risk.engine.factors import FactorFit, factor_design, regress
from risk.engine.revaluation import MODEL_BLACK76, MODEL_BSM, Book
from risk.greeks import compute_greeks

if TYPE_CHECKING:  # types only: rows come from the owning apps' selectors
    from portfolios.models import Portfolio, Position


@dataclass
class RiskInputs:
    portfolio: Portfolio
    on: dt.date
    positions: list[Position]  # open positions that could be marked, aligned with the book
    symbols: list[str]  # position symbols
    underlyings: list[str]  # underlying symbols (a stock is its own)
    book: Book
    market_values: np.ndarray  # dollars, signed
    dollar_exposure: np.ndarray  # stocks: market value; options: delta dollars
    delta: np.ndarray  # per unit (stocks 1)
    cash: float
    dates: list[dt.date]
    underlying_returns: np.ndarray  # T × u, NaN filled with 0
    factor_names: list[str]
    factor_symbols: list[str]
    design: np.ndarray  # T × k: market, styles in excess of the market
    benchmark: np.ndarray  # SPY (the market factor ETF) daily returns
    fit: FactorFit  # regression of each underlying on the design
    rate: float
    rate_source: str
    greeks_rows: dict[str, dict] = field(default_factory=dict)  # position id → Greeks row
    warnings: list[str] = field(default_factory=list)

    @property
    def positions_value(self) -> float:
        return float(self.market_values.sum())

    @property
    def total_value(self) -> float:
        return self.positions_value + self.cash

    @property
    def gross_exposure(self) -> float:
        return float(np.abs(self.market_values).sum())


def risk_inputs(
    portfolio: Portfolio, *, on: dt.date, as_of: dt.datetime, lookback: int | None = None
) -> RiskInputs:
    lookback = lookback or settings.RISK_LOOKBACK_DAYS
    warnings: list[str] = []
    positions_all = open_positions(portfolio=portfolio)
    options = [p for p in positions_all if p.multiplier > 1]
    greeks, greek_warnings = compute_greeks(options, as_of=as_of, on=on)
    warnings += greek_warnings
    greeks_by_id = {str(row["position"].id): row for row in greeks}
    stock_snaps = price_snapshots(
        symbols={p.security_id for p in positions_all if p.multiplier == 1}
    )

    positions: list[Position] = []
    for p in positions_all:
        if p.multiplier > 1 and str(p.id) not in greeks_by_id:
            continue
        if p.multiplier == 1 and p.security_id not in stock_snaps:
            warnings.append(f"No price for {p.security_id}: left out of the risk figures")
            continue
        positions.append(p)
    underlyings = sorted(
        {
            (p.security.underlying_id or p.underlying_symbol) if p.multiplier > 1 else p.security_id
            for p in positions
        }
    )
    u_index = {s: i for i, s in enumerate(underlyings)}
    factors = active_factors()  # market first: its ETF is the design's column 0
    factor_names = [f.key for f in factors]
    factor_symbols = [f.etf_symbol for f in factors]
    series = list(dict.fromkeys([*underlyings, *factor_symbols]))
    dates, returns = returns_matrix(series, end=on, lookback=lookback)
    column = {s: j for j, s in enumerate(series)}
    raw_u = (
        returns[:, [column[s] for s in underlyings]] if underlyings else np.zeros((len(dates), 0))
    )
    missing = np.isnan(raw_u).mean(axis=0) if raw_u.size else np.zeros(0)
    for symbol, share in zip(underlyings, missing, strict=True):
        if share > 0.05:
            warnings.append(
                f"{symbol}: {share:.0%} of the {lookback}-day history is missing (treated as 0 return)"
            )
    factor_returns = returns[:, [column[s] for s in factor_symbols]]
    complete_days = np.isfinite(factor_returns).all(axis=1)
    if not complete_days.all():
        warnings.append(
            f"Factor ETF history has {int((~complete_days).sum())} missing days in the window"
        )
    design = factor_design(factor_returns[:, 0], factor_returns[:, 1:])
    fit = regress(
        raw_u, design, ridge=settings.FACTOR_RIDGE, min_obs=settings.FACTOR_MIN_OBSERVATIONS
    )

    rate, rate_source = risk_free_rate(on)
    spot0 = np.zeros(len(underlyings))
    u_snaps = price_snapshots(symbols=underlyings)
    for s, i in u_index.items():
        snap = u_snaps.get(s)
        spot0[i] = float(snap.price) if snap else np.nan
    n = len(positions)
    arrays = {
        name: np.zeros(n)
        for name in (
            "quantity",
            "multiplier",
            "strike",
            "t",
            "rate",
            "q",
            "sigma",
            "price0",
            "delta",
            "mv",
        )
    }
    is_option = np.zeros(n, dtype=bool)
    is_call = np.zeros(n, dtype=bool)
    model = np.full(n, MODEL_BSM, dtype=np.intp)
    u_idx = np.zeros(n, dtype=np.intp)
    for i, p in enumerate(positions):
        arrays["quantity"][i] = float(p.quantity)
        arrays["multiplier"][i] = p.multiplier
        if p.multiplier > 1:
            g = greeks_by_id[str(p.id)]
            u_idx[i] = u_index[p.security.underlying_id or p.underlying_symbol]
            is_option[i] = True
            is_call[i] = p.security.option_right == "C"
            arrays["strike"][i] = float(p.strike or 0)
            arrays["t"][i] = g["time_to_expiry_years"]
            arrays["rate"][i] = g["rate"]
            arrays["q"][i] = g["dividend_yield"]
            arrays["sigma"][i] = g["implied_volatility"] or 0.0
            arrays["price0"][i] = g["option_price"]
            arrays["delta"][i] = g["delta"]
            model[i] = MODEL_BLACK76 if g["model"] == "black76" else MODEL_BSM
        else:
            u_idx[i] = u_index[p.security_id]
            arrays["price0"][i] = float(stock_snaps[p.security_id].price)
            arrays["delta"][i] = 1.0
            arrays["rate"][i] = rate
    arrays["mv"] = arrays["quantity"] * arrays["multiplier"] * arrays["price0"]
    book = Book(
        quantity=arrays["quantity"],
        multiplier=arrays["multiplier"],
        is_option=is_option,
        underlying_index=u_idx,
        strike=arrays["strike"],
        t_years=arrays["t"],
        is_call=is_call,
        rate=arrays["rate"],
        div_yield=arrays["q"],
        sigma=arrays["sigma"],
        model=model,
        spot0=np.nan_to_num(spot0),
        price0=arrays["price0"],
    )
    spot_per_position = book.spot0[u_idx] if n else np.zeros(0)
    dollar_exposure = np.where(
        is_option,
        arrays["delta"] * arrays["quantity"] * arrays["multiplier"] * spot_per_position,
        arrays["mv"],
    )
    return RiskInputs(
        portfolio=portfolio,
        on=on,
        positions=positions,
        symbols=[p.security_id for p in positions],
        underlyings=underlyings,
        book=book,
        market_values=arrays["mv"],
        dollar_exposure=dollar_exposure,
        delta=arrays["delta"],
        cash=float(cash_balance(portfolio=portfolio) or Decimal(0)),
        dates=dates,
        underlying_returns=np.nan_to_num(raw_u),
        factor_names=factor_names,
        factor_symbols=factor_symbols,
        design=design,
        benchmark=factor_returns[:, 0],
        fit=fit,
        rate=rate,
        rate_source=rate_source,
        greeks_rows=greeks_by_id,
        warnings=warnings,
    )


def security_durations(symbols: list[str]) -> np.ndarray:
    """Modified duration (years) per symbol from the reference data; 0 where none."""
    found = market.security_durations(symbols=symbols)
    return np.array([found.get(s, 0.0) for s in symbols])
