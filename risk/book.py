"""A portfolio as the engines see it: aligned arrays built from stored data.

:func:`risk_inputs` reads positions, marks, Greeks inputs, underlying and factor returns
in a fixed number of queries and returns plain arrays; the engines in ``risk/engine`` do
the maths, ``risk/services.py`` stores the results.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

import numpy as np
from django.conf import settings

from marketdata import selectors as market
from marketdata.selectors import active_factors, price_snapshots, returns_matrix, risk_free_rate
from portfolios.selectors import cash_balance, open_positions
from risk.engine.factors import (
    FactorFit,
    factor_design,
    portfolio_exposures,
    rate_betas,
    regress,
)
from risk.engine.revaluation import MODEL_BLACK76, MODEL_BSM, Book
from risk.engine.var import vol_betas
from risk.greeks import compute_greeks

if TYPE_CHECKING:  # types only: rows come from the owning apps' selectors
    from portfolios.models import Portfolio, Position


#: The volatility index: options on it are volatility exposure (RISK-MODEL).
VOLATILITY_INDEX = "^VIX"


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
    design: np.ndarray  # W × k over the factor window: market, orthogonalized styles
    benchmark: np.ndarray  # SPY (the market factor ETF) daily returns, aligned with dates
    fit: FactorFit  # regression of each underlying on the design (the factor window)
    rate: float
    rate_source: str
    greeks_rows: dict[str, dict] = field(default_factory=dict)  # position id → Greeks row
    warnings: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # positions left out, with the reason
    # The VIX: daily relative changes over the lookback (None without history), its
    # factor fit over the window, and its index among the underlyings (if it is one).
    vix_returns: np.ndarray | None = None
    vix_fit: FactorFit | None = None
    vix_underlying: int | None = None

    @property
    def positions_value(self) -> float:
        return float(self.market_values.sum())

    @property
    def total_value(self) -> float:
        return self.positions_value + self.cash

    @property
    def gross_exposure(self) -> float:
        return float(np.abs(self.market_values).sum())

    @property
    def is_volatility(self) -> np.ndarray:
        """Positions that are volatility exposure, not equity delta: options on the VIX
        (priced with Black-76 on the VIX level; RISK-MODEL "Factor model")."""
        return self.book.is_option & (self.book.model == MODEL_BLACK76)

    def market_beta(self) -> float:
        """The portfolio's one ``portfolio_beta``: Σ market beta × dollar exposure / total
        value, the ``market`` exposure of the factor model. Since the style columns are
        orthogonal to the market, each market beta is the single-factor OLS beta, so this
        is the single-factor beta of the portfolio's (delta-linear) return; every endpoint
        reports this number. NaN for a zero-value book or a book without fitted betas."""
        u_idx = self.book.underlying_index
        if not len(u_idx) or not np.isfinite(self.fit.betas[u_idx, 0]).any():
            return float("nan")
        # The same computation as the stored factor exposures, so the figures are identical.
        exposures, _ = portfolio_exposures(
            self.fit.betas[u_idx], self.dollar_exposure, self.total_value
        )
        return float(exposures[0])


GreeksResult = tuple[list[dict[str, Any]], list[str]]  # rows (one per option), warnings


class SharedReads:
    """What the steps of one batch run read once per portfolio and share: its open
    positions, its options' Greeks and its :class:`RiskInputs` (per lookback).

    The daily chain runs Greeks, factors, VaR, stress and correlations one after another;
    without this each step rebuilt the same inputs from the database (the ORM was about
    half the run). One instance lives for one run (``JobContext.shared``), so every step
    sees the same snapshot of the book, whatever is booked meanwhile; the next run reads
    afresh. Memory is bounded: once the cached books hold ``max_positions`` positions in
    all, further portfolios are computed without being kept (a sequential scan would
    evict every entry of an LRU before its next use, so keeping the first ones is the
    better policy). Used without a run (a single call), it caches nothing that outlives
    the call.
    """

    def __init__(self, max_positions: int | None = None) -> None:
        self.max_positions = (
            int(settings.RISK_SHARED_READS_MAX_POSITIONS)
            if max_positions is None
            else int(max_positions)
        )
        self._positions: dict[UUID, list[Position]] = {}
        self._greeks: dict[tuple[UUID, dt.date, dt.datetime], GreeksResult] = {}
        self._inputs: dict[tuple[UUID, dt.date, dt.datetime, int], RiskInputs] = {}
        self._kept = 0

    def _room_for(self, portfolio_id: UUID, count: int) -> bool:
        if portfolio_id in self._positions:
            return True
        if self._kept + count > self.max_positions:
            return False
        self._kept += count
        return True

    def positions(self, portfolio: Portfolio) -> list[Position]:
        """Open positions with their security (``portfolios.selectors.open_positions``)."""
        found = self._positions.get(portfolio.id)
        if found is None:
            found = open_positions(portfolio=portfolio)
            if self._room_for(portfolio.id, len(found)):
                self._positions[portfolio.id] = found
        return found

    def greeks(
        self,
        portfolio: Portfolio,
        *,
        on: dt.date,
        as_of: dt.datetime,
        positions: list[Position] | None = None,
    ) -> GreeksResult:
        """Greeks rows and warnings of the portfolio's open options (``compute_greeks``),
        of ``positions`` when the caller has just read them."""
        key = (portfolio.id, on, as_of)
        found = self._greeks.get(key)
        if found is None:
            held = self.positions(portfolio) if positions is None else positions
            options = [p for p in held if p.multiplier > 1]
            found = compute_greeks(options, as_of=as_of, on=on)
            if portfolio.id in self._positions:
                self._greeks[key] = found
        return found

    def inputs(
        self, portfolio: Portfolio, *, on: dt.date, as_of: dt.datetime, lookback: int
    ) -> RiskInputs:
        """:func:`risk_inputs` for this lookback, built once per run."""
        key = (portfolio.id, on, as_of, int(lookback))
        found = self._inputs.get(key)
        if found is None:
            found = risk_inputs(portfolio, on=on, as_of=as_of, lookback=lookback, shared=self)
            if portfolio.id in self._positions:
                self._inputs[key] = found
        return found


def risk_inputs(
    portfolio: Portfolio,
    *,
    on: dt.date,
    as_of: dt.datetime,
    lookback: int | None = None,
    shared: SharedReads | None = None,
) -> RiskInputs:
    """The book and its history as arrays. ``lookback`` sessions of returns feed VaR and
    performance; the factor regression always uses the last ``FACTOR_WINDOW_DAYS``
    sessions (the history loaded is the longer of the two), so that every step that reads
    a beta reads the same one. An option whose inputs are not finite (an absurd strike, no
    volatility) is left out with a stated warning, and the rest of the book is computed.
    Positions and Greeks come from ``shared`` (a batch run's reads) when given."""
    lookback = lookback or settings.RISK_LOOKBACK_DAYS
    window = int(settings.FACTOR_WINDOW_DAYS)
    shared = shared or SharedReads(max_positions=0)
    warnings: list[str] = []
    skipped: list[str] = []
    positions_all = shared.positions(portfolio)
    greeks, greek_warnings = shared.greeks(portfolio, on=on, as_of=as_of, positions=positions_all)
    warnings += greek_warnings
    greeks_by_id = {str(row["position"].id): row for row in greeks}

    def underlying_of(p: Position) -> str:
        return (
            (p.security.underlying_id or p.underlying_symbol) if p.multiplier > 1 else p.security_id
        )

    u_snaps = price_snapshots(symbols={underlying_of(p) for p in positions_all})
    stock_snaps = u_snaps  # a stock is its own underlying

    def priced(symbol: str) -> bool:
        snap = u_snaps.get(symbol)
        return snap is not None and snap.price is not None and float(snap.price) > 0.0

    positions: list[Position] = []
    for p in positions_all:
        if not priced(underlying_of(p)):
            skipped.append(f"{p.security_id}: no positive price for {underlying_of(p)}")
            continue
        if p.multiplier > 1 and str(p.id) not in greeks_by_id:
            skipped.append(f"{p.security_id}: no Greeks (no underlying price or expiry)")
            continue
        if p.multiplier > 1:
            reason = _unusable_option(greeks_by_id[str(p.id)], p)
            if reason:
                skipped.append(f"{p.security_id}: {reason}")
                continue
        if p.multiplier == 1 and p.security_id not in stock_snaps:
            warnings.append(f"No price for {p.security_id}: left out of the risk figures")
            continue
        positions.append(p)
    underlyings = sorted({underlying_of(p) for p in positions})
    u_index = {s: i for i, s in enumerate(underlyings)}
    factors = active_factors()  # market first: its ETF is the design's column 0
    factor_names = [f.key for f in factors]
    factor_symbols = [f.etf_symbol for f in factors]
    series = list(dict.fromkeys([*underlyings, *factor_symbols, VOLATILITY_INDEX]))
    all_dates, returns = returns_matrix(series, end=on, lookback=max(lookback, window))
    column = {s: j for j, s in enumerate(series)}
    raw_all = (
        returns[:, [column[s] for s in underlyings]]
        if underlyings
        else np.zeros((len(all_dates), 0))
    )
    factor_all = returns[:, [column[s] for s in factor_symbols]]
    design = factor_design(factor_all[-window:, 0], factor_all[-window:, 1:])
    fit = regress(
        raw_all[-window:],
        design,
        ridge=settings.FACTOR_RIDGE,
        min_obs=settings.FACTOR_MIN_OBSERVATIONS,
    )
    dates = all_dates[-lookback:]
    raw_u = raw_all[-lookback:]
    vix_all = returns[:, column[VOLATILITY_INDEX]]
    vix_known = np.isfinite(vix_all[-lookback:])
    vix_returns = vix_fit = None
    if vix_known.mean() >= 0.95:  # the VIX's history drives implied vol in VaR scenarios
        vix_returns = np.where(vix_known, vix_all[-lookback:], 0.0)
        vix_fit = regress(
            vix_all[-window:],
            design,
            ridge=settings.FACTOR_RIDGE,
            min_obs=settings.FACTOR_MIN_OBSERVATIONS,
        )
        if not bool(vix_fit.valid[0]):
            vix_fit = None
    elif any(p.multiplier > 1 for p in positions):
        warnings.append(
            "No VIX history over the lookback: implied volatility is held flat in the "
            "historical and Monte Carlo VaR scenarios"
        )
    # Per underlying: how its volatility follows the VIX (1 where history does not allow).
    u_vol_beta = (
        vol_betas(raw_all[-window:], vix_all[-window:])[0]
        if vix_returns is not None
        else np.ones(len(underlyings))
    )
    missing = np.isnan(raw_u).mean(axis=0) if raw_u.size else np.zeros(0)
    for symbol, share in zip(underlyings, missing, strict=True):
        if share > 0.05:
            warnings.append(
                f"{symbol}: {share:.0%} of the {lookback}-day history is missing (treated as 0 return)"
            )
    factor_returns = factor_all[-lookback:]
    complete_days = np.isfinite(design).all(axis=1)
    if not complete_days.all():
        warnings.append(
            f"Factor ETF history has {int((~complete_days).sum())} missing days in the window"
        )

    rate, rate_source = risk_free_rate(on)
    spot0 = np.zeros(len(underlyings))
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
    vol_beta = np.ones(n)
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
            # A VIX option's own implied vol (vol of vol) is held; its level is the VIX.
            vol_beta[i] = 0.0 if model[i] == MODEL_BLACK76 else u_vol_beta[u_idx[i]]
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
        vol_beta=vol_beta,
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
        vix_returns=vix_returns,
        vix_fit=vix_fit,
        vix_underlying=u_index.get(VOLATILITY_INDEX),
        rate=rate,
        rate_source=rate_source,
        greeks_rows=greeks_by_id,
        warnings=[*warnings, *(f"Left out of the risk figures: {s}" for s in skipped)],
        skipped=skipped,
    )


