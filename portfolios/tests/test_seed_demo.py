"""seed_demo builds the three SigmaSight demo books from stored prices, idempotently."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from marketdata.expiries import vix_monthly
from marketdata.models import PriceBar, Quote, Security
from marketdata.selectors import is_listed_expiry
from portfolios.demo import DEMO_HOLDINGS, DEMO_OPTIONS
from portfolios.models import Lot, Portfolio, Position, Transaction

pytestmark = pytest.mark.django_db
NOW = timezone.make_aware(dt.datetime(2026, 11, 25, 12, 0), dt.UTC)


def _state() -> dict[str, Any]:
    return {
        "positions": sorted(
            Position.objects.values_list(
                "portfolio__owner__email", "security_id", "quantity", "entry_price", "entry_date"
            )
        ),
        "transactions": sorted(
            Transaction.objects.values_list(
                "portfolio__owner__email", "kind", "symbol", "amount", "trade_date"
            )
        ),
        "lots": Lot.objects.count(),
        "bars": PriceBar.objects.count(),
        "bar_sum": sum(PriceBar.objects.values_list("close", flat=True)),
        "quotes": sorted(Quote.objects.values_list("security_id", "last")),
        "securities": Security.objects.count(),
        "portfolios": sorted(Portfolio.objects.values_list("owner__email", "name", "is_default")),
    }


def test_seed_demo_twice_leaves_the_same_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    call_command("seed_demo", "--demo-users", "--with-admin", stdout=open("/dev/null", "w"))  # noqa: SIM115
    first = _state()
    call_command("seed_demo", "--demo-users", "--with-admin", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert _state() == first

    hedge = Portfolio.objects.get(owner__email="demo_hedgefundstyle@sigmasight.com")
    open_positions = Position.objects.filter(portfolio=hedge, closed_at__isnull=True)
    assert open_positions.count() == len(DEMO_HOLDINGS["demo_hedgefundstyle@sigmasight.com"]) + len(
        DEMO_OPTIONS
    )
    assert open_positions.filter(quantity__lt=0, multiplier=1).count() == 9
    options = open_positions.filter(multiplier=100)
    assert sorted(options.values_list("position_type", flat=True)) == [
        "LC",
        "LC",
        "LC",
        "LC",
        "SC",
        "SP",
        "SP",
        "SP",
    ]
    assert all(expiry > NOW.date() for expiry in options.values_list("expiry", flat=True))
    # Real expiries only (the VIX's are its Wednesday-or-earlier expiries, never the third
    # Friday), and two legs expire within about two weeks, so settlement has work to do.
    expiries = dict(options.values_list("underlying_symbol", "expiry"))
    assert all(is_listed_expiry(root, day) for root, day in expiries.items())
    assert expiries["VIX"] == vix_monthly(2026, 12) == dt.date(2026, 12, 16)
    assert sorted((day - NOW.date()).days for day in expiries.values())[:2] == [7, 9]
    for email, holdings in DEMO_HOLDINGS.items():
        book = dict(
            Position.objects.filter(portfolio__owner__email=email, multiplier=1).values_list(
                "security_id", "quantity"
            )
        )
        assert book == {symbol: Decimal(qty) for symbol, qty in holdings}
    # Every entry price is the stored close of its entry date.
    for position in Position.objects.all():
        bar = PriceBar.objects.get(security_id=position.security_id, date=position.entry_date)
        assert position.entry_price == bar.close
    assert Portfolio.objects.filter(owner__email="demo_admin@sigmasight.com").exists()
