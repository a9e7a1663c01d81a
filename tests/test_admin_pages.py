"""The Django admin as ops use it: read-only records of positions, lots, the cash ledger
and risk results; deleting a portfolio is the API's soft delete."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from typing import Any

import pytest
from django.test import Client

from marketdata.models import AssetType, Security
from portfolios.models import Lot, Portfolio, Position, Transaction, TransactionKind

pytestmark = pytest.mark.django_db

READ_ONLY = [
    "portfolios/position",
    "portfolios/lot",
    "portfolios/transaction",
    "risk/portfolioriskmetrics",
    "risk/stresstestresult",
    "risk/positiongreeks",
    "risk/positionfactorexposure",
    "risk/correlationresult",
    "risk/portfoliosnapshot",
    "risk/dataqualityassessment",
]


@pytest.fixture
def admin_browser(make_user: Any) -> Client:
    client = Client()
    client.force_login(make_user(role="admin"))
    return client


@pytest.fixture
def booked(make_user: Any) -> Portfolio:
    owner = make_user(role="trader")
    portfolio = Portfolio.objects.get(owner=owner, is_default=True)
    Security.objects.create(symbol="AAPL", asset_type=AssetType.STOCK, name="Apple")
    position = Position.objects.create(
        portfolio=portfolio,
        security_id="AAPL",
        position_type="LONG",
        quantity=D(10),
        entry_price=D(100),
        entry_date=dt.date(2026, 11, 2),
    )
    Lot.objects.create(
        position=position,
        open_date=position.entry_date,
        price=D(100),
        quantity=D(10),
        remaining=D(10),
    )
    Transaction.objects.create(
        portfolio=portfolio,
        kind=TransactionKind.DEPOSIT,
        amount=D(5000),
        trade_date=position.entry_date,
    )
    return portfolio


@pytest.mark.parametrize("model", READ_ONLY)
def test_records_are_listed_and_read_only(
    admin_browser: Client, booked: Portfolio, model: str
) -> None:
    listing = admin_browser.get(f"/admin/{model}/")
    assert listing.status_code == 200
    assert f'href="/admin/{model}/add/"'.encode() not in listing.content  # no "Add" button
    assert admin_browser.get(f"/admin/{model}/add/").status_code == 403


def test_a_position_detail_page_has_no_save_or_delete(
    admin_browser: Client, booked: Portfolio
) -> None:
    position = Position.objects.get(portfolio=booked)
    page = admin_browser.get(f"/admin/portfolios/position/{position.pk}/change/")
    assert page.status_code == 200
    assert b'name="_save"' not in page.content and b"deletelink" not in page.content
    assert (
        admin_browser.post(
            f"/admin/portfolios/position/{position.pk}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )
    assert Position.objects.filter(pk=position.pk).exists()


def test_deleting_a_portfolio_in_the_admin_is_the_soft_delete(
    admin_browser: Client, booked: Portfolio
) -> None:
    response = admin_browser.post(
        f"/admin/portfolios/portfolio/{booked.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 302
    booked.refresh_from_db()  # the row is still there
    assert booked.deleted_at is not None and not booked.is_default
    assert Position.objects.filter(portfolio=booked).exists()  # its history stays
    assert not Portfolio.objects.owned_by(booked.owner).filter(pk=booked.pk).exists()


def test_the_bulk_delete_action_soft_deletes_too(admin_browser: Client, booked: Portfolio) -> None:
    admin_browser.post(
        "/admin/portfolios/portfolio/",
        {"action": "delete_selected", "_selected_action": [str(booked.pk)], "post": "yes"},
    )
    booked.refresh_from_db()
    assert booked.deleted_at is not None
    assert Portfolio.objects.filter(pk=booked.pk).exists()
