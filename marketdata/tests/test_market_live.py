"""The live 0DTE market: the producer stores completed minutes and publishes
``market_update``; /market/tickers and /market/data serve them at the clock's minute; and a
socket on the Redis channel layer receives what the producer sends."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal
from typing import Any

import httpx
import numpy as np
import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.tokens import issue_for_new_session
from marketdata import calendar, selectors
from marketdata.clock import CLOCK_LIVE, VirtualClock, use_clock
from marketdata.models import MinuteBar, PriceBar, Quote, Security
from marketdata.producer import MarketProducer
from marketdata.selectors import price_snapshots
from marketdata.services import PROVIDER_FACTORIES, history_ingest, session_minutes
from marketdata.services import get_provider as market_provider
from marketdata.tests.test_http_providers import KEY, make_polygon, payload
from sigmasight.asgi import application

SESSION = dt.date(2026, 11, 30)
PREVIOUS = dt.date(2026, 11, 27)
SPEC_DATA_KEYS = {"symbol", "price", "change", "change_percent", "volume", "bid", "ask"}
SPEC_DATA_KEYS |= {"last_updated"}
RECORDED_CLOSE = 1.4604  # the recorded bar's close
MESSAGE_KEYS = {"price", "change", "volume", "timestamp"}


def _daily_bars_and_no_lease() -> None:
    """Daily bars of the tickers and the VIX through the session (its previous close), and
    no producer lease left by another test."""
    history_ingest(
        provider=market_provider(),
        symbols=["SPY", "QQQ", "IWM", "^VIX"],
        start=PREVIOUS - dt.timedelta(days=7),
        end=SESSION,
    )
    cache.delete("market-producer:replay")


@pytest.fixture
def market(db: Any) -> None:
    _daily_bars_and_no_lease()
    yield
    cache.delete("market-producer:replay")


def _previous_close(symbol: str) -> Decimal:
    return PriceBar.objects.get(security_id=symbol, date=PREVIOUS).close


def test_a_tick_stores_the_completed_minutes_and_publishes_an_update_per_ticker(
    market: None,
) -> None:
    clock = VirtualClock(SESSION, minute=45)
    with use_clock(clock):
        producer = MarketProducer()
        messages = producer.tick()
        assert [m["symbol"] for m in messages] == ["SPY", "QQQ", "IWM"]
        assert MinuteBar.objects.filter(session=SESSION).count() == 4 * 45  # and the VIX
        assert (
            producer.tick() == [] and MinuteBar.objects.filter(session=SESSION).count() == 4 * 45
        )  # same minute
        assert MarketProducer().tick() == []  # another producer: the lease is held
        clock.advance(2)
        spy = next(m for m in producer.tick() if m["symbol"] == "SPY")
        assert MinuteBar.objects.filter(session=SESSION).count() == 4 * 47
    minutes = session_minutes(session=SESSION, symbols=["SPY", "QQQ", "IWM", "^VIX"])["SPY"]
    assert spy["type"] == "market_update" and set(spy["data"]) >= MESSAGE_KEYS
    price = Decimal(str(minutes.close[46])).quantize(Decimal("0.0001"))
    assert Decimal(str(spy["data"]["price"])) == price  # the close of minute 46 (09:30 + 46)
    assert spy["data"]["volume"] == int(minutes.volume[:47].sum())
    expected_change = price - _previous_close("SPY")
    assert Decimal(str(spy["data"]["change"])) == expected_change
    assert spy["data"]["timestamp"] == "2026-11-30T15:17:00Z"  # 10:17 ET, the minute's end
    assert spy["data"]["market_status"] == "open" and spy["data"]["clock"] == "replay"


def test_only_one_producer_ticks_per_clock_and_a_closed_market_publishes_nothing(
    market: None,
) -> None:
    with use_clock(VirtualClock(SESSION, minute=10)):
        first, second = MarketProducer(), MarketProducer()
        assert first.tick()
        assert second.tick() == []  # the first holds the lease
        first.release()
        assert second.tick()  # a restarted producer takes over and fills nothing twice
        assert MinuteBar.objects.filter(session=SESSION).count() == 4 * 10
    with use_clock(VirtualClock(SESSION, minute=390)):
        assert MarketProducer().tick() == []


def test_market_data_serves_the_clock_minute_with_the_spec_keys(
    market: None, auth_client: APIClient
) -> None:
    with use_clock(VirtualClock(SESSION, minute=30)):
        MarketProducer().tick()
        response = auth_client.get("/api/v1/market/data/spy")
        assert response.status_code == 200
        body = response.json()
        assert SPEC_DATA_KEYS | {"options_chain"} <= set(body) and body["options_chain"] is None
        assert body["market_status"] == "open" and body["clock"] == "replay"
        stored = MinuteBar.objects.get(
            security_id="SPY",
            timestamp=calendar.session_open_utc(SESSION) + dt.timedelta(minutes=29),
        )
        assert Decimal(str(body["price"])) == stored.close
        assert body["bid"] < body["price"] < body["ask"]
        assert Decimal(str(body["change"])) == stored.close - _previous_close("SPY")
        percent = (stored.close - _previous_close("SPY")) / _previous_close("SPY") * 100
        assert body["change_percent"] == pytest.approx(float(percent), abs=1e-4)
        with_chain = auth_client.get("/api/v1/market/data/QQQ?include_options=true").json()
        chain = with_chain["options_chain"]
        assert chain["expiration"] == "2026-11-30" and len(chain["calls"]) == 21
    with use_clock(VirtualClock(SESSION, minute=390)):
        closed = auth_client.get("/api/v1/market/data/SPY").json()
        assert closed["market_status"] == "closed"
        day = PriceBar.objects.get(security_id="SPY", date=SESSION)
        assert Decimal(str(closed["price"])) == day.close


def test_unsupported_symbols_bad_input_and_anonymous_reads_are_refused(
    market: None, auth_client: APIClient
) -> None:
    response = auth_client.get("/api/v1/market/data/AAPL")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "INVALID_SYMBOL"
    assert error["details"]["supported_symbols"] == ["SPY", "QQQ", "IWM"]
    assert auth_client.get("/api/v1/market/data/SPY?include_options=maybe").status_code == 422
    assert APIClient().get("/api/v1/market/data/SPY").status_code == 401
    assert MinuteBar.objects.count() == 0  # nothing was written by reads


def test_tickers_list_the_three_with_the_clock(market: None, auth_client: APIClient) -> None:
    with use_clock(VirtualClock(SESSION, minute=5)):
        body = auth_client.get("/api/v1/market/tickers").json()
    assert [t["symbol"] for t in body["tickers"]] == ["SPY", "QQQ", "IWM"]
    assert set(body["tickers"][0]) == {"symbol", "name", "exchange", "active", "options_available"}
    assert body["tickers"][0]["name"] and body["tickers"][0]["active"] is True
    assert Security.objects.filter(symbol="SPY").exists()
    assert body["market_status"] == "open" and body["clock"] == "replay"


@pytest.mark.django_db(transaction=True)
def test_a_market_socket_receives_the_producers_update(trader: Any) -> None:
    assert "Redis" in settings.CHANNEL_LAYERS["default"]["BACKEND"] or settings.EMBEDDED
    _daily_bars_and_no_lease()
    token = issue_for_new_session(trader).access_token
    clock = VirtualClock(SESSION, minute=60)

    async def scenario() -> None:
        communicator = WebsocketCommunicator(application, f"/ws/market/SPY?token={token}")
        connected, _ = await communicator.connect(timeout=5)
        assert connected
        hello = await communicator.receive_json_from(timeout=5)
        assert hello["type"] == "connected"
        first = await communicator.receive_json_from(timeout=5)  # the latest, at once
        assert first["type"] == "market_update" and first["symbol"] == "SPY"
        producer = MarketProducer()
        sent = await database_sync_to_async(producer.tick)()
        update = await communicator.receive_json_from(timeout=5)
        assert update == next(m for m in sent if m["symbol"] == "SPY")
        assert update["data"]["price"] is not None
        await database_sync_to_async(producer.release)()
        await communicator.disconnect()

    with use_clock(clock):
        asyncio.run(scenario())
    cache.delete("market-producer:replay")


@pytest.mark.django_db(transaction=True)
def test_a_socket_for_another_symbol_is_closed_with_4404(trader: Any) -> None:
    token = issue_for_new_session(trader).access_token

    async def scenario() -> None:
        communicator = WebsocketCommunicator(application, f"/ws/market/AAPL?token={token}")
        connected, _ = await communicator.connect(timeout=5)
        assert connected
        closed = await communicator.receive_output(timeout=5)
        assert closed == {"type": "websocket.close", "code": 4404}
        await communicator.disconnect()

    asyncio.run(scenario())


def test_correlation_serves_rolling_figures_from_the_stored_minutes_and_the_regime(
    market: None, auth_client: APIClient
) -> None:
    with use_clock(VirtualClock(SESSION, minute=200)):
        MarketProducer().tick()
        body = auth_client.get("/api/v1/market/correlation").json()
    assert {"timestamp", "correlations", "regime", "vix_level"} <= set(body)
    assert set(body["correlations"]) == {"SPY_QQQ", "SPY_IWM", "QQQ_IWM"}
    assert body["bars"] == 180 and body["warnings"] == []
    closes = {
        s: np.array(
            [
                float(c)
                for c in MinuteBar.objects.filter(security_id=s)
                .order_by("timestamp")
                .values_list("close", flat=True)
            ]
        )
        for s in ("SPY", "QQQ", "IWM", "^VIX")
    }
    r = {s: np.diff(np.log(c)) for s, c in closes.items()}
    for window, key in ((60, "correlations"), (20, "correlations_20"), (180, "correlations_180")):
        expected = np.corrcoef(r["SPY"][-window:], r["QQQ"][-window:])[0, 1]
        assert body[key]["SPY_QQQ"] == pytest.approx(expected, abs=1e-6)
    assert body["correlations"]["SPY_QQQ"] > 0.5  # the simulated tickers co-move
    assert body["vix_level"] == pytest.approx(closes["^VIX"][-1])
    vix = closes["^VIX"][-1]
    expected_regime = (
        "low_volatility"
        if vix < 15
        else "normal"
        if vix < 25
        else "high_volatility"
        if vix < 35
        else "extreme_volatility"
    )
    assert body["regime"] == expected_regime == body["regime_adjustments"]["regime_type"]
    assert body["market_status"] == "open" and body["clock"] == "replay"


def test_correlation_with_too_few_minutes_is_null_with_reasons(
    market: None, auth_client: APIClient, settings: Any
) -> None:
    settings.MARKET_MINUTE_HISTORY_SESSIONS = 0  # no past session's minutes to span into
    with use_clock(VirtualClock(SESSION, minute=30)):
        MarketProducer().tick()
        body = auth_client.get("/api/v1/market/correlation").json()
    assert body["bars"] == 29
    assert body["correlations_20"]["SPY_QQQ"] is not None
    assert body["correlations"]["SPY_QQQ"] is None and body["correlations_180"]["QQQ_IWM"] is None
    assert any("60-bar" in w for w in body["warnings"])
    assert body["regime"] is not None  # the VIX's minutes are stored too


def test_the_first_tick_of_a_session_backfills_the_past_sessions_once(
    market: None, settings: Any
) -> None:
    """Relative volume reads the same minute of past sessions: the producer stores the
    missing whole sessions before the one it starts (the 27th closes early: 210 minutes)."""
    settings.MARKET_MINUTE_HISTORY_SESSIONS = 1
    with use_clock(VirtualClock(SESSION, minute=3)):
        producer = MarketProducer()
        producer.tick()
        past = MinuteBar.objects.filter(session=PREVIOUS)
        assert past.count() == 4 * 210
        assert past.filter(security_id="SPY").order_by("timestamp").last().timestamp == (
            calendar.session_close_utc(PREVIOUS) - dt.timedelta(minutes=1)
        )
        producer.release()
    before = list(past.order_by("pk").values_list("pk", flat=True))
    with use_clock(VirtualClock(SESSION, minute=4)):
        MarketProducer().tick()  # a restarted producer rewrites nothing
        MarketProducer().release()
    assert list(past.order_by("pk").values_list("pk", flat=True)) == before


def test_on_the_live_clock_each_minute_quotes_the_tracked_symbols_at_that_minute(
    market: None,
) -> None:
    """Held securities (here the benchmarks, always tracked) are quoted at the last
    completed minute during a live session, so snapshots and day changes move with it; the
    replay clock, a past session, quotes nothing."""
    cache.delete("market-producer:live")
    opened = calendar.session_open_utc(SESSION)
    clock = VirtualClock(SESSION, minute=45, name=CLOCK_LIVE)
    try:
        with use_clock(clock):
            producer = MarketProducer()
            producer.tick()
            spy = Quote.objects.get(security_id="SPY")
            bars = MinuteBar.objects.filter(security_id="SPY", session=SESSION)
            minute_44 = bars.get(timestamp=opened + dt.timedelta(minutes=44))
            assert spy.last == minute_44.close  # the close of the last completed minute
            assert spy.timestamp == opened + dt.timedelta(minutes=45)  # 10:15 ET, its end
            assert spy.volume == sum(b.volume for b in bars.filter(timestamp__lt=spy.timestamp))
            assert spy.bid is not None and spy.ask is not None and spy.bid < spy.last < spy.ask
            snapshot = price_snapshots(symbols=["SPY"])["SPY"]
            assert snapshot.price_date == SESSION and snapshot.price == spy.last
            assert snapshot.previous_close == _previous_close("SPY")
            assert snapshot.change == spy.last - _previous_close("SPY")  # the day's move so far

            clock.advance(1)
            producer.tick()
            moved = Quote.objects.get(security_id="SPY")
            assert moved.timestamp == opened + dt.timedelta(minutes=46)
            assert moved.last == bars.get(timestamp=opened + dt.timedelta(minutes=45)).close
        with use_clock(VirtualClock(SESSION, minute=200)):  # replay
            assert MarketProducer().tick()
        assert Quote.objects.get(security_id="SPY").timestamp == moved.timestamp
    finally:
        cache.delete("market-producer:live")


def _polygon_minutes(session: dt.date, minutes: int) -> Any:
    """A Polygon client answering SPY's minute aggregates (the recorded payload's bar at
    each of the first ``minutes`` minutes of ``session``, the minute still trading
    included) and nothing for the other tickers."""
    recorded = payload("polygon_recorded_v2_aggs_AAPL_2005-04-01_2005-04-04.json")
    bar = recorded["results"][0]
    opened = calendar.session_open_utc(session)

    def route(request: httpx.Request) -> httpx.Response:
        if not request.url.path.startswith("/v2/aggs/ticker/SPY/"):
            return httpx.Response(200, json={**recorded, "results": [], "count": 0})
        stamps = [opened + dt.timedelta(minutes=m) for m in range(minutes)]
        results = [{**bar, "t": int(t.timestamp() * 1000)} for t in stamps]
        return httpx.Response(200, json={**recorded, "results": results, "count": minutes})

    return route


def test_the_stored_minutes_come_through_the_provider_chain_symbol_by_symbol(
    market: None, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A vendor with an intraday side leads the chain: SPY's completed minutes are the
    vendor's (never the minute still trading), the tickers it has nothing for fall back to
    the simulated process; a vendor that fails leaves the market to the next member."""
    settings.MARKET_DATA_PROVIDERS = ["polygon", "simulated"]
    settings.POLYGON_API_KEY = KEY
    vendor, requests = make_polygon(_polygon_minutes(SESSION, 21))
    monkeypatch.setitem(PROVIDER_FACTORIES, "polygon", lambda: vendor)
    with use_clock(VirtualClock(SESSION, minute=20)):
        producer = MarketProducer()
        assert producer.tick()
        spy = MinuteBar.objects.filter(security_id="SPY", session=SESSION)
        assert spy.count() == 20 and set(spy.values_list("source", flat=True)) == {"polygon"}
        assert spy.last().close == Decimal(str(RECORDED_CLOSE))
        others = MinuteBar.objects.filter(session=SESSION).exclude(security_id="SPY")
        assert others.count() == 3 * 20
        assert set(others.values_list("source", flat=True)) == {"simulated"}
        asked = len(requests.requests)
        assert producer.tick() == []  # the same minute: every symbol is current, none asked
        assert len(requests.requests) == asked
        producer.release()

    down, _ = make_polygon(lambda request: httpx.Response(503, json={"status": "ERROR"}))
    monkeypatch.setitem(PROVIDER_FACTORIES, "polygon", lambda: down)
    with use_clock(VirtualClock(SESSION, minute=22)):
        producer = MarketProducer()
        assert producer.tick()
        producer.release()
    later = MinuteBar.objects.filter(security_id="SPY", session=SESSION, source="simulated")
    assert later.count() == 2  # minutes 20 and 21, from the next member


