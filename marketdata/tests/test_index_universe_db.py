"""The index universe in the database: loaded by migration, bookable through M4 in the
embedded default (the simulated provider), curated reference data authoritative."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from rest_framework.test import APIClient

from marketdata import services
from marketdata.models import AssetClass, Security
from marketdata.providers.simulated import SimulatedProvider
from portfolios.models import Portfolio, Position

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 11, 24)


def test_the_migration_loaded_the_index_universe_with_stated_proxies() -> None:
    orcl = Security.objects.get(symbol="ORCL")
    assert (orcl.name, orcl.asset_type, orcl.sector) == (
        "Oracle Corporation",
        "stock",
        "Information Technology",
    )
    assert orcl.isin == "US68389X1054" and orcl.exchange == "NYSE"
    assert orcl.proxy_symbol == "sector:Information Technology" and orcl.proxy_beta == 1.0
    assert orcl.proxy_residual_vol is not None and 0.05 < orcl.proxy_residual_vol < 0.6
    assert "AAPL 33.3%" in orcl.proxy_reason and "simulated" in orcl.source
    abcb = Security.objects.get(symbol="ABCB")  # S&P 600
    assert abcb.sector == "Financials" and abcb.proxy_symbol == "^GSPC"
    assert Security.objects.filter(source__startswith="index_universe.json").count() > 1000
    # Curated names are not in the file: securities.json stays authoritative.
    assert not Security.objects.filter(symbol__in=["AAPL", "SPY", "BRK-B"]).exists()


def test_curated_seed_keeps_its_reference_data_and_funds_get_an_asset_class() -> None:
    provider = SimulatedProvider(today=TODAY)
    services.securities_upsert(provider=provider, symbols=["AAPL", "BND", "VNQ", "VIX", "ORCL"])
    aapl = Security.objects.get(symbol="AAPL")
    assert aapl.sector == "Information Technology" and aapl.source.startswith("securities.json")
    bnd = Security.objects.get(symbol="BND")
    assert (bnd.asset_class, bnd.sector) == (AssetClass.FIXED_INCOME, "Fixed Income")
    vnq = Security.objects.get(symbol="VNQ")  # a sector fund keeps its GICS sector
    assert (vnq.asset_class, vnq.sector) == (AssetClass.SECTOR_EQUITY, "Real Estate")
    assert Security.objects.get(symbol="^VIX").asset_class == AssetClass.VOLATILITY
    orcl = Security.objects.get(symbol="ORCL")  # refreshed from the provider: same facts
    assert orcl.isin == "US68389X1054" and orcl.proxy_symbol == "sector:Information Technology"


@pytest.mark.parametrize("symbol", ["ORCL", "IBM", "ABCB"])
def test_booking_an_index_name_works_in_the_embedded_default(
    auth_client: APIClient, symbol: str, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.utils import timezone

    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: TODAY)
    assert settings.MARKET_DATA_PROVIDERS == ["simulated"]
    portfolio = Portfolio.objects.get(owner=auth_client.user, is_default=True)  # type: ignore[attr-defined]
    response = auth_client.post(
        f"/api/v1/management/portfolios/{portfolio.id}/positions",
        {"symbol": symbol.lower(), "quantity": "10", "entry_price": "50.00",
         "entry_date": "2026-11-20"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.content
    position = Position.objects.get(portfolio=portfolio, security_id=symbol)
    assert position.quantity == 10
    assert position.security.proxy_symbol  # its history is a stated proxy


def test_an_unknown_symbol_is_still_422(auth_client: APIClient) -> None:
    portfolio = Portfolio.objects.get(owner=auth_client.user, is_default=True)  # type: ignore[attr-defined]
    response = auth_client.post(
        f"/api/v1/management/portfolios/{portfolio.id}/positions",
        {"symbol": "ZZZZQ", "quantity": "10", "entry_price": "50.00", "entry_date": "2026-11-20"},
        format="json",
    )
    assert response.status_code == 422
    assert not Position.objects.filter(portfolio=portfolio).exists()


def test_seed_then_update_records_dividends_and_keeps_one_adjusted_series() -> None:
    """Seed KO through an earlier session, update to the last one: the dividends of both
    windows are recorded (simulated), and the stored adj_close equals the provider's series
    as of the last session (the stored bars were re-adjusted for the later ex-dates)."""
    from marketdata import calendar
    from marketdata.models import CorporateAction, PriceBar

    through = calendar.last_completed_session(dt.datetime.now(dt.UTC))
    start = dt.date(through.year - 1, 1, 2)
    first_end = calendar.previous_session(through - dt.timedelta(days=120))
    services.market_data_seed(symbols=["KO"], start=start, end=first_end, include_factor_etfs=False)
    before = CorporateAction.objects.filter(security_id="KO").count()
    assert before >= 3
    result = services.market_data_update(symbols=["KO"])
    assert result["failed"] == 0 and result["dividends"] >= 1
    recorded = list(CorporateAction.objects.filter(security_id="KO").order_by("ex_date"))
    provider = SimulatedProvider(today=through)
    stated = provider.dividends(["KO"], start, through)
    assert [(a.ex_date, float(a.amount), a.source) for a in recorded] == [
        (d["ex_date"], d["amount"], "simulated") for d in stated
    ]
    frame = provider.history(["KO"], start, through)
    stored = dict(PriceBar.objects.filter(security_id="KO").values_list("date", "adj_close"))
    assert len(stored) == len(frame)
    for day, adj in frame[["date", "adj_close"]].itertuples(index=False):
        assert abs(float(stored[day]) - adj) <= 2e-4, day
    last_ex = recorded[-1].ex_date
    day_before = calendar.previous_session(last_ex)
    bar = PriceBar.objects.get(security_id="KO", date=day_before)
    assert bar.adj_close < bar.close  # adjusted before an ex-date
