"""0DTE option chains: the spec's keys, $1 strikes around the money, Greeks from the pricing
engine with T in minutes to the close, put-call parity within the spread, spreads like the
recorded SPY chain that widen into the close, and IWM's nearest expiry."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient
from vollib.black_scholes_merton.greeks.analytical import delta as vollib_delta

from marketdata import calendar, chains, selectors
from marketdata.clock import VirtualClock, use_clock
from marketdata.engine.chain import bid_ask, spread_dollars, strikes_around
from marketdata.models import ChainSnapshot, PriceBar
from marketdata.producer import MarketProducer
from marketdata.services import chain_snapshots_prune, get_provider, history_ingest
from risk.engine.pricing import bsm_greeks, years_from_minutes

MONDAY = dt.date(2026, 11, 30)
TUESDAY = dt.date(2026, 12, 1)
QUOTE_KEYS = {"strike", "bid", "ask", "last", "volume", "open_interest", "implied_volatility"}
QUOTE_KEYS |= {"delta", "gamma", "theta", "vega"}


@pytest.fixture
def market(db: Any) -> None:
    history_ingest(
        provider=get_provider(),
        symbols=["SPY", "QQQ", "IWM", "^VIX"],
        start=dt.date(2026, 8, 1),
        end=TUESDAY,
    )
    cache.delete("market-producer:replay")
    yield
    cache.delete("market-producer:replay")


def _chain(session: dt.date, minute: int, symbol: str = "SPY", **kwargs: Any) -> dict[str, Any]:
    clock = VirtualClock(session, minute=minute)
    with use_clock(clock):
        MarketProducer().tick()
        cache.delete("market-producer:replay")
        return chains.option_chain(symbol, clock.read(), **kwargs)


def test_the_chain_has_the_spec_keys_and_strikes_around_the_money(
    market: None, auth_client: APIClient
) -> None:
    with use_clock(VirtualClock(MONDAY, minute=120)):
        MarketProducer().tick()
        response = auth_client.get("/api/v1/market/options/SPY?strikes=5")
    assert response.status_code == 200
    body = response.json()
    assert {
        "symbol",
        "underlying_price",
        "expiration",
        "time_to_expiration",
        "calls",
        "puts",
    } <= set(body)
    assert body["expiration"] == "2026-11-30" and body["market_status"] == "open"
    strikes = [c["strike"] for c in body["calls"]]
    assert strikes == [p["strike"] for p in body["puts"]] and len(strikes) == 11
    assert np.allclose(np.diff(strikes), 1.0)
    assert abs(strikes[5] - body["underlying_price"]) <= 0.5
    assert set(body["calls"][0]) >= QUOTE_KEYS
    # 11:30 ET: 4.5 hours to the 16:00 close, in calendar days.
    assert body["time_to_expiration"] == pytest.approx(4.5 / 24, abs=1e-6)
    assert body["minutes_to_expiration"] == pytest.approx(270.0)


def test_greeks_are_the_engines_at_minutes_to_the_close_and_match_vollib(market: None) -> None:
    opening = calendar.session_open_utc(MONDAY)
    assert calendar.minutes_to_expiry(opening, MONDAY) / 1440 == pytest.approx(0.2708, abs=1e-4)
    assert _chain(MONDAY, 0)["calls"] == []  # no minute has completed: no price yet
    chain = _chain(MONDAY, 1)  # priced at 09:31 from the opening minute's close
    assert chain["time_to_expiration"] == pytest.approx(389 / 1440, abs=1e-6)
    t = float(years_from_minutes(389.0))
    spot, r, q = chain["underlying_price"], chain["rate"], chain["dividend_yield"]
    for side, is_call in (("calls", True), ("puts", False)):
        rows = chain[side]
        k = np.array([row["strike"] for row in rows])
        iv = np.array([row["implied_volatility"] for row in rows])
        ref = bsm_greeks(spot, k, t, r, q, iv, np.full(k.size, is_call))
        # The IVs are served to 6 decimals: the Greeks recomputed from them agree to 1e-4.
        np.testing.assert_allclose([row["delta"] for row in rows], ref.delta, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose([row["theta"] for row in rows], ref.theta, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose([row["vega"] for row in rows], ref.vega, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose([row["mid"] for row in rows], ref.price, atol=1e-4)
        flag = "c" if is_call else "p"
        for row in rows[::5]:
            expected = vollib_delta(flag, spot, row["strike"], t, r, row["implied_volatility"], q)
            assert row["delta"] == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize("minute", [1, 2, 200, 385])
def test_put_call_parity_holds_within_the_spread_on_every_strike(market: None, minute: int) -> None:
    chain = _chain(MONDAY, minute, strikes=10)
    t = chain["minutes_to_expiration"] / 525_600
    spot, r, q = chain["underlying_price"], chain["rate"], chain["dividend_yield"]
    for call, put in zip(chain["calls"], chain["puts"], strict=True):
        parity = spot * np.exp(-q * t) - call["strike"] * np.exp(-r * t)  # C - P
        assert call["bid"] - put["ask"] - 1e-9 <= parity <= call["ask"] - put["bid"] + 1e-9
        for row in (call, put):
            assert 0 <= row["bid"] <= row["last"] <= row["ask"]
            assert row["bid"] <= row["mid"] + 1e-9 and row["mid"] <= row["ask"] + 1e-9


def test_spreads_are_cents_near_the_money_and_widen_into_the_close_and_at_the_open(
    market: None,
) -> None:
    midday = _chain(MONDAY, 200, strikes=10)
    atm = min(midday["calls"], key=lambda c: abs(c["strike"] - midday["underlying_price"]))
    assert atm["ask"] - atm["bid"] <= 0.03 + 1e-9  # a cent or two on the at-the-money call
    late = _chain(MONDAY, 385, strikes=10)  # five minutes before the close
    opening = _chain(MONDAY, 1, strikes=10)  # the opening minute's stale quotes

    def near_one_dollar(chain: dict[str, Any]) -> float:
        """Relative spread of the option whose price is nearest $1."""
        row = min(chain["calls"] + chain["puts"], key=lambda r: abs(r["mid"] - 1.0))
        return (row["ask"] - row["bid"]) / row["mid"]

    assert near_one_dollar(midday) <= 0.02
    assert near_one_dollar(late) >= 0.05  # the documented 5.8% five minutes before the close
    assert near_one_dollar(opening) >= 5 * near_one_dollar(midday)


def test_the_spread_model_reproduces_the_recorded_spy_chain() -> None:
    # Recorded 2024-06-03, 4 days out, VIX ~13 (marketdata/engine/chain.py).
    cases = [(0.17, 0.10, 0.01), (2.54, 0.50, 0.02), (4.53, 0.75, 0.05), (8.93, 0.95, 0.36)]
    for mid, delta, recorded in cases:
        got = spread_dollars(
            [mid], [delta], minutes_to_close=300, vix=13.0, zero_dte=False, first_minute=False
        )
        assert got[0] == pytest.approx(recorded, abs=0.011)

    # A $1 option five minutes before the close: 5.8% of the price on a 0DTE series, one
    # tick (1%) on another expiry; half an hour before, about 1.1%.
    def spread(tau: float, zero_dte: bool) -> float:
        got = spread_dollars(
            [1.0], [0.5], minutes_to_close=tau, vix=13.0, zero_dte=zero_dte, first_minute=False
        )
        return float(got[0])

    assert spread(5, True) == pytest.approx(0.06) and spread(5, False) == pytest.approx(0.01)
    assert spread(30, True) == pytest.approx(0.01)
    wider = spread_dollars(
        [2.54], [0.5], minutes_to_close=300, vix=26.0, zero_dte=False, first_minute=False
    )
    assert wider[0] == pytest.approx(0.03)  # sqrt(2) wider at twice the calibration VIX
    bid, ask = bid_ask([0.004, 1.234], [0.01, 0.02])
    assert list(bid) == [0.0, 1.22] and list(ask) == [0.01, 1.24]
    np.testing.assert_array_equal(strikes_around(431.6, 2), [430.0, 431.0, 432.0, 433.0, 434.0])


def test_iwm_without_an_expiry_today_serves_the_nearest(market: None) -> None:
    chain = _chain(TUESDAY, 60, "IWM")
    assert chain["expiration"] == dt.date(2026, 12, 2)
    assert any("nearest" in w for w in chain["warnings"])
    assert chain["time_to_expiration"] > 1.0  # a day and more to Wednesday's close
    assert _chain(MONDAY, 60, "IWM")["expiration"] == MONDAY


def test_bad_requests_are_422(market: None, auth_client: APIClient) -> None:
    with use_clock(VirtualClock(MONDAY, minute=60)):
        for query in ("strikes=0", "strikes=51", "expiration=2026-11-27", "expiration=2026-12-01x"):
            response = auth_client.get(f"/api/v1/market/options/SPY?{query}")
            assert response.status_code == 422, query
        refused = auth_client.get("/api/v1/market/options/TSLA")
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "INVALID_SYMBOL"


def test_the_producer_stores_a_chain_snapshot_a_minute_and_prunes_old_ones(market: None) -> None:
    clock = VirtualClock(MONDAY, minute=10)
    with use_clock(clock):
        producer = MarketProducer()
        producer.tick()
        clock.advance()
        producer.tick()
        producer.tick()  # the same minute: nothing twice
    snapshots = ChainSnapshot.objects.order_by("timestamp", "symbol")
    assert snapshots.count() == 6  # three tickers at 09:40 and 09:41
    first = snapshots.filter(symbol="SPY").first()
    assert first is not None and len(first.calls) == 21 and first.expiration == MONDAY
    t = first.minutes_to_expiration / 525_600
    for call, put in zip(first.calls, first.puts, strict=True):
        parity = float(first.underlying_price) - call["strike"] * np.exp(-0.04 * t)
        assert call["bid"] - put["ask"] - 0.01 <= parity <= call["ask"] - put["bid"] + 0.01
    old = snapshots.first()
    assert old is not None
    assert chain_snapshots_prune(old.timestamp + dt.timedelta(days=30)) == 6


def test_option_chains_serve_each_tickers_chain_and_read_reference_data_once(
    market: None,
) -> None:
    clock = VirtualClock(TUESDAY, minute=60)
    with use_clock(clock):
        MarketProducer().tick()
    cache.delete("market-producer:replay")
    at = clock.read()
    tickers = ["SPY", "QQQ", "IWM"]
    with CaptureQueriesContext(connection) as one:
        alone = chains.option_chains(["QQQ"], at)
    with CaptureQueriesContext(connection) as three:
        together = chains.option_chains(tickers, at)
    # The same chains as one request each, IWM's nearest expiry and its note included.
    assert together == {s: chains.option_chain(s, at) for s in tickers}
    assert alone["QQQ"] == together["QQQ"]
    assert together["IWM"]["expiration"] == dt.date(2026, 12, 2)
    # Reference data (expiries, dividend yields, daily closes) and the VIX once for all:
    # only the last prices grow with the tickers, and not at all where they are given.
    assert len(three) == len(one) + 2, [q["sql"] for q in three]
    given = {s: selectors.last_price(s, at) for s in tickers}
    with CaptureQueriesContext(connection) as hinted:
        assert chains.option_chains(tickers, at, latest=given) == together
    assert len(hinted) == len(one) - 1


def test_chain_references_follow_the_stored_expiries_and_the_rule_past_them(
    market: None,
) -> None:
    # A root whose stored listing ends before the session falls back to the seed rule,
    # as is_listed_expiry does; SPY lists every weekday.
    for symbol in ("SPY", "QQQ", "IWM"):
        for day in (MONDAY, TUESDAY):
            expiry, _ = chains.zero_dte_expiry(symbol, day)
            nearest = next(
                day + dt.timedelta(days=d)
                for d in range(15)
                if selectors.is_listed_expiry(symbol, day + dt.timedelta(days=d))
            )
            assert expiry == nearest, (symbol, day)
    reference = chains.chain_references(["QQQ"], TUESDAY)["QQQ"]
    # QQQ's daily volatility over SPY's, from the 61 sessions' closes before the session.
    days = calendar.sessions_between(TUESDAY - dt.timedelta(days=120), TUESDAY)[-62:-1]
    closes = {
        s: dict(
            PriceBar.objects.filter(security_id=s, date__in=days).values_list("date", "adj_close")
        )
        for s in ("QQQ", "SPY")
    }
    ratio = np.std(np.diff(np.log([float(closes["QQQ"][d]) for d in days]))) / np.std(
        np.diff(np.log([float(closes["SPY"][d]) for d in days]))
    )
    assert reference.relative_volatility == pytest.approx(ratio, rel=1e-12)
    assert chains.chain_references(["SPY"], TUESDAY)["SPY"].relative_volatility == 1.0


def test_chain_snapshots_at_reads_each_tickers_newest_snapshot_in_one_query(
    market: None,
) -> None:
    clock = VirtualClock(MONDAY, minute=10)
    with use_clock(clock):
        producer = MarketProducer()
        for _ in range(3):
            producer.tick()
            clock.advance()
        producer.release()
    moment = calendar.session_open_utc(MONDAY) + dt.timedelta(minutes=11, seconds=30)
    with CaptureQueriesContext(connection) as queries:
        newest = selectors.chain_snapshots_at(["SPY", "QQQ", "IWM", "DIA"], moment)
    assert len(queries) == 1
    assert set(newest) == {"SPY", "QQQ", "IWM"}  # no DIA chain: left out
    for symbol, snapshot in newest.items():
        assert snapshot == selectors.chain_snapshot_at(symbol, moment)
        assert snapshot.timestamp == calendar.session_open_utc(MONDAY) + dt.timedelta(minutes=11)
    assert selectors.chain_snapshots_at([], moment) == {}
