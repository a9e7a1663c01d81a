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
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db.models import Max

from marketdata import calendar, expiries
from marketdata.clock import MarketTime, market_time
from marketdata.engine.chain import bid_ask, smile_volatility, spread_dollars, strikes_around
from marketdata.engine.intraday import volume_profile
from marketdata.models import ListedExpiry, PriceBar, Security
from marketdata.selectors import (
    LastPrice,
    intraday_snapshot,
    is_listed_expiry,
    last_price,
    risk_free_rate,
    vix_level,
    zero_dte_symbol,
)
from risk.engine.pricing import bsm_greeks, years_from_minutes
from sigmasight.errors import ValidationFailed

__all__ = [
    "DEFAULT_STRIKES",
    "ChainReference",
    "chain_references",
    "market_data",
    "option_chain",
    "option_chains",
    "zero_dte_expiry",
]

DEFAULT_STRIKES = 10
MAX_STRIKES = 50
#: Sessions of daily closes behind a ticker's volatility relative to SPY's.
RELATIVE_VOL_SESSIONS = 60
#: Open interest at the money and daily at-the-money 0DTE volume, contracts per strike.
ATM_OPEN_INTEREST = {"SPY": 40_000, "QQQ": 20_000, "IWM": 10_000}
ATM_DAILY_VOLUME = {"SPY": 120_000, "QQQ": 50_000, "IWM": 15_000}
#: Days ahead searched for the nearest listed expiry.
EXPIRY_SEARCH_DAYS = 14


@dataclass(frozen=True)
class ChainReference:
    """What a ticker's chain takes from reference data and daily history, fixed for a
    session: its 0DTE expiry (and the note where it is not the session itself), its stored
    dividend yield (decimal), and its daily volatility relative to SPY's."""

    expiry: dt.date | None
    expiry_note: str | None
    dividend_yield: float
    relative_volatility: float


def _zero_dte_expiry(
    symbol: str, session: dt.date, listed: set[dt.date], stored_end: dt.date | None
) -> tuple[dt.date | None, str | None]:
    """The nearest listed expiry on or after ``session``: the stored reference data
    decides up to its last date (``listed``, ``stored_end``), the seed rule past it (as
    ``selectors.is_listed_expiry``)."""
    root = expiries.normalize_root(symbol)
    for offset in range(EXPIRY_SEARCH_DAYS + 1):
        day = session + dt.timedelta(days=offset)
        by_rule = stored_end is None or day > stored_end
        if day in listed or (by_rule and expiries.is_listed_by_rule(root, day)):
            if offset == 0:
                return day, None
            return day, f"{symbol} lists no expiry on {session}: the nearest is {day}"
    return None, f"no listed {symbol} expiry within {EXPIRY_SEARCH_DAYS} days of {session}"


def zero_dte_expiry(symbol: str, session: dt.date) -> tuple[dt.date | None, str | None]:
    """The expiry of ``symbol``'s 0DTE chain on ``session``: the session itself where the
    root lists it, else the nearest listed expiry after it (and a note saying so)."""
    reference = chain_references([symbol], session)[symbol]
    return reference.expiry, reference.expiry_note


def _relative_volatility(closes: dict[str, dict[dt.date, float]], symbol: str) -> float:
    """The ticker's daily volatility over SPY's (1 for SPY, and where history is short),
    from the daily closes by symbol and date."""
    if symbol == "SPY":
        return 1.0
    own_closes, spy_closes = closes.get(symbol, {}), closes.get("SPY", {})
    days = sorted(set(own_closes) & set(spy_closes))[-(RELATIVE_VOL_SESSIONS + 1) :]
    if len(days) < 20:
        return 1.0
    own = np.diff(np.log([own_closes[d] for d in days]))
    spy = np.diff(np.log([spy_closes[d] for d in days]))
    ratio = float(np.std(own) / np.std(spy)) if np.std(spy) > 0 else 1.0
    return ratio if np.isfinite(ratio) and ratio > 0 else 1.0