def _unusable_option(row: dict, position: Position) -> str:
    """Why an option cannot enter the risk figures ('' when it can): every input of its
    revaluation must be finite, its strike and mark positive and finite, and its
    elasticity (delta × spot / price) finite. A contract like SPY270115C99999999 has a
    model price of 0, so no elasticity and no meaningful return: it is left out, named."""
    try:
        strike = float(position.strike or 0)
    except (TypeError, ValueError, ArithmeticError):
        return "its strike is not a number"
    fields = ("time_to_expiry_years", "rate", "dividend_yield", "option_price", "delta")
    values = [row.get(f) for f in fields]
    if any(v is None or not np.isfinite(float(v)) for v in values):
        return "its Greeks are not finite"
    if not (np.isfinite(strike) and strike > 0.0):
        return f"its strike {strike:g} is not a usable price"
    sigma = row.get("implied_volatility")
    if sigma is None or not (np.isfinite(float(sigma)) and float(sigma) > 0.0):
        return "no implied or realized volatility"
    if not float(row["option_price"]) > 0.0:
        return "its model price is 0 (no elasticity or return can be computed)"
    return ""


def security_durations(symbols: list[str]) -> np.ndarray:
    """Modified duration (years) per symbol from the reference data; 0 where none."""
    found = market.security_durations(symbols=symbols)
    return np.array([found.get(s, 0.0) for s in symbols])


