"""The failover chain: order, per-symbol fallthrough, stats and build_provider."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path

import httpx
import pandas as pd
import pytest

from marketdata.providers.base import (
    HISTORY_COLUMNS,
    BudgetExhausted,
    MarketDataProvider,
    Profile,
    ProviderError,
    QuoteData,
    RateLimited,
    empty_history,
)
from marketdata.providers.failover import FailoverProvider, ProviderNotConfigured, build_provider
from marketdata.providers.fmp import FMPProvider
from marketdata.providers.http import RetryPolicy
from marketdata.providers.polygon import PolygonProvider

START, END = dt.date(2025, 1, 2), dt.date(2025, 1, 3)
T0 = dt.datetime(2025, 1, 3, 21, 0, tzinfo=dt.UTC)


class Fake:
    """A provider that knows some symbols, or fails with ``error`` on every call."""

    def __init__(
        self,
        name: str,
        symbols: Sequence[str] = (),
        error: Exception | None = None,
        profiles: bool = True,
    ) -> None:
        self.name = name
        self.symbols = set(symbols)
        self.error = error
        self.profiles = profiles
        self.asked: list[list[str]] = []

    def _call(self, symbols: Sequence[str]) -> list[str]:
        self.asked.append(list(symbols))
        if self.error is not None:
            raise self.error
        return [s for s in symbols if s in self.symbols]

    def history(self, symbols: Sequence[str], start: dt.date, end: dt.date) -> pd.DataFrame:
        known = self._call(symbols)
        if not known:
            return empty_history()
        rows = [
            {
                "symbol": s,
                "date": start,
                "open": 1.0,
                "high": 1.0,
                "low": 1.0,
                "close": 1.0,
                "adj_close": 1.0,
                "volume": 1.0,
                "source": self.name,
            }
            for s in known
        ]
        return pd.DataFrame(rows, columns=list(HISTORY_COLUMNS))

    def quotes(self, symbols: Sequence[str]) -> list[QuoteData]:
        return [
            QuoteData(s, None, None, None, None, 1.0, None, T0, self.name)
            for s in self._call(symbols)
        ]

    def profile(self, symbol: str) -> Profile | None:
        known = self._call([symbol])
        if known and self.profiles:
            return Profile(symbol=symbol, name=symbol, asset_type="stock", source=self.name)
        return None


def chain(*providers: Fake) -> FailoverProvider:
    return FailoverProvider(list(providers), clock=lambda: T0)


def test_failover_is_a_market_data_provider() -> None:
    provider = chain(Fake("a"))
    assert isinstance(provider, MarketDataProvider)
    assert provider.name == "failover"


def test_the_first_provider_that_answers_everything_is_the_only_one_asked() -> None:
    first, second = Fake("a", ["AAPL", "MSFT"]), Fake("b", ["AAPL", "MSFT"])
    frame = chain(first, second).history(["AAPL", "MSFT"], START, END)
    assert set(frame["source"]) == {"a"}
    assert second.asked == []


def test_symbols_one_provider_lacks_are_asked_of_the_next() -> None:
    first, second, third = Fake("a", ["AAPL"]), Fake("b", ["MSFT"]), Fake("c", ["SPY"])
    frame = chain(first, second, third).history(["AAPL", "MSFT", "SPY", "ZZZZ"], START, END)
    assert tuple(frame.columns) == HISTORY_COLUMNS
    assert dict(zip(frame["symbol"], frame["source"], strict=True)) == {
        "AAPL": "a",
        "MSFT": "b",
        "SPY": "c",
    }
    assert first.asked == [["AAPL", "MSFT", "SPY", "ZZZZ"]]
    assert second.asked == [["MSFT", "SPY", "ZZZZ"]]
    assert third.asked == [["SPY", "ZZZZ"]]


@pytest.mark.parametrize(
    "error", [ProviderError("down"), RateLimited("429"), BudgetExhausted("budget")]
)
def test_a_provider_error_moves_on_to_the_next_provider(error: ProviderError) -> None:
    first, second = Fake("a", ["AAPL"], error=error), Fake("b", ["AAPL"])
    quotes = chain(first, second).quotes(["AAPL"])
    assert [(q.symbol, q.source) for q in quotes] == [("AAPL", "b")]
    assert second.asked == [["AAPL"]]


def test_quotes_fall_through_per_symbol_and_keep_the_callers_order() -> None:
    first, second = Fake("a", ["MSFT"]), Fake("b", ["AAPL", "MSFT"])
    quotes = chain(first, second).quotes(["AAPL", "MSFT", "ZZZZ"])
    assert [(q.symbol, q.source) for q in quotes] == [("AAPL", "b"), ("MSFT", "a")]
    assert second.asked == [["AAPL", "ZZZZ"]]


def test_every_provider_failing_raises_a_provider_error_naming_each() -> None:
    provider = chain(
        Fake("a", error=RateLimited("429 a")), Fake("b", error=ProviderError("b down"))
    )
    with pytest.raises(ProviderError, match=r"history: a: 429 a; b: b down"):
        provider.history(["AAPL"], START, END)
    with pytest.raises(ProviderError, match="quotes"):
        provider.quotes(["AAPL"])
    with pytest.raises(ProviderError, match="profile AAPL"):
        provider.profile("AAPL")


def test_one_answer_without_the_symbol_is_not_a_failure() -> None:
    provider = chain(Fake("a", error=ProviderError("down")), Fake("b", []))
    assert provider.history(["ZZZZ"], START, END).empty
    assert provider.quotes(["ZZZZ"]) == []
    assert provider.profile("ZZZZ") is None


def test_empty_symbol_lists_ask_nobody() -> None:
    first = Fake("a", ["AAPL"])
    provider = chain(first)
    assert provider.history([], START, END).empty
    assert provider.quotes([]) == []
    assert first.asked == []


def test_profile_takes_the_first_non_none_answer() -> None:
    first = Fake("a", ["AAPL"], profiles=False)
    second = Fake("b", error=ProviderError("down"))
    third = Fake("c", ["AAPL"])
    profile = chain(first, second, third).profile("AAPL")
    assert profile is not None and profile.source == "c"


def test_errors_that_are_not_provider_errors_propagate() -> None:
    provider = chain(Fake("a", error=KeyError("bug")), Fake("b", ["AAPL"]))
    with pytest.raises(KeyError):
        provider.history(["AAPL"], START, END)


def test_stats_count_calls_and_errors_per_provider() -> None:
    clock = iter(T0 + dt.timedelta(seconds=n) for n in range(4))
    first, second = Fake("a", error=RateLimited("429 too many")), Fake("b", ["AAPL"])
    provider = FailoverProvider([first, second], clock=lambda: next(clock))
    provider.quotes(["AAPL"])
    provider.quotes(["AAPL"])
    stats = provider.stats()
    assert list(stats) == ["a", "b"]
    assert stats["a"] == {
        "calls": 2,
        "errors": 2,
        "last_success": None,
        "last_error": "429 too many",
        "last_error_at": "2025-01-03T21:00:02+00:00",
    }
    assert stats["b"]["calls"] == 2 and stats["b"]["errors"] == 0
    assert stats["b"]["last_success"] == "2025-01-03T21:00:03+00:00"
    json.dumps(stats)  # ready for a status endpoint


def test_stats_keep_two_providers_of_one_kind_apart() -> None:
    provider = chain(Fake("csv"), Fake("csv"))
    assert list(provider.stats()) == ["csv", "csv#2"]


# -------------------------------------------------------------------- build_provider


def test_build_provider_skips_providers_that_are_not_configured() -> None:
    def missing_key() -> MarketDataProvider:
        raise ProviderNotConfigured("no key")

    provider = build_provider(
        ["polygon", "fmp", "csv"],
        factories={
            "polygon": missing_key,
            "fmp": lambda: FMPProvider(""),  # the real provider refuses an empty key
            "csv": lambda: Fake("csv", ["AAPL"]),
        },
    )
    assert isinstance(provider, FailoverProvider)
    assert list(provider.stats()) == ["csv"]
    assert provider.quotes(["AAPL"])[0].source == "csv"


def test_build_provider_rejects_unknown_names_and_an_empty_chain() -> None:
    with pytest.raises(ValueError, match="unknown market-data providers"):
        build_provider(["yahoo"], factories={"csv": lambda: Fake("csv")})
    with pytest.raises(ProviderNotConfigured):
        build_provider(["fmp"], factories={"fmp": lambda: FMPProvider("")})


# ------------------------------------------------------- end to end over MockTransport

PAYLOADS = Path(__file__).parent / "payloads"


def test_a_rate_limited_polygon_falls_over_to_fmp() -> None:
    def polygon_429(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            429, json=json.loads((PAYLOADS / "polygon_error_429.json").read_text())
        )

    def fmp(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text=(PAYLOADS / "fmp_quote.json").read_text())

    sleeps: list[float] = []
    polygon = PolygonProvider(
        "pk",
        client=httpx.Client(transport=httpx.MockTransport(polygon_429)),
        retry=RetryPolicy(max_attempts=2, base_delay=0.25),
        sleep=sleeps.append,
    )
    fmp_provider = FMPProvider("fk", client=httpx.Client(transport=httpx.MockTransport(fmp)))
    provider = FailoverProvider([polygon, fmp_provider])
    quotes = provider.quotes(["AAPL", "BRK-B"])
    assert [(q.symbol, q.source, q.last) for q in quotes] == [
        ("AAPL", "fmp", 232.8),
        ("BRK-B", "fmp", 473.47),
    ]
    assert sleeps == [0.25]
    stats = provider.stats()
    assert stats["polygon"]["errors"] == 1 and "HTTP 429" in stats["polygon"]["last_error"]
    assert stats["fmp"]["errors"] == 0
