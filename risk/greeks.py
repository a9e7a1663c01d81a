"""Greeks of option positions from stored quotes and prices (reads and maths, no writes).

Volatility input, in RISK-MODEL.md's order: the implied volatility solved from the
option's own mid quote; else the underlying's EWMA (λ = 0.94) realized volatility. The
source used is kept with the Greeks. There is never a constant.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from marketdata import calendar
from marketdata.selectors import (
    price_snapshots,
    quotes_for,
    returns_matrix,
    risk_free_rate,
    security_map,
)
from risk.engine.conventions import BLACK76_UNDERLYINGS
from risk.engine.factors import ewma_volatility
from risk.engine.pricing import black76_greeks, bsm_greeks, implied_volatility, years_from_minutes

if TYPE_CHECKING:  # types only: rows come from the owning apps' selectors
    from marketdata.models import Quote
    from portfolios.models import Position

REALIZED_VOL_LOOKBACK = 120  # sessions of underlying returns for the EWMA fallback


@dataclass(frozen=True)
class OptionInputs:
    """Aligned arrays for every option position to price."""

    positions: list[Position]
    spot: np.ndarray
    strike: np.ndarray
    t_years: np.ndarray
    is_call: np.ndarray
    div_yield: np.ndarray
    quote_mid: np.ndarray  # NaN where there is no usable quote
    is_black76: np.ndarray
    pricing_time: list[dt.datetime]


def _mid(quote: Quote | None) -> float:
    if quote is None:
        return float("nan")
    if quote.bid is not None and quote.ask is not None and quote.ask >= quote.bid > 0:
        return float((quote.bid + quote.ask) / 2)
    return float(quote.last) if quote.last is not None else float("nan")


def option_inputs(
    positions: Sequence[Position], *, as_of: dt.datetime
) -> tuple[OptionInputs, list[str]]:
    """Spot, strike, time to expiry and quotes for option positions (constant queries)."""
    warnings: list[str] = []
    underlyings = {p.security.underlying_id or p.underlying_symbol for p in positions}
    snapshots = price_snapshots(symbols=[u for u in underlyings if u])
    quotes = quotes_for(symbols=[p.security_id for p in positions])
    securities = security_map(symbols=[u for u in underlyings if u])
    kept: list[Position] = []
    rows: list[tuple[float, float, float, bool, float, float, bool, dt.datetime]] = []
    for p in positions:
        underlying = p.security.underlying_id or p.underlying_symbol
        snap = snapshots.get(underlying or "")
        if snap is None or p.strike is None or p.expiry is None:
            warnings.append(f"No underlying price for {p.security_id}: Greeks not computed")
            continue
        quote = quotes.get(p.security_id)
        # T runs from the valuation time, never from the quote's stamp: a quote ten days old
        # would otherwise add ten days of time value (RISK-MODEL.md, Options).
        moment = as_of
        minutes = calendar.minutes_to_expiry(moment, p.expiry)
        security = securities.get(underlying or "")
        q = (
            float(security.dividend_yield)
            if security and security.dividend_yield is not None
            else 0.0
        )
        kept.append(p)
        rows.append(
            (
                float(snap.price),
                float(p.strike),
                float(years_from_minutes(minutes)),
                p.security.option_right == "C",
                q,
                _mid(quote),
                underlying in BLACK76_UNDERLYINGS,
                moment,
            )
        )
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in range(8)]
    return (
        OptionInputs(
            positions=kept,
            spot=np.array(columns[0], dtype=float),
            strike=np.array(columns[1], dtype=float),
            t_years=np.array(columns[2], dtype=float),
            is_call=np.array(columns[3], dtype=bool),
            div_yield=np.array(columns[4], dtype=float),
            quote_mid=np.array(columns[5], dtype=float),
            is_black76=np.array(columns[6], dtype=bool),
            pricing_time=list(columns[7]),
        ),
        warnings,
    )


def _realized_vols(symbols: Sequence[str], end: dt.date) -> dict[str, float]:
    _, returns = returns_matrix(list(symbols), end=end, lookback=REALIZED_VOL_LOOKBACK)
    vols = ewma_volatility(returns)
    return {s: float(v) for s, v in zip(symbols, vols, strict=True) if np.isfinite(v) and v > 0}


def compute_greeks(
    positions: Sequence[Position], *, as_of: dt.datetime, on: dt.date
) -> tuple[list[dict[str, Any]], list[str]]:
    """Greeks for option positions, all at once (vectorized).

    Volatility (RISK-MODEL.md order): the implied volatility of the option's own mid
    quote; else the underlying's EWMA (λ = 0.94) realized volatility. No constant. A
    chain interpolation step is skipped: only held contracts are quoted and stored.
    """
    inputs, warnings = option_inputs(positions, as_of=as_of)
    n = len(inputs.positions)
    if n == 0:
        return [], warnings
    rate, rate_source = risk_free_rate(on)
    r = np.full(n, rate)
    q = np.where(inputs.is_black76, 0.0, inputs.div_yield)
    iv = np.full(n, np.nan)
    bsm = ~inputs.is_black76
    if bsm.any():
        iv[bsm] = implied_volatility(
            inputs.quote_mid[bsm],
            inputs.spot[bsm],
            inputs.strike[bsm],
            inputs.t_years[bsm],
            r[bsm],
            q[bsm],
            inputs.is_call[bsm],
            model="bsm",
        ).iv
    if (~bsm).any():
        iv[~bsm] = implied_volatility(
            inputs.quote_mid[~bsm],
            inputs.spot[~bsm],
            inputs.strike[~bsm],
            inputs.t_years[~bsm],
            r[~bsm],
            q[~bsm],
            inputs.is_call[~bsm],
            model="black76",
        ).iv
    source = np.where(np.isfinite(iv), "implied_quote", "realized_ewma")
    missing = ~np.isfinite(iv)
    if missing.any():
        underlyings = [
            inputs.positions[i].security.underlying_id or "" for i in np.flatnonzero(missing)
        ]
        realized = _realized_vols(sorted(set(underlyings)), on)
        for i, symbol in zip(np.flatnonzero(missing), underlyings, strict=True):
            iv[i] = realized.get(symbol, np.nan)
    sigma = np.where(np.isfinite(iv), iv, 0.0)
    greeks_bsm = bsm_greeks(inputs.spot, inputs.strike, inputs.t_years, r, q, sigma, inputs.is_call)
    greeks_b76 = black76_greeks(
        inputs.spot, inputs.strike, inputs.t_years, r, sigma, inputs.is_call
    )
    pick = inputs.is_black76
    g = {
        name: np.where(pick, getattr(greeks_b76, name), getattr(greeks_bsm, name))
        for name in ("price", "delta", "gamma", "theta", "vega", "rho")
    }
    quantity = np.array([float(p.quantity) for p in inputs.positions])
    multiplier = np.array([p.multiplier for p in inputs.positions], dtype=float)
    delta_dollars = g["delta"] * quantity * multiplier * inputs.spot
    gamma_dollars = 0.5 * g["gamma"] * (0.01 * inputs.spot) ** 2 * quantity * multiplier
    rows = []
    for i, position in enumerate(inputs.positions):
        notes = []
        if not np.isfinite(iv[i]):
            notes.append("No implied or realized volatility: Greeks are those of zero volatility")
        elif source[i] == "realized_ewma":
            notes.append(
                "No solvable quote: volatility is the underlying's EWMA realized volatility"
            )
        if pick[i]:
            notes.append(
                "VIX option: Black-76 with the VIX level standing in for the futures price"
            )
        rows.append(
            {
                "position": position,
                "delta": float(g["delta"][i]),
                "gamma": float(g["gamma"][i]),
                "theta": float(g["theta"][i]),
                "vega": float(g["vega"][i]),
                "rho": float(g["rho"][i]),
                "option_price": float(g["price"][i]),
                "implied_volatility": float(iv[i]) if np.isfinite(iv[i]) else None,
                "volatility_source": str(source[i]) if np.isfinite(iv[i]) else "none",
                "underlying_price": float(inputs.spot[i]),
                "time_to_expiry_years": float(inputs.t_years[i]),
                "rate": rate,
                "rate_source": rate_source,
                "dividend_yield": float(q[i]),
                "model": "black76" if pick[i] else "bsm",
                "delta_dollars": float(delta_dollars[i]),
                "gamma_dollars_1pct": float(gamma_dollars[i]),
                "warnings": notes,
            }
        )
    return rows, warnings
