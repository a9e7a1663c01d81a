"""0DTE option chains of SPY, QQQ and IWM at the market clock's minute (reads).

A chain is computed from stored data: the ticker's last completed minute close, the VIX's
(``selectors.vix_level``), the ticker's daily closes (its volatility relative to SPY's)
and the stored dividend yield and rate. The market model is ``marketdata.engine.chain``
(strikes, the VIX smile, spreads calibrated on a real SPY chain); prices and Greeks are
``risk.engine.pricing`` (BSM, T in minutes to the expiry's close / 525,600, RISK-MODEL).

Open interest and volume are modelled, and labelled ``simulated`` like every value of the
simulated market:
* open interest per strike is the ticker's at-the-money level (:data:`ATM_OPEN_INTEREST`)
  times exp(−½ ((K − S) / (1% of S))²);
* volume so far is the ticker's daily at-the-money 0DTE volume (:data:`ATM_DAILY_VOLUME`),
  spread the same way, times the share of the day's volume traded by this minute (the
  volume U-shape).

Sizes are 10 + 190 exp(−½ x²) contracts on each side, with the same x.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from marketdata import calendar
from marketdata.clock import MarketTime, market_time
from marketdata.engine.chain import bid_ask, smile_volatility, spread_dollars, strikes_around
from marketdata.engine.intraday import volume_profile
from marketdata.models import PriceBar, Security
from marketdata.selectors import (
    intraday_snapshot,
    is_listed_expiry,
    last_price,
    risk_free_rate,
    vix_level,
    zero_dte_symbol,
)
from risk.engine.pricing import bsm_greeks, years_from_minutes
from sigmasight.errors import ValidationFailed

__all__ = ["DEFAULT_STRIKES", "market_data", "option_chain", "zero_dte_expiry"]

DEFAULT_STRIKES = 10
MAX_STRIKES = 50
#: Sessions of daily closes behind a ticker's volatility relative to SPY's.
RELATIVE_VOL_SESSIONS = 60
#: Open interest at the money and daily at-the-money 0DTE volume, contracts per strike.
ATM_OPEN_INTEREST = {"SPY": 40_000, "QQQ": 20_000, "IWM": 10_000}
ATM_DAILY_VOLUME = {"SPY": 120_000, "QQQ": 50_000, "IWM": 15_000}
#: Days ahead searched for the nearest listed expiry.
EXPIRY_SEARCH_DAYS = 14


def zero_dte_expiry(symbol: str, session: dt.date) -> tuple[dt.date | None, str | None]:
    """The expiry of ``symbol``'s 0DTE chain on ``session``: the session itself where the
    root lists it, else the nearest listed expiry after it (and a note saying so)."""
    for offset in range(EXPIRY_SEARCH_DAYS + 1):
        day = session + dt.timedelta(days=offset)
        if is_listed_expiry(symbol, day):
            if offset == 0:
                return day, None
            return day, f"{symbol} lists no expiry on {session}: the nearest is {day}"
    return None, f"no listed {symbol} expiry within {EXPIRY_SEARCH_DAYS} days of {session}"


def _relative_volatility(symbol: str, session: dt.date) -> float:
    """The ticker's daily volatility over SPY's (1 for SPY, and where history is short)."""
    if symbol == "SPY":
        return 1.0
    rows = (
        PriceBar.objects.filter(security_id__in=[symbol, "SPY"], date__lt=session)
        .order_by("-date")
        .values_list("security_id", "date", "adj_close")[: 2 * (RELATIVE_VOL_SESSIONS + 1)]
    )
    series: dict[str, dict[dt.date, float]] = {symbol: {}, "SPY": {}}
    for sid, day, close in rows:
        series[sid][day] = float(close)
    days = sorted(set(series[symbol]) & set(series["SPY"]))
    if len(days) < 20:
        return 1.0
    own = np.diff(np.log([series[symbol][d] for d in days]))
    spy = np.diff(np.log([series["SPY"][d] for d in days]))
    ratio = float(np.std(own) / np.std(spy)) if np.std(spy) > 0 else 1.0
    return ratio if np.isfinite(ratio) and ratio > 0 else 1.0


def _side(
    strikes: np.ndarray,
    greeks: Any,
    iv: np.ndarray,
    spread: np.ndarray,
    weights: np.ndarray,
    open_interest: np.ndarray,
    volume: np.ndarray,
    pick: slice,
) -> list[dict[str, Any]]:
    mid = greeks.price[pick]
    bid, ask = bid_ask(mid, spread[pick])
    sizes = np.round(10 + 190 * weights)
    rows = []
    for i, k in enumerate(strikes):
        rows.append(
            {
                "strike": float(k),
                "bid": float(bid[i]),
                "ask": float(ask[i]),
                "last": float(np.clip(np.round(mid[i], 2), bid[i], ask[i])),
                "mid": round(float(mid[i]), 4),
                "bid_size": int(sizes[i]),
                "ask_size": int(sizes[i]),
                "volume": int(volume[i]),
                "open_interest": int(open_interest[i]),
                "implied_volatility": round(float(iv[i]), 6),
                "delta": round(float(greeks.delta[pick][i]), 6),
                "gamma": round(float(greeks.gamma[pick][i]), 6),
                "theta": round(float(greeks.theta[pick][i]), 6),
                "vega": round(float(greeks.vega[pick][i]), 6),
                "rho": round(float(greeks.rho[pick][i]), 6),
            }
        )
    return rows


def option_chain(
    symbol: str,
    at: MarketTime,
    *,
    expiration: dt.date | None = None,
    strikes: int = DEFAULT_STRIKES,
    vix: tuple[float | None, dt.datetime | None] | None = None,
) -> dict[str, Any]:
    """``/market/options/{symbol}``: calls and puts of ``strikes`` strikes on each side of
    the money at the clock's minute. ``expiration`` defaults to the 0DTE expiry; another
    one must be a listed expiry on or after the session (else 422). ``vix``: the
    ``vix_level(at)`` reading where the caller has it (a signal cycle reads it once for
    its three chains)."""
    symbol = zero_dte_symbol(symbol)
    if not 1 <= strikes <= MAX_STRIKES:
        raise ValidationFailed({"strikes": [f"must lie in 1..{MAX_STRIKES}"]}, location="query")
    warnings: list[str] = []
    if expiration is None:
        expiry, note = zero_dte_expiry(symbol, at.session)
        if note:
            warnings.append(note)
    else:
        if expiration < at.session or not is_listed_expiry(symbol, expiration):
            raise ValidationFailed(
                {"expiration": [f"not a listed {symbol} expiry on or after {at.session}"]},
                location="query",
            )
        expiry = expiration
    latest = last_price(symbol, at)
    spot = float(latest.price) if latest.price is not None else None
    vix, _ = vix if vix is not None else vix_level(at)
    base = {
        "symbol": symbol,
        "underlying_price": spot,
        "expiration": expiry,
        "time_to_expiration": None,
        "minutes_to_expiration": None,
        "timestamp": latest.stamp,
        "vix_level": vix,
        "source": "simulated",
        "calls": [],
        "puts": [],
        "market_status": at.status,
        "clock": at.clock,
        "session": at.session,
    }
    if spot is None or vix is None or expiry is None:
        reasons = [*latest.warnings, *warnings]
        if vix is None:
            reasons.append("no VIX level stored: no implied volatility")
        return {**base, "warnings": reasons}
    # The valuation moment: the clock's time while open, the session's close after it.
    moment = min(at.now, calendar.session_close_utc(at.session))
    minutes = calendar.minutes_to_expiry(moment, expiry)
    t = float(years_from_minutes(minutes))
    rate, _ = risk_free_rate(at.session)
    security = Security.objects.filter(symbol=symbol).values("dividend_yield").first()
    q = float(security["dividend_yield"] or 0.0) if security else 0.0
    atm = vix / 100.0 * _relative_volatility(symbol, at.session)
    k = strikes_around(spot, strikes)
    forward = spot * float(np.exp((rate - q) * t))
    iv = smile_volatility(k, forward, t, atm)
    n = k.size
    both_k = np.concatenate([k, k])
    both_iv = np.concatenate([iv, iv])
    is_call = np.concatenate([np.ones(n, bool), np.zeros(n, bool)])
    greeks = bsm_greeks(spot, both_k, t, rate, q, both_iv, is_call)
    spread = spread_dollars(
        greeks.price,
        greeks.delta,
        minutes_to_close=at.minutes_to_close if at.is_open else 0.0,
        vix=vix,
        zero_dte=expiry == at.session,
        # Priced from the last completed minute: at minute 1 that is the opening minute.
        first_minute=at.is_open and at.minute == 1,
    )
    x = (k - spot) / (0.01 * spot)
    weights = np.exp(-0.5 * x * x)
    open_interest = np.round(ATM_OPEN_INTEREST[symbol] * weights)
    traded = float(volume_profile(at.session_minutes)[: at.minute].sum())
    volume = np.floor(ATM_DAILY_VOLUME[symbol] * weights * traded)
    calls = _side(k, greeks, both_iv, spread, weights, open_interest, volume, slice(0, n))
    puts = _side(k, greeks, both_iv, spread, weights, open_interest, volume, slice(n, 2 * n))
    return {
        **base,
        "time_to_expiration": round(minutes / (24 * 60), 6),
        "minutes_to_expiration": round(minutes, 2),
        "calls": calls,
        "puts": puts,
        "rate": rate,
        "dividend_yield": q,
        "warnings": warnings
        + ([] if at.is_open else [f"market closed: the chain as of the close of {at.session}"]),
    }


def market_data(symbol: str, *, include_options: bool = False) -> dict[str, Any]:
    """``/market/data/{symbol}``: the ticker at the market clock's minute
    (``selectors.intraday_snapshot``), with its 0DTE chain (expiration, calls, puts) when
    ``include_options``; ``options_chain`` is null otherwise."""
    at = market_time()
    data = intraday_snapshot(zero_dte_symbol(symbol), at)
    data["options_chain"] = None
    if include_options:
        chain = option_chain(data["symbol"], at)
        data["options_chain"] = {
            "expiration": chain["expiration"],
            "calls": chain["calls"],
            "puts": chain["puts"],
        }
        data["warnings"] = [*data["warnings"], *chain["warnings"]]
    return data
