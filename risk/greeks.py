"""Greeks of option positions from stored quotes and prices (reads and maths, no writes).

Volatility input, in RISK-MODEL.md's order: (1) the implied volatility solved from the
option's own mid quote, when that quote is not a one-tick quote (mid at least
``OPTION_IV_MIN_PRICE``, spread at most ``OPTION_IV_MAX_SPREAD_FRACTION`` of the mid);
(2) the chain's implied volatility at that expiry, interpolated in strike, from the stored
quotes of the same underlying and expiry that pass the same test; (3) the underlying's EWMA
(λ = 0.94) realized volatility. The source used ("implied_quote", "chain",
"realized_ewma") is kept with the Greeks. There is never a constant.

Time to expiry runs from the valuation time (``as_of``), never from a quote's timestamp.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from django.conf import settings

from marketdata import calendar
from marketdata.selectors import (
    option_chain_quotes,
    price_snapshots,
    quotes_for,
    returns_matrix,
    risk_free_rate,
    security_map,
)
from risk.engine.conventions import BLACK76_UNDERLYINGS
from risk.engine.factors import ewma_volatility
from risk.engine.pricing import black76_greeks, bsm_greeks, implied_volatility, years_from_minutes
from risk.engine.volsurface import interpolate_in_strike, reliable_quotes

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
    quote_spread: np.ndarray  # ask - bid, NaN without both sides
    is_black76: np.ndarray
    pricing_time: list[dt.datetime]


def _two_sided(bid: Any, ask: Any) -> bool:
    # A zero bid is a quote too (the one-tick wing: bid 0, ask 0.01); its spread disqualifies it.
    return bid is not None and ask is not None and ask >= bid >= 0 and ask > 0


def _mid_of(bid: Any, ask: Any, last: Any) -> float:
    if _two_sided(bid, ask):
        return float((bid + ask) / 2)
    return float(last) if last is not None else float("nan")


def _spread_of(bid: Any, ask: Any) -> float:
    return float(ask - bid) if _two_sided(bid, ask) else float("nan")


def _mid(quote: Quote | None) -> float:
    if quote is None:
        return float("nan")
    return _mid_of(quote.bid, quote.ask, quote.last)


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
    rows: list[tuple[float, float, float, bool, float, float, float, bool, dt.datetime]] = []
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
                _spread_of(quote.bid, quote.ask) if quote is not None else float("nan"),
                underlying in BLACK76_UNDERLYINGS,
                moment,
            )
        )
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in range(9)]
    return (
        OptionInputs(
            positions=kept,
            spot=np.array(columns[0], dtype=float),
            strike=np.array(columns[1], dtype=float),
            t_years=np.array(columns[2], dtype=float),
            is_call=np.array(columns[3], dtype=bool),
            div_yield=np.array(columns[4], dtype=float),
            quote_mid=np.array(columns[5], dtype=float),
            quote_spread=np.array(columns[6], dtype=float),
            is_black76=np.array(columns[7], dtype=bool),
            pricing_time=list(columns[8]),
        ),
        warnings,
    )


def _realized_vols(symbols: Sequence[str], end: dt.date) -> dict[str, float]:
    _, returns = returns_matrix(list(symbols), end=end, lookback=REALIZED_VOL_LOOKBACK)
    vols = ewma_volatility(returns)
    return {s: float(v) for s, v in zip(symbols, vols, strict=True) if np.isfinite(v) and v > 0}


def _solve_iv(
    price: np.ndarray,
    spot: np.ndarray,
    strike: np.ndarray,
    t: np.ndarray,
    r: np.ndarray,
    q: np.ndarray,
    is_call: np.ndarray,
    is_black76: np.ndarray,
) -> np.ndarray:
    """Implied volatilities, BSM or Black-76 per element; NaN where not identified."""
    iv = np.full(price.shape, np.nan)
    for model, pick in (("bsm", ~is_black76), ("black76", is_black76)):
        if pick.any():
            iv[pick] = implied_volatility(
                price[pick],
                spot[pick],
                strike[pick],
                t[pick],
                r[pick],
                q[pick],
                is_call[pick],
                model=model,
            ).iv
    return iv


def _quote_filter() -> tuple[float, float]:
    return float(settings.OPTION_IV_MIN_PRICE), float(settings.OPTION_IV_MAX_SPREAD_FRACTION)


def _chain_ivs(
    inputs: OptionInputs, rows: np.ndarray, r: np.ndarray, q: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Source 2 for the option positions ``rows``: the implied volatility of their chain
    (same underlying and expiry) interpolated at their strike, from the stored quotes that
    pass the one-tick test, each solved at the position's spot, T, r and q. Returns the IVs
    (NaN where the chain has no usable quote) and the number of chain quotes used."""
    min_price, max_spread = _quote_filter()
    keys: dict[int, tuple[str, dt.date]] = {}
    for i in rows:
        position = inputs.positions[i]
        if position.expiry is not None:  # always: option_inputs keeps dated options only
            keys[int(i)] = (position.security.underlying_id or "", position.expiry)
    chains = option_chain_quotes(chains=set(keys.values()))
    out = np.full(len(rows), np.nan)
    used = np.zeros(len(rows), dtype=int)
    for n, i in enumerate(rows):
        key = keys.get(int(i))
        chain = chains.get(key, []) if key is not None else []
        if not chain:
            continue
        mids = np.array([_mid_of(c.bid, c.ask, c.last) for c in chain])
        spreads = np.array([_spread_of(c.bid, c.ask) for c in chain])
        ok = reliable_quotes(mids, spreads, min_price=min_price, max_spread_fraction=max_spread)
        if not ok.any():
            continue
        m = int(ok.sum())
        strikes = np.array([float(c.strike) for c in chain])[ok]
        ivs = _solve_iv(
            mids[ok],
            np.full(m, inputs.spot[i]),
            strikes,
            np.full(m, inputs.t_years[i]),
            np.full(m, r[i]),
            np.full(m, q[i]),
            np.array([c.is_call for c in chain])[ok],
            np.full(m, inputs.is_black76[i]),
        )
        out[n] = float(interpolate_in_strike(strikes, ivs, inputs.strike[i]))
        used[n] = int(np.isfinite(ivs).sum())
    return out, used