def test_trading_minutes_count_back_across_an_early_close() -> None:
    opening = calendar.session_open_utc(SESSION)  # Monday 09:30 ET
    early_close = calendar.session_close_utc(PREVIOUS)  # the 27th closed at 13:00 ET
    assert early_close == dt.datetime(2026, 11, 27, 18, 0, tzinfo=dt.UTC)
    assert selectors._trading_minutes_before(opening, SESSION, 1) == opening
    # 09:30 and the 27th's last four minutes, 12:56 to 12:59 (seconds do not count).
    assert selectors._trading_minutes_before(
        opening + dt.timedelta(seconds=42), SESSION, 5
    ) == early_close - dt.timedelta(minutes=4)
    later = opening + dt.timedelta(minutes=29)
    assert selectors._trading_minutes_before(later, SESSION, 30) == opening
    # 30 minutes today and the 27th's whole 210, then 10 of the 25th's (closes 16:00).
    wednesday_close = calendar.session_close_utc(dt.date(2026, 11, 25))
    assert selectors._trading_minutes_before(later, SESSION, 250) == (
        wednesday_close - dt.timedelta(minutes=10)
    )


def test_correlation_reads_the_three_tickers_minutes_in_one_query_across_sessions(
    market: None, settings: Any
) -> None:
    settings.MARKET_MINUTE_HISTORY_SESSIONS = 1  # the 27th's 210 minutes behind the 30 today
    clock = VirtualClock(SESSION, minute=30)
    with use_clock(clock):
        MarketProducer().tick()
    at = clock.read()

    def closes_by_hand(skip: set[dt.datetime]) -> tuple[list[dt.datetime], np.ndarray]:
        rows = MinuteBar.objects.filter(security_id__in=["SPY", "QQQ", "IWM"]).values_list(
            "security_id", "timestamp", "close"
        )
        by: dict[str, dict[dt.datetime, float]] = {"SPY": {}, "QQQ": {}, "IWM": {}}
        for symbol, stamp, close in rows:
            by[symbol][stamp] = float(close)
        common = sorted(set(by["SPY"]) & set(by["QQQ"]) & set(by["IWM"]) - skip)[-181:]
        return common, np.array([[by[s][t] for s in ("SPY", "QQQ", "IWM")] for t in common])

    with CaptureQueriesContext(connection) as queries:
        stamps, closes = selectors._recent_minute_closes(at, 181)
    assert len(queries) == 1
    expected_stamps, expected = closes_by_hand(set())
    assert stamps == expected_stamps and np.array_equal(closes, expected)
    assert stamps[0].date() == PREVIOUS  # it spans the early close
    # A minute QQQ misses is left out, the window reaching one minute further back.
    missing = stamps[100]
    MinuteBar.objects.filter(security_id="QQQ", timestamp=missing).delete()
    stamps, closes = selectors._recent_minute_closes(at, 181)
    expected_stamps, expected = closes_by_hand({missing})
    assert missing not in stamps and len(stamps) == 181
    assert stamps == expected_stamps and np.array_equal(closes, expected)
    body = selectors.market_correlation(at)
    r = np.diff(np.log(expected), axis=0)
    assert body["correlations_180"]["SPY_QQQ"] == pytest.approx(
        np.corrcoef(r[:, 0], r[:, 1])[0, 1], abs=1e-6
    )
