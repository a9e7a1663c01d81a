# ruff: noqa: F811 - the fixtures imported from test_book_api are used as parameters
"""Issue 12: the heavy reads' bodies are cached (sigmasight.api.response_cache) under the
versions of what they read, so a repeated read costs one query, and a write, a new quote
or a finished risk step is in the very next response."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tokens import issue_for_new_session
from marketdata import services as marketdata_services
from marketdata.providers.base import QuoteData
from portfolios import services
from portfolios.models import Portfolio
from portfolios.tests.conftest import TODAY
from portfolios.tests.test_book_api import book  # noqa: F401 - fixture
from risk import services as risk_services

pytestmark = pytest.mark.django_db


def _paths(portfolio: Portfolio) -> list[str]:
    return [
        "/api/v1/data/portfolios",
        f"/api/v1/data/portfolio/{portfolio.id}/complete",
        f"/api/v1/data/portfolios/{portfolio.id}/risk-summary",
        f"/api/v1/analytics/risk/{portfolio.id}/metrics",
    ]


def _get(client: APIClient, path: str) -> tuple[bytes, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, (path, response.content[:300])
    return response.content, len(queries)


class _Provider:
    """Quotes AAPL at a new price: what a market-data update writes."""

    name = "test"

    def __init__(self, price: float) -> None:
        self.price = price

    def quotes(self, symbols: list[str]) -> list[QuoteData]:
        return [
            QuoteData(
                symbol="AAPL",
                bid=self.price - 0.05,
                ask=self.price + 0.05,
                bid_size=100,
                ask_size=100,
                last=self.price,
                volume=1000,
                timestamp=timezone.make_aware(dt.datetime(2026, 11, 24, 21, 5), dt.UTC),
                source="test",
            )
        ][: 1 if "AAPL" in symbols else 0]


def test_a_repeated_read_is_served_from_the_cache(auth_client: APIClient, book: Portfolio) -> None:
    for path in _paths(book):
        first, computed = _get(auth_client, path)
        again, cached = _get(auth_client, path)
        assert again == first
        assert cached == 1 < computed  # the user behind the token, nothing else
        response = auth_client.get(path)
        assert response["Content-Type"] == "application/json"
        assert response["X-RateLimit-Limit"] and response["X-Request-ID"]


def test_a_write_a_quote_and_a_risk_step_are_in_the_next_read(
    auth_client: APIClient, book: Portfolio
) -> None:
    complete = f"/api/v1/data/portfolio/{book.id}/complete"
    listing = "/api/v1/data/portfolios"

    def value(path: str) -> float:
        body = auth_client.get(path).json()
        if path == listing:
            return next(p for p in body["data"] if p["id"] == str(book.id))["total_value"]
        return body["summary"]["total_value"]

    before = {path: value(path) for path in (complete, listing)}
    services.cash_transaction(portfolio=book, kind="DEPOSIT", amount=D(1000), trade_date=TODAY)
    for path, was in before.items():
        assert value(path) == pytest.approx(was + 1000, abs=0.005), path
    # A market-data update (a bulk upsert, no model signal) moves the 100 AAPL held.
    aapl = next(p for p in auth_client.get(complete).json()["positions"] if p["symbol"] == "AAPL")
    written = marketdata_services.quotes_refresh(provider=_Provider(180.0), symbols=["AAPL"])
    assert written == 1
    moved = next(p for p in auth_client.get(complete).json()["positions"] if p["symbol"] == "AAPL")
    assert moved["market_value"] == pytest.approx(100 * 180.0, abs=0.005)
    assert moved["market_value"] != aapl["market_value"]
    # A risk step stores figures: the metrics endpoint shows them on the next read.
    metrics = f"/api/v1/analytics/risk/{book.id}/metrics"
    first = auth_client.get(metrics).json()
    risk_services.record_step_failure(book, step="risk_metrics", message="test failure")
    second = auth_client.get(metrics).json()
    assert second != first
    assert any("test failure" in w for w in second["warnings"])


def test_another_users_read_never_comes_from_the_cache(
    auth_client: APIClient, book: Portfolio, make_user: Any
) -> None:
    path = f"/api/v1/data/portfolio/{book.id}/complete"
    assert auth_client.get(path).status_code == 200
    other = APIClient()
    access = issue_for_new_session(make_user(email="other@example.com")).access_token
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    assert other.get(path).status_code == 404
    assert (
        other.get("/api/v1/data/portfolios").json()["data"]
        != (auth_client.get("/api/v1/data/portfolios").json()["data"])
    )


def test_the_date_is_part_of_the_key(
    auth_client: APIClient, book: Portfolio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Year-to-date and days-to-expiry figures follow New York's date."""
    path = f"/api/v1/analytics/portfolio/{book.id}/overview"
    monkeypatch.setattr(
        timezone, "now", lambda: timezone.make_aware(dt.datetime(2026, 11, 24, 23, 0), dt.UTC)
    )
    november = auth_client.get(path).json()
    monkeypatch.setattr(
        timezone, "now", lambda: timezone.make_aware(dt.datetime(2026, 12, 2, 23, 0), dt.UTC)
    )
    december = auth_client.get(path).json()
    # As test_book_api's overview test computes: MTD 4,650 in November, 0 in December.
    assert (november["pnl"]["mtd_pnl"], december["pnl"]["mtd_pnl"]) == (4650.00, 0.00)
