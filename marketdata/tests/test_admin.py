"""The market-data admin pages load (reference data is edited there)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from marketdata import services
from marketdata.models import FactorDefinition
from marketdata.tests.factories import QuoteFactory, SecurityFactory, bars

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "model", ["security", "pricebar", "quote", "factordefinition", "corporateaction"]
)
def test_admin_changelists_and_forms_load(make_user: Any, model: str) -> None:
    admin = make_user(is_superuser=True, role="admin")
    bars("AAA", [(dt.date(2025, 9, 4), "10"), (dt.date(2025, 9, 5), "11")])
    QuoteFactory(security=SecurityFactory(symbol="AAA"))
    services.corporate_action_record(
        symbol="AAA", action_type="SPLIT", ex_date=dt.date(2025, 9, 5), ratio=Decimal(2), source="t"
    )
    client = Client()
    client.force_login(admin)
    assert client.get(f"/admin/marketdata/{model}/").status_code == 200
    assert client.get(f"/admin/marketdata/{model}/?q=AAA").status_code == 200
    assert client.get(f"/admin/marketdata/{model}/add/").status_code == 200


def test_factor_definitions_are_editable_in_the_list(make_user: Any) -> None:
    admin = make_user(is_superuser=True, role="admin")
    client = Client()
    client.force_login(admin)
    page = client.get("/admin/marketdata/factordefinition/").content.decode()
    assert FactorDefinition.objects.count() == 8
    assert 'name="form-0-etf_symbol"' in page
