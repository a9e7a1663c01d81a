"""Small factories for market-data rows, plus a helper that writes a series of bars."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

import factory
from django.utils import timezone

from marketdata.models import AssetType, PriceBar, Quote, Security


class SecurityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Security
        django_get_or_create = ("symbol",)

    symbol = factory.Sequence(lambda n: f"TST{n}")
    name = factory.LazyAttribute(lambda o: f"{o.symbol} Inc.")
    asset_type = AssetType.STOCK
    sector = "Information Technology"
    industry = "Software"
    source = "test"


class PriceBarFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceBar

    security = factory.SubFactory(SecurityFactory)
    date = dt.date(2025, 9, 5)
    open = Decimal("100")
    high = Decimal("101")
    low = Decimal("99")
    close = Decimal("100")
    adj_close = factory.LazyAttribute(lambda o: o.close)
    volume = 1_000_000
    source = "test"


class QuoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Quote

    security = factory.SubFactory(SecurityFactory)
    bid = Decimal("99.95")
    ask = Decimal("100.05")
    bid_size = 200
    ask_size = 300
    last = Decimal("100")
    volume = 1_000_000
    timestamp = factory.LazyFunction(timezone.now)
    source = "test"


def bars(symbol: str, closes: Sequence[tuple[dt.date, str]], **extra: object) -> list[PriceBar]:
    """One bar per (date, close) for ``symbol`` (created if missing), high/low ±1%."""
    security = SecurityFactory(symbol=symbol)
    made = []
    for day, close in closes:
        value = Decimal(close)
        made.append(
            PriceBarFactory(
                security=security,
                date=day,
                open=value,
                high=value * Decimal("1.01"),
                low=value * Decimal("0.99"),
                close=value,
                **extra,
            )
        )
    return made
