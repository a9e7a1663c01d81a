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


# ---- issue 11: valuation without silent zeros, one mark, bases --------------------------------


def _unprice(symbol: str) -> None:
    """Remove every price of ``symbol`` (whatever booking fetched): it is now unpriced."""
    from marketdata.models import PriceBar, Quote

    Quote.objects.filter(security_id=symbol).delete()
    PriceBar.objects.filter(security_id=symbol).delete()


@pytest.fixture
def unpriced_book(book: Portfolio) -> Portfolio:
    """The hand-computed book plus 10 shares of NOPX, which has no price at all."""
    from portfolios.tests.conftest import put_prices

    put_prices("NOPX", "10", "11", sector="Industrials")
    services.position_open(
        portfolio=book,
        symbol="NOPX",
        quantity=D(10),
        entry_price=D(10),
        entry_date=YESTERDAY,
        today=TODAY,
    )
    _unprice("NOPX")
    return book


def test_an_unpriced_position_makes_every_total_null_with_a_warning(
    auth_client: APIClient, unpriced_book: Portfolio
) -> None:
    pid = unpriced_book.id
    complete = auth_client.get(f"/api/v1/data/portfolio/{pid}/complete").json()
    summary = complete["summary"]
    assert summary["total_value"] is None and summary["positions_value"] is None
    assert summary["total_pnl"] is None and summary["unrealized_pnl"] is None
    assert summary["day_change"] is None
    assert summary["cash_balance"] == 104075.00 - 100.00  # the NOPX purchase is real cash
    assert any("NOPX" in w and "null" in w for w in complete["warnings"])
    row = next(r for r in complete["positions"] if r["symbol"] == "NOPX")
    assert row["market_value"] is None and row["current_price"] is None

    listing = auth_client.get("/api/v1/data/portfolios").json()
    listed = listing["data"][0]
    assert listed["total_value"] is None and listed["cash_balance"] == 103975.00
    assert "unpriced" not in listed
    assert any("NOPX" in w for w in listing["warnings"])

    details = auth_client.get("/api/v1/data/positions/details", {"portfolio_id": str(pid)}).json()
    assert details["summary"]["total_market_value"] is None
    assert details["summary"]["total_unrealized_pnl"] is None
    assert any("NOPX" in w for w in details["warnings"])

    positions = auth_client.get(f"/api/v1/data/portfolios/{pid}/positions/summary").json()
    stats = positions["summary_statistics"]
    assert stats["total_market_value"] is None and stats["total_unrealized_pnl_percent"] is None
    assert all(r["weight"] is None for r in positions["position_summary"])
    by_type = positions["groupings"]["by_position_type"]
    assert by_type["LONG"]["value"] is None and by_type["LONG"]["percentage"] is None
    assert by_type["SHORT"]["value"] == -18000.00  # known, but its base is not
    assert by_type["SHORT"]["percentage"] is None

    overview = auth_client.get(f"/api/v1/analytics/portfolio/{pid}/overview").json()
    assert overview["total_value"] is None and overview["net_asset_value"] is None
    assert overview["exposures"]["long_exposure"] is None
    assert overview["exposures"]["short_exposure"] == -19050.00  # XOM −18,000, AAPL put −1,050
    assert overview["exposures"]["gross_exposure"] is None
    assert overview["pnl"]["total_pnl"] is None and overview["pnl"]["ytd_pnl"] is None
    assert any("NOPX" in w for w in overview["warnings"])

    aggregations = auth_client.get(f"/api/v1/data/portfolios/{pid}/aggregations").json()
    basic = aggregations["basic_aggregations"]
    assert basic["total_value"] is None and basic["invested_value"] is None
    assert basic["total_pnl"] is None and basic["total_pnl_percent"] is None

    risk = auth_client.get(f"/api/v1/data/portfolios/{pid}/risk-summary").json()
    assert risk["risk_summary"]["portfolio_value"] is None
    assert any("NOPX" in w for w in risk["warnings"])


def test_complete_after_the_latest_session_is_422_on_the_query_parameter(
    auth_client: APIClient, book: Portfolio
) -> None:
    response = auth_client.get(
        f"/api/v1/data/portfolio/{book.id}/complete", {"as_of_date": "2030-01-01"}
    )
    assert response.status_code == 422
    assert_error_envelope(response.json(), status=422)
    assert response.json()["detail"][0]["loc"] == ["query", "as_of_date"]


