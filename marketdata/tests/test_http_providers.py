"""The retrying JSON client and the FMP / Polygon providers, against recorded payloads.

Every request goes to an ``httpx.MockTransport``; nothing here can reach a network.
The payloads are hand-written to the vendors' documented formats (see payloads/README.md).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from marketdata.providers.base import (
    HISTORY_COLUMNS,
    MINUTE_COLUMNS,
    BudgetExhausted,
    MarketDataProvider,
    ProviderError,
    RateLimited,
    SymbolNotFound,
)
from marketdata.providers.failover import ProviderNotConfigured
from marketdata.providers.fmp import FMPProvider, to_fmp_symbol
from marketdata.providers.http import (
    InMemoryCounterStore,
    JSONClient,
    RequestBudget,
    RetryPolicy,
    mask_secrets,
    parse_retry_after,
)
from marketdata.providers.polygon import (
    NEW_YORK,
    PolygonProvider,
    session_date,
    to_polygon_symbol,
)

PAYLOADS = Path(__file__).parent / "payloads"
KEY = "test-KEY-5f3c9a7e"
NOW = dt.datetime(2025, 2, 4, 21, 0, tzinfo=dt.UTC)
START, END = dt.date(2020, 8, 24), dt.date(2020, 9, 4)
Handler = Callable[[httpx.Request], httpx.Response]


def payload(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_text())


class Recorder:
    """A MockTransport handler that records requests and answers from a route function."""

    def __init__(self, route: Handler) -> None:
        self.route = route
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.route(request)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self))


def sequence(*responses: httpx.Response | Exception) -> Handler:
    """A route answering with ``responses`` in order (an exception is raised instead)."""
    queue = list(responses)

    def route(request: httpx.Request) -> httpx.Response:
        item = queue.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    return route


def json_client(recorder: Recorder, **kwargs: Any) -> tuple[JSONClient, list[float]]:
    sleeps: list[float] = []
    kwargs.setdefault("retry", RetryPolicy(max_attempts=3, base_delay=1.0, factor=2.0))
    client = JSONClient(
        provider="fmp",
        base_url="https://vendor.test",
        client=recorder.client(),
        headers={"apikey": KEY},
        secrets=[KEY],
        sleep=sleeps.append,
        clock=lambda: NOW,
        **kwargs,
    )
    return client, sleeps


# --------------------------------------------------------------------- JSONClient


def test_retries_a_429_after_the_retry_after_seconds_then_succeeds() -> None:
    recorder = Recorder(
        sequence(
            httpx.Response(429, headers={"Retry-After": "3"}, json=payload("fmp_error_429.json")),
            httpx.Response(200, json=[{"ok": True}]),
        )
    )
    client, sleeps = json_client(recorder)
    assert client.get_json("stable/quote", {"symbol": "AAPL"}) == [{"ok": True}]
    assert sleeps == [3.0]
    assert len(recorder.requests) == 2


def test_retries_a_503_with_the_base_delay_then_succeeds() -> None:
    recorder = Recorder(sequence(httpx.Response(503, text="busy"), httpx.Response(200, json={})))
    client, sleeps = json_client(recorder)
    assert client.get_json("x") == {}
    assert sleeps == [1.0]


def test_gives_up_with_rate_limited_after_max_attempts_and_backs_off_exponentially() -> None:
    recorder = Recorder(sequence(*[httpx.Response(429, json=payload("fmp_error_429.json"))] * 3))
    client, sleeps = json_client(recorder)
    with pytest.raises(RateLimited, match=r"HTTP 429.*Limit Reach.*gave up after 3 attempts"):
        client.get_json("stable/quote")
    assert sleeps == [1.0, 2.0]
    assert len(recorder.requests) == 3


def test_backoff_is_capped_at_max_delay() -> None:
    policy = RetryPolicy(max_attempts=6, base_delay=1.0, factor=3.0, max_delay=10.0)
    assert [policy.delay(n) for n in range(1, 6)] == [1.0, 3.0, 9.0, 10.0, 10.0]


def test_a_retry_after_longer_than_allowed_gives_up_without_sleeping() -> None:
    recorder = Recorder(sequence(httpx.Response(429, headers={"Retry-After": "3600"})))
    client, sleeps = json_client(recorder)
    with pytest.raises(RateLimited, match="Retry-After 3600s exceeds 60s"):
        client.get_json("x")
    assert sleeps == []
    assert len(recorder.requests) == 1


def test_retry_after_accepts_an_http_date() -> None:
    assert parse_retry_after("Tue, 04 Feb 2025 21:00:05 GMT", NOW) == 5.0
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after(None, NOW) is None


def test_transport_errors_are_retried_and_end_as_provider_error() -> None:
    fail = httpx.ConnectError("connection refused")
    recorder = Recorder(sequence(fail, fail, fail))
    client, sleeps = json_client(recorder)
    with pytest.raises(ProviderError, match="ConnectError") as info:
        client.get_json("x")
    assert not isinstance(info.value, RateLimited)
    assert sleeps == [1.0, 2.0]


def test_a_500_that_persists_ends_as_provider_error_not_rate_limited() -> None:
    recorder = Recorder(sequence(*[httpx.Response(500)] * 3))
    client, _ = json_client(recorder)
    with pytest.raises(ProviderError, match="HTTP 500") as info:
        client.get_json("x")
    assert not isinstance(info.value, RateLimited)


def test_client_errors_are_not_retried() -> None:
    recorder = Recorder(sequence(httpx.Response(401, json=payload("fmp_error_401.json"))))
    client, sleeps = json_client(recorder)
    with pytest.raises(ProviderError, match=r"HTTP 401.*Invalid API KEY"):
        client.get_json("stable/profile", {"symbol": "AAPL"})
    assert sleeps == []
    assert len(recorder.requests) == 1


def test_404_raises_symbol_not_found() -> None:
    recorder = Recorder(sequence(httpx.Response(404, json={"message": "Ticker not found."})))
    client, _ = json_client(recorder)
    with pytest.raises(SymbolNotFound):
        client.get_json("x")


def test_invalid_json_is_a_provider_error() -> None:
    recorder = Recorder(sequence(httpx.Response(200, text="<html>maintenance</html>")))
    client, _ = json_client(recorder)
    with pytest.raises(ProviderError, match="invalid JSON"):
        client.get_json("x")


def test_budget_exhaustion_raises_before_any_request_is_sent() -> None:
    recorder = Recorder(lambda request: httpx.Response(200, json=[]))
    budget = RequestBudget("fmp", per_day=2, clock=lambda: NOW)
    client, _ = json_client(recorder, budget=budget)
    client.get_json("a")
    client.get_json("b")
    with pytest.raises(BudgetExhausted, match="fmp: daily request budget of 2"):
        client.get_json("c")
    assert [r.url.path for r in recorder.requests] == ["/a", "/b"]


def test_a_zero_budget_sends_nothing() -> None:
    recorder = Recorder(lambda request: httpx.Response(200, json=[]))
    client, _ = json_client(recorder, budget=RequestBudget("fmp", per_day=0, clock=lambda: NOW))
    with pytest.raises(BudgetExhausted):
        client.get_json("a")
    assert recorder.requests == []


def test_retries_count_against_the_budget() -> None:
    recorder = Recorder(sequence(httpx.Response(503), httpx.Response(503), httpx.Response(200)))
    client, _ = json_client(recorder, budget=RequestBudget("fmp", per_day=2, clock=lambda: NOW))
    with pytest.raises(BudgetExhausted):
        client.get_json("a")
    assert len(recorder.requests) == 2


def test_the_budget_is_per_utc_day_and_per_provider() -> None:
    now = [dt.datetime(2025, 2, 4, 23, 59, tzinfo=dt.UTC)]
    store = InMemoryCounterStore()
    fmp = RequestBudget("fmp", per_day=1, store=store, clock=lambda: now[0])
    polygon = RequestBudget("polygon", per_day=1, store=store, clock=lambda: now[0])
    assert fmp.key() == "marketdata:budget:fmp:2025-02-04"
    fmp.consume()
    polygon.consume()
    with pytest.raises(BudgetExhausted):
        fmp.consume()
    now[0] = dt.datetime(2025, 2, 5, 0, 1, tzinfo=dt.UTC)
    assert fmp.consume() == 1


def test_the_budget_passes_a_ttl_that_outlives_the_utc_day() -> None:
    calls: list[tuple[str, int]] = []

    class Store:
        def incr(self, key: str, ttl_seconds: int) -> int:
            calls.append((key, ttl_seconds))
            return 1

    RequestBudget("fmp", 10, Store(), clock=lambda: NOW).consume()
    assert calls == [("marketdata:budget:fmp:2025-02-04", 3 * 3600 + 3600)]


def test_in_memory_counts_expire_after_their_ttl() -> None:
    now = [0.0]
    store = InMemoryCounterStore(clock=lambda: now[0])
    assert [store.incr("k", 10), store.incr("k", 10)] == [1, 2]
    now[0] = 10.0
    assert store.incr("k", 10) == 1


def test_the_api_key_never_appears_in_raised_messages_or_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    echo = {"Error Message": f"Invalid API KEY {KEY}"}
    recorder = Recorder(
        sequence(
            httpx.Response(503, json=echo), httpx.Response(503), httpx.Response(403, json=echo)
        )
    )
    client, _ = json_client(recorder)
    caplog.set_level(logging.DEBUG)  # httpx logs every request URL at INFO
    # A next_url echoing a key in its query string is sent without it (the key is a header).
    with pytest.raises(ProviderError) as info:
        client.get_json(f"https://vendor.test/v2/aggs?cursor=abc&apiKey={KEY}")
    assert KEY not in str(info.value)
    assert "HTTP 403" in str(info.value) and "Invalid API KEY ***" in str(info.value)
    assert all(dict(r.url.params) == {"cursor": "abc"} for r in recorder.requests)
    assert KEY not in caplog.text
    assert "retrying" in caplog.text


def test_providers_log_no_key_anywhere(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    polygon, _ = make_polygon()
    fmp, _ = make_fmp()
    polygon.history(["AAPL"], START, END)
    fmp.history(["AAPL"], START, END)
    assert "HTTP Request" in caplog.text
    assert KEY not in caplog.text


def test_transport_error_text_is_masked() -> None:
    recorder = Recorder(sequence(httpx.ConnectError(f"failed for https://x/?apikey={KEY}")))
    client, _ = json_client(recorder, retry=RetryPolicy(max_attempts=1))
    with pytest.raises(ProviderError) as info:
        client.get_json("x")
    assert KEY not in str(info.value)
    assert info.value.__cause__ is None


def test_mask_secrets_hides_known_secrets_and_key_parameters() -> None:
    assert mask_secrets("a SECRET b", ["SECRET"]) == "a *** b"
    assert mask_secrets("https://h/p?x=1&apikey=abc&y=2") == "https://h/p?x=1&apikey=***&y=2"
    assert mask_secrets("?api_key=abc") == "?api_key=***"


# --------------------------------------------------------------------------- FMP


def fmp_route(request: httpx.Request) -> httpx.Response:
    path, params = request.url.path, request.url.params
    if path == "/stable/historical-price-eod/non-split-adjusted":
        body = payload("fmp_history_AAPL.json") if params["symbol"] == "AAPL" else []
    elif path == "/stable/historical-price-eod/dividend-adjusted":
        body = payload("fmp_history_adjusted_AAPL.json") if params["symbol"] == "AAPL" else []
    elif path == "/api/v3/historical-price-full/AAPL":
        body = payload("fmp_history_v3_AAPL.json")
    elif path == "/stable/batch-quote":
        body = payload("fmp_quote.json")
    elif path == "/stable/profile":
        body = payload("fmp_profile_AAPL.json") if params["symbol"] == "AAPL" else []
    else:
        return httpx.Response(404, json={"Error Message": "not found"})
    return httpx.Response(200, json=body)


def make_fmp(route: Handler = fmp_route, **kwargs: Any) -> tuple[FMPProvider, Recorder]:
    recorder = Recorder(route)
    kwargs.setdefault("sleep", lambda seconds: None)
    provider = FMPProvider(KEY, client=recorder.client(), clock=lambda: NOW, **kwargs)
    return provider, recorder


def test_fmp_is_a_market_data_provider() -> None:
    provider, _ = make_fmp()
    assert isinstance(provider, MarketDataProvider)
    assert provider.name == "fmp"


def test_fmp_without_a_key_is_not_configured() -> None:
    with pytest.raises(ProviderNotConfigured):
        FMPProvider("")


def test_fmp_history_maps_raw_and_dividend_adjusted_closes() -> None:
    provider, recorder = make_fmp()
    frame = provider.history(["AAPL"], START, END)
    assert tuple(frame.columns) == HISTORY_COLUMNS
    assert len(frame) == 10
    assert list(frame["date"]) == sorted(frame["date"])
    before = frame[frame["date"] == dt.date(2020, 8, 28)].iloc[0]
    assert before["symbol"] == "AAPL"
    assert (before["open"], before["high"], before["low"], before["close"]) == (
        504.05,
        505.77,
        498.31,
        499.23,
    )
    assert before["adj_close"] == 120.96842
    assert before["volume"] == 46907479.0
    assert before["source"] == "fmp"
    after = frame[frame["date"] == dt.date(2020, 8, 31)].iloc[0]
    assert (after["close"], after["adj_close"]) == (129.04, 125.07073)
    assert [r.url.path for r in recorder.requests] == [
        "/stable/historical-price-eod/non-split-adjusted",
        "/stable/historical-price-eod/dividend-adjusted",
    ]
    first = recorder.requests[0]
    assert dict(first.url.params) == {"symbol": "AAPL", "from": "2020-08-24", "to": "2020-09-04"}
    assert first.headers["apikey"] == KEY
    assert KEY not in str(first.url)


def test_fmp_history_leaves_out_unknown_symbols_after_one_request() -> None:
    provider, recorder = make_fmp()
    frame = provider.history(["ZZZZ"], START, END)
    assert frame.empty and tuple(frame.columns) == HISTORY_COLUMNS
    assert len(recorder.requests) == 1


def test_fmp_legacy_v3_history_reads_the_historical_array() -> None:
    provider, recorder = make_fmp(api="v3")
    frame = provider.history(["AAPL"], START, END)
    assert list(frame["date"]) == [dt.date(2020, 8, d) for d in (27, 28, 31)] + [
        dt.date(2020, 9, 1)
    ]
    row = frame.iloc[0]
    assert (row["open"], row["close"], row["adj_close"], row["volume"]) == (
        127.1425,
        125.01,
        121.16469,
        155552384.0,
    )
    assert recorder.requests[0].url.path == "/api/v3/historical-price-full/AAPL"


def test_fmp_quotes_map_price_and_volume_and_class_share_symbols() -> None:
    provider, recorder = make_fmp()
    quotes = provider.quotes(["AAPL", "BRK/B", "ZZZZ"])
    assert recorder.requests[0].url.params["symbols"] == "AAPL,BRK-B,ZZZZ"
    assert [q.symbol for q in quotes] == ["AAPL", "BRK/B"]
    aapl = quotes[0]
    assert (aapl.last, aapl.volume, aapl.bid, aapl.ask, aapl.bid_size, aapl.ask_size) == (
        232.8,
        44489128,
        None,
        None,
        None,
        None,
    )
    assert aapl.timestamp == dt.datetime(2025, 2, 4, 21, 0, 1, tzinfo=dt.UTC)
    assert aapl.source == "fmp"
    assert quotes[1].last == 473.47


def test_fmp_profile_maps_fields_and_derives_yield_and_shares() -> None:
    provider, _ = make_fmp()
    profile = provider.profile("AAPL")
    assert profile is not None
    assert (profile.symbol, profile.name, profile.asset_type) == ("AAPL", "Apple Inc.", "stock")
    assert (profile.sector, profile.industry, profile.exchange) == (
        "Technology",
        "Consumer Electronics",
        "NASDAQ",
    )
    assert profile.currency == "USD"
    assert profile.dividend_yield == pytest.approx(1.04 / 262.82)
    assert profile.shares_outstanding == pytest.approx(3900351299800 / 262.82)
    assert profile.eps_ttm is None
    assert profile.source == "fmp"


def test_fmp_profile_of_an_etf_and_of_an_unknown_symbol() -> None:
    etf = {**payload("fmp_profile_AAPL.json")[0], "symbol": "SPY", "isEtf": True}
    provider, _ = make_fmp(lambda request: httpx.Response(200, json=[etf]))
    profile = provider.profile("SPY")
    assert profile is not None and profile.asset_type == "etf"
    provider, _ = make_fmp()
    assert provider.profile("ZZZZ") is None


def test_fmp_error_message_with_http_200_is_a_provider_error() -> None:
    body = {"Error Message": f"Invalid API KEY {KEY}"}
    provider, _ = make_fmp(lambda request: httpx.Response(200, json=body))
    with pytest.raises(ProviderError, match="Invalid API KEY") as info:
        provider.profile("AAPL")
    assert KEY not in str(info.value)


def test_fmp_rate_limit_is_retried_with_retry_after_then_answers() -> None:
    answers = iter(
        [httpx.Response(429, headers={"Retry-After": "2"}, json=payload("fmp_error_429.json"))]
    )
    sleeps: list[float] = []

    def route(request: httpx.Request) -> httpx.Response:
        return next(answers, None) or fmp_route(request)

    provider, recorder = make_fmp(route, sleep=sleeps.append)
    assert provider.profile("AAPL") is not None
    assert sleeps == [2.0]
    assert len(recorder.requests) == 2


def test_fmp_budget_stops_history_before_the_request() -> None:
    budget = RequestBudget("fmp", per_day=1, clock=lambda: NOW)
    provider, recorder = make_fmp(budget=budget)
    with pytest.raises(BudgetExhausted):
        provider.history(["AAPL"], START, END)  # needs two requests
    assert len(recorder.requests) == 1


def test_fmp_symbol_mapping() -> None:
    assert to_fmp_symbol("brk/b") == "BRK-B"
    assert to_fmp_symbol("BRK-B") == "BRK-B"
    assert to_fmp_symbol("VOD.L") == "VOD.L"
    assert to_fmp_symbol("^GSPC") == "^GSPC"


# ------------------------------------------------------------------------ Polygon


def polygon_route(request: httpx.Request) -> httpx.Response:
    path, params = request.url.path, request.url.params
    if path.startswith("/v2/aggs/ticker/AAPL/"):
        if "cursor" in params:
            return httpx.Response(200, json=payload("polygon_aggs_AAPL_page2.json"))
        if params.get("adjusted") == "true":
            return httpx.Response(200, json=payload("polygon_aggs_AAPL_adjusted.json"))
        return httpx.Response(200, json=payload("polygon_aggs_AAPL.json"))
    if path.startswith("/v2/aggs/ticker/"):
        return httpx.Response(200, json=payload("polygon_aggs_empty.json"))
    if path == "/v2/snapshot/locale/us/markets/stocks/tickers":
        return httpx.Response(200, json=payload("polygon_snapshot.json"))
    if path == "/v3/reference/tickers/AAPL":
        return httpx.Response(200, json=payload("polygon_ticker_AAPL.json"))
    return httpx.Response(404, json=payload("polygon_ticker_not_found.json"))


def make_polygon(route: Handler = polygon_route, **kwargs: Any) -> tuple[PolygonProvider, Recorder]:
    recorder = Recorder(route)
    kwargs.setdefault("sleep", lambda seconds: None)
    provider = PolygonProvider(KEY, client=recorder.client(), clock=lambda: NOW, **kwargs)
    return provider, recorder


def test_polygon_is_a_market_data_provider() -> None:
    provider, _ = make_polygon()
    assert isinstance(provider, MarketDataProvider)
    assert provider.name == "polygon"
    with pytest.raises(ProviderNotConfigured):
        PolygonProvider("")


def test_polygon_history_follows_next_url_and_joins_the_adjusted_close() -> None:
    provider, recorder = make_polygon()
    frame = provider.history(["AAPL"], START, END)
    assert tuple(frame.columns) == HISTORY_COLUMNS
    assert len(frame) == 10
    assert frame["date"].iloc[0] == dt.date(2020, 8, 24)
    assert frame["date"].iloc[-1] == dt.date(2020, 9, 4)
    first = frame.iloc[0]
    assert (first["open"], first["high"], first["low"], first["close"]) == (
        514.79,
        515.14,
        495.75,
        503.43,
    )
    assert first["adj_close"] == 125.8575  # split-adjusted only
    assert first["volume"] == 86484442.0
    assert first["source"] == "polygon"
    split_day = frame[frame["date"] == dt.date(2020, 8, 31)].iloc[0]
    assert split_day["close"] == split_day["adj_close"] == 129.04

    urls = [r.url for r in recorder.requests]
    assert urls[0].path == "/v2/aggs/ticker/AAPL/range/1/day/2020-08-24/2020-09-04"
    assert urls[0].params["adjusted"] == "false"
    assert str(urls[1]) == payload("polygon_aggs_AAPL.json")["next_url"]
    assert urls[2].params["adjusted"] == "true"
    for request in recorder.requests:
        assert request.headers["Authorization"] == f"Bearer {KEY}"
        assert KEY not in str(request.url)


def test_polygon_history_maps_class_shares_and_skips_unknown_tickers() -> None:
    provider, recorder = make_polygon()
    frame = provider.history(["BRK-B"], START, END)
    assert frame.empty
    assert recorder.requests[0].url.path.startswith("/v2/aggs/ticker/BRK.B/")
    assert len(recorder.requests) == 1  # no adjusted request for a ticker without bars


def test_polygon_bar_timestamps_become_new_york_session_dates() -> None:
    assert session_date(1598241600000) == dt.date(2020, 8, 24)  # 04:00 UTC, EDT midnight
    assert session_date(1736139600000) == dt.date(2025, 1, 6)  # 05:00 UTC, EST midnight


def test_polygon_pagination_that_repeats_itself_is_an_error() -> None:
    page = {**payload("polygon_aggs_AAPL.json")}
    page["next_url"] = "https://api.polygon.io/v2/aggs/loop?cursor=same"
    provider, _ = make_polygon(lambda request: httpx.Response(200, json=page))
    with pytest.raises(ProviderError, match="pagination"):
        provider.history(["AAPL"], START, END)


def test_polygon_quotes_map_the_snapshot() -> None:
    provider, recorder = make_polygon()
    quotes = provider.quotes(["AAPL", "BRK-B", "ZZZZ"])
    assert recorder.requests[0].url.params["tickers"] == "AAPL,BRK.B,ZZZZ"
    assert [q.symbol for q in quotes] == ["AAPL", "BRK-B"]
    aapl = quotes[0]
    assert (aapl.bid, aapl.ask, aapl.bid_size, aapl.ask_size) == (232.79, 232.83, 2, 4)
    assert (aapl.last, aapl.volume) == (232.8, 44489128)
    assert aapl.timestamp == dt.datetime(2025, 2, 4, 20, 59, 59, 990913, tzinfo=dt.UTC)
    assert aapl.source == "polygon"
    assert quotes[1].last == 473.47


def test_polygon_quote_before_the_open_falls_back_to_the_previous_close() -> None:
    snapshot = payload("polygon_snapshot.json")
    item = snapshot["tickers"][0]
    item["day"] = {"c": 0, "h": 0, "l": 0, "o": 0, "v": 0, "vw": 0}
    del item["lastTrade"]
    provider, _ = make_polygon(lambda request: httpx.Response(200, json=snapshot))
    quote = provider.quotes(["AAPL"])[0]
    assert (quote.last, quote.volume) == (228.01, None)


def test_polygon_profile_maps_ticker_details() -> None:
    provider, _ = make_polygon()
    profile = provider.profile("AAPL")
    assert profile is not None
    assert (profile.name, profile.asset_type, profile.exchange, profile.currency) == (
        "Apple Inc.",
        "stock",
        "XNAS",
        "USD",
    )
    assert (profile.sector, profile.industry) == (None, "Electronic Computers")
    assert profile.shares_outstanding == 15037870000.0
    assert profile.source == "polygon"


def test_polygon_profile_of_an_unknown_ticker_is_none() -> None:
    provider, _ = make_polygon()
    assert provider.profile("ZZZZ") is None


def test_polygon_not_authorized_is_a_provider_error() -> None:
    body = payload("polygon_error_403.json")
    provider, _ = make_polygon(lambda request: httpx.Response(403, json=body))
    with pytest.raises(ProviderError, match=r"HTTP 403.*not entitled"):
        provider.quotes(["AAPL"])


def test_polygon_429_is_retried_then_gives_up_as_rate_limited() -> None:
    sleeps: list[float] = []
    body = payload("polygon_error_429.json")
    provider, recorder = make_polygon(
        lambda request: httpx.Response(429, json=body),
        sleep=sleeps.append,
        retry=RetryPolicy(max_attempts=4, base_delay=0.5, factor=2.0),
    )
    with pytest.raises(RateLimited, match="maximum requests per minute") as info:
        provider.quotes(["AAPL"])
    assert sleeps == [0.5, 1.0, 2.0]
    assert len(recorder.requests) == 4
    assert KEY not in str(info.value)


def test_polygon_symbol_mapping() -> None:
    assert to_polygon_symbol("BRK-B") == "BRK.B"
    assert to_polygon_symbol("brk/a") == "BRK.A"
    assert to_polygon_symbol("BRK.B") == "BRK.B"
    assert to_polygon_symbol("AAPL") == "AAPL"


# ------------------------------------------------------- Polygon: the 0DTE market's data
# Payloads recorded by Polygon's official client for its own tests (payloads/README.md).


def test_polygon_minute_bars_read_the_aggregates_schema_with_a_minute_timespan() -> None:
    recorded = payload("polygon_recorded_v2_aggs_AAPL_2005-04-01_2005-04-04.json")
    provider, recorder = make_polygon(lambda request: httpx.Response(200, json=recorded))
    frame = provider.minute_bars(["AAPL"], dt.date(2005, 4, 1), regular_only=False)
    request = recorder.requests[0]
    assert request.url.path == "/v2/aggs/ticker/AAPL/range/1/minute/2005-04-01/2005-04-01"
    assert "apiKey" not in str(request.url) and request.headers["Authorization"] == f"Bearer {KEY}"
    assert list(frame.columns) == list(MINUTE_COLUMNS) and len(frame) == 2
    first, bar = frame.iloc[0], recorded["results"][0]
    assert (first.open, first.high, first.low, first.close) == (
        bar["o"],
        bar["h"],
        bar["l"],
        bar["c"],
    )
    assert first.volume == bar["v"] and first.vwap == bar["vw"] and first.source == "polygon"
    assert first.timestamp == dt.datetime(2005, 4, 1, 5, 0, tzinfo=dt.UTC)  # midnight New York


def test_polygon_minute_bars_keep_the_regular_session() -> None:
    recorded = payload("polygon_recorded_v2_aggs_AAPL_2005-04-01_2005-04-04.json")
    bar = recorded["results"][0]
    session = dt.date(2026, 12, 1)

    def at(hour: int, minute: int) -> dict[str, Any]:
        start = dt.datetime.combine(session, dt.time(hour, minute), NEW_YORK)
        return {**bar, "t": int(start.timestamp() * 1000)}

    body = {**recorded, "results": [at(9, 29), at(9, 30), at(15, 59), at(16, 0)], "count": 4}
    provider, _ = make_polygon(lambda request: httpx.Response(200, json=body))
    frame = provider.minute_bars(["AAPL"], session)
    assert [t.astimezone(NEW_YORK).strftime("%H:%M") for t in frame.timestamp] == ["09:30", "15:59"]


def test_polygon_option_chain_snapshot_reads_the_recorded_contract() -> None:
    recorded = payload("polygon_recorded_v3_snapshot_options_AAPL.json")
    provider, recorder = make_polygon(lambda request: httpx.Response(200, json=recorded))
    chain = provider.option_chain("AAPL", dt.date(2023, 6, 16))
    request = recorder.requests[0]
    assert request.url.path == "/v3/snapshot/options/AAPL"
    assert request.url.params["expiration_date"] == "2023-06-16"
    (contract,) = chain
    assert contract.contract == "AAPL230616C00150000" and contract.is_call
    assert (contract.strike, contract.expiration) == (150.0, dt.date(2023, 6, 16))
    assert (contract.bid, contract.ask, contract.bid_size, contract.ask_size) == (
        28.9,
        29.25,
        294,
        209,
    )
    assert contract.last == 29.25 and contract.volume == 8 and contract.open_interest == 8133
    assert contract.implied_volatility == pytest.approx(0.3570277203465058)
    assert contract.delta == pytest.approx(0.6436614934293701)
    assert contract.underlying_price == pytest.approx(159.9606)
    assert contract.timestamp == dt.datetime.fromtimestamp(1651254260800059648 / 1e9, dt.UTC)


def test_polygon_option_chain_follows_next_url_and_skips_malformed_contracts() -> None:
    recorded = payload("polygon_recorded_v3_snapshot_options_AAPL.json")
    first = {**recorded, "next_url": "https://api.polygon.io/v3/snapshot/options/AAPL?cursor=x"}
    broken = {**recorded["results"][0], "details": {"contract_type": "warrant"}}
    pages = iter([first, {**recorded, "results": [broken, recorded["results"][0]]}])
    provider, recorder = make_polygon(lambda request: httpx.Response(200, json=next(pages)))
    assert len(provider.option_chain("AAPL", dt.date(2023, 6, 16))) == 2
    assert recorder.requests[1].url.params["cursor"] == "x"
