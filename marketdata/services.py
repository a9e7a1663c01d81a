"""Writes of market data: reference data, daily bars, quotes, option marks, corporate actions.

Every write is an idempotent upsert on the natural key (symbol; symbol + date; symbol + type
+ ex-date), so running a service twice leaves the state of running it once, on PostgreSQL
and SQLite alike. Providers return plain data (``marketdata.providers.base``); this module
turns it into rows.

Units: prices are dollars per share (per option share for options), stored as ``Decimal``
rounded to 4 places (the precision of the shipped history) in 6-place columns; volumes are
shares (contracts for options); timestamps are aware UTC.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
from django.conf import settings
from django.db import transaction
from django.db.models import F, Max, Value
from django.db.models.functions import Round
from django.utils import timezone

from marketdata import calendar, expiries
from marketdata.chains import DEFAULT_STRIKES, option_chains
from marketdata.clock import CLOCK_LIVE, MarketTime
from marketdata.models import (
    AssetClass,
    AssetType,
    ChainSnapshot,
    CorporateAction,
    CorporateActionType,
    ListedExpiry,
    MinuteBar,
    PriceBar,
    Quote,
    Security,
)
from marketdata.occ import InvalidOptionSymbol, OptionContract, looks_like_option, parse_occ
from marketdata.providers.base import MarketDataProvider, Profile, ProviderError, QuoteData
from marketdata.providers.csv_source import CSVFormatError, read_history_csv
from marketdata.providers.failover import ProviderNotConfigured, build_provider
from marketdata.selectors import factor_etf_symbols, normalize_symbol
from marketdata.signals import market_changed
from marketdata.tickers import INTRADAY_SYMBOLS, ZERO_DTE_TICKERS
from marketdata.universe import tracked_symbols
from risk.engine.conventions import OPTION_MULTIPLIER
from sigmasight.errors import DomainError, InvalidSymbol, ValidationFailed

logger = logging.getLogger(__name__)

_PRICE_PLACES = 4
_MICRO = Decimal("0.000001")
_BATCH = 2000
#: Sessions of option marks written for a live option that has none yet (~a year).
OPTION_MARK_SESSIONS = 260
_BAR_FIELDS = ["open", "high", "low", "close", "adj_close", "volume", "source", "updated_at"]
_QUOTE_FIELDS = [
    "bid",
    "ask",
    "bid_size",
    "ask_size",
    "last",
    "volume",
    "implied_volatility",
    "timestamp",
    "source",
]
_SECURITY_FIELDS = [
    "name",
    "asset_type",
    "sector",
    "industry",
    "exchange",
    "currency",
    "isin",
    "asset_class",
    "dividend_yield",
    "shares_outstanding",
    "eps_ttm",
    "duration",
    "proxy_symbol",
    "proxy_beta",
    "proxy_residual_vol",
    "proxy_reason",
    "source",
    "updated_at",
]
_PROXY_SYMBOL_MAX = Security._meta.get_field("proxy_symbol").max_length or 32
_SOURCE_MAX = Security._meta.get_field("source").max_length or 64


# --------------------------------------------------------------------------- providers


def _simulated(*, now: dt.datetime | None = None, today: dt.date | None = None) -> Any:
    """The simulated provider with the configured seed and rate (imported lazily: it pulls in
    numpy/scipy and the pricing engine)."""
    from marketdata.providers.simulated import SimulatedProvider

    return SimulatedProvider(
        seed=settings.SIMULATION_SEED, today=today, now=now, rate=settings.RISK_FREE_RATE
    )


def _fmp() -> MarketDataProvider:
    from marketdata.providers.fmp import FMPProvider

    return FMPProvider(settings.FMP_API_KEY)  # raises ProviderNotConfigured without a key


def _polygon() -> MarketDataProvider:
    from marketdata.providers.polygon import PolygonProvider

    return PolygonProvider(settings.POLYGON_API_KEY)


def _csv() -> MarketDataProvider:
    from marketdata.providers.csv_source import CSVProvider

    directory = getattr(settings, "MARKET_DATA_CSV_DIR", "")
    if not directory:
        raise ProviderNotConfigured("csv: MARKET_DATA_CSV_DIR is not set")
    return CSVProvider(directory)


PROVIDER_FACTORIES: dict[str, Callable[[], MarketDataProvider]] = {
    "simulated": _simulated,
    "fmp": _fmp,
    "polygon": _polygon,
    "csv": _csv,
}


def get_provider() -> MarketDataProvider:
    """The failover chain of ``settings.MARKET_DATA_PROVIDERS`` (in order); vendors without an
    API key are skipped."""
    return build_provider(list(settings.MARKET_DATA_PROVIDERS), factories=PROVIDER_FACTORIES)


def _with_dividends(provider: MarketDataProvider) -> Any:
    """The provider that states cash dividends (``dividends``): the provider itself or the
    first member of its failover chain, never a fallback (a chain led by a real vendor must
    not record the simulated provider's dividends next to the vendor's bars); else None."""
    members = getattr(provider, "providers", None)
    candidate = members[0] if members else provider
    return candidate if callable(getattr(candidate, "dividends", None)) else None


def _with_proxies(provider: MarketDataProvider) -> Any:
    """The provider (or failover member) that states proxies (``proxy_for``), if any."""
    for candidate in (provider, *getattr(provider, "providers", ())):
        if callable(getattr(candidate, "proxy_for", None)):
            return candidate
    return None


# --------------------------------------------------------------------------- conversions


def _price(value: Any) -> Decimal | None:
    """A provider float as a stored price: rounded to 4 places, in a 6-place Decimal."""
    if value is None:
        return None
    number = float(value)
    if not math.isfinite(number):
        return None
    return Decimal(repr(round(number, _PRICE_PLACES))).quantize(_MICRO)


def _decimal(value: Any, places: int = 6) -> Decimal | None:
    if value is None:
        return None
    number = float(value)
    if not math.isfinite(number):
        return None
    return Decimal(repr(round(number, places)))


def _int(value: Any) -> int | None:
    if value is None:
        return None
    number = float(value)
    return round(number) if math.isfinite(number) else None


def _today() -> dt.date:
    return timezone.now().astimezone(calendar.EASTERN).date()


def _last_completed_session() -> dt.date:
    return calendar.last_completed_session(timezone.now())


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


# --------------------------------------------------------------------------- reference data


def _proxy_fields(symbol: str, profile: Profile, provider: MarketDataProvider) -> dict[str, Any]:
    """Proxy symbol, beta, residual volatility (annualized fraction) and reason, where the
    history is a stated proxy. A basket too long for the symbol column is stored as
    ``basket`` with its weights spelled out in the reason."""
    if not profile.proxy_symbol:
        return {
            "proxy_symbol": None,
            "proxy_beta": None,
            "proxy_residual_vol": None,
            "proxy_reason": "",
        }
    stated = None
    source = _with_proxies(provider)
    if source is not None:
        stated = source.proxy_for(symbol)
    label = profile.proxy_symbol
    reason = ""
    beta = residual = None
    if stated:
        beta = stated.get("beta")
        residual = stated.get("residual_vol")
        reason = str(stated.get("reason") or "")
        members = stated.get("symbol")
        if isinstance(members, dict):
            weights = ", ".join(f"{k} {float(w):.1%}" for k, w in members.items())
            reason = f"Basket: {weights}. {reason}".strip()
    if len(label) > _PROXY_SYMBOL_MAX:
        label = "basket"
    return {
        "proxy_symbol": label,
        "proxy_beta": float(beta) if beta is not None else None,
        "proxy_residual_vol": float(residual) if residual is not None else None,
        "proxy_reason": reason,
    }


def _security_from_profile(symbol: str, profile: Profile, provider: MarketDataProvider) -> Security:
    return Security(
        symbol=symbol,
        name=(profile.name or "")[:200],
        asset_type=profile.asset_type if profile.asset_type in AssetType.values else "stock",
        sector=profile.sector,
        industry=(profile.industry or None) and profile.industry[:128],
        exchange=profile.exchange,
        currency=(profile.currency or "USD")[:3],
        isin=(profile.isin or None) and profile.isin[:12],
        asset_class=profile.asset_class if profile.asset_class in AssetClass.values else None,
        dividend_yield=_decimal(profile.dividend_yield),
        shares_outstanding=_decimal(profile.shares_outstanding, 0),
        eps_ttm=_decimal(profile.eps_ttm, 4),
        duration=_decimal(profile.duration, 3),
        source=(profile.source or getattr(provider, "name", ""))[:_SOURCE_MAX],
        **_proxy_fields(symbol, profile, provider),
    )


def securities_upsert(*, provider: MarketDataProvider, symbols: Iterable[str]) -> int:
    """Create or update the reference data of ``symbols`` from ``provider.profile``, proxy
    fields included. OCC option symbols go through :func:`option_security_ensure`. Symbols
    the provider does not know are skipped. The provider is asked before the one write
    transaction, so a slow vendor never holds it open. Returns the securities written."""
    rows: list[Security] = []
    options: list[str] = []
    for symbol in dict.fromkeys(normalize_symbol(s) for s in symbols):
        if looks_like_option(symbol):
            options.append(symbol)
            continue
        profile = provider.profile(symbol)
        if profile is None:
            logger.info("securities_upsert: no profile for %s", symbol)
            continue
        rows.append(_security_from_profile(symbol, profile, provider))
    with transaction.atomic():
        if rows:
            Security.objects.bulk_create(
                rows,
                update_conflicts=True,
                unique_fields=["symbol"],
                update_fields=_SECURITY_FIELDS,
            )
        for option in options:
            option_security_ensure(symbol=option, provider=provider)
    return len(rows) + len(options)


def equity_security_ensure(*, symbol: str) -> Security | None:
    """The stored stock, ETF, fund or index ``symbol`` names, fetched from the provider
    chain when unknown; None when nobody knows it (or it names an option). A provider
    failure leaves the symbol unknown: nothing vouches for it."""
    security = Security.objects.filter(symbol=symbol).first()
    if security is None:
        try:
            securities_upsert(provider=get_provider(), symbols=[symbol])
        except (ProviderError, ProviderNotConfigured, DomainError, ValueError) as exc:
            logger.info("equity_security_ensure: %s unknown to the providers: %s", symbol, exc)
        security = Security.objects.filter(symbol=symbol).first()
    if security is None or security.asset_type == AssetType.OPTION:
        return None
    return security


def option_security_ensure(*, symbol: str, provider: MarketDataProvider | None = None) -> Security:
    """The stored option for an OCC symbol (any accepted spelling), created when missing:
    canonical symbol, underlying (created from the provider's profile when missing),
    multiplier 100, right, strike, expiry, and the underlying's sector and industry.
    Raises :class:`InvalidSymbol` for a malformed symbol or an unknown underlying."""
    try:
        contract = parse_occ(symbol)
    except InvalidOptionSymbol as exc:
        raise InvalidSymbol(str(exc), details={"symbols": [str(symbol)[:40]]}) from exc
    existing = Security.objects.filter(symbol=contract.occ_symbol).first()
    if existing is not None:
        return existing
    underlying_symbol = normalize_symbol(contract.underlying)
    underlying = Security.objects.filter(symbol=underlying_symbol).first()
    if underlying is None:
        provider = provider or get_provider()
        securities_upsert(provider=provider, symbols=[underlying_symbol])
        underlying = Security.objects.filter(symbol=underlying_symbol).first()
    if underlying is None or underlying.asset_type == AssetType.OPTION:
        raise InvalidSymbol(
            f"Unknown option underlying {contract.underlying}",
            details={"symbols": [contract.occ_symbol], "underlying": contract.underlying},
        )
    right = "Call" if contract.is_call else "Put"
    security, _ = Security.objects.get_or_create(
        symbol=contract.occ_symbol,
        defaults={
            "name": f"{underlying.symbol} {contract.expiry.isoformat()} {contract.strike} {right}",
            "asset_type": AssetType.OPTION,
            "underlying": underlying,
            "option_right": contract.right,
            "strike": contract.strike,
            "expiry": contract.expiry,
            "multiplier": OPTION_MULTIPLIER,
            "sector": underlying.sector,
            "industry": underlying.industry,
            "currency": underlying.currency,
            "source": "occ",
        },
    )
    return security


def _ensure_known(symbols: Iterable[str], provider: MarketDataProvider) -> set[str]:
    """The symbols that are (or now are) stored securities; unknown ones are created from
    the provider's profile when it has one."""
    wanted = set(symbols)
    known = set(Security.objects.filter(symbol__in=wanted).values_list("symbol", flat=True))
    missing = wanted - known
    if missing:
        securities_upsert(provider=provider, symbols=sorted(missing))
        known = set(Security.objects.filter(symbol__in=wanted).values_list("symbol", flat=True))
    return known


# --------------------------------------------------------------------------- bars and quotes


def _bars_from_frame(frame: pd.DataFrame, *, known: set[str] | None = None) -> list[PriceBar]:
    """PriceBar rows from a HISTORY_COLUMNS frame, one per (symbol, date) (the last wins);
    rows without a positive close are dropped, a missing adjusted close is the close."""
    rows: dict[tuple[str, dt.date], PriceBar] = {}
    now = timezone.now()
    for symbol, day, o, h, low, c, adj, volume, source in frame[
        ["symbol", "date", "open", "high", "low", "close", "adj_close", "volume", "source"]
    ].itertuples(index=False, name=None):
        if known is not None and symbol not in known:
            continue
        close = _price(c)
        if close is None or close <= 0:
            continue
        if isinstance(day, pd.Timestamp):
            day = day.date()
        rows[(symbol, day)] = PriceBar(
            security_id=symbol,
            date=day,
            open=_price(o),
            high=_price(h),
            low=_price(low),
            close=close,
            adj_close=_price(adj) or close,
            volume=_int(volume),
            source=str(source)[:64],
            updated_at=now,
        )
    return list(rows.values())


def _upsert_bars(bars: Sequence[PriceBar]) -> int:
    if bars:
        PriceBar.objects.bulk_create(
            bars,
            batch_size=_BATCH,
            update_conflicts=True,
            unique_fields=["security", "date"],
            update_fields=_BAR_FIELDS,
        )
        market_changed()  # bulk writes send no signal
    return len(bars)


def history_ingest(
    *, provider: MarketDataProvider, symbols: Iterable[str], start: dt.date, end: dt.date
) -> int:
    """Upsert the provider's daily bars of ``symbols`` from ``start`` to ``end`` inclusive
    (creating missing securities from the provider's profile), in one transaction after the
    provider has answered. Returns the bars written."""
    wanted = list(dict.fromkeys(normalize_symbol(s) for s in symbols))
    if not wanted or start > end:
        return 0
    frame = provider.history(wanted, start, end)
    if frame.empty:
        return 0
    known = _ensure_known(set(frame["symbol"]), provider)
    with transaction.atomic():
        return _upsert_bars(_bars_from_frame(frame, known=known))


def _quote_row(quote: QuoteData) -> Quote:
    return Quote(
        security_id=quote.symbol,
        bid=_price(quote.bid),
        ask=_price(quote.ask),
        bid_size=_int(quote.bid_size),
        ask_size=_int(quote.ask_size),
        last=_price(quote.last),
        volume=_int(quote.volume),
        implied_volatility=(
            float(quote.implied_volatility)
            if quote.implied_volatility is not None and math.isfinite(quote.implied_volatility)
            else None
        ),
        timestamp=quote.timestamp,
        source=str(quote.source)[:64],
    )


def _refresh_quotes(provider: MarketDataProvider, symbols: Iterable[str]) -> set[str]:
    """Upsert the quotes the provider gives for stored ``symbols``; the symbols quoted."""
    wanted = list(dict.fromkeys(normalize_symbol(s) for s in symbols))
    if not wanted:
        return set()
    known = set(Security.objects.filter(symbol__in=wanted).values_list("symbol", flat=True))
    quotes = [q for q in provider.quotes([s for s in wanted if s in known]) if q.symbol in known]
    rows = {q.symbol: _quote_row(q) for q in quotes}
    if rows:
        with transaction.atomic():
            Quote.objects.bulk_create(
                list(rows.values()),
                update_conflicts=True,
                unique_fields=["security"],
                update_fields=_QUOTE_FIELDS,
            )
            market_changed()  # bulk writes send no signal
    return set(rows)


def quotes_refresh(*, provider: MarketDataProvider, symbols: Iterable[str]) -> int:
    """Upsert the latest quote of each of ``symbols`` that is a stored security and that the
    provider quotes. Returns the quotes written."""
    return len(_refresh_quotes(provider, symbols))


def _live_provider(at: MarketTime) -> MarketDataProvider:
    """The provider chain quoting at ``at``: the simulated provider at that moment of its
    session (its intraday side), the vendors as they are (their quotes are live)."""
    factories = {
        **PROVIDER_FACTORIES,
        "simulated": lambda: _simulated(now=at.now, today=at.session),
    }
    return build_provider(list(settings.MARKET_DATA_PROVIDERS), factories=factories)


def live_quotes_refresh(at: MarketTime) -> int:
    """During an open session of the live clock, quote the tracked universe (every held
    symbol, the factor ETFs and benchmarks) at ``at``, so that prices, portfolio values and
    day changes move with the session instead of standing at the last close (the producer
    calls it each new minute). The replay clock replays a past session: its minutes are
    not today's prices, so it quotes nothing. Returns the quotes written."""
    if at.clock != CLOCK_LIVE or not at.is_open:
        return 0
    return quotes_refresh(provider=_live_provider(at), symbols=tracked_symbols())


def _mark_close(quote: QuoteData) -> float | None:
    """The mark of an option at a session's close: the quote's last (the model mid to the
    cent), else the quoted mid; None when both are 0 (a worthless far-out-of-the-money
    option has no positive mark, and bars need a positive close)."""
    if quote.last is not None and quote.last > 0:
        return float(quote.last)
    if quote.bid is not None and quote.ask is not None and quote.bid + quote.ask > 0:
        return 0.5 * (float(quote.bid) + float(quote.ask))
    return None


def option_marks_ingest(*, symbols: Iterable[str], sessions: Sequence[dt.date]) -> int:
    """Daily bars for option ``symbols`` (stored OCC securities): the close of each session is
    the simulated model quote at that session's close (source "simulated"), so options have a
    previous close for the day change and a history. Sessions after an option's expiry are
    skipped. Returns the bars written."""
    options = {
        s.symbol: s
        for s in Security.objects.filter(
            symbol__in=list(dict.fromkeys(symbols)), asset_type=AssetType.OPTION
        )
    }
    if not options or not sessions:
        return 0
    ordered = sorted(set(sessions))
    # One ``today`` for every session: the simulated universe is generated once and cached,
    # and a past session's values never depend on ``today``.
    horizon = max(ordered[-1], _last_completed_session())
    now = timezone.now()
    bars: list[PriceBar] = []
    for session in ordered:
        close_at = calendar.session_close_utc(session)
        if close_at > now:
            continue
        live = [s for s, sec in options.items() if sec.expiry is None or sec.expiry >= session]
        if not live:
            continue
        provider = _simulated(today=horizon, now=close_at)
        for quote in provider.quotes(live):
            close = _price(_mark_close(quote))
            if close is None or close <= 0:
                continue
            bars.append(
                PriceBar(
                    security_id=quote.symbol,
                    date=session,
                    close=close,
                    adj_close=close,
                    volume=_int(quote.volume),
                    source="simulated",
                    updated_at=now,
                )
            )
    with transaction.atomic():
        return _upsert_bars(bars)


# --------------------------------------------------------------------------- seed and update


def _split_options(symbols: Iterable[str]) -> tuple[list[str], list[str]]:
    equities: list[str] = []
    options: list[str] = []
    for symbol in dict.fromkeys(normalize_symbol(s) for s in symbols):
        (options if looks_like_option(symbol) else equities).append(symbol)
    return equities, options


def _factor_etfs() -> list[str]:
    return factor_etf_symbols()


def market_data_seed(
    *,
    symbols: Iterable[str],
    start: dt.date | None = None,
    end: dt.date | None = None,
    include_factor_etfs: bool = True,
) -> dict[str, Any]:
    """Everything the demo needs for ``symbols`` (stocks, ETFs, funds, indices and OCC
    options): reference data, daily bars from ``start`` (default: today −
    ``MARKET_DATA_HISTORY_YEARS`` years) to ``end`` (default: the last completed NYSE
    session), real where the shipped history has them and simulated after, quotes, and
    option marks for the last ~260 sessions of options not yet expired. Option underlyings
    and (by default) the active factor ETFs are included. Idempotent; one transaction."""
    started = time.perf_counter()
    end = end or _last_completed_session()
    start = start or _years_before(_today(), settings.MARKET_DATA_HISTORY_YEARS)
    equities, options = _split_options(symbols)
    for option in options:
        underlying = normalize_symbol(parse_occ(option).underlying)
        if underlying not in equities:
            equities.append(underlying)
    if include_factor_etfs:
        equities.extend(s for s in _factor_etfs() if s not in equities)
    provider = get_provider()
    with transaction.atomic():
        securities = securities_upsert(provider=provider, symbols=equities)
        for option in options:
            option_security_ensure(symbol=option, provider=provider)
        bars = history_ingest(provider=provider, symbols=equities, start=start, end=end)
        dividends = dividends_ingest(provider=provider, symbols=equities, start=start, end=end)
        quotes = quotes_refresh(provider=provider, symbols=[*equities, *options])
        live = [o for o in options if parse_occ(o).expiry >= _today()]
        sessions = calendar.sessions_between(start, end)[-OPTION_MARK_SESSIONS:]
        marks = option_marks_ingest(symbols=live, sessions=sessions)
    return {
        "securities": securities + len(options),
        "bars": bars,
        "dividends": len(dividends),
        "quotes": quotes,
        "option_marks": marks,
        "start": start,
        "end": end,
        "seconds": round(time.perf_counter() - started, 2),
    }


def _update_universe(symbols: Iterable[str] | None) -> list[str]:
    """``symbols``, normalized; by default the tracked universe (``marketdata.universe``:
    held symbols, factor ETFs, benchmarks). Option underlyings are added by the caller."""
    if symbols is not None:
        return list(dict.fromkeys(normalize_symbol(s) for s in symbols))
    return tracked_symbols()


def market_data_update(*, symbols: Iterable[str] | None = None) -> dict[str, Any]:
    """The daily batch: bring every held symbol (open positions), the factor ETFs and
    SPY/QQQ/IWM (or just ``symbols``) up to the last completed NYSE session: missing bars,
    quotes, and option marks. A provider failure fails the symbols it concerned, not the
    run. Returns counts for a BatchJob: processed, successful, failed, errors per symbol,
    and the bars, quotes and option marks written."""
    started = time.perf_counter()
    through = _last_completed_session()
    wanted = _update_universe(symbols)
    equities, options = _split_options(wanted)
    option_secs = {
        s.symbol: s
        for s in Security.objects.filter(symbol__in=options).select_related("underlying")
    }
    for security in option_secs.values():
        if security.underlying_id and security.underlying_id not in equities:
            equities.append(security.underlying_id)
    errors: dict[str, str] = {}
    for option in options:
        if option not in option_secs:
            errors[option] = "not a stored option security"

    provider = get_provider()
    last_bar = dict(
        PriceBar.objects.filter(security_id__in=[*equities, *option_secs])
        .values("security_id")
        .annotate(last=Max("date"))
        .values_list("security_id", "last")
    )
    default_start = _years_before(_today(), settings.MARKET_DATA_HISTORY_YEARS)
    groups: dict[dt.date, list[str]] = defaultdict(list)
    for symbol in equities:
        last = last_bar.get(symbol)
        groups[last + dt.timedelta(days=1) if last else default_start].append(symbol)

    bars = dividends = 0
    for start, group in sorted(groups.items()):
        if not calendar.sessions_between(start, through):
            continue  # up to date
        try:
            frame = provider.history(group, start, through)
            known = _ensure_known(set(frame["symbol"]), provider) if not frame.empty else set()
            with transaction.atomic():
                bars += _upsert_bars(_bars_from_frame(frame, known=known))
                paid = dividends_ingest(
                    provider=provider, symbols=sorted(known), start=start, end=through
                )
                dividends += len(paid)
                _readjust_stored_bars(paid, last_bar, frame)
        except (ProviderError, ValueError) as exc:
            logger.warning("market_data_update: history failed for %s: %s", group, exc)
            errors.update({s: f"history: {exc}" for s in group})
            continue
        returned = set(frame["symbol"]) if not frame.empty else set()
        for symbol in group:
            if symbol not in returned:
                errors.setdefault(symbol, "history: no bars from any provider")

    quotes = 0
    quotable = [s for s in [*equities, *option_secs] if s not in errors]
    try:
        quoted = _refresh_quotes(provider, quotable)
        quotes = len(quoted)
        for symbol in quotable:
            if symbol not in quoted:
                errors.setdefault(symbol, "quotes: no quote from any provider")
    except (ProviderError, ValueError) as exc:
        logger.warning("market_data_update: quotes failed: %s", exc)
        errors.update({s: f"quotes: {exc}" for s in quotable})

    marks = 0
    recent = calendar.sessions_between(through - dt.timedelta(days=400), through)
    for option, security in option_secs.items():
        last = last_bar.get(option)
        sessions = [d for d in recent[-OPTION_MARK_SESSIONS:] if last is None or d > last]
        if security.expiry is not None:
            sessions = [d for d in sessions if d <= security.expiry]
        if sessions:
            try:
                marks += option_marks_ingest(symbols=[option], sessions=sessions)
            except (ProviderError, ValueError) as exc:
                errors[option] = f"option marks: {exc}"

    processed = [*equities, *options]
    failed = [s for s in processed if s in errors]
    return {
        "processed": len(processed),
        "successful": len(processed) - len(failed),
        "failed": len(failed),
        "errors": {s: errors[s] for s in failed},
        "bars": bars,
        "dividends": dividends,
        "quotes": quotes,
        "option_marks": marks,
        "through": through,
        "seconds": round(time.perf_counter() - started, 2),
    }


# --------------------------------------------------------------------------- corporate actions


def dividends_ingest(
    *, provider: MarketDataProvider, symbols: Iterable[str], start: dt.date, end: dt.date
) -> list[tuple[str, dt.date, Decimal]]:
    """Record the cash dividends the provider states (the simulated provider's, labelled
    ``simulated``) with ex-dates from ``start`` to ``end`` for the stored ``symbols``, as
    DIVIDEND corporate actions (an upsert on symbol + type + ex-date). Returns the
    (symbol, ex_date, amount per share) not recorded before. Call inside the caller's
    transaction; a provider without dividends records nothing."""
    source = _with_dividends(provider)
    wanted = [s for s in dict.fromkeys(symbols) if not looks_like_option(s)]
    if source is None or not wanted:
        return []
    stated = source.dividends(wanted, start, end)
    known = set(Security.objects.filter(symbol__in=wanted).values_list("symbol", flat=True))
    rows = {
        (d["symbol"], d["ex_date"]): CorporateAction(
            security_id=d["symbol"],
            action_type=CorporateActionType.DIVIDEND,
            ex_date=d["ex_date"],
            amount=_decimal(d["amount"], _PRICE_PLACES),
            source=str(d.get("source") or getattr(source, "name", ""))[:64],
        )
        for d in stated
        if d["symbol"] in known
    }
    if not rows:
        return []
    before = set(
        CorporateAction.objects.filter(
            security_id__in={k[0] for k in rows},
            action_type=CorporateActionType.DIVIDEND,
            ex_date__gte=start,
            ex_date__lte=end,
        ).values_list("security_id", "ex_date")
    )
    CorporateAction.objects.bulk_create(
        list(rows.values()),
        update_conflicts=True,
        unique_fields=["security", "action_type", "ex_date"],
        update_fields=["amount", "source"],
    )
    return [(k[0], k[1], r.amount) for k, r in rows.items() if k not in before and r.amount]


def _readjust_stored_bars(
    new_dividends: Sequence[tuple[str, dt.date, Decimal]],
    stored_through: dict[str, dt.date],
    frame: pd.DataFrame,
) -> int:
    """Backward-adjust the stored simulated bars for dividends that went ex after them: the
    bars of an update come adjusted as of its last session, the stored ones as of an earlier
    one, so each new ex-date t multiplies the stored adj_close (dates before t) by
    f = 1 − D / close(session before t) — the provider's own factor (CRSP/Yahoo backward
    adjustment), so the stored series stays one series. Real rows keep their shipped
    adj_close, as the provider's do. Returns the bars updated."""
    factors: dict[str, Decimal] = {}
    closes = {
        (sym, day.date() if isinstance(day, pd.Timestamp) else day): close
        for sym, day, close in frame[["symbol", "date", "close"]].itertuples(index=False)
    }
    for symbol, ex_date, amount in new_dividends:
        last = stored_through.get(symbol)
        if last is None or ex_date <= last:
            continue
        before = calendar.previous_session(ex_date)
        prev = _price(closes.get((symbol, before)))
        if prev is None:
            stored = PriceBar.objects.filter(security_id=symbol, date=before).first()
            prev = stored.close if stored is not None else None
        if not prev:
            continue
        factors[symbol] = factors.get(symbol, Decimal(1)) * (1 - Decimal(amount) / prev)
    updated = 0
    for symbol, factor in factors.items():
        updated += PriceBar.objects.filter(
            security_id=symbol, date__lte=stored_through[symbol], source="simulated"
        ).update(adj_close=Round(F("adj_close") * Value(factor), _PRICE_PLACES))
    if updated:
        market_changed()
    return updated


@transaction.atomic
def corporate_action_record(
    *,
    symbol: str,
    action_type: str,
    ex_date: dt.date,
    ratio: Decimal | None = None,
    amount: Decimal | None = None,
    source: str,
) -> CorporateAction:
    """Record a split (``ratio`` new shares per old share: 2 for a 2:1 split) or a cash
    dividend (``amount`` dollars per share); recording it again updates it in place.
    Applying it to positions is the portfolios app's job."""
    symbol = normalize_symbol(symbol)
    if action_type not in CorporateActionType.values:
        raise ValidationFailed({"action_type": [f"Use one of {CorporateActionType.values}."]})
    if action_type == CorporateActionType.SPLIT and (ratio is None or Decimal(ratio) <= 0):
        raise ValidationFailed({"ratio": ["A split needs a positive ratio."]})
    if action_type == CorporateActionType.DIVIDEND and (amount is None or Decimal(amount) < 0):
        raise ValidationFailed({"amount": ["A dividend needs an amount of at least 0."]})
    if not Security.objects.filter(symbol=symbol).exists():
        raise InvalidSymbol(f"Unknown symbol {symbol}", details={"symbols": [symbol]})
    action, _ = CorporateAction.objects.update_or_create(
        security_id=symbol,
        action_type=action_type,
        ex_date=ex_date,
        defaults={
            "ratio": Decimal(ratio) if ratio is not None else None,
            "amount": Decimal(amount) if amount is not None else None,
            "source": source[:64],
        },
    )
    return action


# --------------------------------------------------------------------------- CSV import


def _csv_securities(symbols: Iterable[str], asset_type: str) -> None:
    """Create a minimal security for each unknown symbol of an imported file."""
    symbols = list(symbols)
    known = set(Security.objects.filter(symbol__in=symbols).values_list("symbol", flat=True))
    for symbol in symbols:
        if symbol in known:
            continue
        if looks_like_option(symbol):
            option_security_ensure(symbol=symbol)
        else:
            Security.objects.create(symbol=symbol, asset_type=asset_type, source="csv")


def import_csv_history(
    *,
    paths: Sequence[str | Path],
    symbol: str | None = None,
    asset_type: str = "stock",
    progress: Callable[[str, dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Import daily bars from CSV files (layouts of ``providers.csv_source``). Each file is
    all or nothing: it is read and checked in full before its one transaction, so a bad file
    (reported with its line) writes nothing. Unknown symbols become securities of
    ``asset_type``. ``progress(path, result)`` is called after each file. Returns totals and
    the errors per file."""
    if asset_type not in AssetType.values:
        raise ValidationFailed({"asset_type": [f"Use one of {AssetType.values}."]})
    summary: dict[str, Any] = {
        "files": len(paths),
        "imported_files": 0,
        "failed_files": 0,
        "bars": 0,
        "symbols": [],
        "errors": [],
    }
    seen: list[str] = []
    for path in paths:
        name = str(path)
        try:
            frame = read_history_csv(path, symbol=symbol)
            if not frame.empty:
                frame["symbol"] = [normalize_symbol(s) for s in frame["symbol"]]
            symbols = sorted(set(frame["symbol"])) if not frame.empty else []
            with transaction.atomic():
                _csv_securities(symbols, asset_type)
                written = _upsert_bars(_bars_from_frame(frame))
        except CSVFormatError as exc:
            result: dict[str, Any] = {"ok": False, "line": exc.line, "error": str(exc)}
        except (OSError, UnicodeDecodeError, csv.Error, InvalidSymbol) as exc:
            message = exc.message if isinstance(exc, InvalidSymbol) else str(exc)
            result = {"ok": False, "line": None, "error": f"{name}: {message}"}
        else:
            result = {"ok": True, "bars": written, "symbols": symbols}
            summary["imported_files"] += 1
            summary["bars"] += written
            seen.extend(s for s in symbols if s not in seen)
        if not result["ok"]:
            summary["failed_files"] += 1
            summary["errors"].append(
                {"file": name, "line": result["line"], "error": result["error"]}
            )
        if progress is not None:
            progress(name, result)
    summary["symbols"] = seen
    return summary


# ---- Listed expiries -------------------------------------------------------------------------

#: Asset types whose symbols are option roots (options on mutual funds do not exist).
OPTIONABLE_TYPES = (AssetType.STOCK, AssetType.ETF, AssetType.INDEX)


def listed_expiries_seed(
    *,
    roots: Iterable[str] | None = None,
    start: dt.date = expiries.SEED_START,
    end: dt.date | None = None,
) -> int:
    """Store the seed rule's expiries (``marketdata.expiries``) for ``roots`` (default:
    every optionable root in the Security table) from ``start`` to ``end`` (default: three
    years ahead). Idempotent: existing rows, edited ones included, are left as they are
    (a rule date deleted in the admin comes back only if this is run again).
    Returns the number of rows added."""
    if roots is None:
        roots = Security.objects.filter(asset_type__in=OPTIONABLE_TYPES).values_list(
            "symbol", flat=True
        )
    end = end or _today() + dt.timedelta(days=round(365.25 * calendar.YEARS_AHEAD))
    added = 0
    for key in sorted({expiries.normalize_root(root) for root in roots}):
        rows = [
            ListedExpiry(root=key, expiry=day, kind=kind, source="rule")
            for day, kind in expiries.listed_by_rule(key, start, end).items()
        ]
        with transaction.atomic():
            before = ListedExpiry.objects.filter(root=key).count()
            ListedExpiry.objects.bulk_create(rows, ignore_conflicts=True, batch_size=2000)
            added += ListedExpiry.objects.filter(root=key).count() - before
    return added


# --------------------------------------------------------------------------- intraday


@lru_cache(maxsize=8)
def _session_minutes(seed: int, session: dt.date, symbols: tuple[str, ...]) -> dict[str, Any]:
    """The simulated provider's minute bars of a whole session (computed once a session:
    they are fixed by seed, symbol and session)."""
    return dict(_simulated(today=session).minute_bars(list(symbols), session))


def session_minutes(*, session: dt.date, symbols: Sequence[str]) -> dict[str, Any]:
    """Every minute of ``session`` for ``symbols`` (``SessionMinutes`` by symbol), from the
    intraday process of the simulated provider (the stored minutes come through the
    provider chain: :func:`minute_bars_store`)."""
    return _session_minutes(int(settings.SIMULATION_SEED), session, tuple(sorted(set(symbols))))


@dataclass(frozen=True)
class _Minute:
    """One completed minute of one symbol, as a provider gave it (prices per share, index
    points for ^VIX; ``timestamp`` the minute's start, aware UTC)."""

    timestamp: dt.datetime
    open: Any
    high: Any
    low: Any
    close: Any
    volume: Any
    source: str


def _members(provider: MarketDataProvider) -> list[MarketDataProvider]:
    members = getattr(provider, "providers", None)
    return list(members) if members else [provider]


def _simulated_minutes(
    session: dt.date, symbols: Sequence[str], end: dt.datetime
) -> dict[str, list[_Minute]]:
    out: dict[str, list[_Minute]] = {}
    for symbol, bars in session_minutes(session=session, symbols=symbols).items():
        out[symbol] = [
            _Minute(
                stamp,
                bars.open[m],
                bars.high[m],
                bars.low[m],
                bars.close[m],
                bars.volume[m],
                "simulated",
            )
            for m, stamp in enumerate(bars.timestamps)
            if stamp < end
        ]
    return out


def _vendor_minutes(
    provider: MarketDataProvider, session: dt.date, symbols: Sequence[str], end: dt.datetime
) -> dict[str, list[_Minute]]:
    """A vendor's minute aggregates (``minute_bars``, the ``MINUTE_COLUMNS`` frame) of the
    minutes completed by ``end``: the minute still trading is a partial aggregate."""
    frame = provider.minute_bars(list(symbols), session)  # type: ignore[attr-defined]
    out: dict[str, list[_Minute]] = defaultdict(list)
    if frame is None or frame.empty:
        return {}
    for row in frame.sort_values(["symbol", "timestamp"]).itertuples(index=False):
        stamp = pd.Timestamp(row.timestamp).to_pydatetime()
        if stamp < end and row.close is not None and math.isfinite(float(row.close)):
            out[str(row.symbol)].append(
                _Minute(stamp, row.open, row.high, row.low, row.close, row.volume, provider.name)
            )
    return dict(out)


def _provider_minutes(
    session: dt.date, symbols: Sequence[str], end: dt.datetime
) -> dict[str, list[_Minute]]:
    """The completed minutes of ``symbols`` from the provider chain (``MARKET_DATA_PROVIDERS``
    in order), each symbol from the first member that has it: a vendor with an intraday
    side (``minute_bars``) or the simulated intraday process. A member that fails is logged
    and the next one asked, as for daily bars."""
    wanted, out = list(symbols), {}
    for member in _members(get_provider()):
        if not wanted:
            break
        try:
            if member.name == "simulated":
                got = _simulated_minutes(session, wanted, end)
            elif callable(getattr(member, "minute_bars", None)):
                got = _vendor_minutes(member, session, wanted, end)
            else:
                continue
        except ProviderError as exc:
            logger.warning("minute bars: %s failed for %s: %s", member.name, wanted, exc)
            continue
        out.update({s: bars for s, bars in got.items() if s in wanted and bars})
        wanted = [s for s in wanted if s not in out]
    return out


def minute_bars_store(
    *, session: dt.date, through_minute: int, symbols: Sequence[str] = INTRADAY_SYMBOLS
) -> int:
    """Store the minutes [0, ``through_minute``) of ``session`` for ``symbols`` that are not
    stored yet, from the provider chain (:func:`_provider_minutes`). Idempotent: a restarted
    producer fills what it missed and rewrites nothing, and where every symbol already has
    the last of those minutes no provider is asked (the producer calls it every tick).
    Returns the bars written."""
    if through_minute <= 0:
        return 0
    opened = calendar.session_open_utc(session)
    end = min(opened + dt.timedelta(minutes=through_minute), calendar.session_close_utc(session))
    stored = dict(
        MinuteBar.objects.filter(session=session, security_id__in=list(symbols))
        .values("security_id")
        .annotate(last=Max("timestamp"))
        .values_list("security_id", "last")
    )
    last_due = end - dt.timedelta(minutes=1)
    behind = [s for s in symbols if stored.get(s) is None or stored[s] < last_due]
    if not behind:
        return 0
    minutes = _provider_minutes(session, behind, end)
    known = set(Security.objects.filter(symbol__in=list(minutes)).values_list("symbol", flat=True))
    missing = [s for s in minutes if s not in known]
    if missing:
        securities_upsert(provider=get_provider(), symbols=missing)
    rows: list[MinuteBar] = []
    for symbol, bars in minutes.items():
        last = stored.get(symbol)
        for bar in bars:
            if last is not None and bar.timestamp <= last:
                continue
            volume = None if bar.volume is None else float(bar.volume)
            rows.append(
                MinuteBar(
                    security_id=symbol,
                    session=session,
                    timestamp=bar.timestamp,
                    open=_price(bar.open),
                    high=_price(bar.high),
                    low=_price(bar.low),
                    close=_price(bar.close),
                    volume=int(volume) if volume is not None and math.isfinite(volume) else None,
                    source=bar.source[:64],
                )
            )
    if rows:
        with transaction.atomic():
            MinuteBar.objects.bulk_create(
                rows,
                batch_size=_BATCH,
                update_conflicts=True,
                unique_fields=["security", "timestamp"],
                update_fields=["open", "high", "low", "close", "volume", "source"],
            )
    return len(rows)


def minute_history_backfill(*, session: dt.date, sessions: int) -> int:
    """Store the whole sessions of the ``sessions`` sessions before ``session`` that are not
    stored yet (idempotent), so that the figures that look back across sessions (relative
    volume by the same minute, the 180-bar correlations at the open) have their history.
    Returns the bars written."""
    written = 0
    day = session
    for _ in range(max(0, sessions)):
        day = calendar.previous_session(day)
        length = int(
            (calendar.session_close_utc(day) - calendar.session_open_utc(day)).total_seconds() // 60
        )
        complete = MinuteBar.objects.filter(session=day, security_id__in=INTRADAY_SYMBOLS).count()
        if complete < length * len(INTRADAY_SYMBOLS):
            written += minute_bars_store(session=day, through_minute=length)
    return written


def _chain_quotes_store(underlying: str, chain: dict[str, Any]) -> int:
    """Quote the chain's contracts that are stored securities (those a book holds, such as
    a paper trade's legs) at the chain's bid, ask, last and sizes, so that a portfolio
    holding them is marked at the 0DTE market's prices. Returns the quotes written."""
    expiry = chain["expiration"]
    rows: dict[str, dict[str, Any]] = {}
    for right, side in (("C", chain["calls"]), ("P", chain["puts"])):
        for row in side:
            contract = OptionContract(
                underlying=underlying,
                expiry=expiry,
                right=right,
                strike=Decimal(str(row["strike"])),
            )
            rows[contract.occ_symbol] = row
    held = set(Security.objects.filter(symbol__in=list(rows)).values_list("symbol", flat=True))
    quotes = [
        QuoteData(
            symbol=symbol,
            bid=rows[symbol]["bid"],
            ask=rows[symbol]["ask"],
            bid_size=rows[symbol]["bid_size"],
            ask_size=rows[symbol]["ask_size"],
            last=rows[symbol]["last"],
            volume=rows[symbol]["volume"],
            timestamp=chain["timestamp"],
            source=str(chain["source"]),
            implied_volatility=rows[symbol]["implied_volatility"],
        )
        for symbol in sorted(held)
    ]
    if quotes:
        with transaction.atomic():
            Quote.objects.bulk_create(
                [_quote_row(q) for q in quotes],
                update_conflicts=True,
                unique_fields=["security"],
                update_fields=_QUOTE_FIELDS,
            )
            market_changed()
    return len(quotes)


def chain_snapshots_store(at: MarketTime) -> int:
    """Store each ticker's 0DTE chain as quoted at ``at`` (a minute on the
    ``CHAIN_SNAPSHOT_MINUTES`` grid of an open session; idempotent per minute), and quote
    its contracts that a book holds at the chain's prices. Returns the snapshots written."""
    if not at.is_open or at.minute == 0 or at.minute % settings.CHAIN_SNAPSHOT_MINUTES:
        return 0
    written = 0
    for symbol, chain in option_chains(ZERO_DTE_TICKERS, at, strikes=DEFAULT_STRIKES).items():
        if not chain["calls"] or chain["timestamp"] is None:
            continue  # no price or no VIX stored yet: nothing to snapshot
        _chain_quotes_store(symbol, chain)
        ChainSnapshot.objects.update_or_create(
            symbol=symbol,
            expiration=chain["expiration"],
            timestamp=chain["timestamp"],
            defaults={
                "session": at.session,
                "underlying_price": _price(chain["underlying_price"]),
                "vix_level": chain["vix_level"],
                "minutes_to_expiration": chain["minutes_to_expiration"],
                "calls": chain["calls"],
                "puts": chain["puts"],
                "source": chain["source"],
            },
        )
        written += 1
    return written


def chain_snapshots_prune(now: dt.datetime) -> int:
    """Delete the chain snapshots older than ``CHAIN_SNAPSHOT_RETENTION_DAYS``."""
    cutoff = now - dt.timedelta(days=settings.CHAIN_SNAPSHOT_RETENTION_DAYS)
    deleted, _ = ChainSnapshot.objects.filter(timestamp__lt=cutoff).delete()
    return deleted