def test_an_option_is_marked_at_its_unrounded_mid_like_the_risk_engine(
    auth_client: APIClient, book: Portfolio
) -> None:
    """Bid 4.00 / ask 4.01 / last 4.01: the mark is 4.005, so 5 calls are worth 2,002.50
    (not 2,005.00) on /complete, the list and the overview alike."""
    from marketdata.models import Quote

    Quote.objects.filter(security_id=SPY_CALL).update(bid=D("4.00"), ask=D("4.01"), last=D("4.01"))
    body = auth_client.get(f"/api/v1/data/portfolio/{book.id}/complete").json()
    row = next(r for r in body["positions"] if r["symbol"] == SPY_CALL)
    assert row["current_price"] == 4.005 and row["market_value"] == 2002.50
    # 104,650 with the call at 4.20 (2,100) → 2,002.50 instead.
    expected = 104650.00 - 2100.00 + 2002.50
    assert body["summary"]["total_value"] == expected
    assert auth_client.get("/api/v1/data/portfolios").json()["data"][0]["total_value"] == expected
    overview = auth_client.get(f"/api/v1/analytics/portfolio/{book.id}/overview").json()
    assert overview["total_value"] == expected
    aggregations = auth_client.get(f"/api/v1/data/portfolios/{book.id}/aggregations").json()
    assert aggregations["basic_aggregations"]["total_value"] == expected


def test_pnl_percent_is_of_the_gross_cost_basis(auth_client: APIClient, book: Portfolio) -> None:
    """Gross cost 16,000 + 20,000 + 1,425 + 1,500 = 38,925; P&L 4,650 → 11.95% (the signed
    basis −4,075 would give 114.11%)."""
    aggregations = auth_client.get(f"/api/v1/data/portfolios/{book.id}/aggregations").json()
    assert aggregations["basic_aggregations"]["total_pnl_percent"] == 11.95
    summary = auth_client.get(f"/api/v1/data/portfolios/{book.id}/positions/summary").json()
    assert summary["summary_statistics"]["total_unrealized_pnl_percent"] == 11.95
    assert summary["summary_statistics"]["total_cost_basis"] == -4075.0  # still signed
    # Signed breakdowns: the short keeps its sign and the groups add up to 100.
    by_type = aggregations["position_breakdown"]["by_type"]
    assert by_type["SHORT"]["value"] == -18000.0
    assert by_type["SHORT"]["percentage"] == round(-18000 / 575 * 100, 2)
    assert sum(g["percentage"] for g in by_type.values()) == pytest.approx(100, abs=0.02)


def test_a_closed_position_shows_quantity_zero(auth_client: APIClient, book: Portfolio) -> None:
    xom = book.positions.get(security_id="XOM")
    services.position_close(position=xom, exit_price=D(90), exit_date=TODAY, today=TODAY)
    details = auth_client.get(
        "/api/v1/data/positions/details",
        {"portfolio_id": str(book.id), "include_inactive": "true"},
    ).json()
    row = next(r for r in details["data"] if r["symbol"] == "XOM")
    assert row["is_active"] is False and row["quantity"] == 0.0
    one = auth_client.get(f"/api/v1/data/positions/{xom.id}/details").json()
    assert one["position"]["quantity"] == 0.0
    # The closed quantity stays in the history: the short sale and the buy to cover.
    assert sorted(t["quantity"] for t in one["transactions"]) == [-200.0, 200.0]
    summary = auth_client.get(
        f"/api/v1/data/portfolios/{book.id}/positions/summary", {"include_closed": "true"}
    ).json()
    assert next(r for r in summary["position_summary"] if r["symbol"] == "XOM")["quantity"] == 0.0


