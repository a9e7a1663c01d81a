"""Cash endpoints, the ledger listing and M3's delete rules (API-CONVENTIONS, "Cash, jobs
and other added endpoints")."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest
from rest_framework.test import APIClient

from portfolios import services
from portfolios.models import Portfolio, Transaction
from portfolios.tests.conftest import TODAY, YESTERDAY
from tests.contract import assert_error_envelope

pytestmark = pytest.mark.django_db
ENTRY_KEYS = {
    "id",
    "date",
    "type",
    "amount",
    "symbol",
    "position_id",
    "description",
    "balance_after",
}


@pytest.fixture(autouse=True)
def _today(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.utils import timezone

    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: TODAY)


def _default(client: APIClient) -> Portfolio:
    return Portfolio.objects.get(owner=client.user, is_default=True)  # type: ignore[attr-defined]


def _cash(client: APIClient, portfolio: Portfolio, **body: Any) -> Any:
    return client.post(f"/api/v1/management/portfolios/{portfolio.id}/cash", body, format="json")


def test_deposit_and_withdrawal_book_signed_ledger_entries(auth_client: APIClient) -> None:
    portfolio = _default(auth_client)
    deposit = _cash(
        auth_client,
        portfolio,
        type="DEPOSIT",
        amount="1000.50",
        date=YESTERDAY.isoformat(),
        description="wire",
    )
    assert deposit.status_code == 201, deposit.content
    body = deposit.json()
    assert set(body) == ENTRY_KEYS
    assert (
        body["type"] == "DEPOSIT" and body["amount"] == 1000.5 and body["balance_after"] == 1000.5
    )
    assert body["date"] == YESTERDAY.isoformat() and body["description"] == "wire"
    assert body["symbol"] is None and body["position_id"] is None
    withdrawal = _cash(auth_client, portfolio, type="WITHDRAWAL", amount=400)
    assert withdrawal.status_code == 201, withdrawal.content
    assert withdrawal.json()["amount"] == -400.0 and withdrawal.json()["balance_after"] == 600.5
    assert withdrawal.json()["date"] == TODAY.isoformat()  # defaults to today
    assert withdrawal.json()["description"] == ""
    assert sum(t.amount for t in Transaction.objects.filter(portfolio=portfolio)) == D("600.50")
    # The portfolio list reads the same ledger.
    listed = auth_client.get("/api/v1/data/portfolios").json()["data"][0]
    assert listed["cash_balance"] == 600.5


def test_withdrawal_beyond_the_balance_is_insufficient_funds(auth_client: APIClient) -> None:
    portfolio = _default(auth_client)
    assert _cash(auth_client, portfolio, type="DEPOSIT", amount=100).status_code == 201
    response = _cash(auth_client, portfolio, type="WITHDRAWAL", amount="100.01")
    assert response.status_code == 422, response.content
    assert_error_envelope(response.json(), code="INSUFFICIENT_FUNDS")
    assert response.json()["error"]["details"]["cash_balance"] == 100.0
    assert ["body", "amount"] in [item["loc"] for item in response.json()["detail"]]
    assert Transaction.objects.filter(portfolio=portfolio).count() == 1
    # Exactly the balance is fine.
    assert _cash(auth_client, portfolio, type="WITHDRAWAL", amount=100).status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "DEPOSIT", "amount": 0}, "amount"),
        ({"type": "DEPOSIT", "amount": -5}, "amount"),
        ({"type": "DEPOSIT", "amount": "1.001"}, "amount"),  # the ledger keeps cents
        ({"type": "DEPOSIT", "amount": "١٠٠"}, "amount"),
        ({"type": "DEPOSIT", "amount": "1000000000000001"}, "amount"),  # > 10^15
        ({"type": "DIVIDEND", "amount": 5}, "type"),  # dividends are booked by the job
        ({"type": "DEPOSIT", "amount": 5, "date": "2099-01-01"}, "date"),
        ({"type": "DEPOSIT", "amount": 5, "date": "20261124"}, "date"),
        ({"amount": 5}, "type"),
        ({"type": "DEPOSIT"}, "amount"),
    ],
)
def test_bad_cash_input_is_422_and_writes_nothing(
    auth_client: APIClient, body: dict[str, Any], field: str
) -> None:
    portfolio = _default(auth_client)
    response = _cash(auth_client, portfolio, **body)
    assert response.status_code == 422, (body, response.content)
    assert ["body", field] in [item["loc"] for item in response.json()["detail"]]
    assert not Transaction.objects.filter(portfolio=portfolio).exists()


def test_ledger_lists_every_entry_with_running_balance(
    auth_client: APIClient, market: Any, django_assert_max_num_queries: Any
) -> None:
    portfolio = _default(auth_client)
    _cash(auth_client, portfolio, type="DEPOSIT", amount=20000, date=YESTERDAY.isoformat())
    position = services.position_open(
        portfolio=portfolio,
        symbol="AAPL",
        quantity=D(10),
        entry_price=D(100),
        entry_date=YESTERDAY,
        fees=D("1.50"),
    )
    services.position_close(position=position, exit_price=D(110), quantity=D(4))
    _cash(auth_client, portfolio, type="WITHDRAWAL", amount=500)
    url = f"/api/v1/management/portfolios/{portfolio.id}/transactions"
    with django_assert_max_num_queries(8):
        response = auth_client.get(url)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["pagination"]["total_items"] == 4 and body["pagination"]["page"] == 1
    rows = body["data"]
    assert all(set(row) == ENTRY_KEYS for row in rows)
    assert [row["type"] for row in rows] == ["DEPOSIT", "BUY", "SELL", "WITHDRAWAL"]
    # 20,000 − (10 × 100 + 1.50) + 4 × 110 − 500
    assert [row["amount"] for row in rows] == [20000.0, -1001.5, 440.0, -500.0]
    assert [row["balance_after"] for row in rows] == [20000.0, 18998.5, 19438.5, 18938.5]
    assert rows[1]["symbol"] == "AAPL" and rows[1]["position_id"] == str(position.id)
    assert rows[1]["date"] == YESTERDAY.isoformat()
    # The balance after each entry does not depend on the page or the order asked for.
    page = auth_client.get(f"{url}?limit=2&page=2&sort=date&order=desc").json()
    assert [row["balance_after"] for row in page["data"]] == [18998.5, 20000.0]
    assert page["pagination"]["total_pages"] == 2 and page["pagination"]["has_prev"] is True
    by_amount = auth_client.get(f"{url}?sort=amount").json()["data"]
    assert [row["amount"] for row in by_amount] == [-1001.5, -500.0, 440.0, 20000.0]
    assert auth_client.get(f"{url}?sort=bogus").status_code == 422


def test_another_users_portfolio_is_404(auth_client: APIClient, make_user: Any) -> None:
    stranger = make_user(role="trader")
    theirs = Portfolio.objects.get(owner=stranger, is_default=True)
    services.cash_transaction(portfolio=theirs, kind="DEPOSIT", amount=D(50), trade_date=YESTERDAY)
    for response in (
        _cash(auth_client, theirs, type="WITHDRAWAL", amount=50),
        auth_client.get(f"/api/v1/management/portfolios/{theirs.id}/transactions"),
        auth_client.delete(f"/api/v1/management/portfolios/{theirs.id}?confirm=true"),
    ):
        assert response.status_code == 404
        assert_error_envelope(response.json(), code="NOT_FOUND")
    assert Transaction.objects.filter(portfolio=theirs).count() == 1
    assert Portfolio.objects.get(pk=theirs.pk).deleted_at is None


def test_the_default_portfolio_is_never_deleted(auth_client: APIClient) -> None:
    portfolio = _default(auth_client)
    for suffix in ("", "?confirm=true"):
        response = auth_client.delete(f"/api/v1/management/portfolios/{portfolio.id}{suffix}")
        assert response.status_code == 409, suffix
        assert_error_envelope(response.json(), code="CONFLICT")
    assert Portfolio.objects.get(pk=portfolio.pk).deleted_at is None


def test_a_non_empty_portfolio_needs_confirm(auth_client: APIClient, market: Any) -> None:
    other = services.portfolio_create(owner=auth_client.user, name="Side")  # type: ignore[attr-defined]
    services.position_open(
        portfolio=other, symbol="XOM", quantity=D(1), entry_price=D(90), entry_date=YESTERDAY
    )
    url = f"/api/v1/management/portfolios/{other.id}"
    refused = auth_client.delete(url)
    assert refused.status_code == 409
    assert refused.json()["error"]["details"]["confirm_required"] is True
    assert auth_client.delete(f"{url}?confirm=false").status_code == 409
    assert auth_client.delete(f"{url}?confirm=maybe").status_code == 422
    assert Portfolio.objects.get(pk=other.pk).deleted_at is None
    assert auth_client.delete(f"{url}?confirm=true").status_code == 204
    assert Portfolio.objects.get(pk=other.pk).deleted_at is not None
    assert auth_client.get(f"/api/v1/data/portfolio/{other.id}/complete").status_code == 404
    # Cash history alone also counts as content; an empty portfolio goes without confirm.
    funded = services.portfolio_create(owner=auth_client.user, name="Funded")  # type: ignore[attr-defined]
    services.cash_transaction(portfolio=funded, kind="DEPOSIT", amount=D(1), trade_date=TODAY)
    assert auth_client.delete(f"/api/v1/management/portfolios/{funded.id}").status_code == 409
    empty = services.portfolio_create(owner=auth_client.user, name="Empty")  # type: ignore[attr-defined]
    assert auth_client.delete(f"/api/v1/management/portfolios/{empty.id}").status_code == 204
