"""End-of-day quotes from the generated universe: equity bid/ask by liquidity tier, and
option quotes priced by the pricing module at a modelled implied volatility.

Prices in USD per share (per unit of underlying for options), spreads as stated by each
constant, volatilities annualized fractions (252 sessions a year), rates continuously
compounded annual decimals, timestamps aware UTC.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
from scipy.special import ndtri

from marketdata import calendar
from marketdata.occ import OptionContract, parse_occ
from marketdata.providers.base import QuoteData
from marketdata.providers.simulated.reference import _Security
from marketdata.providers.simulated.streams import _uniform
from marketdata.providers.simulated.universe import SIMULATED, _Universe
from risk.engine.conventions import BLACK76_UNDERLYINGS, TRADING_DAYS_PER_YEAR
from risk.engine.pricing import (
    IV_OK,
    black76_price,
    bsm_price,
    implied_volatility,
    years_from_minutes,
)

#: Full bid-ask spread of stocks and ETFs in basis points of the price, by the curated
#: ``liquidity_tier``: 1 = the most traded names and ETFs (SPY, QQQ, AAPL...), 2 = other large
#: caps and large ETFs, 3 = smaller or thinner names. Untiered stocks/ETFs count as tier 3.
EQUITY_SPREAD_BPS = {1: 1.0, 2: 3.0, 3: 10.0}
#: Option spread by the underlying's tier: (fraction of the mid, cap in $); never below 2 ticks.
OPTION_SPREAD = {1: (0.03, 0.50), 2: (0.06, 1.00), 3: (0.10, 2.00)}
OPTION_TICK = 0.01
CENT = 0.01
#: Implied volatility model for simulated option quotes, from the underlying's EWMA realized
#: volatility sigma_0 and its long-run realized volatility sigma_L (pool window):
#: ATM variance mean-reverts from sigma_0^2 to sigma_L^2 at TERM_KAPPA per year (the expected
#: average variance to expiry, as in Heston), times a volatility risk premium VOL_PREMIUM;
#: the smile is sigma_atm * (1 - s*z + SKEW_CURVE*z^2) in z = ln(K/F) / (sigma_atm sqrt(t)),
#: z clipped to +-SKEW_Z_CLIP, with s = +SKEW_SLOPE for equities (put skew) and -SKEW_SLOPE
#: for VIX (call skew). Floor VOL_FLOOR.
VOL_PREMIUM = 1.10
TERM_KAPPA = 2.0
SKEW_SLOPE = 0.12
SKEW_CURVE = 0.02
SKEW_Z_CLIP = 3.0
VOL_FLOOR = 0.05
#: Typical daily option volume in contracts at the money, by the underlying's tier.
OPTION_VOLUME = {1: 20_000, 2: 3_000, 3: 500}


def _floor_tick(x: float, tick: float) -> float:
    return round(math.floor(round(x / tick, 9)) * tick, 10)


def _ceil_tick(x: float, tick: float) -> float:
    return round(math.ceil(round(x / tick, 9)) * tick, 10)


def _hash_uniform(seed: int, stream: str, symbol: str, quote_date: dt.date) -> float:
    """One uniform in (0, 1) fixed by (seed, stream, symbol, quote date): sizes and noise."""
    ordinal = np.array([quote_date.toordinal()])
    return float(_uniform(seed, stream, symbol, ordinal)[0])


def option_sigma(
    sigma_now: float, sigma_long: float, t: float, log_moneyness: float, call_skew: bool
) -> float:
    """Volatility (annualized fraction) at which a simulated option is quoted.

    ``sigma_now``/``sigma_long``: the underlying's EWMA and long-run realized volatility
    (annualized); ``t`` in years; ``log_moneyness`` = ln(strike / forward). ATM variance
    decays from sigma_now^2 to sigma_long^2 at TERM_KAPPA per year (average expected variance
    to expiry), scaled by VOL_PREMIUM; the smile is quadratic in standardized moneyness with
    a put skew for equities and a call skew for VIX (``call_skew``). See the constants."""
    tt = max(t, 1.0 / 365.0)
    kt = TERM_KAPPA * tt
    weight = (1.0 - math.exp(-kt)) / kt
    var_atm = sigma_long**2 + (sigma_now**2 - sigma_long**2) * weight
    atm = VOL_PREMIUM * math.sqrt(max(var_atm, 0.0))
    atm = max(atm, VOL_FLOOR)
    z = log_moneyness / (atm * math.sqrt(tt))
    z = min(max(z, -SKEW_Z_CLIP), SKEW_Z_CLIP)
    slope = -SKEW_SLOPE if call_skew else SKEW_SLOPE
    return max(VOL_FLOOR, atm * (1.0 - slope * z + SKEW_CURVE * z * z))


def _equity_quote(
    u: _Universe,
    i: int,
    sec: _Security,
    label: str,
    *,
    seed: int,
    quote_date: dt.date,
    now: dt.datetime,
    last: float | None = None,
    volume: float | None = None,
) -> QuoteData | None:
    """The quote of ``sec`` at grid row ``i`` (the quote session), carrying ``label`` as its
    symbol; None before the symbol's first row or where it has no close. ``last`` and
    ``volume`` given (an intraday price and the session's volume so far) replace the
    row's close and volume."""
    canonical = sec.symbol
    j = u.column[canonical]
    if i < 0:
        return None
    if last is None:
        last = float(u.close[i, j])
        volume = float(u.volume[i, j])
    if not math.isfinite(last):
        return None
    info = sec.info
    volume = math.nan if volume is None else volume
    vol_int = int(volume) if math.isfinite(volume) else None
    asset_type = info["asset_type"]
    if asset_type == "index":
        bid = ask = None
        bid_size = ask_size = None
    elif asset_type == "mutual_fund":
        bid = ask = last
        bid_size = ask_size = None
    else:
        bps = EQUITY_SPREAD_BPS.get(info.get("liquidity_tier") or 3, EQUITY_SPREAD_BPS[3])
        half = last * bps / 2e4
        bid = _floor_tick(last - half, CENT)
        ask = _ceil_tick(last + half, CENT)
        if ask <= bid:
            ask = round(bid + CENT, 2)
        bid_size = 100 * (1 + int(_hash_uniform(seed, "bid-size", canonical, quote_date) * 20))
        ask_size = 100 * (1 + int(_hash_uniform(seed, "ask-size", canonical, quote_date) * 20))
    return QuoteData(
        symbol=label,
        bid=bid,
        ask=ask,
        bid_size=bid_size,
        ask_size=ask_size,
        last=last,
        volume=vol_int,
        timestamp=now,
        source=SIMULATED,
    )


def _option_inputs(
    u: _Universe,
    i: int,
    sec: _Security,
    contract: OptionContract,
    *,
    now: dt.datetime,
    rate: float,
    spot: float | None = None,
) -> dict[str, Any] | None:
    """The inputs and model price of ``contract`` on the underlying ``sec`` at grid row ``i``
    (keys: see ``SimulatedProvider.option_inputs``); None where the underlying has no close.
    ``spot`` given (an intraday price) replaces the row's close; the volatility stays the
    row's."""
    under = sec.symbol
    j = u.column[under]
    spot = float(u.close[i, j]) if spot is None else float(spot)
    if not math.isfinite(spot):
        return None
    model = "black76" if under in BLACK76_UNDERLYINGS else "bsm"
    q = 0.0 if model == "black76" else float(sec.info.get("dividend_yield") or 0.0)
    minutes = calendar.minutes_to_expiry(now, contract.expiry)
    t = float(years_from_minutes(minutes))
    strike = float(contract.strike)
    annual = math.sqrt(TRADING_DAYS_PER_YEAR)
    sigma_ewma = float(u.sigma[i, j]) * annual
    sigma_long = float(u.sigma_long[j]) * annual
    forward = spot if model == "black76" else spot * math.exp((rate - q) * t)
    sigma = option_sigma(
        sigma_ewma, sigma_long, t, math.log(strike / forward), call_skew=model == "black76"
    )
    if model == "black76":
        mid = float(black76_price(spot, strike, t, rate, sigma, contract.is_call))
    else:
        mid = float(bsm_price(spot, strike, t, rate, q, sigma, contract.is_call))
    return {
        "underlying": under,
        "model": model,
        "spot": spot,
        "strike": strike,
        "minutes": minutes,
        "t": t,
        "rate": rate,
        "div_yield": q,
        "sigma": sigma,
        "sigma_ewma": sigma_ewma,
        "sigma_long": sigma_long,
        "is_call": contract.is_call,
        "multiplier": contract.multiplier,
        "mid": mid,
    }


def _option_quote(
    symbol: str,
    inputs: dict[str, Any],
    underlying: _Security,
    *,
    seed: int,
    quote_date: dt.date,
    now: dt.datetime,
) -> QuoteData:
    """The quote of the OCC option ``symbol`` from its :func:`_option_inputs`: a spread by
    the underlying's tier around the model price, rounded out to the tick, and the implied
    volatility of the quoted mid (None where it cannot be inverted)."""
    contract: OptionContract = parse_occ(symbol)
    mid = inputs["mid"]
    tier = underlying.info.get("liquidity_tier") or 3
    share, cap = OPTION_SPREAD.get(tier, OPTION_SPREAD[3])
    spread = max(2 * OPTION_TICK, min(share * mid, cap))
    bid = max(0.0, _floor_tick(mid - spread / 2, OPTION_TICK))
    ask = max(bid + OPTION_TICK, _ceil_tick(mid + spread / 2, OPTION_TICK))
    ask = round(ask, 2)
    quoted_mid = 0.5 * (bid + ask)
    iv_result = implied_volatility(
        quoted_mid,
        inputs["spot"],
        inputs["strike"],
        inputs["t"],
        inputs["rate"],
        inputs["div_yield"],
        inputs["is_call"],
        model=inputs["model"],
    )
    iv = float(iv_result.iv) if int(iv_result.status) == IV_OK else None
    key = contract.occ_symbol  # the random streams follow the contract, not the spelling
    # Volume falls off with distance from the money (in standard deviations).
    z = abs(math.log(inputs["strike"] / inputs["spot"])) / (
        inputs["sigma"] * math.sqrt(max(inputs["t"], 1.0 / 365.0))
    )
    base = OPTION_VOLUME.get(tier, OPTION_VOLUME[3])
    noise = math.exp(0.5 * float(ndtri(_hash_uniform(seed, "option-volume", key, quote_date))))
    volume = int(base * math.exp(-0.5 * z * z) * noise) if inputs["t"] > 0 else 0
    return QuoteData(
        symbol=symbol,
        bid=bid,
        ask=ask,
        bid_size=1 + int(_hash_uniform(seed, "option-bid-size", key, quote_date) * 50),
        ask_size=1 + int(_hash_uniform(seed, "option-ask-size", key, quote_date) * 50),
        last=round(mid, 2),
        volume=volume,
        timestamp=now,
        source=SIMULATED,
        implied_volatility=iv,
    )