def test_overview_carries_nav_equity_balance_and_period_pnl(
    auth_client: APIClient, book: Portfolio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Now is 2026-11-24 evening. The book was opened on 11-23 after a deposit on 11-23:
    NAV at the 2025-12-31 close was 0 and at the 2026-10-31 close 0, so YTD and MTD P&L are
    NAV − net deposits = 104,650 − 100,000 = 4,650 (the unrealized P&L)."""
    import datetime as dt

    from django.utils import timezone

    monkeypatch.setattr(
        timezone, "now", lambda: timezone.make_aware(dt.datetime(2026, 11, 24, 23, 0), dt.UTC)
    )
    body = auth_client.get(f"/api/v1/analytics/portfolio/{book.id}/overview").json()
    assert body["net_asset_value"] == body["total_value"] == 104650.00
    assert body["equity_balance"] == 100000.00
    assert body["pnl"]["ytd_pnl"] == 4650.00 and body["pnl"]["mtd_pnl"] == 4650.00
    # MTD from the close of 11-23 would be the day change: check the arithmetic on a later
    # month, with the 11-24 closes as the month-end NAV.
    monkeypatch.setattr(
        timezone, "now", lambda: timezone.make_aware(dt.datetime(2026, 12, 2, 23, 0), dt.UTC)
    )
    later = auth_client.get(f"/api/v1/analytics/portfolio/{book.id}/overview").json()
    assert later["pnl"]["mtd_pnl"] == 0.00  # same marks as the 11-24 closes
    assert later["pnl"]["ytd_pnl"] == 4650.00


def test_historical_returns_use_the_spec_key_in_schema_and_response(
    auth_client: APIClient, book: Portfolio
) -> None:
    aapl = book.positions.get(security_id="AAPL")
    body = auth_client.get(f"/api/v1/data/positions/{aapl.id}/details").json()
    assert set(body["historical_performance"]["returns"][0]) == {"date", "return"}
    schema = auth_client.get("/api/v1/schema/", {"format": "json"})
    assert schema.status_code == 200, schema.content[:200]
    components = schema.json()["components"]["schemas"]
    assert set(components["ReturnPoint"]["properties"]) == {"date", "return"}


# ---- issue 11: sorting, pagination and error locations ---------------------------------------


def test_positions_details_sorts_on_its_documented_columns(
    auth_client: APIClient, book: Portfolio
) -> None:
    url = "/api/v1/data/positions/details"
    pid = str(book.id)
    body = auth_client.get(url, {"portfolio_id": pid, "sort": "market_value"}).json()
    # 17,525 (AAPL), −18,000 (XOM), 2,100 (call), −1,050 (put), ascending.
    assert [r["symbol"] for r in body["data"]] == ["XOM", AAPL_PUT, SPY_CALL, "AAPL"]
    body = auth_client.get(
        url, {"portfolio_id": pid, "sort": "unrealized_pnl_percent", "order": "desc"}
    ).json()
    values = [r["unrealized_pnl_percent"] for r in body["data"]]
    assert values == sorted(values, reverse=True)
    body = auth_client.get(url, {"portfolio_id": pid, "sort": "symbol", "limit": 2, "page": 2})
    assert [r["symbol"] for r in body.json()["data"]] == [SPY_CALL, "XOM"]
    assert body.json()["pagination"]["total_items"] == 4
    bad = auth_client.get(url, {"portfolio_id": pid, "sort": "bogus"})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["query", "sort"]
    assert "market_value" in bad.json()["detail"][0]["msg"]


def test_positions_summary_honours_sort_page_and_limit(
    auth_client: APIClient, book: Portfolio
) -> None:
    url = f"/api/v1/data/portfolios/{book.id}/positions/summary"
    body = auth_client.get(url, {"sort": "weight", "order": "desc", "limit": 2}).json()
    assert [r["symbol"] for r in body["position_summary"]] == ["XOM", "AAPL"]
    assert body["pagination"] == {
        "page": 1,
        "limit": 2,
        "total_pages": 2,
        "total_items": 4,
        "has_next": True,
        "has_prev": False,
    }
    second = auth_client.get(url, {"sort": "weight", "order": "desc", "limit": 2, "page": 2})
    assert [r["symbol"] for r in second.json()["position_summary"]] == [SPY_CALL, AAPL_PUT]
    # The statistics still cover every position.
    assert second.json()["summary_statistics"]["active_positions"] == 4
    bad = auth_client.get(url, {"page": 0})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "page"]


def test_portfolios_list_sorts(auth_client: APIClient, book: Portfolio) -> None:
    services.portfolio_create(
        owner=book.owner, name="A second", description="", currency="USD", portfolio_type="HNW"
    )
    body = auth_client.get("/api/v1/data/portfolios", {"sort": "name"}).json()
    names = [r["name"] for r in body["data"]]
    assert names == sorted(names)
    body = auth_client.get("/api/v1/data/portfolios", {"sort": "total_value", "order": "desc"})
    values = [r["total_value"] for r in body.json()["data"]]
    assert values == sorted(values, reverse=True)


def test_an_unknown_symbol_in_the_path_is_located_in_the_path(auth_client: APIClient) -> None:
    response = auth_client.get("/api/v1/data/prices/historical/NOSUCHSYM")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "symbol_or_position_id"]


def test_read_endpoints_run_a_constant_number_of_queries(
    auth_client: APIClient, book: Portfolio, django_assert_max_num_queries: Any
) -> None:
    """The overview reads three books (now, the year's and the month's start); the bound
    does not move with 30 more positions."""
    from portfolios.tests.conftest import put_prices

    urls = (
        f"/api/v1/analytics/portfolio/{book.id}/overview",
        f"/api/v1/data/portfolios/{book.id}/positions/summary?sort=weight",
        f"/api/v1/data/positions/details?portfolio_id={book.id}&sort=market_value",
        f"/api/v1/data/portfolios/{book.id}/aggregations",
    )
    for round_ in range(2):
        for url in urls:
            with django_assert_max_num_queries(24):
                assert auth_client.get(url).status_code == 200, url
        if round_ == 0:
            for i in range(30):
                put_prices(f"Q{i}", "10", "11")
                services.position_open(
                    portfolio=book,
                    symbol=f"Q{i}",
                    quantity=D(1),
                    entry_price=D(10),
                    entry_date=YESTERDAY,
                    today=TODAY,
                )
