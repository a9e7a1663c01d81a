"""Issue 13: during a live session a held position is valued at the session's last minute,
and its day change counts from the previous close, not from a session-old quote."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from marketdata import calendar
from marketdata.clock import CLOCK_LIVE, VirtualClock, use_clock
from marketdata.models import PriceBar, Quote
from marketdata.producer import MarketProducer
from marketdata.services import get_provider, history_ingest, session_minutes
from portfolios.models import Portfolio

pytestmark = pytest.mark.django_db

SESSION = dt.date(2026, 11, 30)
PREVIOUS = dt.date(2026, 11, 27)


@pytest.fixture
def stored_history(db: Any) -> None:
    """Simulated daily bars through the session before: the session's own bar is not
    stored yet (the daily batch writes it after the close)."""
    history_ingest(
        provider=get_provider(),
        symbols=["SPY", "QQQ", "IWM", "^VIX", "AAPL"],
        start=PREVIOUS - dt.timedelta(days=10),
        end=PREVIOUS,
    )
    cache.delete("market-producer:live")
    yield
    cache.delete("market-producer:live")


def test_a_held_stock_is_valued_at_the_sessions_last_minute(
    stored_history: None, auth_client: APIClient
) -> None:
    portfolio = Portfolio.objects.get(owner=auth_client.user, is_default=True)  # type: ignore[attr-defined]
    booked = auth_client.post(
        f"/api/v1/management/portfolios/{portfolio.id}/positions",
        {"symbol": "AAPL", "quantity": 10, "entry_price": "100", "entry_date": "2026-11-27"},
        format="json",
    )
    assert booked.status_code == 201, booked.content
    previous_close = PriceBar.objects.get(security_id="AAPL", date=PREVIOUS).close
    with use_clock(VirtualClock(SESSION, minute=120, name=CLOCK_LIVE)):
        MarketProducer().tick()
    minute_119 = session_minutes(session=SESSION, symbols=["AAPL"])["AAPL"].close[119]
    quote = Quote.objects.get(security_id="AAPL")
    assert quote.last == D(str(minute_119)).quantize(D("0.000001"))
    assert quote.timestamp == calendar.session_open_utc(SESSION) + dt.timedelta(minutes=120)

    complete = auth_client.get(f"/api/v1/data/portfolio/{portfolio.id}/complete").json()
    row = next(p for p in complete["positions"] if p["symbol"] == "AAPL")
    live = float(quote.last)
    assert row["current_price"] == pytest.approx(live, abs=1e-4)
    assert row["market_value"] == pytest.approx(10 * live, abs=0.01)

    details = auth_client.get(
        "/api/v1/data/positions/details", {"portfolio_id": str(portfolio.id)}
    ).json()
    (position,) = details["data"]
    day_change = 10 * (live - float(previous_close))
    assert position["day_change"] == pytest.approx(day_change, abs=0.01)
    assert abs(day_change) > 0.01  # a move since the previous close, not a stale zero
    assert details["summary"]["total_day_change"] == pytest.approx(day_change, abs=0.01)

    board = auth_client.get("/api/v1/data/prices/quotes", {"symbols": "AAPL"}).json()
    (aapl,) = board["quotes"]
    assert aapl["price"] == pytest.approx(live, abs=1e-4)
    assert aapl["change"] == pytest.approx(live - float(previous_close), abs=1e-4)
    assert aapl["timestamp"] == "2026-11-30T16:30:00Z"  # 11:30 ET, the end of minute 119
