"""Reads proportional to the portfolio: the three hot reads (/data/portfolios, /complete,
/risk-summary) issue the same number of queries whatever the length of the price history
and whatever other symbols hold, and none of their queries scans the bar table
sequentially once PostgreSQL knows its size (a year of bars for hundreds of symbols,
ANALYZEd)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from marketdata.models import AssetType, PriceBar, Quote, Security
from portfolios.models import Portfolio, Position, PositionType, Transaction

LAST_SESSION = dt.date(2026, 11, 24)
HELD = [f"H{i:03d}" for i in range(60)]
OTHERS = [f"X{i:03d}" for i in range(300)]
#: Sessions in marketdata.selectors' recent window (15 calendar days), with room to spare.
RECENT_BARS_PER_SYMBOL = 12


def _sessions(count: int) -> list[dt.date]:
    days: list[dt.date] = []
    day = LAST_SESSION
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day -= dt.timedelta(days=1)
    return days


def _add_bars(symbols: list[str], dates: list[dt.date]) -> None:
    rows = [
        PriceBar(
            security_id=symbol,
            date=date,
            open=Decimal(50 + n % 7),
            high=Decimal(51 + n % 7),
            low=Decimal(49 + n % 7),
            close=Decimal(50 + n % 7),
            adj_close=Decimal(50 + n % 7),
            volume=1000,
            source="test",
        )
        for symbol in symbols
        for n, date in enumerate(dates)
    ]
    PriceBar.objects.bulk_create(rows, batch_size=10_000, ignore_conflicts=True)


@pytest.fixture
def book(trader: Any) -> Portfolio:
    Security.objects.bulk_create(
        Security(symbol=s, name=s, asset_type=AssetType.STOCK, sector="Technology")
        for s in HELD + OTHERS
    )
    _add_bars(HELD, _sessions(2))
    stamp = timezone.make_aware(dt.datetime(2026, 11, 24, 21, 0), dt.UTC)
    Quote.objects.bulk_create(
        Quote(
            security_id=s,
            bid=Decimal(50),
            ask=Decimal(51),
            last=Decimal("50.5"),
            timestamp=stamp,
            source="test",
        )
        for s in HELD
    )
    portfolio = Portfolio.objects.create(owner=trader, name="Scaling")
    Position.objects.bulk_create(
        Position(
            portfolio=portfolio,
            security_id=s,
            quantity=Decimal(10),
            position_type=PositionType.LONG,
            entry_price=Decimal(45),
            entry_date=dt.date(2026, 11, 20),
        )
        for s in HELD
    )
    Transaction.objects.create(
        portfolio=portfolio,
        kind="DEPOSIT",
        amount=Decimal(100_000),
        trade_date=dt.date(2026, 11, 20),
    )
    return portfolio


@pytest.fixture(autouse=True)
def _computed_not_cached(settings: Any) -> None:
    """These tests measure what a read computes; a cached body (sigmasight.api
    .response_cache) would answer the measured request without reading anything."""
    settings.RESPONSE_CACHE_SECONDS = 0


def _paths(portfolio: Portfolio) -> list[str]:
    return [
        "/api/v1/data/portfolios",
        f"/api/v1/data/portfolio/{portfolio.id}/complete",
        f"/api/v1/data/portfolios/{portfolio.id}/risk-summary",
    ]


def _queries(client: APIClient, path: str) -> list[str]:
    client.get(path)  # warm: the first request may load one-off state (content types, …)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, (path, response.content[:300])
    return [q["sql"] for q in captured.captured_queries]


@pytest.mark.django_db
def test_query_counts_do_not_grow_with_the_history(auth_client: APIClient, book: Portfolio) -> None:
    before = {path: len(_queries(auth_client, path)) for path in _paths(book)}
    year = _sessions(252)
    _add_bars(HELD + OTHERS, year)
    after = {path: len(_queries(auth_client, path)) for path in _paths(book)}
    assert after == before


def _bar_rows_read(plan: dict[str, Any], table: str) -> tuple[int, list[str]]:
    """Rows the plan's scans of ``table`` returned (actual rows × loops), and their types."""
    rows, kinds = 0, []
    if plan.get("Relation Name") == table:
        rows += int(plan.get("Actual Rows", 0) * plan.get("Actual Loops", 1))
        kinds.append(plan["Node Type"])
    for child in plan.get("Plans", []):
        more, more_kinds = _bar_rows_read(child, table)
        rows += more
        kinds += more_kinds
    return rows, kinds


@pytest.mark.django_db
def test_no_read_scans_the_bar_table(auth_client: APIClient, book: Portfolio) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the plans are PostgreSQL's")
    _add_bars(HELD + OTHERS, _sessions(252))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE marketdata_pricebar")
    table = PriceBar._meta.db_table
    for path in _paths(book):
        rows_read, kinds = 0, []
        for sql in _queries(auth_client, path):
            if table not in sql or not sql.lstrip().upper().startswith("SELECT"):
                continue
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
                (plan,) = cursor.fetchone()[0]
            rows, node_types = _bar_rows_read(plan["Plan"], table)
            rows_read += rows
            kinds += node_types
        assert "Seq Scan" not in kinds, (path, kinds)
        # A couple of weeks of bars per held symbol (the price and the previous close),
        # never a year of them, and nothing of the symbols no position holds.
        assert rows_read <= len(HELD) * RECENT_BARS_PER_SYMBOL, (path, rows_read)
