"""Reads of market data: plain data out, a constant number of queries whatever the number
of symbols.

Units: prices are ``Decimal`` dollars per share (per option share for options); returns and
volatilities are fractions (0.0953 = 9.53%); ``change_percent`` is a percent (0.34 = 0.34%).
Dates are NYSE session dates; datetimes are aware UTC.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import gzip
import itertools
import json
import operator
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.contrib.postgres.aggregates import ArrayAgg
from django.db import connections
from django.db.models import (
    Case,
    Count,
    DecimalField,
    Expression,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    IntegerField,
    Max,
    Min,
    Q,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Cast, Coalesce, RowNumber
from django.utils import timezone

from marketdata import calendar, expiries
from marketdata.clock import MarketTime, market_time
from marketdata.engine.correlation import (
    RegimeRule,
    classify_regime,
    divergence_zscore,
    log_returns,
    window_correlation,
)
from marketdata.gics import GICS_SECTORS
from marketdata.models import (
    AssetType,
    ChainSnapshot,
    CorporateAction,
    CorporateActionType,
    FactorDefinition,
    ListedExpiry,
    MinuteBar,
    PriceBar,
    Quote,
    Security,
)
from marketdata.occ import InvalidOptionSymbol, looks_like_option, parse_occ
from marketdata.tickers import INTRADAY_SPREAD_BPS, VIX_SYMBOL, ZERO_DTE_TICKERS
from risk.engine.performance import annualized_volatility
from sigmasight.db import any_of
from sigmasight.errors import InvalidSymbol

SEED_DIR = Path(__file__).resolve().parent / "seed_data"
#: Fama-French one-month T-bill rate by month (RISK-MODEL.md, "Risk-free rate").
RF_FILE = SEED_DIR / "risk_free_monthly.csv"
BOND_YIELDS_FILE = SEED_DIR / "bond_yields_monthly.csv"
REAL_HISTORY_FILE = SEED_DIR / "real_history.csv.gz"
#: Calendar days of bars fetched before a symbol's last bar: enough for the two sessions a
#: snapshot needs across any NYSE closure (the longest since 1999 was 4 sessions in 2001).
_RECENT_WINDOW_DAYS = 15
_QUOTE_FIELDS = (
    "security_id",
    "bid",
    "ask",
    "bid_size",
    "ask_size",
    "last",
    "volume",
    "implied_volatility",
    "timestamp",
    "source",
)
_BAR_FIELDS = ("security_id", "date", "open", "high", "low", "close", "volume", "source")
#: The 52-week high/low window, in calendar days.
_YEAR_DAYS = 365
_HUNDRED = Decimal(100)
_MICRO = Decimal("0.000001")

#: The factor whose ETF is the market benchmark.
MARKET_FACTOR = "market"

_SYMBOL_RE = re.compile(r"[A-Z0-9^][A-Z0-9^.\-_]{0,31}")


@dataclass(frozen=True)
class PriceSnapshot:
    """The price of one symbol at a point in time, with what a quote screen shows beside it.

    ``price`` and ``previous_close`` are dollars per share (per option share); the previous
    close is split-adjusted to the price date's share basis (a 2:1 split between the two
    sessions halves it). ``year_high``/``year_low`` span the 52 weeks up to the price
    date, split-adjusted too. ``implied_volatility`` is a fraction (options only).
    ``last_updated`` is the quote's timestamp, or the close of the bar's session.
    """

    symbol: str
    price: Decimal
    previous_close: Decimal | None
    price_date: dt.date
    previous_date: dt.date | None
    bid: Decimal | None
    ask: Decimal | None
    bid_size: int | None
    ask_size: int | None
    volume: int | None
    day_open: Decimal | None
    day_high: Decimal | None
    day_low: Decimal | None
    year_high: Decimal | None
    year_low: Decimal | None
    implied_volatility: float | None
    last_updated: dt.datetime
    source: str

    @property
    def change(self) -> Decimal | None:
        """Price minus previous close, dollars per share."""
        return None if self.previous_close is None else self.price - self.previous_close

    @property
    def change_percent(self) -> Decimal | None:
        """Change over the previous close, in percent (0.34 = 0.34%)."""
        if self.previous_close is None or self.previous_close == 0:
            return None
        return (self.price - self.previous_close) / self.previous_close * _HUNDRED


# --------------------------------------------------------------------------- symbols


@cache
def symbol_aliases() -> dict[str, str]:
    """Common alternative spellings (``BRK.B`` -> ``BRK-B``, ``SPX`` -> ``^GSPC``), from the
    curated reference data."""
    path = SEED_DIR / "securities.json"
    if not path.is_file():
        return {}
    data = json.loads(path.read_text())
    return {str(k).upper(): str(v).upper() for k, v in data.get("aliases", {}).items()}


def normalize_symbol(text: str) -> str:
    """The stored form of a user-typed symbol: upper case, aliases resolved, option symbols in
    canonical OCC form. Raises :class:`InvalidSymbol` for text that cannot be a symbol."""
    candidate = str(text).strip().upper()
    if len(candidate) <= 40 and looks_like_option(candidate):
        try:
            return parse_occ(candidate).occ_symbol
        except InvalidOptionSymbol as exc:  # pragma: no cover - looks_like_option parsed it
            raise InvalidSymbol(str(exc), details={"symbols": [candidate]}) from exc
    if not _SYMBOL_RE.fullmatch(candidate):
        raise InvalidSymbol(f"Invalid symbol {text!r:.60}", details={"symbols": [str(text)[:40]]})
    return symbol_aliases().get(candidate, candidate)


def security_map(*, symbols: Iterable[str]) -> dict[str, Security]:
    """The stored securities among ``symbols`` (one query); unknown symbols are absent."""
    wanted = list(dict.fromkeys(symbols))
    if not wanted:
        return {}
    return {s.symbol: s for s in Security.objects.filter(any_of("symbol", wanted))}


def _today() -> dt.date:
    return timezone.now().astimezone(calendar.EASTERN).date()


def _session_close(day: dt.date) -> dt.datetime:
    """The close of session ``day`` (16:00 ET for a date the calendar does not know)."""
    try:
        return calendar.session_close_utc(day)
    except ValueError:
        return dt.datetime.combine(day, dt.time(16), calendar.EASTERN).astimezone(dt.UTC)


def _quote_session(timestamp: dt.datetime) -> dt.date:
    """The session a quote belongs to: its New York date when that is a session (pre-market
    quotes trade against the previous close), else the session before (a weekend quote shows
    Friday's close)."""
    day = timestamp.astimezone(calendar.EASTERN).date()
    try:
        return day if calendar.is_session(day) else calendar.previous_session(day)
    except ValueError:
        return day


# --------------------------------------------------------------------------- snapshots


def _splits(
    symbols: Sequence[str], since: dt.date, end: dt.date
) -> dict[str, list[tuple[dt.date, Decimal]]]:
    """Splits with ``since < ex_date <= end``, ascending, per symbol (one query)."""
    result: dict[str, list[tuple[dt.date, Decimal]]] = defaultdict(list)
    rows = (
        CorporateAction.objects.filter(
            any_of("security_id", symbols),
            action_type=CorporateActionType.SPLIT,
            ex_date__gt=since,
            ex_date__lte=end,
            ratio__gt=0,
        )
        .order_by("security_id", "ex_date")
        .values_list("security_id", "ex_date", "ratio")
    )
    for symbol, ex_date, ratio in rows:
        result[symbol].append((ex_date, ratio))
    return result


def _split_factor(splits: list[tuple[dt.date, Decimal]], after: dt.date, upto: dt.date) -> Decimal:
    """Product of split ratios with ``after < ex_date <= upto``: divide a price of session
    ``after`` by it to put it on the share basis of ``upto``."""
    factor = Decimal(1)
    for ex_date, ratio in splits:
        if after < ex_date <= upto:
            factor *= ratio
    return factor


def _adjusted(field: str, splits: dict[str, list[tuple[dt.date, Decimal]]]) -> Expression:
    """``field`` (falling back to the close where the source has none) divided by the splits
    after each bar, as one SQL CASE, so the 52-week aggregate stays a single query."""
    decimal = DecimalField(max_digits=20, decimal_places=6)
    base = Coalesce(F(field), F("close"), output_field=decimal)
    whens = []
    for symbol, events in splits.items():
        for i, (ex_date, _) in enumerate(events):
            factor = Decimal(1)
            for _, ratio in events[i:]:
                factor *= ratio
            whens.append(
                When(
                    Q(security_id=symbol, date__lt=ex_date),
                    then=ExpressionWrapper(
                        base / Value(factor, output_field=decimal), output_field=decimal
                    ),
                )
            )
    if not whens:
        return base
    return Case(*whens, default=base, output_field=decimal)


def _as_decimal(value: Any) -> Decimal | None:
    """A database aggregate as a Decimal with 6 places (backends differ in what they return)."""
    if value is None:
        return None
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    return number.quantize(_MICRO)


def price_snapshots(
    *, symbols: Iterable[str], as_of: dt.date | None = None, year_range: bool = False
) -> dict[str, PriceSnapshot]:
    """Snapshots keyed by symbol; symbols without data are absent.

    * ``as_of`` None (live): the latest quote's ``last`` (its mid when there is no last),
      against the last bar before the quote's session; where the bars are newer than the
      quote, the last bar's close against the bar before.
    * ``as_of`` given: the close of the last bar on or before ``as_of``, against the bar
      before it. Quotes are not used.

    The reads are proportional to the symbols asked for, never to the bar table: quotes
    (live only); splits in the window; the bars of the last ``_RECENT_WINDOW_DAYS`` up to
    the end date (an index range per symbol on ``(security, date)``), and only for a symbol
    with fewer than two bars there, its last bar date and the bars before it.

    ``year_range`` adds ``year_high``/``year_low`` (one grouped, split-adjusted aggregate
    over each symbol's 52 weeks, which end at the quote's session (live) or at ``as_of``).
    Only the reads that show them ask for it; elsewhere they are None.
    """
    wanted = list(dict.fromkeys(symbols))
    if not wanted:
        return {}
    end = _today() if as_of is None else as_of

    quotes: dict[str, Any] = {}
    if as_of is None:
        # Named rows, not model instances: a snapshot of 1,000 symbols would otherwise spend
        # most of its time in Model.__init__.
        quotes = {
            q.security_id: q
            # No order: Quote's default (by security) joins the security table for nothing.
            for q in Quote.objects.filter(any_of("security_id", wanted))
            .order_by()
            .values_list(*_QUOTE_FIELDS, named=True)
        }

    year_start: dict[dt.date, list[str]] = defaultdict(list)
    if year_range:
        # An old quote keeps its own year; bars up to ``end`` are always seen.
        for symbol in wanted:
            quote = quotes.get(symbol)
            anchor = min(_quote_session(quote.timestamp), end) if quote is not None else end
            year_start[anchor - dt.timedelta(days=_YEAR_DAYS)].append(symbol)
    since = min(year_start) if year_start else end - dt.timedelta(days=_RECENT_WINDOW_DAYS)
    splits = _splits(wanted, since - dt.timedelta(days=_RECENT_WINDOW_DAYS), end)

    bars = _recent_bars(wanted, end)
    year_ranges = _year_ranges(year_start, end, splits) if year_range else {}

    # A book's quotes share a handful of timestamps and its bars a handful of dates: ask
    # the calendar once per distinct one, not once per symbol.
    quote_days: dict[dt.datetime, dt.date] = {}
    closes: dict[dt.date, dt.datetime] = {}
    result: dict[str, PriceSnapshot] = {}
    for symbol in wanted:
        quote = quotes.get(symbol)
        quote_day = None
        if quote is not None:
            quote_day = quote_days.get(quote.timestamp)
            if quote_day is None:
                quote_day = quote_days[quote.timestamp] = _quote_session(quote.timestamp)
        snapshot = _snapshot(
            symbol,
            quote=quote,
            quote_day=quote_day,
            bars=bars.get(symbol, []),
            year=year_ranges.get(symbol, (None, None)),
            splits=splits.get(symbol, []),
            closes=closes,
        )
        if snapshot is not None:
            result[symbol] = snapshot
    return result


def _bars_in_windows(windows: dict[dt.date, list[str]]) -> dict[str, list[Any]]:
    """Bars of ``(last − _RECENT_WINDOW_DAYS, last]`` for each ``last`` and its symbols,
    newest first per symbol (one query)."""
    window = Q()
    for last, group in windows.items():
        window |= Q(
            any_of("security_id", group),
            date__gt=last - dt.timedelta(days=_RECENT_WINDOW_DAYS),
            date__lte=last,
        )
    bars: dict[str, list[Any]] = defaultdict(list)
    # Only the two newest bars per symbol leave the database: a snapshot needs the price's
    # session and the one before it (a quote's session is never older than the second).
    rows = (
        PriceBar.objects.filter(window)
        .annotate(
            newness=Window(RowNumber(), partition_by=[F("security_id")], order_by=F("date").desc())
        )
        .filter(newness__lte=2)
        .order_by("security_id", "-date")
        .values_list(*_BAR_FIELDS, named=True)
    )
    for bar in rows:
        bars[bar.security_id].append(bar)
    return bars


def _recent_bars(symbols: list[str], end: dt.date) -> dict[str, list[Any]]:
    """The bars near each symbol's last bar on or before ``end``, newest first.

    One indexed range read for the window before ``end``; a symbol with fewer than two
    bars in it (halted, delisted, or new) then gets its last bar date (a grouped max over
    those symbols only) and the window before that date."""
    bars = _bars_in_windows({end: symbols})
    sparse = [s for s in symbols if len(bars.get(s, ())) < 2]
    if sparse:
        lasts = (
            PriceBar.objects.filter(any_of("security_id", sparse), date__lte=end)
            .values("security_id")
            .annotate(last=Max("date"))
            .values_list("security_id", "last")
        )
        by_last: dict[dt.date, list[str]] = defaultdict(list)
        for symbol, last in lasts:
            by_last[last].append(symbol)
        if by_last:
            bars.update(_bars_in_windows(by_last))
    return bars


def _year_ranges(
    year_start: dict[dt.date, list[str]],
    end: dt.date,
    splits: dict[str, list[tuple[dt.date, Decimal]]],
) -> dict[str, tuple[Decimal | None, Decimal | None]]:
    """Split-adjusted 52-week (high, low) per symbol: one grouped aggregate over the
    symbols' own bars (``(security, date)`` index ranges)."""
    in_year = Q()
    for start, group in year_start.items():
        in_year |= Q(any_of("security_id", group), date__gt=start)
    aggregate = (
        PriceBar.objects.filter(in_year, date__lte=end)
        .values("security_id")
        .annotate(
            year_high=Max(_adjusted("high", splits)),
            year_low=Min(_adjusted("low", splits)),
        )
    )
    return {
        row["security_id"]: (_as_decimal(row["year_high"]), _as_decimal(row["year_low"]))
        for row in aggregate
    }


def _quote_price(quote: Any) -> Decimal | None:
    """The last trade, else the mid of a two-sided quote. A zero bid counts: a far
    out-of-the-money option quoted 0.00 / 0.01 has no bid, and its mark is 0.005, not
    "no price" (which would null every total that holds it)."""
    if quote.last is not None and quote.last > 0:
        return quote.last
    bid, ask = quote.bid, quote.ask
    if bid is not None and ask is not None and ask > 0 and 0 <= bid <= ask:
        return (bid + ask) / 2
    return None


def _snapshot(
    symbol: str,
    *,
    quote: Any,
    quote_day: dt.date | None,
    bars: list[Any],
    year: tuple[Decimal | None, Decimal | None],
    splits: list[tuple[dt.date, Decimal]],
    closes: dict[dt.date, dt.datetime],
) -> PriceSnapshot | None:
    """One snapshot from a quote (or None; ``quote_day`` is its session) and the recent
    bars, newest first. ``closes`` memoizes the session closes of the bars' dates."""
    quote_price = _quote_price(quote) if quote is not None else None
    use_quote = quote is not None and quote_price is not None and quote_day is not None
    if use_quote and bars and quote_day is not None and bars[0].date > quote_day:
        use_quote = False  # the bars are fresher than the quote

    if use_quote:
        assert quote is not None and quote_price is not None and quote_day is not None
        price_date = quote_day
        day_bar = next((b for b in bars if b.date == quote_day), None)
        previous_bar = next((b for b in bars if b.date < quote_day), None)
        price, source, last_updated = quote_price, quote.source, quote.timestamp
        volume = quote.volume if quote.volume is not None else (day_bar and day_bar.volume)
    elif bars:
        day_bar, previous_bar = bars[0], (bars[1] if len(bars) > 1 else None)
        price_date, price, source = day_bar.date, day_bar.close, day_bar.source
        last_updated = closes.get(day_bar.date)
        if last_updated is None:
            last_updated = closes[day_bar.date] = _session_close(day_bar.date)
        volume = day_bar.volume
    else:
        return None

    previous_close = None
    previous_date = None
    if previous_bar is not None:
        previous_date = previous_bar.date
        factor = _split_factor(splits, previous_bar.date, price_date)
        previous_close = (previous_bar.close / factor).quantize(_MICRO)

    year_high, year_low = year
    if year_high is not None:
        year_high = max(year_high, price)
    if year_low is not None:
        year_low = min(year_low, price)

    return PriceSnapshot(
        symbol=symbol,
        price=price,
        previous_close=previous_close,
        price_date=price_date,
        previous_date=previous_date,
        bid=quote.bid if use_quote and quote else None,
        ask=quote.ask if use_quote and quote else None,
        bid_size=quote.bid_size if use_quote and quote else None,
        ask_size=quote.ask_size if use_quote and quote else None,
        volume=volume,
        day_open=day_bar.open if day_bar else None,
        day_high=day_bar.high if day_bar else None,
        day_low=day_bar.low if day_bar else None,
        year_high=year_high,
        year_low=year_low,
        implied_volatility=quote.implied_volatility if use_quote and quote else None,
        last_updated=last_updated,
        source=source,
    )


# --------------------------------------------------------------------------- for other apps


def active_factors() -> list[FactorDefinition]:
    """The active factors, market first (its ETF is the benchmark and the factor design's
    column 0), then by display order."""
    factors = list(FactorDefinition.objects.filter(is_active=True).order_by("display_order", "key"))
    return sorted(factors, key=lambda f: f.key != MARKET_FACTOR)


def factor_etf_symbols() -> list[str]:
    """The active factors' ETF symbols (refreshed by the daily market-data update)."""
    return [f.etf_symbol for f in active_factors()]


def quotes_for(*, symbols: Iterable[str]) -> dict[str, Quote]:
    """The stored quote of each symbol that has one (one query)."""
    wanted = list(dict.fromkeys(symbols))
    return (
        {q.security_id: q for q in Quote.objects.filter(any_of("security_id", wanted))}
        if wanted
        else {}
    )


@dataclass(frozen=True)
class ChainQuote:
    """One stored option quote of a chain: dollars per option share (None where absent)."""

    symbol: str
    strike: Decimal
    is_call: bool
    bid: Decimal | None
    ask: Decimal | None
    last: Decimal | None
    timestamp: dt.datetime


def option_chain_quotes(
    *, chains: set[tuple[str, dt.date]]
) -> dict[tuple[str, dt.date], list[ChainQuote]]:
    """The stored quotes of every option on each (underlying symbol, expiry) chain, in one
    query, ordered by strike: the chain behind an interpolated implied volatility."""
    if not chains:
        return {}
    underlyings = {u for u, _ in chains}
    expiries_ = {e for _, e in chains}
    rows = (
        Quote.objects.filter(
            security__asset_type=AssetType.OPTION,
            security__underlying_id__in=underlyings,
            security__expiry__in=expiries_,
        )
        .select_related("security")
        .order_by("security__strike", "security__symbol")
    )
    found: dict[tuple[str, dt.date], list[ChainQuote]] = defaultdict(list)
    for quote in rows:
        sec = quote.security
        key = (sec.underlying_id or "", sec.expiry)
        if key in chains and sec.strike is not None:
            found[key].append(
                ChainQuote(
                    symbol=sec.symbol,
                    strike=sec.strike,
                    is_call=sec.option_right == "C",
                    bid=quote.bid,
                    ask=quote.ask,
                    last=quote.last,
                    timestamp=quote.timestamp,
                )
            )
    return dict(found)


def security_durations(*, symbols: Sequence[str]) -> dict[str, float]:
    """Modified duration (years) of the bond funds among ``symbols`` (reference data)."""
    return {
        symbol: float(duration)
        for symbol, duration in Security.objects.filter(
            symbol__in=list(symbols), duration__isnull=False
        ).values_list("symbol", "duration")
    }


def bar_counts(*, symbols: Iterable[str], start: dt.date, end: dt.date) -> dict[str, int]:
    """Daily bars per symbol from ``start`` to ``end`` inclusive (one grouped query)."""
    wanted = list(set(symbols))
    if not wanted:
        return {}
    return dict(
        PriceBar.objects.filter(any_of("security_id", wanted), date__gte=start, date__lte=end)
        .values_list("security_id")
        .annotate(n=Count("id"))
        .values_list("security_id", "n")
    )


def closes_on(*, pairs: set[tuple[str, dt.date]]) -> dict[tuple[str, dt.date], Decimal]:
    """Raw closes (dollars) for (symbol, session) pairs, in one query; missing pairs absent."""
    symbols = {symbol for symbol, _ in pairs}
    dates = {date for _, date in pairs}
    rows = PriceBar.objects.filter(any_of("security_id", symbols), date__in=dates).values_list(
        "security_id", "date", "close"
    )
    return {(symbol, date): close for symbol, date, close in rows if (symbol, date) in pairs}


def session_opens_closes(
    *, pairs: set[tuple[str, dt.date]]
) -> dict[tuple[str, dt.date], tuple[Decimal | None, Decimal]]:
    """Raw (open, close) in dollars of the bars for (symbol, session) pairs, in one query:
    the official opening and closing values option settlement uses. Missing pairs absent;
    a bar without an open has None there."""
    symbols = {symbol for symbol, _ in pairs}
    dates = {date for _, date in pairs}
    rows = PriceBar.objects.filter(any_of("security_id", symbols), date__in=dates).values_list(
        "security_id", "date", "open", "close"
    )
    return {
        (symbol, date): (open_, close)
        for symbol, date, open_, close in rows
        if (symbol, date) in pairs
    }


def latest_closes(*, symbols: set[str], on_or_before: dt.date) -> dict[str, Decimal]:
    """The last raw close (dollars) of each symbol within the ten days up to
    ``on_or_before``, in one query."""
    rows = (
        PriceBar.objects.filter(
            any_of("security_id", symbols),
            date__lte=on_or_before,
            date__gte=on_or_before - dt.timedelta(days=10),
        )
        .order_by("security_id", "date")
        .values_list("security_id", "close")
    )
    return dict(rows)  # the last (latest) close per symbol wins


# --------------------------------------------------------------------------- risk inputs


@cache
def _fama_french_rf() -> dict[str, float]:
    with RF_FILE.open() as handle:
        return {row["month"]: float(row["rf_annual"]) for row in csv.DictReader(handle)}


def risk_free_rate(on: dt.date) -> tuple[float, str]:
    """The annual risk-free rate on a date, and its source (RISK-MODEL.md: the Fama-French
    one-month T-bill ``RF`` up to 2018-11, then the ``RISK_FREE_RATE`` setting)."""
    series = _fama_french_rf()
    month = f"{on.year:04d}-{on.month:02d}"
    if month in series:
        return series[month], "fama_french_rf"
    return float(settings.RISK_FREE_RATE), "config"


@cache
def aaa_yield_changes_monthly() -> dict[str, float]:
    """Month (``YYYY-MM``) → change of Moody's AAA yield from the month before, a decimal
    (0.01 = +100bp), from ``seed_data/bond_yields_monthly.csv`` (arch.data.default)."""
    with BOND_YIELDS_FILE.open() as handle:
        rows = [(row["month"], float(row["aaa"])) for row in csv.DictReader(handle)]
    return {m: y - y0 for (_, y0), (m, y) in itertools.pairwise(rows)}


@cache
def _real_month_end_closes() -> dict[str, dict[str, float]]:
    """Symbol → {month: last adjusted close of that month} over the shipped real history
    (``seed_data/real_history.csv.gz``, PROVENANCE.md): real data only, never simulated."""
    out: dict[str, dict[str, float]] = defaultdict(dict)
    with gzip.open(REAL_HISTORY_FILE, "rt") as handle:
        for row in csv.DictReader(handle):  # sorted by symbol and date: the last one wins
            value = row["adj_close"] or row["close"]
            if value:
                out[row["symbol"]][row["date"][:7]] = float(value)
    return dict(out)


def real_monthly_returns(*, symbols: Sequence[str]) -> dict[str, dict[str, float]]:
    """Symbol → {month: simple return over that month, month-end to month-end} for the
    symbols among ``symbols`` that have real history shipped; others are absent."""
    closes = _real_month_end_closes()
    out: dict[str, dict[str, float]] = {}
    for symbol in symbols:
        series = closes.get(symbol)
        if not series:
            continue
        months = sorted(series)
        out[symbol] = {
            m: series[m] / series[m0] - 1.0
            for m0, m in itertools.pairwise(months)
            if series[m0] > 0 and _next_month(m0) == m
        }
    return out


def _next_month(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    return f"{year + mon // 12:04d}-{mon % 12 + 1:02d}"


def proxy_relations(*, symbols: Iterable[str]) -> dict[str, tuple[dict[str, float], float]]:
    """Symbol → ({proxy member: weight}, proxy beta) for the stored securities whose history
    is a stated proxy (one query). A basket stored as ``basket:A+B`` has equal weights; one
    stored as ``basket`` takes its weights from the reason ("Basket: KO 12.5%, ...").
    The beta is 1.0 where none is stored."""
    rows = Security.objects.filter(any_of("symbol", set(symbols))).exclude(proxy_symbol=None)
    out: dict[str, tuple[dict[str, float], float]] = {}
    for symbol, proxy, beta, reason in rows.values_list(
        "symbol", "proxy_symbol", "proxy_beta", "proxy_reason"
    ):
        if not proxy:
            continue
        members: dict[str, float]
        if proxy.startswith("basket:"):
            names = [m for m in proxy[len("basket:") :].split("+") if m]
            members = {m: 1.0 / len(names) for m in names} if names else {}
        elif proxy == "basket":
            found = re.findall(r"([A-Z0-9^.\-]+) ([0-9.]+)%", reason or "")
            total = sum(float(w) for _, w in found)
            members = {m: float(w) / total for m, w in found} if total > 0 else {}
        else:
            members = {proxy: 1.0}
        if members:
            out[symbol] = (members, float(beta) if beta is not None else 1.0)
    return out


def session_window(end: dt.date, sessions: int) -> list[dt.date]:
    """The last ``sessions`` NYSE sessions up to and including ``end`` (or the one before)."""
    start = end - dt.timedelta(days=int(sessions * 1.6) + 15)
    days = [d for d in calendar.sessions_between(start, end)]
    return days[-sessions:]


class _DaysSince(Func):
    """``date - start`` in days (PostgreSQL's date subtraction gives an integer)."""

    template = "(%(expressions)s)"
    arg_joiner = " - "
    output_field = IntegerField()


def close_matrix(symbols: Sequence[str], dates: Sequence[dt.date]) -> np.ndarray:
    """Adjusted closes, dates × symbols, NaN where a bar is missing (one query)."""
    column = {symbol: j for j, symbol in enumerate(symbols)}
    row = {date: i for i, date in enumerate(dates)}
    matrix = np.full((len(dates), len(symbols)), np.nan)
    if not symbols or not dates:
        return matrix
    # A year of bars for thousands of symbols is millions of rows: on PostgreSQL the
    # database groups them into one array of dates and one of float closes per
    # symbol (the ORM's Decimal per value, then a float, was most of the batch's reads).
    query = PriceBar.objects.filter(
        any_of("security_id", column), date__gte=dates[0], date__lte=dates[-1]
    )
    if connections[query.db].vendor != "postgresql":
        for symbol, date, close in query.values_list("security_id", "date", "adj_close"):
            i = row.get(date)
            if i is not None:
                matrix[i, column[symbol]] = float(close)
        return matrix
    # No ORDER BY in the aggregates (a sort of every row): both arrays of a group are
    # filled from the same rows in the same pass, so they stay aligned, and the day
    # offsets place each close on its row.
    grouped = (
        query.values("security_id")
        .annotate(
            days=ArrayAgg(_DaysSince(F("date"), Value(dates[0]))),
            closes=ArrayAgg(Cast("adj_close", FloatField())),
        )
        .values_list("security_id", "days", "closes")
    )
    span = (dates[-1] - dates[0]).days
    row_of_day = np.full(span + 1, -1, dtype=np.intp)
    for date, i in row.items():
        row_of_day[(date - dates[0]).days] = i
    for symbol, days, closes in grouped:
        rows = row_of_day[np.asarray(days, dtype=np.intp)]
        kept = rows >= 0
        matrix[rows[kept], column[symbol]] = np.asarray(closes, dtype=np.float64)[kept]
    return matrix


def returns_matrix(
    symbols: Sequence[str], *, end: dt.date, lookback: int
) -> tuple[list[dt.date], np.ndarray]:
    """Daily simple returns over the last ``lookback`` sessions to ``end``: dates × symbols,
    NaN where either close is missing."""
    dates = session_window(end, lookback + 1)
    closes = close_matrix(symbols, dates)
    with np.errstate(invalid="ignore", divide="ignore"):
        returns = closes[1:] / closes[:-1] - 1.0
    return dates[1:], returns


# --------------------------------------------------------------------------- history


def price_history(*, symbol: str, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    """Daily bars of ``symbol`` from ``start`` to ``end`` inclusive, oldest first, as dicts
    with ``date, open, high, low, close, adj_close`` (Decimal dollars), ``volume``, ``source``."""
    return list(
        PriceBar.objects.filter(security_id=symbol, date__gte=start, date__lte=end)
        .order_by("date")
        .values("date", "open", "high", "low", "close", "adj_close", "volume", "source")
    )


def history_statistics(bars: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Summary of bars ordered oldest first (no database; the return figures by the engine).

    * ``period_return``: last ``adj_close`` / first − 1, a fraction (None with < 2 bars);
    * ``volatility``: the engine's annualized volatility (sample standard deviation × √252)
      of daily simple returns of ``adj_close``, a fraction (None with < 2 returns);
    * ``max_price``/``min_price``: highest and lowest raw ``close`` (Decimal dollars);
    * ``avg_volume``: mean volume over the bars that have one, rounded to a share.
    """
    closes = [Decimal(b["close"]) for b in bars]
    adjusted = [float(b["adj_close"]) for b in bars]
    volumes = [int(b["volume"]) for b in bars if b.get("volume") is not None]
    returns = np.array(
        [after / before - 1.0 for before, after in itertools.pairwise(adjusted) if before > 0]
    )
    period_return = None
    if len(adjusted) >= 2 and adjusted[0] > 0:
        period_return = adjusted[-1] / adjusted[0] - 1.0
    volatility = annualized_volatility(returns) if returns.size >= 2 else None
    return {
        "period_return": period_return,
        "volatility": volatility,
        "max_price": max(closes) if closes else None,
        "min_price": min(closes) if closes else None,
        "avg_volume": round(sum(volumes) / len(volumes)) if volumes else None,
    }


def stored_symbol(text: str) -> str:
    """The stored symbol ``text`` names (aliases and OCC forms resolved), else 422
    INVALID_SYMBOL."""
    symbol = normalize_symbol(text)
    if not Security.objects.filter(symbol=symbol).exists():
        raise InvalidSymbol(f"Unknown symbol {symbol}", details={"symbols": [symbol]})
    return symbol


def historical_prices(*, symbol: str, start: dt.date, end: dt.date) -> dict[str, Any]:
    """What ``GET /data/prices/historical/{symbol_or_position_id}`` shows for a stored
    ``symbol``: the bars from ``start`` to ``end`` newest first, their statistics
    (fractions), the provenance and the reasons for anything missing."""
    bars = price_history(symbol=symbol, start=start, end=end)
    warnings: list[str] = []
    if not bars:
        warnings.append(f"No price history for {symbol} between {start} and {end}")
    elif len(bars) < 3:
        warnings.append(f"Volatility needs at least 3 bars; {symbol} has {len(bars)}")
    if bars and all(b["volume"] is None for b in bars):
        warnings.append(f"The source of {symbol}'s history has no volumes")
    sources = list(dict.fromkeys(b["source"] for b in bars))
    return {
        "symbol": symbol,
        "data_points": len(bars),
        "start_date": start,
        "end_date": end,
        "prices": list(reversed(bars)),
        "statistics": history_statistics(bars),
        "last_updated": _session_close(bars[-1]["date"]) if bars else None,
        "source": ", ".join(sources) if sources else None,
        "warnings": warnings,
    }


# --------------------------------------------------------------------------- quote board


def market_status_now() -> str:
    """The NYSE's state now: "open", "pre_market", "after_hours" or "closed"."""
    return calendar.market_status(timezone.now())


def _resolve(symbols: Iterable[str]) -> tuple[list[str], list[str]]:
    """(normalized symbols, texts that cannot be symbols)."""
    resolved: list[str] = []
    invalid: list[str] = []
    for text in symbols:
        try:
            resolved.append(normalize_symbol(text))
        except InvalidSymbol:
            invalid.append(str(text)[:40])
    return list(dict.fromkeys(resolved)), invalid


def market_cap(security: Security, price: Decimal | None) -> Decimal | None:
    """Shares outstanding × price, dollars; None for options or when either is unknown."""
    if price is None or security.asset_type == AssetType.OPTION:
        return None
    if security.shares_outstanding is None:
        return None
    return security.shares_outstanding * price


def fundamentals(*, security: Security, price: Decimal | None) -> dict[str, Any]:
    """The spec's ``fundamentals`` block (2.13) from the reference data and a price:
    ``market_cap`` in dollars, ``pe_ratio`` = price / trailing EPS (None for a loss or an
    unknown EPS), ``dividend_yield`` a fraction (0.0045 = 0.45%), ``sector``, ``industry``.
    ``beta`` is None here: the market beta is the risk engine's factor exposure."""
    pe_ratio = None
    if price is not None and security.eps_ttm is not None and security.eps_ttm > 0:
        pe_ratio = price / security.eps_ttm
    return {
        "market_cap": market_cap(security, price),
        "pe_ratio": pe_ratio,
        "dividend_yield": security.dividend_yield,
        "beta": None,
        "sector": security.sector,
        "industry": security.industry,
    }


def quote_board(*, symbols: Sequence[str]) -> dict[str, Any]:
    """What ``GET /data/prices/quotes`` shows. Every symbol must be stored; the unknown and
    malformed ones together make one 422 INVALID_SYMBOL listing them."""
    resolved, invalid = _resolve(symbols)
    securities = security_map(symbols=resolved)
    unknown = invalid + [s for s in resolved if s not in securities]
    if unknown:
        raise InvalidSymbol(
            f"Unknown or unsupported symbol(s): {', '.join(unknown)}",
            details={"symbols": unknown},
        )
    snapshots = price_snapshots(symbols=resolved, year_range=True)
    warnings: list[str] = []
    quotes = []
    for symbol in resolved:
        security = securities[symbol]
        snap = snapshots.get(symbol)
        if snap is None:
            warnings.append(f"{symbol}: no price data")
        elif snap.previous_close is None:
            warnings.append(f"{symbol}: no previous close, so no change")
        cap = market_cap(security, snap.price if snap else None)
        if snap is not None and cap is None:
            reason = (
                "does not apply to an option contract"
                if security.asset_type == AssetType.OPTION
                else "shares outstanding unknown"
            )
            warnings.append(f"{symbol}: market_cap is null ({reason})")
        quotes.append(
            {
                "symbol": symbol,
                "price": snap.price if snap else None,
                "change": snap.change if snap else None,
                "change_percent": snap.change_percent if snap else None,
                "previous_close": snap.previous_close if snap else None,
                "volume": snap.volume if snap else None,
                "bid": snap.bid if snap else None,
                "ask": snap.ask if snap else None,
                "bid_size": snap.bid_size if snap else None,
                "ask_size": snap.ask_size if snap else None,
                "high_52_week": snap.year_high if snap else None,
                "low_52_week": snap.year_low if snap else None,
                "market_cap": cap,
                "implied_volatility": snap.implied_volatility if snap else None,
                "timestamp": snap.last_updated if snap else None,
                "source": snap.source if snap else None,
            }
        )
    stamps = [s.last_updated for s in snapshots.values()]
    return {
        "quotes": quotes,
        "market_status": market_status_now(),
        "last_updated": max(stamps) if stamps else timezone.now(),
        "warnings": warnings,
    }


# --------------------------------------------------------------------------- factor ETFs


def factor_etf_prices(*, symbols: Sequence[str] | None, days: int) -> dict[str, Any]:
    """What ``GET /data/factors/etf-prices`` shows: one entry per active factor (its ETF's
    price, change against the previous close, and the closes of the ``days`` calendar days
    up to the price date, newest first), and the coverage summary."""
    factors = list(FactorDefinition.objects.filter(is_active=True).order_by("display_order", "key"))
    if symbols:
        resolved, invalid = _resolve(symbols)
        etfs = {f.etf_symbol.upper() for f in factors}
        unknown = invalid + [s for s in resolved if s not in etfs]
        if unknown:
            raise InvalidSymbol(
                f"Not an active factor ETF: {', '.join(unknown)}",
                details={"symbols": unknown, "factor_etfs": sorted(etfs)},
            )
        factors = [f for f in factors if f.etf_symbol.upper() in resolved]
    etf_symbols = list(dict.fromkeys(f.etf_symbol.upper() for f in factors))
    securities = security_map(symbols=etf_symbols)
    snapshots = price_snapshots(symbols=etf_symbols)

    closes: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_date: dict[dt.date, list[str]] = defaultdict(list)
    for symbol, item in snapshots.items():
        by_date[item.price_date].append(symbol)
    if by_date:
        window = Q()
        for day, group in by_date.items():
            window |= Q(
                security_id__in=group, date__gt=day - dt.timedelta(days=days), date__lte=day
            )
        rows = PriceBar.objects.filter(window).order_by("security_id", "-date")
        for symbol, day, close in rows.values_list("security_id", "date", "close"):
            closes[symbol].append({"date": day, "close": close})

    warnings: list[str] = []
    entries = []
    for factor in factors:
        symbol = factor.etf_symbol.upper()
        snap = snapshots.get(symbol)
        security = securities.get(symbol)
        if snap is None:
            warnings.append(f"{symbol} ({factor.key}): no price data")
        entries.append(
            {
                "symbol": symbol,
                "name": security.name if security and security.name else factor.name,
                "factor_type": factor.key,
                "current_price": snap.price if snap else None,
                "change": snap.change if snap else None,
                "change_percent": snap.change_percent if snap else None,
                "volume": snap.volume if snap else None,
                "last_updated": snap.last_updated if snap else None,
                "source": snap.source if snap else None,
                "historical_prices": closes.get(symbol, []),
            }
        )
    priced = sum(1 for e in entries if e["current_price"] is not None)
    stamps = [s.last_updated for s in snapshots.values()]
    coverage = round(100 * priced / len(entries)) if entries else 0
    return {
        "factor_etfs": entries,
        "summary": {
            "total_etfs": len(entries),
            "data_coverage": f"{coverage}%",
            "last_updated": max(stamps) if stamps else None,
        },
        "warnings": warnings,
    }


# ---- Listed expiries -------------------------------------------------------------------------


def _stored_expiry_end(key: str) -> dt.date | None:
    """The last stored expiry of root ``key`` (None without rows): the stored reference data
    decides up to that date, the seed rule beyond it (a LEAPS past the seeded span)."""
    return ListedExpiry.objects.filter(root=key).aggregate(last=Max("expiry"))["last"]


def is_listed_expiry(root: str, day: dt.date) -> bool:
    """True when ``day`` is a listed expiry of option root ``root`` (``VIX``/``^VIX``,
    ``BRK.B``/``BRKB`` alike). The stored reference data decides for a root that has rows,
    up to its last stored date; a root without any (a security added after the seed), or a
    date past the stored span, follows the seed rule of ``marketdata.expiries``. Two
    queries at most."""
    key = expiries.normalize_root(root)
    if ListedExpiry.objects.filter(root=key, expiry=day).exists():
        return True
    end = _stored_expiry_end(key)
    if end is not None and day <= end:
        return False
    return expiries.is_listed_by_rule(key, day)


def listed_expiries(root: str, start: dt.date, end: dt.date) -> list[dt.date]:
    """The listed expiries of ``root`` from ``start`` to ``end`` inclusive, in order: the
    stored rows, and the seed rule past them (see :func:`is_listed_expiry`)."""
    key = expiries.normalize_root(root)
    stored_end = _stored_expiry_end(key)
    if stored_end is None:
        return list(expiries.listed_by_rule(key, start, end))
    days = list(
        ListedExpiry.objects.filter(root=key, expiry__gte=start, expiry__lte=end)
        .order_by("expiry")
        .values_list("expiry", flat=True)
    )
    if end > stored_end:
        days += list(expiries.listed_by_rule(key, max(start, stored_end + dt.timedelta(1)), end))
    return days


@dataclass(frozen=True)
class Dividend:
    """A recorded cash dividend: ``amount`` USD per share, paid to holders at the close of
    the session before ``ex_date``; ``source`` says where it came from ("simulated", ...)."""

    symbol: str
    ex_date: dt.date
    amount: Decimal
    source: str


def dividends_between(
    *, symbols: Iterable[str] | None = None, start: dt.date | None = None, end: dt.date
) -> list[Dividend]:
    """Recorded cash dividends with ex-dates from ``start`` (default: all) to ``end``, of
    ``symbols`` (default: every symbol), by ex-date then symbol. One query."""
    query = CorporateAction.objects.filter(
        action_type=CorporateActionType.DIVIDEND, ex_date__lte=end, amount__gt=0
    )
    if start is not None:
        query = query.filter(ex_date__gte=start)
    if symbols is not None:
        query = query.filter(any_of("security_id", symbols))
    return [
        Dividend(symbol, ex_date, amount, source)
        for symbol, ex_date, amount, source in query.order_by("ex_date", "security_id").values_list(
            "security_id", "ex_date", "amount", "source"
        )
    ]


def splits_for(
    *, symbols: Sequence[str], since: dt.date, end: dt.date
) -> dict[str, list[tuple[dt.date, Decimal]]]:
    """Splits (ex-date, ratio new shares per old) with ``since < ex_date <= end``,
    ascending, per symbol. One query."""
    return dict(_splits(list(symbols), since, end))


def split_factor(
    splits: list[tuple[dt.date, Decimal]], *, after: dt.date, upto: dt.date
) -> Decimal:
    """Product of the ratios of ``splits`` with ``after < ex_date <= upto``: shares held on
    session ``after`` times it are the shares on ``upto``."""
    return _split_factor(splits, after, upto)


def is_gics_sector(name: str) -> bool:
    """True for one of the eleven GICS sectors; False for an asset class ("Broad Equity",
    "Fixed Income", …), which ETFs and funds carry in place of a sector."""
    return name in GICS_SECTORS


# --------------------------------------------------------------------------- 0DTE market


def zero_dte_symbol(text: str) -> str:
    """``text`` as one of the 0DTE tickers, or :class:`InvalidSymbol` (422) naming them."""
    symbol = str(text).strip().upper()
    if symbol not in ZERO_DTE_TICKERS:
        raise InvalidSymbol(
            f"{str(text)[:40]!r} is not supported: 0DTE data covers {', '.join(ZERO_DTE_TICKERS)}",
            details={"symbol": str(text)[:40], "supported_symbols": list(ZERO_DTE_TICKERS)},
        )
    return symbol


def _clock_keys(at: MarketTime) -> dict[str, Any]:
    return {"market_status": at.status, "clock": at.clock, "session": at.session}


def market_tickers() -> dict[str, Any]:
    """The 0DTE tickers with their reference data (``/market/tickers``)."""
    at = market_time()
    securities = security_map(symbols=ZERO_DTE_TICKERS)
    listed = set(
        ListedExpiry.objects.filter(root__in=ZERO_DTE_TICKERS).values_list("root", flat=True)
    )
    rows = []
    for symbol in ZERO_DTE_TICKERS:
        security = securities.get(symbol)
        rows.append(
            {
                "symbol": symbol,
                "name": security.name if security else None,
                "exchange": security.exchange if security else None,
                "active": security is not None and security.is_active,
                "options_available": symbol in listed,
            }
        )
    return {"tickers": rows, **_clock_keys(at)}


def _cent_down(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.01"), rounding=ROUND_FLOOR)


def _cent_up(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.01"), rounding=ROUND_CEILING)


@dataclass(frozen=True)
class LastPrice:
    """The price of ``symbol`` as the clock reads it (see :func:`last_price`)."""

    price: Decimal | None
    stamp: dt.datetime | None
    day_volume: int | None  # the daily bar's, once the session has closed and it is stored
    warnings: list[str]


def last_price(symbol: str, at: MarketTime) -> LastPrice:
    """The close of the last completed minute of ``symbol`` (the daily bar's close once
    the session has closed), stamped at the end of that minute (the session's close). One
    query while open, two once closed. What the bars do not hold is None with the reason."""
    warnings: list[str] = []
    if not at.is_open:
        day_bar = (
            PriceBar.objects.filter(security_id=symbol, date=at.session)
            .values("close", "volume")
            .first()
        )
        if day_bar is not None:
            return LastPrice(
                day_bar["close"], calendar.session_close_utc(at.session), day_bar["volume"], []
            )
    last_bar = (
        MinuteBar.objects.filter(
            security_id=symbol, session=at.session, timestamp__lte=at.now - dt.timedelta(minutes=1)
        )
        .order_by("-timestamp")
        .values("timestamp", "close")
        .first()
    )
    if last_bar is not None:
        return LastPrice(
            last_bar["close"], last_bar["timestamp"] + dt.timedelta(minutes=1), None, []
        )
    warnings.append(
        f"no trade of {symbol} stored yet in the session of {at.session} "
        "(the first minute has not completed, or the market producer is not running)"
    )
    return LastPrice(None, None, None, warnings)


def intraday_snapshot(symbol: str, at: MarketTime) -> dict[str, Any]:
    """The market in ``symbol`` as the clock reads it: the close of the last completed
    minute (the session's close once closed), its change against the previous session's
    close (``change_percent`` in percent), the session's volume so far, and a bid/ask of
    the intraday spread around the price. From stored minute and daily bars; what they do
    not hold is null with the reason in ``warnings``."""
    latest = last_price(symbol, at)
    warnings = list(latest.warnings)
    price, stamp, volume = latest.price, latest.stamp, latest.day_volume
    if volume is None:
        volume = MinuteBar.objects.filter(
            security_id=symbol, session=at.session, timestamp__lte=at.now - dt.timedelta(minutes=1)
        ).aggregate(total=Sum("volume"))["total"]
    previous = (
        PriceBar.objects.filter(security_id=symbol, date__lt=at.session)
        .order_by("-date")
        .values("close", "date")
        .first()
    )
    change = change_percent = None
    if price is not None and previous is not None:
        change = price - previous["close"]
        change_percent = (change / previous["close"] * 100).quantize(Decimal("0.0001"))
    elif price is not None:
        warnings.append(f"no close of {symbol} stored before {at.session}: no change")
    bid = ask = None
    if price is not None:
        half = price * Decimal(str(INTRADAY_SPREAD_BPS)) / Decimal(20_000)
        bid, ask = _cent_down(price - half), _cent_up(price + half)
    return {
        "symbol": symbol,
        "price": price,
        "change": change,
        "change_percent": change_percent,
        "volume": volume,
        "bid": bid,
        "ask": ask,
        "last_updated": stamp,
        "previous_close": previous["close"] if previous else None,
        "source": "simulated",
        "warnings": warnings,
        **_clock_keys(at),
    }


#: Bars of the rolling correlations: the 60-bar figures are the spec's, 20 and 180 added.
CORRELATION_WINDOWS = (20, 60, 180)
CORRELATION_PAIRS = (("SPY", "QQQ"), ("SPY", "IWM"), ("QQQ", "IWM"))


def regime_rule() -> RegimeRule:
    return RegimeRule(
        thresholds=settings.REGIME_VIX_THRESHOLDS,
        adaptation=settings.REGIME_ADAPTATION,
        confidence_bump=settings.REGIME_CONFIDENCE_BUMP,
        stop_tightening=settings.REGIME_STOP_TIGHTENING,
    )


def _trading_minutes_before(moment: dt.datetime, session: dt.date, count: int) -> dt.datetime:
    """The start of the minute ``count`` - 1 trading minutes before the minute starting at
    ``moment`` (within ``session`` or after its close), counting back across sessions: the
    earliest of the ``count`` minute bars that end with ``moment``'s."""
    day, end = session, moment.replace(second=0, microsecond=0)
    for _ in range(count):  # a session has at least one minute: this always ends
        opens = calendar.session_open_utc(day)
        last = min(end, calendar.session_close_utc(day) - dt.timedelta(minutes=1))
        available = int((last - opens).total_seconds() // 60) + 1 if last >= opens else 0
        if available >= count:
            return last - dt.timedelta(minutes=count - 1)
        count -= available
        day = calendar.previous_session(day)
        end = calendar.session_close_utc(day)
    return calendar.session_open_utc(day)


def _recent_minute_closes(at: MarketTime, bars: int) -> tuple[list[dt.datetime], np.ndarray]:
    """The last ``bars`` completed minutes at which every 0DTE ticker has a stored bar
    (across sessions), oldest first: their timestamps and a (bars, 3) array of closes.

    One query where the bars are there: the three tickers' bars of the last ``bars`` + 5
    trading minutes, read together (its cost bounded whatever the stored history). Where
    they miss minutes, each ticker's newest ``bars`` + 30 bars (a few spare minutes where
    one ticker misses a bar)."""
    completed = at.now - dt.timedelta(minutes=1)
    since = _trading_minutes_before(completed, at.session, bars + 5)
    by_symbol: dict[str, dict[dt.datetime, float]] = {s: {} for s in ZERO_DTE_TICKERS}
    recent = MinuteBar.objects.filter(
        security_id__in=list(ZERO_DTE_TICKERS), timestamp__gte=since, timestamp__lte=completed
    ).values_list("security_id", "timestamp", "close")
    for symbol, stamp, close in recent:
        by_symbol[symbol][stamp] = float(close)
    common = sorted(set.intersection(*(set(v) for v in by_symbol.values())))
    if len(common) < bars:
        for symbol in ZERO_DTE_TICKERS:
            rows = MinuteBar.objects.filter(security_id=symbol, timestamp__lte=completed).order_by(
                "-timestamp"
            )[: bars + 30]
            by_symbol[symbol] = {t: float(c) for t, c in rows.values_list("timestamp", "close")}
        common = sorted(set.intersection(*(set(v) for v in by_symbol.values())))
    common = common[-bars:]
    closes = np.array([[by_symbol[s][t] for s in ZERO_DTE_TICKERS] for t in common])
    return common, closes.reshape(len(common), len(ZERO_DTE_TICKERS))


def vix_level(at: MarketTime) -> tuple[float | None, dt.datetime | None]:
    """The VIX at the clock's time: the last completed minute's close, else the latest
    stored daily close on or before the session (index points)."""
    minute = (
        MinuteBar.objects.filter(
            security_id=VIX_SYMBOL,
            session=at.session,
            timestamp__lte=at.now - dt.timedelta(minutes=1),
        )
        .order_by("-timestamp")
        .values_list("close", "timestamp")
        .first()
    )
    if minute is not None:
        return float(minute[0]), minute[1] + dt.timedelta(minutes=1)
    daily = (
        PriceBar.objects.filter(security_id=VIX_SYMBOL, date__lte=at.session)
        .order_by("-date")
        .values_list("close", "date")
        .first()
    )
    if daily is None:
        return None, None
    return float(daily[0]), calendar.session_close_utc(daily[1])


def _finite(value: float) -> float | None:
    return round(value, 6) if np.isfinite(value) else None


def market_correlation(
    at: MarketTime | None = None, *, vix: tuple[float | None, dt.datetime | None] | None = None
) -> dict[str, Any]:
    """``/market/correlation``: the rolling correlations of SPY, QQQ and IWM minute returns
    over 20, 60 and 180 bars (``correlations`` holds the 60-bar ones), each pair's
    divergence z-score (its 20-bar correlation against the last 180 bars), and the VIX
    regime, at ``at`` (default: the market clock now). A figure without enough stored bars
    is null, and ``warnings`` says so. ``vix``: the ``vix_level(at)`` reading where the
    caller has it."""
    at = at or market_time()
    warnings: list[str] = []
    longest = max(CORRELATION_WINDOWS)
    stamps, closes = _recent_minute_closes(at, longest + 1)
    returns = log_returns(closes) if len(stamps) > 1 else np.empty((0, len(ZERO_DTE_TICKERS)))
    column = {s: i for i, s in enumerate(ZERO_DTE_TICKERS)}
    by_window: dict[int, dict[str, float | None]] = {}
    for window in CORRELATION_WINDOWS:
        by_window[window] = {
            f"{a}_{b}": _finite(
                window_correlation(returns[:, column[a]], returns[:, column[b]], window)
            )
            for a, b in CORRELATION_PAIRS
        }
        if returns.shape[0] < window:
            warnings.append(
                f"{returns.shape[0]} minute returns stored: the {window}-bar correlations need {window}"
            )
    divergence = {
        f"{a}_{b}": _finite(
            divergence_zscore(returns[:, column[a]], returns[:, column[b]], 20, longest)
        )
        for a, b in CORRELATION_PAIRS
    }
    level, level_time = vix if vix is not None else vix_level(at)
    regime = classify_regime(level, regime_rule()) if level is not None else None
    if regime is None:
        warnings.append("no VIX level stored: no regime")
    return {
        "timestamp": stamps[-1] + dt.timedelta(minutes=1) if stamps else level_time,
        "correlations": by_window[60],
        "correlations_20": by_window[20],
        "correlations_180": by_window[180],
        "divergence_zscore": divergence,
        "bars": int(returns.shape[0]),
        "regime": regime["regime_type"] if regime else None,
        "vix_level": level,
        "regime_adjustments": regime,
        "warnings": warnings,
        **_clock_keys(at),
    }


@dataclass(frozen=True)
class SessionMinutes:
    """A ticker's completed minute bars of one session, oldest first (float arrays)."""

    timestamps: list[dt.datetime]
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray


def session_minute_bars(symbol: str, at: MarketTime) -> SessionMinutes:
    """The minutes of ``symbol`` in ``at``'s session that completed by ``at`` (one query)."""
    rows = list(
        MinuteBar.objects.filter(
            security_id=symbol, session=at.session, timestamp__lte=at.now - dt.timedelta(minutes=1)
        )
        .order_by("timestamp")
        .values_list("timestamp", "high", "low", "close", "volume")
    )

    def column(i: int) -> np.ndarray:
        return np.array([np.nan if r[i] is None else float(r[i]) for r in rows], dtype=np.float64)

    return SessionMinutes([r[0] for r in rows], column(1), column(2), column(3), column(4))


def past_volume_by_minute(
    symbols: Sequence[str], at: MarketTime, *, sessions: int
) -> dict[str, dict[dt.date, int]]:
    """The volume each of ``symbols`` had traded by the same minute of the session (the
    first ``at.minute`` minutes) in each of the ``sessions`` sessions before ``at``'s that
    have stored minute bars: symbol → session → volume (one query for all symbols)."""
    volumes: dict[str, dict[dt.date, int]] = {symbol: {} for symbol in symbols}
    if sessions <= 0 or at.minute <= 0 or not symbols:
        return volumes
    past = [calendar.previous_session(at.session)]
    while len(past) < sessions:
        past.append(calendar.previous_session(past[-1]))
    window = functools.reduce(
        operator.or_,
        (
            Q(
                session=day,
                timestamp__lt=calendar.session_open_utc(day) + dt.timedelta(minutes=at.minute),
            )
            for day in past
        ),
    )
    rows = (
        MinuteBar.objects.filter(window, security_id__in=list(symbols))
        .values("security_id", "session")
        .annotate(total=Sum("volume"))
        .values_list("security_id", "session", "total")
    )
    for symbol, day, total in rows:
        if total:
            volumes[symbol][day] = int(total)
    return volumes


def minute_volume_ratios(
    symbols: Sequence[str], at: MarketTime, *, sessions: int
) -> dict[str, float | None]:
    """Each of ``symbols``' volume in the last completed minute of ``at``'s session over
    the mean volume of that same minute of the session in the ``sessions`` sessions before
    that have it stored (a volume spike is a ratio of 3 or more). None without the minute,
    or without a past session's. One query."""
    ratios: dict[str, float | None] = {symbol: None for symbol in symbols}
    if sessions <= 0 or at.minute <= 0 or not symbols:
        return ratios
    offset = dt.timedelta(minutes=at.minute - 1)
    days = [at.session]
    while len(days) <= sessions:
        days.append(calendar.previous_session(days[-1]))
    window = functools.reduce(
        operator.or_,
        (Q(session=day, timestamp=calendar.session_open_utc(day) + offset) for day in days),
    )
    rows = MinuteBar.objects.filter(window, security_id__in=list(symbols)).values_list(
        "security_id", "session", "volume"
    )
    now: dict[str, int] = {}
    past: dict[str, list[int]] = {symbol: [] for symbol in symbols}
    for symbol, day, volume in rows:
        if volume is None:
            continue
        if day == at.session:
            now[symbol] = int(volume)
        else:
            past[symbol].append(int(volume))
    for symbol in symbols:
        history = past[symbol]
        if symbol in now and history and sum(history) > 0:
            ratios[symbol] = now[symbol] / (sum(history) / len(history))
    return ratios


def chain_snapshot_at(symbol: str, moment: dt.datetime) -> ChainSnapshot | None:
    """The last stored chain snapshot of ``symbol`` priced at or before ``moment``, within
    its session."""
    session = moment.astimezone(calendar.EASTERN).date()
    return (
        ChainSnapshot.objects.filter(symbol=symbol, session=session, timestamp__lte=moment)
        .order_by("-timestamp")
        .first()
    )


def chain_snapshots_at(symbols: Sequence[str], moment: dt.datetime) -> dict[str, ChainSnapshot]:
    """:func:`chain_snapshot_at` of each of ``symbols`` in one query (each ticker's newest
    snapshot an indexed lookup of its own); a ticker without one is left out."""
    if not symbols:
        return {}
    session = moment.astimezone(calendar.EASTERN).date()

    def newest(symbol: str) -> Subquery:
        return Subquery(
            ChainSnapshot.objects.filter(symbol=symbol, session=session, timestamp__lte=moment)
            .order_by("-timestamp")
            .values("pk")[:1]
        )

    condition = functools.reduce(operator.or_, (Q(pk=newest(symbol)) for symbol in symbols))
    return {snapshot.symbol: snapshot for snapshot in ChainSnapshot.objects.filter(condition)}


def chain_snapshots_between(
    symbol: str, expiration: dt.date, start: dt.datetime, end: dt.datetime
) -> list[tuple[dt.datetime, list[dict[str, Any]], list[dict[str, Any]]]]:
    """``(timestamp, calls, puts)`` of the stored snapshots of ``symbol``'s ``expiration``
    chain priced in (``start``, ``end``], oldest first."""
    return list(
        ChainSnapshot.objects.filter(
            symbol=symbol, expiration=expiration, timestamp__gt=start, timestamp__lte=end
        )
        .order_by("timestamp")
        .values_list("timestamp", "calls", "puts")
    )


def daily_bars_iter(
    *, windows: Mapping[str, tuple[dt.date, dt.date]], chunk_size: int = 2000
) -> Iterator[tuple[dt.date, str, Decimal, Decimal]]:
    """The stored daily bars ``(date, symbol, close, adj_close)`` of each symbol of
    ``windows`` between its first and last date (inclusive), by date then symbol. Prices
    are the stored ones (dollars per share, per option share for options; ``close`` raw,
    ``adj_close`` split- and dividend-adjusted). One query, read ``chunk_size`` rows at a
    time (a server-side cursor on PostgreSQL), so a long range never sits in memory."""
    if not windows:
        return
    where = Q()
    for symbol, (first, last) in windows.items():
        where |= Q(security_id=symbol, date__gte=first, date__lte=last)
    yield from (
        PriceBar.objects.filter(where)
        .order_by("date", "security_id")
        .values_list("date", "security_id", "close", "adj_close")
        .iterator(chunk_size=chunk_size)
    )
