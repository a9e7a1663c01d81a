"""Polygon.io provider (the service now also answers as Massive, api.massive.com).

Endpoints, from https://polygon.io/docs/stocks:

* history: ``/v2/aggs/ticker/{T}/range/1/day/{from}/{to}`` asked twice, with
  ``adjusted=false`` for the raw OHLCV and ``adjusted=true`` for ``adj_close``;
  ``results[]`` of ``{t, o, h, l, c, v, vw, n}``, ``t`` the bar start in ms UTC
  (midnight New York for daily bars), more pages behind ``next_url``.
  Polygon's ``adjusted=true`` corrects for **splits only**, so ``adj_close``
  from this provider is split-adjusted but not dividend-adjusted.
* quotes: ``/v2/snapshot/locale/us/markets/stocks/tickers?tickers=A,B`` with
  ``lastQuote {p, s, P, S}`` (bid, bid size, ask, ask size), ``lastTrade {p}``,
  ``day {c, v}`` and ``updated`` (ns UTC).
* profile: ``/v3/reference/tickers/{T}`` (``results`` object; 404 when unknown).
* minute bars (the 0DTE market): ``/v2/aggs/ticker/{T}/range/1/minute/{day}/{day}``, the
  daily aggregates' schema with a minute timespan (``t`` the minute's start, ms UTC);
  pre- and after-market minutes are dropped, the regular session kept.
* option chains: ``/v3/snapshot/options/{underlying}?expiration_date=`` with, per
  contract, ``details`` (``ticker``, ``contract_type``, ``strike_price``,
  ``expiration_date``), ``last_quote`` (``bid``, ``ask``, sizes), ``last_trade``
  (``price``), ``day`` (``volume``), ``open_interest``, ``implied_volatility``,
  ``greeks`` (delta, gamma, theta, vega) and ``underlying_asset.price``; more pages
  behind ``next_url``.

Polygon writes class shares with a dot (``BRK.B``); the dash form (``BRK-B``, as
Yahoo and FMP write it) is mapped both ways. The key goes in the documented
``Authorization: Bearer`` header, so ``next_url`` pages need no ``apiKey``
parameter and no URL ever holds the key.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pandas as pd

from marketdata.providers.base import (
    HISTORY_COLUMNS,
    MINUTE_COLUMNS,
    OptionSnapshot,
    Profile,
    ProviderError,
    QuoteData,
    SymbolNotFound,
    empty_history,
)
from marketdata.providers.failover import ProviderNotConfigured
from marketdata.providers.http import JSONClient, RequestBudget, RetryPolicy, utc_now

NEW_YORK = ZoneInfo("America/New_York")
#: Tickers per snapshot request (keeps the URL well under common 8 KB limits).
SNAPSHOT_BATCH = 250
#: Safety stop for ``next_url`` loops; 50,000 daily bars fit on one page anyway.
MAX_PAGES = 100

#: Polygon ticker ``type`` codes (``/v3/reference/tickers/types``) to base.py asset types.
_ASSET_TYPES = {
    "CS": "stock",
    "ADRC": "stock",
    "PFD": "stock",
    "OS": "stock",
    "GDR": "stock",
    "ETF": "etf",
    "ETN": "etf",
    "ETV": "etf",
    "ETS": "etf",
    "FUND": "mutual_fund",
    "INDEX": "index",
}


def to_polygon_symbol(symbol: str) -> str:
    """``BRK-B`` and ``BRK/B`` become ``BRK.B``; other symbols are unchanged."""
    return re.sub(r"^([A-Z]{1,6})[-/]([A-Z]{1,2})$", r"\1.\2", symbol.strip().upper())


def _number(row: Mapping[str, Any] | None, key: str) -> float | None:
    """A positive number from ``row[key]``; snapshot fields read 0 before the open."""
    if not isinstance(row, Mapping):
        return None
    value = row.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return None


def session_date(t_ms: int | float) -> dt.date:
    """The New York session date of a daily bar whose start is ``t_ms`` ms after the epoch."""
    return dt.datetime.fromtimestamp(t_ms / 1000, dt.UTC).astimezone(NEW_YORK).date()


class PolygonProvider:
    """Polygon as a :class:`~marketdata.providers.base.MarketDataProvider`."""

    name = "polygon"

    def __init__(
        self,
        api_key: str,
        client: httpx.Client | None = None,
        budget: RequestBudget | None = None,
        base_url: str = "https://api.polygon.io",
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        if not api_key:
            raise ProviderNotConfigured("polygon: no API key configured")
        self.clock = clock
        self.http = JSONClient(
            provider=self.name,
            base_url=base_url,
            client=client,
            headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
            secrets=[api_key],
            budget=budget,
            retry=retry,
            sleep=sleep,
            clock=clock,
        )

    def _get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET JSON; Polygon marks failures with ``status: ERROR`` / ``NOT_AUTHORIZED``."""
        payload = self.http.get_json(path, params)
        if not isinstance(payload, Mapping):
            raise ProviderError("polygon: expected a JSON object")
        if payload.get("status") in ("ERROR", "NOT_AUTHORIZED"):
            message = payload.get("error") or payload.get("message") or payload["status"]
            raise ProviderError(f"polygon: {self.http.mask(str(message))[:200]}")
        return payload

    # ------------------------------------------------------------------ history

    def _bars(self, ticker: str, start: dt.date, end: dt.date, adjusted: bool) -> list[Mapping]:
        """All daily aggregates for one ticker, following ``next_url``."""
        params = {"adjusted": "true" if adjusted else "false", "sort": "asc", "limit": 50000}
        path = f"v2/aggs/ticker/{ticker}/range/1/day/{start}/{end}"
        return self._pages(path, params, f"{ticker} aggregates")

    def history(self, symbols: Sequence[str], start: dt.date, end: dt.date) -> pd.DataFrame:
        """Raw daily bars with Polygon's split-adjusted close as ``adj_close``."""
        rows: list[dict[str, Any]] = []
        for symbol in dict.fromkeys(symbols):
            ticker = to_polygon_symbol(symbol)
            try:
                raw = self._bars(ticker, start, end, adjusted=False)
                if not raw:
                    continue
                adjusted = self._bars(ticker, start, end, adjusted=True)
            except SymbolNotFound:
                continue
            adj_close = {session_date(b["t"]): b.get("c") for b in adjusted if "t" in b}
            for bar in raw:
                if not isinstance(bar.get("t"), int | float):
                    raise ProviderError(f"polygon: aggregate without a timestamp for {symbol}")
                day = session_date(bar["t"])
                if not start <= day <= end:
                    continue
                rows.append(
                    {
                        "symbol": symbol,
                        "date": day,
                        "open": _float(bar.get("o")),
                        "high": _float(bar.get("h")),
                        "low": _float(bar.get("l")),
                        "close": _float(bar.get("c")),
                        "adj_close": _float(adj_close.get(day)),
                        "volume": _float(bar.get("v")),
                        "source": self.name,
                    }
                )
        if not rows:
            return empty_history()
        frame = pd.DataFrame(rows, columns=list(HISTORY_COLUMNS))
        return frame.sort_values(["symbol", "date"], ignore_index=True)

    # ------------------------------------------------------------------- quotes

    def quotes(self, symbols: Sequence[str]) -> list[QuoteData]:
        """NBBO and last trade from the snapshot; tickers Polygon does not return are left out."""
        wanted = {to_polygon_symbol(s): s for s in dict.fromkeys(symbols)}
        tickers = list(wanted)
        found: dict[str, QuoteData] = {}
        for i in range(0, len(tickers), SNAPSHOT_BATCH):
            batch = tickers[i : i + SNAPSHOT_BATCH]
            try:
                payload = self._get(
                    "v2/snapshot/locale/us/markets/stocks/tickers", {"tickers": ",".join(batch)}
                )
            except SymbolNotFound:
                continue
            for item in payload.get("tickers") or []:
                if isinstance(item, Mapping) and item.get("ticker") in wanted:
                    quote = self._quote(wanted[item["ticker"]], item)
                    found[quote.symbol] = quote
        return [found[s] for s in wanted.values() if s in found]

    def _quote(self, symbol: str, item: Mapping[str, Any]) -> QuoteData:
        last_quote = item.get("lastQuote")
        last_trade = item.get("lastTrade")
        day = item.get("day")
        # Before the open ``day`` is all zeros and plans without trades omit lastTrade.
        last = _number(last_trade, "p") or _number(day, "c") or _number(item.get("prevDay"), "c")
        volume = _number(day, "v")
        stamp = item.get("updated")
        if not isinstance(stamp, int | float) or stamp <= 0:
            stamp = (last_trade or {}).get("t") if isinstance(last_trade, Mapping) else None
        when = (
            dt.datetime.fromtimestamp(stamp / 1e9, dt.UTC)
            if isinstance(stamp, int | float) and stamp > 0
            else self.clock()
        )
        bid_size = _number(last_quote, "s")
        ask_size = _number(last_quote, "S")
        return QuoteData(
            symbol=symbol,
            bid=_number(last_quote, "p"),
            ask=_number(last_quote, "P"),
            bid_size=int(bid_size) if bid_size is not None else None,
            ask_size=int(ask_size) if ask_size is not None else None,
            last=last,
            volume=int(volume) if volume is not None else None,
            timestamp=when,
            source=self.name,
        )

    # ------------------------------------------------------------------ intraday

    def _pages(self, path: str, params: dict[str, Any] | None, what: str) -> list[Mapping]:
        """Every ``results`` row behind ``path``, following ``next_url``."""
        rows: list[Mapping] = []
        seen: set[str] = set()
        next_path: str | None = path
        while next_path is not None:
            if len(seen) >= MAX_PAGES or next_path in seen:
                raise ProviderError(f"polygon: pagination of {what} does not end")
            seen.add(next_path)
            payload = self._get(next_path, params)
            results = payload.get("results") or []
            if not isinstance(results, list):
                raise ProviderError(f"polygon: unexpected payload for {what}")
            rows.extend(r for r in results if isinstance(r, Mapping))
            next_url = payload.get("next_url")
            next_path, params = (
                (next_url, None) if isinstance(next_url, str) and next_url else (None, None)
            )
        return rows

    def minute_bars(
        self, symbols: Sequence[str], session: dt.date, *, regular_only: bool = True
    ) -> pd.DataFrame:
        """One-minute bars of ``session`` in :data:`MINUTE_COLUMNS` order (``timestamp`` the
        minute's start, aware UTC), the regular session only unless ``regular_only`` is
        false; symbols Polygon has nothing for are left out."""
        opened = dt.datetime.combine(session, dt.time(9, 30), NEW_YORK)
        closed = dt.datetime.combine(session, dt.time(16, 0), NEW_YORK)
        rows: list[dict[str, Any]] = []
        for symbol in dict.fromkeys(symbols):
            ticker = to_polygon_symbol(symbol)
            path = f"v2/aggs/ticker/{ticker}/range/1/minute/{session}/{session}"
            params = {"adjusted": "true", "sort": "asc", "limit": 50000}
            for bar in self._pages(path, params, f"{ticker} minutes"):
                t, close = bar.get("t"), _number(bar, "c")
                if not isinstance(t, int | float) or close is None:
                    continue
                stamp = dt.datetime.fromtimestamp(t / 1000, dt.UTC)
                if regular_only and not opened <= stamp < closed:
                    continue
                rows.append(
                    {
                        "symbol": symbol,
                        "timestamp": stamp,
                        "open": _number(bar, "o"),
                        "high": _number(bar, "h"),
                        "low": _number(bar, "l"),
                        "close": close,
                        "volume": _number(bar, "v"),
                        "vwap": _number(bar, "vw"),
                        "source": self.name,
                    }
                )
        return pd.DataFrame(rows, columns=list(MINUTE_COLUMNS))

    def option_chain(self, underlying: str, expiration: dt.date) -> list[OptionSnapshot]:
        """Every contract of ``underlying`` expiring on ``expiration``, as the chain
        snapshot quotes it (prices per share of underlying, IV a fraction, Polygon's
        Greeks as it states them: theta per day, vega per volatility point)."""
        ticker = to_polygon_symbol(underlying)
        path = f"v3/snapshot/options/{ticker}"
        params = {"expiration_date": str(expiration), "limit": 250}
        out: list[OptionSnapshot] = []
        for item in self._pages(path, params, f"{ticker} options"):
            details, quote, trade, greeks, day, under = (
                _mapping(item, key)
                for key in (
                    "details",
                    "last_quote",
                    "last_trade",
                    "greeks",
                    "day",
                    "underlying_asset",
                )
            )
            kind = str(details.get("contract_type") or "").lower()
            strike = _number(details, "strike_price")
            expiry_text = details.get("expiration_date")
            if kind not in ("call", "put") or strike is None or not isinstance(expiry_text, str):
                continue
            stamp = quote.get("last_updated") or day.get("last_updated")
            bid_size, ask_size = _number(quote, "bid_size"), _number(quote, "ask_size")
            volume, interest = _number(day, "volume"), _number(item, "open_interest")
            out.append(
                OptionSnapshot(
                    contract=str(details.get("ticker") or "").removeprefix("O:"),
                    underlying=underlying,
                    is_call=kind == "call",
                    strike=strike,
                    expiration=dt.date.fromisoformat(expiry_text),
                    bid=_number(quote, "bid"),
                    ask=_number(quote, "ask"),
                    bid_size=int(bid_size) if bid_size is not None else None,
                    ask_size=int(ask_size) if ask_size is not None else None,
                    last=_number(trade, "price"),
                    volume=int(volume) if volume is not None else None,
                    open_interest=int(interest) if interest is not None else None,
                    implied_volatility=_number(item, "implied_volatility"),
                    delta=_number(greeks, "delta"),
                    gamma=_number(greeks, "gamma"),
                    theta=_number(greeks, "theta"),
                    vega=_number(greeks, "vega"),
                    underlying_price=_number(under, "price"),
                    timestamp=(
                        dt.datetime.fromtimestamp(stamp / 1e9, dt.UTC)
                        if isinstance(stamp, int | float) and stamp > 0
                        else self.clock()
                    ),
                    source=self.name,
                )
            )
        return sorted(out, key=lambda o: (o.strike, not o.is_call))

    # ------------------------------------------------------------------ profile

    def profile(self, symbol: str) -> Profile | None:
        """Ticker details. Polygon gives an SIC description, not a GICS sector, so
        ``sector`` is None and ``industry`` is the SIC description."""
        try:
            payload = self._get(f"v3/reference/tickers/{to_polygon_symbol(symbol)}")
        except SymbolNotFound:
            return None
        item = payload.get("results")
        if not isinstance(item, Mapping) or not item:
            return None
        if item.get("market") == "indices":
            asset_type = "index"
        else:
            asset_type = _ASSET_TYPES.get(str(item.get("type", "")).upper(), "stock")
        shares = _number(item, "share_class_shares_outstanding") or _number(
            item, "weighted_shares_outstanding"
        )
        industry = item.get("sic_description")
        currency = item.get("currency_name")
        return Profile(
            symbol=symbol,
            name=str(item.get("name") or symbol),
            asset_type=asset_type,
            sector=None,
            industry=industry.title() if isinstance(industry, str) and industry else None,
            exchange=item.get("primary_exchange") or None,
            currency=currency.upper() if isinstance(currency, str) and currency else "USD",
            shares_outstanding=shares,
            source=self.name,
        )


def _mapping(item: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = item.get(key)
    return value if isinstance(value, Mapping) else {}


def _float(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return math.nan