#: How many proxy links are followed to reach a name with real history (NVDA → AMD).
_PROXY_DEPTH = 4


def stock_rate_betas(symbols: list[str], durations: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Rate beta per symbol (relative move per unit change of the yield, RISK-MODEL "Rate
    shocks") and the warnings about them.

    * A name with shipped real history: the OLS slope of its real monthly returns on the
      monthly change of the AAA yield (``risk.engine.factors.rate_betas``), over the
      months both exist.
    * A name on a stated proxy: its proxy's rate beta, times the proxy beta stored with
      the security (its history is proxy beta × the proxy's return plus an independent
      residual, so that is the rate sensitivity its history carries); a basket's is the
      weighted mean of its members'. Proxy links are followed up to four deep.
    * A bond fund (a duration in the reference data): 0, as its rate risk is −D × Δy.
    * Otherwise 0, and a warning names the symbols.
    """
    relations: dict[str, tuple[dict[str, float], float]] = {}
    frontier = set(symbols)
    for _ in range(_PROXY_DEPTH):
        found = market.proxy_relations(symbols=frontier - set(relations))
        relations |= found
        frontier = {m for members, _ in found.values() for m in members} - set(relations)
        if not frontier:
            break
    universe = sorted(set(symbols) | {m for members, _ in relations.values() for m in members})
    monthly = market.real_monthly_returns(symbols=universe)
    changes = market.aaa_yield_changes_monthly()
    months = sorted(set(changes) & {m for series in monthly.values() for m in series})
    fitted: dict[str, float] = {}
    if months and monthly:
        names = sorted(monthly)
        matrix = np.array([[monthly[s].get(m, np.nan) for s in names] for m in months])
        betas, _ = rate_betas(matrix, np.array([changes[m] for m in months]))
        fitted = {s: float(b) for s, b in zip(names, betas, strict=True) if np.isfinite(b)}

    def resolve(symbol: str, depth: int) -> float:
        if symbol in fitted:
            return fitted[symbol]
        if symbol not in relations or depth >= _PROXY_DEPTH:
            return float("nan")
        members, beta = relations[symbol]
        values = {m: resolve(m, depth + 1) for m in members}
        known = {m: w for m, w in members.items() if np.isfinite(values[m])}
        if not known:
            return float("nan")
        total = sum(known.values())
        return beta * sum(w * values[m] for m, w in known.items()) / total

    out = np.array([resolve(s, 0) for s in symbols], dtype=float)
    out[np.asarray(durations, dtype=float) > 0.0] = 0.0
    unknown = [s for s, b in zip(symbols, out, strict=True) if not np.isfinite(b)]
    out = np.nan_to_num(out)
    warnings = (
        [
            "No real history or proxy to fit a rate beta: a rate shock moves "
            + ", ".join(unknown)
            + " by 0"
        ]
        if unknown
        else []
    )
    return out, warnings