def compute_greeks(
    positions: Sequence[Position], *, as_of: dt.datetime, on: dt.date
) -> tuple[list[dict[str, Any]], list[str]]:
    """Greeks for option positions, all at once (vectorized).

    Volatility (RISK-MODEL.md order): the implied volatility of the option's own mid
    quote, unless that quote is a one-tick quote (below the price floor or with a spread
    above the allowed share of the mid); else the chain's IV at that expiry interpolated in
    strike; else the underlying's EWMA (λ = 0.94) realized volatility. No constant.
    """
    inputs, warnings = option_inputs(positions, as_of=as_of)
    n = len(inputs.positions)
    if n == 0:
        return [], warnings
    rate, rate_source = risk_free_rate(on)
    r = np.full(n, rate)
    q = np.where(inputs.is_black76, 0.0, inputs.div_yield)
    min_price, max_spread = _quote_filter()
    quoted = np.isfinite(inputs.quote_mid)
    reliable = reliable_quotes(
        inputs.quote_mid, inputs.quote_spread, min_price=min_price, max_spread_fraction=max_spread
    )
    iv = _solve_iv(
        np.where(reliable, inputs.quote_mid, np.nan),
        inputs.spot,
        inputs.strike,
        inputs.t_years,
        r,
        q,
        inputs.is_call,
        inputs.is_black76,
    )
    source = np.where(np.isfinite(iv), "implied_quote", "none").astype(object)
    chain_used = np.zeros(n, dtype=int)
    missing = np.flatnonzero(~np.isfinite(iv))
    if missing.size:
        chain_iv, used = _chain_ivs(inputs, missing, r, q)
        found = np.isfinite(chain_iv)
        iv[missing[found]] = chain_iv[found]
        source[missing[found]] = "chain"
        chain_used[missing] = used
    missing = np.flatnonzero(~np.isfinite(iv))
    if missing.size:
        underlyings = [inputs.positions[i].security.underlying_id or "" for i in missing]
        realized = _realized_vols(sorted(set(underlyings)), on)
        for i, symbol in zip(missing, underlyings, strict=True):
            iv[i] = realized.get(symbol, np.nan)
            if np.isfinite(iv[i]):
                source[i] = "realized_ewma"
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
        if quoted[i] and not reliable[i]:
            notes.append(
                f"The option's quote (mid below ${min_price:g} or spread above "
                f"{max_spread:.0%} of the mid) gives no implied volatility of its own"
            )
        if not np.isfinite(iv[i]):
            notes.append("No implied or realized volatility: Greeks are those of zero volatility")
        elif source[i] == "chain":
            notes.append(
                "Volatility is the chain's implied volatility at this expiry, interpolated in "
                f"strike ({chain_used[i]} quotes)"
            )
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
                "volatility_source": str(source[i]),
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
