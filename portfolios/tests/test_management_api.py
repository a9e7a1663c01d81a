"""M1–M6: create, update, soft-delete portfolios; add, update, close positions."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest
from rest_framework.test import APIClient

from portfolios.models import Lot, Portfolio, Position, Transaction
from portfolios.tests.conftest import SPY_CALL, TODAY, YESTERDAY
from tests.contract import assert_error_envelope

pytestmark = pytest.mark.django_db
TODAY_ISO, YESTERDAY_ISO = TODAY.isoformat(), YESTERDAY.isoformat()


@pytest.fixture(autouse=True)
def _today(monkeypatch: pytest.MonkeyPatch) -> None:
    """The services' 'today' is the fixture market's last session."""
    from django.utils import timezone

    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: TODAY)


def _portfolio(client: APIClient) -> Portfolio:
    return Portfolio.objects.get(owner=client.user, is_default=True)  # type: ignore[attr-defined]


def test_create_update_delete_portfolio(auth_client: APIClient) -> None:
    created = auth_client.post(
        "/api/v1/management/portfolios",
        {"name": "Growth", "description": "d", "currency": "usd"},
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["name"] == "Growth" and body["currency"] == "USD" and body["total_value"] == 0.0
    assert body["is_default"] is False  # the user already has a default
    pid = body["id"]
    updated = auth_client.put(
        f"/api/v1/management/portfolios/{pid}", {"description": "new"}, format="json"
    )
    assert updated.status_code == 200 and updated.json()["description"] == "new"
    assert updated.json()["name"] == "Growth"
    assert auth_client.delete(f"/api/v1/management/portfolios/{pid}").status_code == 204
    assert auth_client.get(f"/api/v1/data/portfolio/{pid}/complete").status_code == 404
    assert Portfolio.objects.filter(pk=pid, deleted_at__isnull=False).exists()  # soft


def test_create_portfolio_bad_input_is_422(auth_client: APIClient) -> None:
    response = auth_client.post(
        "/api/v1/management/portfolios", {"currency": "dollars"}, format="json"
    )
    assert response.status_code == 422
    locs = [item["loc"] for item in response.json()["detail"]]
    assert ["body", "name"] in locs and ["body", "currency"] in locs


def test_viewer_cannot_write(make_user: Any) -> None:
    from accounts.tokens import issue_for_new_session

    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {issue_for_new_session(make_user(role='viewer')).access_token}"
    )
    response = client.post("/api/v1/management/portfolios", {"name": "x"}, format="json")
    assert response.status_code == 403
    assert_error_envelope(response.json(), code="INSUFFICIENT_PERMISSIONS")


def test_add_stock_and_option_positions_book_cash(auth_client: APIClient, market: Any) -> None:
    portfolio = _portfolio(auth_client)
    url = f"/api/v1/management/portfolios/{portfolio.id}/positions"
    stock = auth_client.post(
        url,
        {
            "symbol": "aapl",
            "quantity": "100",
            "entry_price": "160",
            "entry_date": YESTERDAY_ISO,
            "tags": ["core"],
        },
        format="json",
    )
    assert stock.status_code == 201, stock.content
    assert stock.json()["position_type"] == "LONG" and stock.json()["stored_type"] == "LONG"
    option = auth_client.post(
        url,
        {
            "symbol": "SPY_261218C00550000",
            "quantity": "-2",
            "entry_price": "4.00",
            "entry_date": YESTERDAY_ISO,
        },
        format="json",
    )
    assert option.status_code == 201, option.content
    assert option.json()["symbol"] == SPY_CALL and option.json()["stored_type"] == "SC"
    position = Position.objects.get(pk=option.json()["id"])
    assert (
        position.multiplier == 100
        and position.strike == D(550)
        and position.underlying_symbol == "SPY"
    )
    cash = sum(t.amount for t in Transaction.objects.filter(portfolio=portfolio))
    assert cash == D("-16000.00") + D("800.00")  # bought stock, sold 2 calls × 4.00 × 100


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        (
            {"symbol": "NOPE", "quantity": 1, "entry_price": 1, "entry_date": YESTERDAY_ISO},
            None,
            "INVALID_SYMBOL",
        ),
        (
            {
                "symbol": "SPY261218X00550000",
                "quantity": 1,
                "entry_price": 1,
                "entry_date": YESTERDAY_ISO,
            },
            "symbol",
            "VALIDATION_ERROR",
        ),
        (
            {
                "symbol": "SPY201218C00550000",
                "quantity": 1,
                "entry_price": 1,
                "entry_date": YESTERDAY_ISO,
            },
            "symbol",
            "VALIDATION_ERROR",
        ),
        (
            {"symbol": "AAPL", "quantity": 0, "entry_price": 1, "entry_date": YESTERDAY_ISO},
            "quantity",
            "VALIDATION_ERROR",
        ),
        (
            {"symbol": "AAPL", "quantity": 1, "entry_price": -1, "entry_date": YESTERDAY_ISO},
            "entry_price",
            "VALIDATION_ERROR",
        ),
        (
            {"symbol": "AAPL", "quantity": 1, "entry_price": 1, "entry_date": "2099-01-01"},
            "entry_date",
            "VALIDATION_ERROR",
        ),
        (
            {"symbol": "AAPL", "quantity": "abc", "entry_price": 1, "entry_date": YESTERDAY_ISO},
            "quantity",
            "VALIDATION_ERROR",
        ),
    ],
)
def test_bad_positions_are_422_and_write_nothing(
    auth_client: APIClient, market: Any, body: dict[str, Any], field: str | None, code: str
) -> None:
    portfolio = _portfolio(auth_client)
    response = auth_client.post(
        f"/api/v1/management/portfolios/{portfolio.id}/positions", body, format="json"
    )
    assert response.status_code == 422, response.content
    assert_error_envelope(response.json(), code=code)
    if field:
        assert ["body", field] in [item["loc"] for item in response.json()["detail"]]
    assert not Position.objects.filter(portfolio=portfolio).exists()
    assert not Transaction.objects.filter(portfolio=portfolio).exists()


def test_update_position_rewrites_the_opening_trade(auth_client: APIClient, market: Any) -> None:
    portfolio = _portfolio(auth_client)
    pid = auth_client.post(
        f"/api/v1/management/portfolios/{portfolio.id}/positions",
        {"symbol": "AAPL", "quantity": 10, "entry_price": 100, "entry_date": YESTERDAY_ISO},
        format="json",
    ).json()["id"]
    response = auth_client.put(
        f"/api/v1/management/positions/{pid}",
        {"quantity": 20, "entry_price": "150", "tags": ["b", "a"]},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["quantity"] == 20.0 and response.json()["cost_basis"] == 150.0
    assert response.json()["tags"] == ["a", "b"]
    assert Transaction.objects.get(position_id=pid).amount == D("-3000.00")
    assert Lot.objects.get(position_id=pid).remaining == D(20)
    flip = auth_client.put(f"/api/v1/management/positions/{pid}", {"quantity": -5}, format="json")
    assert flip.status_code == 422


def test_close_books_realized_pnl_fifo_and_cash(auth_client: APIClient, market: Any) -> None:
    portfolio = _portfolio(auth_client)
    url = f"/api/v1/management/portfolios/{portfolio.id}/positions"
    first = auth_client.post(
        url,
        {"symbol": "AAPL", "quantity": 100, "entry_price": 100, "entry_date": YESTERDAY_ISO},
        format="json",
    ).json()
    auth_client.post(
        url,
        {"symbol": "AAPL", "quantity": 50, "entry_price": 130, "entry_date": TODAY_ISO},
        format="json",
    )
    pid = first["id"]
    partial = auth_client.post(
        f"/api/v1/management/positions/{pid}/close",
        {"exit_price": 150, "exit_date": TODAY_ISO, "quantity": 120},
        format="json",
    )
    assert partial.status_code == 200, partial.content
    # FIFO: 100 × (150 − 100) + 20 × (150 − 130) = 5,400.
    assert partial.json()["realized_pnl"] == 5400.0
    assert partial.json()["cash_flow"] == 18000.0 and partial.json()["remaining_quantity"] == 30.0
    rest = auth_client.post(f"/api/v1/management/positions/{pid}/close", {}, format="json")
    assert rest.status_code == 200
    # The rest closes at the latest quote (175.25): 30 × (175.25 − 130) = 1,357.50.
    assert rest.json()["realized_pnl"] == 1357.5 and rest.json()["is_active"] is False
    again = auth_client.post(f"/api/v1/management/positions/{pid}/close", {}, format="json")
    assert again.status_code == 409
    assert_error_envelope(again.json(), code="CONFLICT")
    cash = sum(t.amount for t in Transaction.objects.filter(portfolio=portfolio))
    assert cash == D(-10000 - 6500 + 18000) + D("5257.50")


def test_close_short_option_and_bad_close_input(auth_client: APIClient, market: Any) -> None:
    portfolio = _portfolio(auth_client)
    pid = auth_client.post(
        f"/api/v1/management/portfolios/{portfolio.id}/positions",
        {"symbol": SPY_CALL, "quantity": -2, "entry_price": 5, "entry_date": YESTERDAY_ISO},
        format="json",
    ).json()["id"]
    for body, field in (
        ({"exit_price": -1}, "exit_price"),
        ({"quantity": 3}, "quantity"),
        ({"exit_date": "2099-01-01"}, "exit_date"),
    ):
        response = auth_client.post(
            f"/api/v1/management/positions/{pid}/close", body, format="json"
        )
        assert response.status_code == 422, body
        assert ["body", field] in [item["loc"] for item in response.json()["detail"]]
    closed = auth_client.post(
        f"/api/v1/management/positions/{pid}/close", {"exit_price": "1.25"}, format="json"
    ).json()
    assert closed["realized_pnl"] == 750.0  # −2 × (1.25 − 5.00) × 100
    assert closed["cash_flow"] == -250.0  # bought back 2 × 1.25 × 100


def test_split_keeps_pnl_continuous_on_real_aapl_2005_bars(db: None, make_user: Any) -> None:
    """AAPL split 2:1 on 2005-02-28: raw closes 88.99 (02-25) and 44.86 (02-28), from the
    bokeh sample data shipped in marketdata/seed_data."""
    import datetime as dt

    import pandas as pd

    from marketdata.models import AssetType, PriceBar, Security
    from portfolios import services

    bars = pd.read_csv("marketdata/seed_data/bokeh_stocks.csv.gz")
    bars = bars[(bars.symbol == "AAPL") & bars.date.isin(["2005-02-25", "2005-02-28"])]
    security = Security.objects.create(symbol="AAPL", asset_type=AssetType.STOCK)
    for row in bars.itertuples():
        PriceBar.objects.create(
            security=security,
            date=row.date,
            close=D(str(row.close)),
            adj_close=D(str(row.adj_close)),
            source=row.source,
        )
    before_close, after_close = (D(str(c)) for c in bars.sort_values("date").close)
    assert (before_close, after_close) == (D("88.99"), D("44.86"))

    user = make_user()
    portfolio = Portfolio.objects.get(owner=user)
    position = services.position_open(
        portfolio=portfolio,
        symbol="AAPL",
        quantity=D(100),
        entry_price=D("80.00"),
        entry_date=dt.date(2005, 2, 1),
        today=dt.date(2005, 2, 25),
    )
    from portfolios.valuation import value_position

    before = value_position(
        quantity=position.quantity,
        multiplier=1,
        entry_price=position.entry_price,
        price=before_close,
        previous_close=None,
    )
    assert services.split_apply(symbol="AAPL", ratio=D(2), ex_date=dt.date(2005, 2, 28)) == 1
    position.refresh_from_db()
    assert position.quantity == D(200) and position.entry_price == D("40.00")
    after = value_position(
        quantity=position.quantity,
        multiplier=1,
        entry_price=position.entry_price,
        price=after_close,
        previous_close=before_close / 2,
    )
    # The P&L moves only by the real price change: 200 × (44.86 − 44.495) = 73.00.
    assert after.unrealized_pnl - before.unrealized_pnl == D("73.00")
    assert after.day_change == D("73.00")
    assert position.lots.get().remaining == D(200)
