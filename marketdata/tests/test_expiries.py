"""Listed option expiries: the seed rule (hand-checked dates), the stored reference data that
overrides it, and the 422 for an OCC symbol on an unlisted date."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from typing import Any

import pytest
from django.core.management import call_command

from marketdata import calendar, expiries
from marketdata.models import AssetType, ListedExpiry, Security
from marketdata.selectors import is_listed_expiry, listed_expiries
from marketdata.services import OPTIONABLE_TYPES, listed_expiries_seed
from portfolios.models import Portfolio, Position, Transaction
from portfolios.tests.conftest import market  # noqa: F401

d = dt.date


@pytest.mark.parametrize(
    ("year", "month", "expected"),
    [
        (2026, 12, d(2026, 12, 18)),  # third Friday
        (2022, 4, d(2022, 4, 14)),  # Good Friday 2022-04-15: the Thursday before
        (2026, 4, d(2026, 4, 17)),  # Good Friday 2026 is 04-03: the third Friday stands
        (2027, 1, d(2027, 1, 15)),
    ],
)
def test_standard_monthly(year: int, month: int, expected: dt.date) -> None:
    assert expiries.standard_monthly(year, month) == expected


@pytest.mark.parametrize(
    ("year", "month", "expected"),
    [
        # 2027-01-15 minus 30 days: so the demo's old VIX261218 is not a listed expiry.
        (2026, 12, d(2026, 12, 16)),
        (2026, 1, d(2026, 1, 21)),  # 2026-02-20 - 30
        # 2026-06-19 (Juneteenth, a Friday holiday): 30 days before Thursday 06-18, a Tuesday.
        (2026, 5, d(2026, 5, 19)),
        # 2025-04-18 is Good Friday: 30 days before Thursday 04-17 -> Tuesday 2025-03-18
        (2025, 3, d(2025, 3, 18)),
    ],
)
def test_vix_monthly(year: int, month: int, expected: dt.date) -> None:
    assert expiries.vix_monthly(year, month) == expected


def test_rule_per_root() -> None:
    week = (d(2026, 11, 23), d(2026, 11, 27))  # Mon..Fri; Thanksgiving Thu 11-26
    # Every session for SPY (not the holiday); Friday 11-27 is an early close but a session.
    assert list(expiries.listed_by_rule("SPY", *week)) == [
        d(2026, 11, 23),
        d(2026, 11, 24),
        d(2026, 11, 25),
        d(2026, 11, 27),
    ]
    assert list(expiries.listed_by_rule("IWM", *week)) == [
        d(2026, 11, 23),
        d(2026, 11, 25),
        d(2026, 11, 27),
    ]
    assert list(expiries.listed_by_rule("NVDA", *week)) == [
        d(2026, 11, 23),
        d(2026, 11, 25),
        d(2026, 11, 27),
    ]
    assert list(expiries.listed_by_rule("XOM", *week)) == [d(2026, 11, 27)]
    assert list(expiries.listed_by_rule("^VIX", *week)) == [d(2026, 11, 25)]
    # Before 2026 the large names list Fridays only; SPY Mon/Wed/Fri before 2022-11-14.
    assert list(expiries.listed_by_rule("NVDA", d(2025, 11, 17), d(2025, 11, 21))) == [
        d(2025, 11, 21)
    ]
    assert list(expiries.listed_by_rule("SPY", d(2021, 11, 15), d(2021, 11, 19))) == [
        d(2021, 11, 15),
        d(2021, 11, 17),
        d(2021, 11, 19),
    ]
    # A Friday holiday moves the weekly to Thursday: 2026-04-03 is Good Friday.
    assert list(expiries.listed_by_rule("XOM", d(2026, 3, 30), d(2026, 4, 3))) == [d(2026, 4, 2)]
    assert expiries.is_listed_by_rule("XOM", d(2026, 4, 2))  # asked for the day alone
    assert not expiries.is_listed_by_rule("XOM", d(2026, 4, 3))
    kinds = expiries.listed_by_rule("AAPL", d(2026, 12, 14), d(2026, 12, 18))
    assert kinds == {
        d(2026, 12, 14): "daily",
        d(2026, 12, 16): "daily",
        d(2026, 12, 18): "monthly",
    }
    assert expiries.listed_by_rule("VIX", d(2026, 12, 16), d(2026, 12, 18)) == {
        d(2026, 12, 16): "vix_monthly"
    }


def test_no_weekend_or_holiday_is_ever_listed() -> None:
    for root in ("SPY", "IWM", "AAPL", "XOM", "VIX"):
        for day in expiries.listed_by_rule(root, d(2015, 1, 1), d(2028, 12, 31)):
            assert day.weekday() < 5 and calendar.is_session(day), (root, day)


@pytest.mark.django_db
def test_stored_rows_override_the_rule_and_the_seed_is_idempotent(
    django_assert_max_num_queries: Any,
) -> None:
    # The migration seeds the benchmark roots (SPY, QQQ, IWM, VIX); start from none here.
    ListedExpiry.objects.all().delete()
    # The default roots are the optionable securities: only this test's, not the index
    # universe the migrations load.
    Security.objects.filter(asset_type__in=OPTIONABLE_TYPES).delete()
    Security.objects.create(symbol="XOM", asset_type=AssetType.STOCK)
    Security.objects.create(symbol="^VIX", asset_type=AssetType.INDEX)
    Security.objects.create(symbol="FXNAX", asset_type=AssetType.MUTUAL_FUND)
    # Without rows the rule answers.
    assert is_listed_expiry("XOM", d(2026, 12, 18))
    assert not is_listed_expiry("XOM", d(2026, 12, 17))
    added = listed_expiries_seed(start=d(2026, 1, 1), end=d(2026, 12, 31))
    assert added == ListedExpiry.objects.count() > 0
    assert set(ListedExpiry.objects.values_list("root", flat=True)) == {"XOM", "VIX"}
    assert listed_expiries_seed(start=d(2026, 1, 1), end=d(2026, 12, 31)) == 0
    with django_assert_max_num_queries(2):
        assert is_listed_expiry("^VIX", d(2026, 12, 16))
    assert not is_listed_expiry("VIX", d(2026, 12, 18))
    # The admin's edits win: a removed date is no longer listed, an added one is.
    ListedExpiry.objects.filter(root="XOM", expiry=d(2026, 12, 18)).delete()
    ListedExpiry.objects.create(root="XOM", expiry=d(2026, 12, 17), kind="weekly", source="admin")
    assert not is_listed_expiry("XOM", d(2026, 12, 18))
    assert is_listed_expiry("XOM", d(2026, 12, 17))
    assert listed_expiries("XOM", d(2026, 12, 1), d(2026, 12, 31)) == [
        d(2026, 12, 4),
        d(2026, 12, 11),
        d(2026, 12, 17),
        d(2026, 12, 24),  # Christmas Friday: the Thursday before
        d(2026, 12, 31),  # New Year's Day 2027 is a Friday: the Thursday before
    ]
    # Past the stored span (rows end 2026-12-31), the rule answers: the 2027 monthlies.
    assert is_listed_expiry("XOM", d(2027, 1, 15)) and not is_listed_expiry("XOM", d(2027, 1, 14))
    assert listed_expiries("XOM", d(2026, 12, 28), d(2027, 1, 10)) == [
        d(2026, 12, 31),
        d(2027, 1, 8),
    ]
    # A root without rows: the rule (the holiday Fridays 12-25 and 01-01 -> Thursdays).
    assert listed_expiries("CVX", d(2026, 12, 21), d(2026, 12, 31)) == [
        d(2026, 12, 24),
        d(2026, 12, 31),
    ]
    call_command("seed_listed_expiries", "CVX", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert ListedExpiry.objects.filter(root="CVX").exists()


@pytest.mark.django_db
def test_an_option_on_an_unlisted_expiry_is_422_and_nothing_is_written(
    auth_client: Any,
    market: Any,  # noqa: F811
) -> None:
    portfolio = Portfolio.objects.get(owner=auth_client.user)
    url = f"/api/v1/management/portfolios/{portfolio.id}/positions"
    body = {"quantity": 1, "entry_price": "2.5", "entry_date": "2026-11-23"}
    # 2027-01-14 is a Thursday: no AAPL expiry (the January monthly is 2027-01-15).
    response = auth_client.post(url, {**body, "symbol": "AAPL270114C00150000"}, format="json")
    assert response.status_code == 422, response.content
    assert "not a listed expiry" in response.content.decode()
    assert not Position.objects.exists() and not Transaction.objects.exists()
    assert not Security.objects.filter(symbol="AAPL270114C00150000").exists()
    ok = auth_client.post(url, {**body, "symbol": "AAPL270115C00150000"}, format="json")
    assert ok.status_code == 201, ok.content
    assert Position.objects.get().strike == D(150)