def chain_references(symbols: Sequence[str], session: dt.date) -> dict[str, ChainReference]:
    """Each ticker's :class:`ChainReference` on ``session``, in four queries for all of
    them: the listed expiries of the next ``EXPIRY_SEARCH_DAYS`` days and each root's last
    stored expiry, the stored dividend yields, and the daily closes of the last
    ``RELATIVE_VOL_SESSIONS`` + 1 sessions before ``session`` (SPY's with them)."""
    roots = {symbol: expiries.normalize_root(symbol) for symbol in symbols}
    search_end = session + dt.timedelta(days=EXPIRY_SEARCH_DAYS)
    listed: dict[str, set[dt.date]] = defaultdict(set)
    for root, day in ListedExpiry.objects.filter(
        root__in=set(roots.values()), expiry__gte=session, expiry__lte=search_end
    ).values_list("root", "expiry"):
        listed[root].add(day)
    # Each root's last stored expiry, where it is on or after the session (one before it
    # leaves the whole window to the seed rule, as no stored end does).
    stored_end = dict(
        ListedExpiry.objects.filter(root__in=set(roots.values()), expiry__gte=session)
        .values("root")
        .annotate(last=Max("expiry"))
        .values_list("root", "last")
    )
    yields = dict(
        Security.objects.filter(symbol__in=list(symbols)).values_list("symbol", "dividend_yield")
    )
    # The window of sessions the closes come from (the calendar's, so that a ticker's
    # reading never depends on how far another ticker's history reaches).
    first = session
    for _ in range(RELATIVE_VOL_SESSIONS + 1):
        first = calendar.previous_session(first)
    closes: dict[str, dict[dt.date, float]] = defaultdict(dict)
    if any(symbol != "SPY" for symbol in symbols):
        for sid, day, close in PriceBar.objects.filter(
            security_id__in={*symbols, "SPY"}, date__gte=first, date__lt=session
        ).values_list("security_id", "date", "adj_close"):
            closes[sid][day] = float(close)
    out = {}
    for symbol in symbols:
        expiry, note = _zero_dte_expiry(
            symbol, session, listed[roots[symbol]], stored_end.get(roots[symbol])
        )
        out[symbol] = ChainReference(
            expiry=expiry,
            expiry_note=note,
            dividend_yield=float(yields.get(symbol) or 0.0),
            relative_volatility=_relative_volatility(closes, symbol),
        )
    return out


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
    last = np.clip(np.round(mid, 2), bid, ask)
    sizes = np.round(10 + 190 * weights).astype(np.int64).tolist()

    def rounded(values: np.ndarray, places: int) -> list[float]:
        return [round(x, places) for x in values.tolist()]

    columns = zip(
        strikes.tolist(),
        bid.tolist(),
        ask.tolist(),
        last.tolist(),
        rounded(mid, 4),
        sizes,
        volume.astype(np.int64).tolist(),
        open_interest.astype(np.int64).tolist(),
        rounded(iv[pick], 6),
        rounded(greeks.delta[pick], 6),
        rounded(greeks.gamma[pick], 6),
        rounded(greeks.theta[pick], 6),
        rounded(greeks.vega[pick], 6),
        rounded(greeks.rho[pick], 6),
        strict=True,
    )
    return [
        {
            "strike": k,
            "bid": b,
            "ask": a,
            "last": p,
            "mid": m,
            "bid_size": size,
            "ask_size": size,
            "volume": v,
            "open_interest": oi,
            "implied_volatility": sigma,
            "delta": delta,
            "gamma": gamma,
            "theta": theta,
            "vega": vega,
            "rho": rho,
        }
        for k, b, a, p, m, size, v, oi, sigma, delta, gamma, theta, vega, rho in columns
    ]


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
    ``vix_level(at)`` reading where the caller has it."""
    symbol = zero_dte_symbol(symbol)
    if not 1 <= strikes <= MAX_STRIKES:
        raise ValidationFailed({"strikes": [f"must lie in 1..{MAX_STRIKES}"]}, location="query")
    if expiration is not None and (
        expiration < at.session or not is_listed_expiry(symbol, expiration)
    ):
        raise ValidationFailed(
            {"expiration": [f"not a listed {symbol} expiry on or after {at.session}"]},
            location="query",
        )
    reference = chain_references([symbol], at.session)[symbol]
    return _chain(
        symbol,
        at,
        reference,
        expiration=expiration,
        strikes=strikes,
        vix=vix if vix is not None else vix_level(at),
        latest=last_price(symbol, at),
    )


def option_chains(
    symbols: Sequence[str],
    at: MarketTime,
    *,
    strikes: int = DEFAULT_STRIKES,
    vix: tuple[float | None, dt.datetime | None] | None = None,
    latest: dict[str, LastPrice] | None = None,
) -> dict[str, dict[str, Any]]:
    """The 0DTE chains of ``symbols`` at ``at`` (as :func:`option_chain` serves each), with
    their reference data read once for all of them. ``vix`` and ``latest`` (each ticker's
    ``last_price(symbol, at)``): what the caller has already read (a signal cycle holds
    the VIX and the session's minutes)."""
    symbols = [zero_dte_symbol(symbol) for symbol in symbols]
    if not 1 <= strikes <= MAX_STRIKES:
        raise ValidationFailed({"strikes": [f"must lie in 1..{MAX_STRIKES}"]}, location="query")
    references = chain_references(symbols, at.session)
    vix = vix if vix is not None else vix_level(at)
    latest = latest or {}
    return {
        symbol: _chain(
            symbol,
            at,
            references[symbol],
            expiration=None,
            strikes=strikes,
            vix=vix,
            latest=latest.get(symbol) or last_price(symbol, at),
        )
        for symbol in symbols
    }


def _chain(
    symbol: str,
    at: MarketTime,
    reference: ChainReference,
    *,
    expiration: dt.date | None,
    strikes: int,
    vix: tuple[float | None, dt.datetime | None],
    latest: LastPrice,
) -> dict[str, Any]:
    """One chain from what has been read: the expiry (``expiration``, else the 0DTE one),
    the ticker's reference data and last price, and the VIX reading."""
    warnings: list[str] = []
    if expiration is None:
        expiry = reference.expiry
        if reference.expiry_note:
            warnings.append(reference.expiry_note)
    else:
        expiry = expiration
    spot = float(latest.price) if latest.price is not None else None
    level, _ = vix
    base = {
        "symbol": symbol,
        "underlying_price": spot,
        "expiration": expiry,
        "time_to_expiration": None,
        "minutes_to_expiration": None,
        "timestamp": latest.stamp,
        "vix_level": level,
        "source": "simulated",
        "calls": [],
        "puts": [],
        "market_status": at.status,
        "clock": at.clock,
        "session": at.session,
    }
    if spot is None or level is None or expiry is None:
        reasons = [*latest.warnings, *warnings]
        if level is None:
            reasons.append("no VIX level stored: no implied volatility")
        return {**base, "warnings": reasons}
    # The valuation moment: the clock's time while open, the session's close after it.
    moment = min(at.now, calendar.session_close_utc(at.session))
    minutes = calendar.minutes_to_expiry(moment, expiry)
    t = float(years_from_minutes(minutes))
    rate, _ = risk_free_rate(at.session)
    q = reference.dividend_yield
    atm = level / 100.0 * reference.relative_volatility
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
        vix=level,
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
