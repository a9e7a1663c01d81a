"""The market-data endpoints against the spec's examples (2.5, 2.6, 2.7) and their errors."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from marketdata import calendar, services
from marketdata.models import FactorDefinition, PriceBar, Security
from portfolios.models import Position
from tests.contract import (
    SIGMASIGHT,
    assert_error_envelope,
    assert_matches_example,
    spec_example,
)

pytestmark = pytest.mark.django_db

OPTION = "SPY270115C00450000"


@pytest.fixture
def seeded(db: None) -> dict[str, Any]:
    """AAPL, MSFT, SPY, an SPY call and the factor ETFs over the last ~6 weeks (simulated)."""
    today = timezone.now().astimezone(calendar.EASTERN).date()
    return services.market_data_seed(
        symbols=["AAPL", "MSFT", OPTION], start=today - dt.timedelta(days=45)
    )


def _position(user: Any, symbol: str = "AAPL") -> Position:
    return Position.objects.create(
        portfolio=user.portfolios.first(),
        security_id=symbol,
        position_type="LONG",
        quantity=Decimal(100),
        entry_price=Decimal(160),
        entry_date=dt.date(2025, 8, 15),
    )


# --------------------------------------------------------------------------- 2.5 historical


def test_historical_prices_match_the_spec_example(auth_client: APIClient, seeded: Any) -> None:
    response = auth_client.get("/api/v1/data/prices/historical/AAPL")
    assert response.status_code == 200, response.content
    body = response.json()
    assert_matches_example(body, spec_example(SIGMASIGHT, "2.5 Get Historical Prices"))
    prices = body["prices"]
    assert body["symbol"] == "AAPL" and body["data_points"] == len(prices) >= 15
    dates = [p["date"] for p in prices]
    assert dates == sorted(dates, reverse=True)  # newest first
    end = dt.date.fromisoformat(body["end_date"])
    assert dt.date.fromisoformat(body["start_date"]) == end - dt.timedelta(days=30)
    closes = [p["adjusted_close"] for p in reversed(prices)]
    assert body["statistics"]["period_return"] == pytest.approx(
        closes[-1] / closes[0] - 1, abs=1e-5
    )
    assert body["statistics"]["max_price"] == max(p["close"] for p in prices)
    assert body["source"] == "simulated" and body["warnings"] == []
    assert body["last_updated"].endswith("Z")


def test_historical_prices_with_a_date_range(auth_client: APIClient, seeded: Any) -> None:
    end = seeded["end"]
    start = end - dt.timedelta(days=7)
    response = auth_client.get(
        f"/api/v1/data/prices/historical/aapl?start_date={start}&end_date={end}"
    )
    body = response.json()
    assert response.status_code == 200
    assert body["start_date"] == start.isoformat() and body["end_date"] == end.isoformat()
    assert body["data_points"] == len(calendar.sessions_between(start, end))


def test_historical_prices_by_own_position_id(auth_client: APIClient, seeded: Any) -> None:
    position = _position(auth_client.user)  # type: ignore[attr-defined]
    response = auth_client.get(f"/api/v1/data/prices/historical/{position.id}")
    assert response.status_code == 200
    assert response.json()["symbol"] == "AAPL"


def test_other_users_position_id_is_404(
    auth_client: APIClient, make_user: Any, seeded: Any
) -> None:
    position = _position(make_user())
    response = auth_client.get(f"/api/v1/data/prices/historical/{position.id}")
    assert response.status_code == 404
    assert_error_envelope(response.json(), status=404, code="NOT_FOUND")


def test_unknown_symbol_is_422_invalid_symbol(auth_client: APIClient, seeded: Any) -> None:
    response = auth_client.get("/api/v1/data/prices/historical/NOSUCH")
    assert response.status_code == 422
    assert_error_envelope(response.json(), code="INVALID_SYMBOL")
    assert response.json()["error"]["details"]["symbols"] == ["NOSUCH"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("start_date=2025-09-05&end_date=2025-09-01", "end_date"),
        ("days=0", "days"),
        ("days=abc", "days"),
        ("start_date=not-a-date", "start_date"),
        ("end_date=0001-01-01", "end_date"),
    ],
)
def test_bad_history_query_is_422_with_query_loc(
    auth_client: APIClient, seeded: Any, query: str, field: str
) -> None:
    response = auth_client.get(f"/api/v1/data/prices/historical/AAPL?{query}")
    assert response.status_code == 422
    body = response.json()
    assert_error_envelope(body, status=422, code="VALIDATION_ERROR")
    assert body["detail"][0]["loc"] == ["query", field]


def test_known_symbol_without_bars_says_why(auth_client: APIClient, seeded: Any) -> None:
    Security.objects.create(symbol="NEWCO", asset_type="stock")
    body = auth_client.get("/api/v1/data/prices/historical/NEWCO").json()
    assert body["data_points"] == 0 and body["prices"] == []
    assert body["statistics"]["volatility"] is None
    assert body["warnings"] and "NEWCO" in body["warnings"][0]


# --------------------------------------------------------------------------- 2.6 quotes


def test_quotes_match_the_spec_example(auth_client: APIClient, seeded: Any) -> None:
    response = auth_client.get("/api/v1/data/prices/quotes?symbols=AAPL,MSFT")
    assert response.status_code == 200, response.content
    body = response.json()
    assert_matches_example(body, spec_example(SIGMASIGHT, "2.6 Get Market Quotes"))
    assert [q["symbol"] for q in body["quotes"]] == ["AAPL", "MSFT"]
    assert body["market_status"] in {"open", "pre_market", "after_hours", "closed"}
    assert body["warnings"] == []
    aapl = body["quotes"][0]
    bars = list(PriceBar.objects.filter(security_id="AAPL").order_by("-date")[:2])
    previous = float(bars[1].close)
    assert aapl["previous_close"] == pytest.approx(previous)
    assert aapl["change"] == pytest.approx(aapl["price"] - previous, abs=1e-4)
    assert aapl["change_percent"] == pytest.approx((aapl["price"] / previous - 1) * 100, abs=1e-4)
    shares = float(Security.objects.get(symbol="AAPL").shares_outstanding)
    assert aapl["market_cap"] == pytest.approx(shares * aapl["price"], rel=1e-9)
    assert aapl["bid"] < aapl["ask"] and aapl["high_52_week"] >= aapl["low_52_week"]
    assert aapl["source"] == "simulated" and aapl["timestamp"].endswith("Z")


def test_market_cap_is_null_with_a_warning_when_unknown(
    auth_client: APIClient, seeded: Any
) -> None:
    body = auth_client.get("/api/v1/data/prices/quotes?symbols=SPY").json()
    assert body["quotes"][0]["market_cap"] is None
    assert any("SPY" in w and "market_cap" in w for w in body["warnings"])


def test_option_quotes_accept_occ_spellings(auth_client: APIClient, seeded: Any) -> None:
    response = auth_client.get("/api/v1/data/prices/quotes?symbols=spy_270115C00450000")
    assert response.status_code == 200
    quote = response.json()["quotes"][0]
    assert quote["symbol"] == OPTION
    assert quote["price"] > 0 and quote["previous_close"] is not None  # from the option marks
    assert 0 < quote["implied_volatility"] < 3  # a fraction


def test_quotes_without_symbols_is_422(auth_client: APIClient) -> None:
    for url in ("/api/v1/data/prices/quotes", "/api/v1/data/prices/quotes?symbols=,,"):
        response = auth_client.get(url)
        assert response.status_code == 422
        body = response.json()
        assert_error_envelope(body, status=422, code="VALIDATION_ERROR")
        assert body["detail"][0]["loc"] == ["query", "symbols"]


def test_more_than_100_symbols_is_422(auth_client: APIClient) -> None:
    symbols = ",".join(f"S{i}" for i in range(101))
    response = auth_client.get(f"/api/v1/data/prices/quotes?symbols={symbols}")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "symbols"]


def test_unknown_symbols_are_listed_in_one_422(auth_client: APIClient, seeded: Any) -> None:
    response = auth_client.get("/api/v1/data/prices/quotes?symbols=AAPL,NOPE,ZZZZ,a%20b")
    assert response.status_code == 422
    body = response.json()
    assert_error_envelope(body, code="INVALID_SYMBOL")
    assert body["error"]["details"]["symbols"] == ["a b", "NOPE", "ZZZZ"]


# --------------------------------------------------------------------------- 2.7 factor ETFs


def test_factor_etf_prices_match_the_spec_example(auth_client: APIClient, seeded: Any) -> None:
    response = auth_client.get("/api/v1/data/factors/etf-prices")
    assert response.status_code == 200, response.content
    body = response.json()
    assert_matches_example(body, spec_example(SIGMASIGHT, "2.7 Get Factor ETF Prices"))
    active = list(FactorDefinition.objects.filter(is_active=True).order_by("display_order"))
    assert [e["factor_type"] for e in body["factor_etfs"]] == [f.key for f in active]
    assert body["summary"]["total_etfs"] == len(active)
    assert body["summary"]["data_coverage"] == "100%"
    market = body["factor_etfs"][0]
    assert market["symbol"] == "SPY" and market["name"] == "SPDR S&P 500 ETF Trust"
    history = market["historical_prices"]
    assert history[0]["close"] == pytest.approx(market["current_price"])
    assert [h["date"] for h in history] == sorted((h["date"] for h in history), reverse=True)
    span = dt.date.fromisoformat(history[0]["date"]) - dt.date.fromisoformat(history[-1]["date"])
    assert span < dt.timedelta(days=5)  # days defaults to 5 calendar days


def test_factor_etf_prices_for_some_symbols(auth_client: APIClient, seeded: Any) -> None:
    body = auth_client.get("/api/v1/data/factors/etf-prices?symbols=mtum,SIZE&days=10").json()
    assert [e["symbol"] for e in body["factor_etfs"]] == ["SIZE", "MTUM"]
    assert body["summary"]["total_etfs"] == 2


def test_factor_etf_coverage_counts_etfs_without_prices(auth_client: APIClient) -> None:
    body = auth_client.get("/api/v1/data/factors/etf-prices").json()
    assert body["summary"]["data_coverage"] == "0%"
    assert body["factor_etfs"][0]["current_price"] is None
    assert len(body["warnings"]) == body["summary"]["total_etfs"]


def test_factor_etf_prices_reject_non_factor_symbols(auth_client: APIClient, seeded: Any) -> None:
    response = auth_client.get("/api/v1/data/factors/etf-prices?symbols=AAPL")
    assert response.status_code == 422
    assert_error_envelope(response.json(), code="INVALID_SYMBOL")


# --------------------------------------------------------------------------- auth


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/data/prices/historical/AAPL",
        "/api/v1/data/prices/quotes?symbols=AAPL",
        "/api/v1/data/factors/etf-prices",
    ],
)
def test_market_data_needs_a_token(api_client: APIClient, url: str) -> None:
    response = api_client.get(url)
    assert response.status_code == 401
    assert_error_envelope(response.json(), code="AUTHENTICATION_FAILED")
