"""The schema and the response agree (issue 11): for the main read endpoints, every key a
response sends is documented in the OpenAPI schema (drf-spectacular) at the same place, and
every documented required key is sent. ``historical_performance.returns[]`` was documented
as ``value`` while ``return`` was sent; this catches that kind of drift everywhere."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from portfolios import services
from portfolios.models import Portfolio
from portfolios.tests.conftest import AAPL_PUT, SPY_CALL, TODAY, YESTERDAY, market  # noqa: F401
from risk.services import greeks_for_portfolio

pytestmark = pytest.mark.django_db
AFTER_CLOSE = timezone.make_aware(dt.datetime(2026, 11, 25, 3, 0), dt.UTC)


@pytest.fixture
def book(auth_client: APIClient, market: Any) -> Portfolio:  # noqa: F811
    portfolio = Portfolio.objects.get(owner=auth_client.user)  # type: ignore[attr-defined]
    services.cash_transaction(
        portfolio=portfolio, kind="DEPOSIT", amount=D(100000), trade_date=YESTERDAY
    )
    for symbol, quantity, price in (
        ("AAPL", 100, "160"),
        ("XOM", -200, "100"),
        (SPY_CALL, 5, "2.85"),
    ):
        services.position_open(
            portfolio=portfolio,
            symbol=symbol,
            quantity=D(quantity),
            entry_price=D(price),
            entry_date=YESTERDAY,
            today=TODAY,
        )
    greeks_for_portfolio(portfolio, now=AFTER_CLOSE)
    return portfolio


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    for key in ("allOf", "oneOf", "anyOf"):  # nullable nested serializers
        if key in node:
            parts = [_resolve(schema, p) for p in node[key]]
            objects = [p for p in parts if p.get("properties") or p.get("type") == "array"]
            if objects:
                return objects[0]
    return node


def _mismatches(schema: dict[str, Any], node: dict[str, Any], value: Any, where: str) -> list[str]:
    node = _resolve(schema, node)
    found: list[str] = []
    if isinstance(value, dict) and "properties" in node:
        documented = set(node["properties"])
        sent = set(value)
        found += [f"{where}.{k}: sent, not documented" for k in sorted(sent - documented)]
        required = set(node.get("required", []))
        found += [f"{where}.{k}: documented required, not sent" for k in sorted(required - sent)]
        for key in sorted(sent & documented):
            if value[key] is not None:
                found += _mismatches(schema, node["properties"][key], value[key], f"{where}.{key}")
    elif isinstance(value, list) and node.get("type") == "array" and "items" in node:
        for i, item in enumerate(value[:3]):
            found += _mismatches(schema, node["items"], item, f"{where}[{i}]")
    return found


def test_read_responses_match_their_schema(auth_client: APIClient, book: Portfolio) -> None:
    schema = auth_client.get("/api/v1/schema", {"format": "json"}).json()
    pid = book.id
    aapl = book.positions.get(security_id="AAPL")
    endpoints = {
        "/api/v1/data/portfolios": "/api/v1/data/portfolios",
        f"/api/v1/data/portfolio/{pid}/complete": "/api/v1/data/portfolio/{portfolio_id}/complete",
        f"/api/v1/data/positions/details?portfolio_id={pid}": "/api/v1/data/positions/details",
        f"/api/v1/data/portfolios/{pid}/positions/summary": (
            "/api/v1/data/portfolios/{portfolio_id}/positions/summary"
        ),
        f"/api/v1/data/positions/{aapl.id}/details": "/api/v1/data/positions/{position_id}/details",
        f"/api/v1/data/greeks/{pid}": "/api/v1/data/greeks/{portfolio_id}",
        f"/api/v1/data/factors/{pid}": "/api/v1/data/factors/{portfolio_id}",
        f"/api/v1/data/portfolios/{pid}/aggregations": (
            "/api/v1/data/portfolios/{portfolio_id}/aggregations"
        ),
        f"/api/v1/data/portfolios/{pid}/risk-summary": (
            "/api/v1/data/portfolios/{portfolio_id}/risk-summary"
        ),
        f"/api/v1/analytics/portfolio/{pid}/overview": "/api/v1/analytics/portfolio/{id}/overview",
    }
    paths = schema["paths"]
    problems: list[str] = []
    for url, template in endpoints.items():
        # Path parameters are named per view; match the template by its fixed segments.
        key = next(
            (
                p
                for p in paths
                if [("{}" if s.startswith("{") else s) for s in p.split("/")]
                == [("{}" if s.startswith("{") else s) for s in template.split("/")]
            ),
            None,
        )
        assert key is not None, f"{template} is not in the schema"
        response = auth_client.get(url)
        assert response.status_code == 200, (url, response.content[:300])
        documented = paths[key]["get"]["responses"]["200"]["content"]["application/json"]
        problems += _mismatches(schema, documented["schema"], response.json(), key)
    assert problems == []
