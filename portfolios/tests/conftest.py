"""A small, hand-made market: two sessions of prices for a few symbols."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from typing import Any

import pytest
from django.utils import timezone

from marketdata.models import AssetType, PriceBar, Quote, Security

TODAY = dt.date(2026, 11, 24)  # a Tuesday session
YESTERDAY = dt.date(2026, 11, 23)
SPY_CALL = "SPY261218C00550000"
AAPL_PUT = "AAPL261218P00150000"


def put_prices(symbol: str, previous: str, today: str, **security: Any) -> Security:
    defaults = {"asset_type": AssetType.STOCK, "name": symbol, "sector": "Technology"}
    defaults.update(security)
    sec, _ = Security.objects.update_or_create(symbol=symbol, defaults=defaults)
    for date, close in ((YESTERDAY, previous), (TODAY, today)):
        PriceBar.objects.update_or_create(
            security=sec,
            date=date,
            defaults={
                "open": D(close),
                "high": D(close),
                "low": D(close),
                "close": D(close),
                "adj_close": D(close),
                "volume": 1000,
                "source": "test",
            },
        )
    stamp = timezone.make_aware(dt.datetime(2026, 11, 24, 21, 0), dt.UTC)
    Quote.objects.update_or_create(
        security=sec,
        defaults={
            "bid": D(today) - D("0.05"),
            "ask": D(today) + D("0.05"),
            "last": D(today),
            "bid_size": 100,
            "ask_size": 100,
            "volume": 1000,
            "timestamp": stamp,
            "source": "test",
        },
    )
    return sec


@pytest.fixture
def market(db: None) -> dict[str, Security]:
    """AAPL 172.40 → 175.25, XOM 92 → 90, SPY 545 → 550, and two options."""
    aapl = put_prices(
        "AAPL", "172.40", "175.25", shares_outstanding=D(15_000_000_000), eps_ttm=D("6.25")
    )
    xom = put_prices("XOM", "92", "90", sector="Energy")
    spy = put_prices("SPY", "545", "550", asset_type=AssetType.ETF, sector=None)
    call = put_prices(
        SPY_CALL,
        "3.95",
        "4.20",
        asset_type=AssetType.OPTION,
        underlying=spy,
        option_right="C",
        strike=D(550),
        expiry=dt.date(2026, 12, 18),
        multiplier=100,
        sector=None,
    )
    put = put_prices(
        AAPL_PUT,
        "4.00",
        "3.50",
        asset_type=AssetType.OPTION,
        underlying=aapl,
        option_right="P",
        strike=D(150),
        expiry=dt.date(2026, 12, 18),
        multiplier=100,
        sector="Technology",
    )
    return {"AAPL": aapl, "XOM": xom, "SPY": spy, SPY_CALL: call, AAPL_PUT: put}
