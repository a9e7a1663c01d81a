"""Financial Modeling Prep (FMP) provider.

FMP's current documentation (https://site.financialmodelingprep.com/developer/docs)
shows the "stable" API: the symbol in the query string, flat JSON arrays. The
older ``/api/v3`` paths no longer appear there (integrations elsewhere call them
deprecated, and whether an account may still use them depends on its plan), so
both are supported and ``api="stable"`` is the default:

* history, stable: ``/stable/historical-price-eod/non-split-adjusted`` (raw OHLCV)
  plus ``/stable/historical-price-eod/dividend-adjusted`` (``adjClose``), both
  ``?symbol=&from=&to=``; v3: ``/api/v3/historical-price-full/{symbol}?from=&to=``
  (``{"historical": [{date, open, ..., adjClose, volume}]}``).
* quotes, stable: ``/stable/batch-quote?symbols=A,B``; v3: ``/api/v3/quote/A,B``.
* profile, stable: ``/stable/profile?symbol=A``; v3: ``/api/v3/profile/A``.

Stable history costs two requests per symbol: base.py's ``close`` is the raw
close and ``adj_close`` the split- and dividend-adjusted one, and FMP serves them
from two endpoints. FMP's documented sample of the non-split-adjusted endpoint
names its raw prices ``adjOpen``..``adjClose``; plain ``open``..``close`` are
accepted too. In v3, ``close`` is FMP's split-adjusted close.

The key goes in the ``apikey`` header (documented for the stable API), so it is
never part of a URL.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import httpx
import pandas as pd

from marketdata.providers.base import (
    HISTORY_COLUMNS,
    Profile,
    ProviderError,
    QuoteData,
    SymbolNotFound,
    empty_history,
)
from marketdata.providers.failover import ProviderNotConfigured
from marketdata.providers.http import JSONClient, RequestBudget, RetryPolicy, utc_now

#: Symbols per batch quote request; FMP states no limit, this keeps URLs short.
QUOTE_BATCH = 100


def to_fmp_symbol(symbol: str) -> str:
    """FMP writes class shares with a dash (``BRK-B``); ``BRK/B`` is mapped to it.

    A dotted ``BRK.B`` is left alone because FMP uses dots for exchange suffixes
    (``VOD.L``); callers should use the dash form, as Yahoo and FMP do.
    """
    return re.sub(r"^([A-Z]{1,6})/([A-Z]{1,2})$", r"\1-\2", symbol.strip().upper())


def _number(row: Mapping[str, Any], *keys: str) -> float:
    """The first present numeric field of ``row`` as float, NaN when none is."""
    for key in keys:
        value = row.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return math.nan


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


class FMPProvider:
    """FMP as a :class:`~marketdata.providers.base.MarketDataProvider`."""

    name = "fmp"

    def __init__(
        self,
        api_key: str,
        client: httpx.Client | None = None,
        budget: RequestBudget | None = None,
        base_url: str = "https://financialmodelingprep.com",
        *,
        api: Literal["stable", "v3"] = "stable",
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        if not api_key:
            raise ProviderNotConfigured("fmp: no API key configured")
        if api not in ("stable", "v3"):
            raise ValueError(f"fmp: unknown api {api!r}")
        self.api = api
        self.clock = clock
        self.http = JSONClient(
            provider=self.name,
            base_url=base_url,
            client=client,
            headers={"apikey": api_key, "Accept": "application/json"},
            secrets=[api_key],
            budget=budget,
            retry=retry,
            sleep=sleep,
            clock=clock,
        )

    def _get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET JSON; FMP reports some errors as ``{"Error Message": ...}`` with HTTP 200."""
        payload = self.http.get_json(path, params)
        if isinstance(payload, Mapping) and "Error Message" in payload:
            message = self.http.mask(str(payload["Error Message"]))[:200]
            raise ProviderError(f"fmp: {message}")
        return payload

    # ------------------------------------------------------------------ history

    def history(self, symbols: Sequence[str], start: dt.date, end: dt.date) -> pd.DataFrame:
        """Daily bars per symbol; symbols FMP returns nothing for are left out."""
        frames = []
        for symbol in dict.fromkeys(symbols):
            rows = self._history_rows(symbol, start, end)
            if rows:
                frames.append(pd.DataFrame(rows, columns=list(HISTORY_COLUMNS)))
        if not frames:
            return empty_history()
        frame = pd.concat(frames, ignore_index=True)
        return frame.sort_values(["symbol", "date"], ignore_index=True)

    def _history_rows(self, symbol: str, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
        window = {"from": start.isoformat(), "to": end.isoformat()}
        vendor = to_fmp_symbol(symbol)
        try:
            if self.api == "v3":
                payload = self._get(f"api/v3/historical-price-full/{vendor}", window)
                raw = payload.get("historical", []) if isinstance(payload, Mapping) else []
                adjusted = None
            else:
                params = {"symbol": vendor, **window}
                raw = self._get("stable/historical-price-eod/non-split-adjusted", params)
                if not raw:
                    return []
                adjusted = self._get("stable/historical-price-eod/dividend-adjusted", params)
        except SymbolNotFound:
            return []
        if not isinstance(raw, list):
            raise ProviderError(f"fmp: unexpected history payload for {symbol}")
        adj_by_date: dict[str, float] = {}
        if isinstance(adjusted, list):
            for item in adjusted:
                if isinstance(item, Mapping) and isinstance(item.get("date"), str):
                    adj_by_date[item["date"][:10]] = _number(item, "adjClose", "close")
        rows = []
        for item in raw:
            if not isinstance(item, Mapping) or not isinstance(item.get("date"), str):
                raise ProviderError(f"fmp: history row without a date for {symbol}")
            day = dt.date.fromisoformat(item["date"][:10])
            if not start <= day <= end:
                continue
            if self.api == "v3":
                close = _number(item, "close")
                adj_close = _number(item, "adjClose")
            else:
                close = _number(item, "close", "adjClose")
                adj_close = adj_by_date.get(item["date"][:10], math.nan)
            rows.append(
                {
                    "symbol": symbol,
                    "date": day,
                    "open": _number(item, "open", "adjOpen"),
                    "high": _number(item, "high", "adjHigh"),
                    "low": _number(item, "low", "adjLow"),
                    "close": close,
                    "adj_close": adj_close,
                    "volume": _number(item, "volume"),
                    "source": self.name,
                }
            )
        return rows

    # ------------------------------------------------------------------- quotes

    def quotes(self, symbols: Sequence[str]) -> list[QuoteData]:
        """Latest trade price and day volume; FMP quotes carry no bid/ask, so those are None."""
        wanted = {to_fmp_symbol(s): s for s in dict.fromkeys(symbols)}
        vendor_symbols = list(wanted)
        result: list[QuoteData] = []
        for i in range(0, len(vendor_symbols), QUOTE_BATCH):
            batch = vendor_symbols[i : i + QUOTE_BATCH]
            try:
                if self.api == "v3":
                    payload = self._get(f"api/v3/quote/{','.join(batch)}")
                else:
                    payload = self._get("stable/batch-quote", {"symbols": ",".join(batch)})
            except SymbolNotFound:
                continue
            if not isinstance(payload, list):
                raise ProviderError("fmp: unexpected quote payload")
            for item in payload:
                if isinstance(item, Mapping) and item.get("symbol") in wanted:
                    result.append(self._quote(wanted[item["symbol"]], item))
        return result

    def _quote(self, symbol: str, item: Mapping[str, Any]) -> QuoteData:
        stamp = item.get("timestamp")
        when = (
            dt.datetime.fromtimestamp(stamp, dt.UTC)
            if isinstance(stamp, int | float) and stamp > 0
            else self.clock()
        )
        last = _number(item, "price")
        volume = _number(item, "volume")
        return QuoteData(
            symbol=symbol,
            bid=None,
            ask=None,
            bid_size=None,
            ask_size=None,
            last=None if math.isnan(last) else last,
            volume=None if math.isnan(volume) else int(volume),
            timestamp=when,
            source=self.name,
        )

    # ------------------------------------------------------------------ profile

    def profile(self, symbol: str) -> Profile | None:
        """Reference data. Dividend yield and shares outstanding are derived:
        ``lastDividend / price`` (FMP's lastDividend is the annual amount) and
        ``marketCap / price``."""
        vendor = to_fmp_symbol(symbol)
        try:
            if self.api == "v3":
                payload = self._get(f"api/v3/profile/{vendor}")
            else:
                payload = self._get("stable/profile", {"symbol": vendor})
        except SymbolNotFound:
            return None
        if isinstance(payload, Mapping):  # an error object with HTTP 200
            raise ProviderError(f"fmp: unexpected profile payload for {symbol}")
        if not payload:
            return None
        item = payload[0]
        price = _number(item, "price")
        dividend = _number(item, "lastDividend", "lastDiv")
        market_cap = _number(item, "marketCap", "mktCap")
        has_price = not math.isnan(price) and price > 0
        if item.get("isEtf"):
            asset_type = "etf"
        elif item.get("isFund"):
            asset_type = "mutual_fund"
        elif symbol.startswith("^"):
            asset_type = "index"
        else:
            asset_type = "stock"
        return Profile(
            symbol=symbol,
            name=_text(item.get("companyName")) or symbol,
            asset_type=asset_type,
            sector=_text(item.get("sector")),
            industry=_text(item.get("industry")),
            exchange=_text(item.get("exchange")) or _text(item.get("exchangeShortName")),
            currency=_text(item.get("currency")) or "USD",
            dividend_yield=dividend / price if has_price and not math.isnan(dividend) else None,
            shares_outstanding=(
                market_cap / price if has_price and not math.isnan(market_cap) else None
            ),
            eps_ttm=None,
            source=self.name,
        )
