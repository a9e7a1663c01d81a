"""The /data/ portfolio endpoints against hand-computed books and the spec examples."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.tokens import issue_for_new_session
from portfolios import services
from portfolios.models import Portfolio
from portfolios.tests.conftest import AAPL_PUT, SPY_CALL, TODAY, YESTERDAY
from tests.contract import SIGMASIGHT, assert_error_envelope, assert_matches_example, spec_example

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(auth_client: APIClient, market: Any) -> Portfolio:
    """Long 100 AAPL @160, short 200 XOM @100, long 5 SPY calls @2.85, short 3 AAPL puts @5,
    after a $100,000 deposit."""
    portfolio = Portfolio.objects.get(owner=auth_client.user)  # type: ignore[attr-defined]
    services.cash_transaction(
        portfolio=portfolio, kind="DEPOSIT", amount=D(100000), trade_date=YESTERDAY
    )
    for symbol, quantity, price in (
        ("AAPL", 100, "160"),
        ("XOM", -200, "100"),
        (SPY_CALL, 5, "2.85"),
        (AAPL_PUT, -3, "5"),
    ):
        services.position_open(
            portfolio=portfolio,
            symbol=symbol,
            quantity=D(quantity),
            entry_price=D(price),
            entry_date=YESTERDAY,
            today=TODAY,
        )
    return portfolio


# Hand-computed: market values 17,525 − 18,000 + 2,100 − 1,050 = 575.
# Cash: 100,000 − 16,000 + 20,000 − 1,425 + 1,500 = 104,075. Total 104,650.
# Unrealized: 1,525 + 2,000 + 675 + 450 = 4,650. Day change: 285 + 400 + 125 + 150 = 960.


def test_complete_portfolio_is_hand_computed_and_matches_the_spec(
    auth_client: APIClient, book: Portfolio
) -> None:
    response = auth_client.get(f"/api/v1/data/portfolio/{book.id}/complete")
    assert response.status_code == 200, response.content
    body = response.json()
    assert_matches_example(body, spec_example(SIGMASIGHT, "2.2 Get Complete Portfolio"))
    assert body["summary"]["cash_balance"] == 104075.00
    assert body["summary"]["total_value"] == 104650.00
    assert body["summary"]["total_pnl"] == 4650.00
    assert body["summary"]["day_change"] == 960.00
    assert body["summary"]["positions_count"] == 4
    rows = {row["symbol"]: row for row in body["positions"]}
    assert rows[SPY_CALL]["position_type"] == "CALL"
    assert rows[SPY_CALL]["cost_basis"] == 2.85 and rows[SPY_CALL]["total_cost_basis"] == 1425.00
    assert rows["XOM"]["market_value"] == -18000.00 and rows["XOM"]["unrealized_pnl"] == 2000.00
    assert body["market_data"]["data_quality"] == 100.0


def test_complete_sections_and_as_of_date(auth_client: APIClient, book: Portfolio) -> None:
    only = auth_client.get(
        f"/api/v1/data/portfolio/{book.id}/complete", {"sections": "summary"}
    ).json()
    assert "summary" in only and "positions" not in only and "portfolio" not in only
    past = auth_client.get(
        f"/api/v1/data/portfolio/{book.id}/complete", {"as_of_date": YESTERDAY.isoformat()}
    ).json()
    # Yesterday's closes: 17,240 − 18,400 + 1,975 − 1,200 = −385, cash the same.
    assert past["summary"]["total_value"] == 104075.00 - 385.00
    bad = auth_client.get(f"/api/v1/data/portfolio/{book.id}/complete", {"sections": "nope"})
    assert bad.status_code == 422
    assert_error_envelope(bad.json(), status=422)
    assert bad.json()["detail"][0]["loc"] == ["query", "sections"]


def test_positions_details(auth_client: APIClient, book: Portfolio) -> None:
    response = auth_client.get("/api/v1/data/positions/details", {"portfolio_id": str(book.id)})
    assert response.status_code == 200
    body = response.json()
    assert_matches_example(body, spec_example(SIGMASIGHT, "2.4 Get Position Details"))
    rows = {row["symbol"]: row for row in body["data"]}
    assert (
        rows["AAPL"]["unrealized_pnl_percent"] == 9.53
        and rows["AAPL"]["day_change_percent"] == 1.65
    )
    assert (
        rows[SPY_CALL]["unrealized_pnl_percent"] == 47.37
        and rows[SPY_CALL]["day_change_percent"] == 6.33
    )
    assert body["summary"] == {
        "total_positions": 4,
        "total_market_value": 575.0,
        "total_unrealized_pnl": 4650.0,
        "total_day_change": 960.0,
        "long_positions": 1,
        "short_positions": 1,
        "options_positions": 2,
    }
    puts = auth_client.get(
        "/api/v1/data/positions/details", {"portfolio_id": str(book.id), "position_type": "PUT"}
    ).json()
    assert [row["symbol"] for row in puts["data"]] == [AAPL_PUT]


def test_positions_summary(auth_client: APIClient, book: Portfolio) -> None:
    response = auth_client.get(f"/api/v1/data/portfolios/{book.id}/positions/summary")
    assert response.status_code == 200
    body = response.json()
    assert_matches_example(
        body,
        spec_example(SIGMASIGHT, "2.12 Get Position Summary"),
        maps=("$.groupings.by_sector", "$.groupings.by_asset_type", "$.groupings.by_position_type"),
    )
    assert set(body["groupings"]["by_position_type"]) == {"LONG", "SHORT", "CALL", "PUT"}
    assert body["groupings"]["by_asset_type"]["options"] == {
        "count": 2,
        "value": 1050.0,
        "percentage": 182.61,  # 1,050 / 575
    }
    assert (
        body["summary_statistics"]["total_cost_basis"] == -4075.0
    )  # 16,000 − 20,000 + 1,425 − 1,500
    weights = {row["symbol"]: row["weight"] for row in body["position_summary"]}
    assert weights["XOM"] == pytest.approx(18000 / 38675, abs=1e-4)
    assert (
        body["performance_metrics"]["winners"] == 4 and body["performance_metrics"]["losers"] == 0
    )
    assert body["performance_metrics"]["best_performer"]["symbol"] == SPY_CALL


def test_portfolios_list(auth_client: APIClient, book: Portfolio) -> None:
    body = auth_client.get("/api/v1/data/portfolios").json()
    assert_matches_example(body, spec_example(SIGMASIGHT, "2.1 Get Portfolios"))
    assert body["data"][0]["total_value"] == 104650.00 and body["data"][0]["positions_count"] == 4
    assert body["pagination"]["total_items"] == 1


def test_position_detail(auth_client: APIClient, book: Portfolio) -> None:
    aapl = book.positions.get(security_id="AAPL")
    response = auth_client.get(f"/api/v1/data/positions/{aapl.id}/details")
    assert response.status_code == 200
    body = response.json()
    assert_matches_example(body, spec_example(SIGMASIGHT, "2.13 Get Position Details by ID"))
    assert body["pnl_analysis"]["total_cost"] == 16000.00
    assert body["fundamentals"]["market_cap"] == 15_000_000_000 * 175.25
    assert body["fundamentals"]["pe_ratio"] == 28.04  # 175.25 / 6.25
    assert body["transactions"][0] == {
        "date": YESTERDAY.isoformat(),
        "type": "BUY",
        "quantity": 100.0,
        "price": 160.0,
        "value": 16000.0,
        "fees": 0.0,
        "realized_pnl": None,
    }
    assert body["historical_performance"]["returns"][0]["return"] == pytest.approx(
        175.25 / 172.40 - 1, abs=1e-6
    )
    assert any(w.startswith("factor_exposures:") for w in body["warnings"])


def test_other_users_ids_are_404_everywhere(book: Portfolio, make_user: Any) -> None:
    stranger = APIClient()
    stranger.credentials(
        HTTP_AUTHORIZATION=f"Bearer {issue_for_new_session(make_user()).access_token}"
    )
    position = book.positions.first()
    for method, url, data in (
        ("get", f"/api/v1/data/portfolio/{book.id}/complete", None),
        ("get", "/api/v1/data/positions/details?portfolio_id=" + str(book.id), None),
        ("get", f"/api/v1/data/portfolios/{book.id}/positions/summary", None),
        ("get", f"/api/v1/data/positions/{position.id}/details", None),
        ("put", f"/api/v1/management/portfolios/{book.id}", {"name": "mine now"}),
        ("delete", f"/api/v1/management/portfolios/{book.id}", None),
        (
            "post",
            f"/api/v1/management/portfolios/{book.id}/positions",
            {"symbol": "AAPL", "quantity": 1, "entry_price": 1, "entry_date": TODAY.isoformat()},
        ),
        ("put", f"/api/v1/management/positions/{position.id}", {"tags": ["x"]}),
        ("post", f"/api/v1/management/positions/{position.id}/close", {"exit_price": 1}),
    ):
        response = getattr(stranger, method)(url, data, format="json")
        assert response.status_code == 404, (url, response.status_code)
        assert_error_envelope(response.json(), code="NOT_FOUND")
    assert stranger.get("/api/v1/data/portfolios").json()["data"][0]["id"] != str(book.id)


def test_complete_runs_a_constant_number_of_queries(
    auth_client: APIClient, book: Portfolio, django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(12):
        assert auth_client.get(f"/api/v1/data/portfolio/{book.id}/complete").status_code == 200
    from portfolios.tests.conftest import put_prices

    for i in range(30):
        put_prices(f"T{i}", "10", "11")
        services.position_open(
            portfolio=book,
            symbol=f"T{i}",
            quantity=D(1 if i % 2 == 0 else -1),
            entry_price=D(10),
            entry_date=YESTERDAY,
            today=TODAY,
        )
    with django_assert_max_num_queries(12):
        assert auth_client.get(f"/api/v1/data/portfolio/{book.id}/complete").status_code == 200
