"""Writes: idempotent upserts, reference data with proxies, options, the daily update."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from django.utils import timezone

from marketdata import calendar, services
from marketdata.models import AssetType, CorporateAction, PriceBar, Quote, Security
from marketdata.providers.base import ProviderError
from marketdata.providers.failover import FailoverProvider
from marketdata.providers.simulated import SimulatedProvider
from portfolios.models import Position
from sigmasight.errors import InvalidSymbol, ValidationFailed

pytestmark = pytest.mark.django_db

OPTION = "SPY270115C00450000"


def _last_session() -> dt.date:
    return calendar.last_completed_session(timezone.now())


def _state(model: Any, *fields: str) -> list[tuple]:
    return list(model.objects.order_by("pk").values_list(*fields))


BAR_FIELDS = (
    "security_id",
    "date",
    "open",
    "high",
    "low",
    "close",
    "adj_close",
    "volume",
    "source",
)
QUOTE_FIELDS = ("security_id", "bid", "ask", "last", "volume", "implied_volatility", "timestamp")
SECURITY_FIELDS = tuple(
    f.attname for f in Security._meta.concrete_fields if f.name not in ("id", "updated_at")
)


# --------------------------------------------------------------------------- providers


def test_default_provider_is_the_simulated_one() -> None:
    provider = services.get_provider()
    assert isinstance(provider, FailoverProvider)
    assert [p.name for p in provider.providers] == ["simulated"]


def test_vendors_without_keys_are_skipped(settings: Any) -> None:
    settings.MARKET_DATA_PROVIDERS = ["polygon", "fmp", "csv", "simulated"]
    settings.FMP_API_KEY = settings.POLYGON_API_KEY = ""
    assert [p.name for p in services.get_provider().providers] == ["simulated"]  # type: ignore[attr-defined]
    settings.FMP_API_KEY = "test-key"
    assert [p.name for p in services.get_provider().providers] == ["fmp", "simulated"]  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- reference data


def test_securities_upsert_stores_reference_data_and_proxies() -> None:
    provider = services.get_provider()
    assert services.securities_upsert(provider=provider, symbols=["AAPL", "googl", "VYM"]) == 3
    aapl = Security.objects.get(symbol="AAPL")
    assert aapl.asset_type == AssetType.STOCK and aapl.shares_outstanding == 15_900_000_000
    assert aapl.dividend_yield == Decimal("0.0071") and aapl.proxy_symbol is None  # real history
    googl = Security.objects.get(symbol="GOOGL")
    assert googl.proxy_symbol == "MSFT" and googl.proxy_beta == pytest.approx(0.9)
    assert googl.proxy_residual_vol is not None and googl.proxy_reason
    vym = Security.objects.get(symbol="VYM")  # an 8-name basket does not fit the column
    assert vym.proxy_symbol == "basket" and "KO 12.5%" in vym.proxy_reason
    assert services.securities_upsert(provider=provider, symbols=["NOSUCHSYMBOL"]) == 0


def test_option_security_ensure_creates_the_underlying_and_is_idempotent() -> None:
    option = services.option_security_ensure(symbol="aapl_270115P00120000")
    assert option.symbol == "AAPL270115P00120000"
    assert option.asset_type == AssetType.OPTION and option.multiplier == 100
    assert option.underlying_id == "AAPL" and option.option_right == "P"
    assert option.strike == Decimal("120") and option.expiry == dt.date(2027, 1, 15)
    underlying = Security.objects.get(symbol="AAPL")
    assert (option.sector, option.industry) == (underlying.sector, underlying.industry)
    assert services.option_security_ensure(symbol="AAPL270115P120").pk == option.pk
    # The index universe (migration 0004) aside: the option and its underlying.
    assert Security.objects.exclude(source__startswith="index_universe").count() == 2


def test_option_on_an_unknown_underlying_is_invalid() -> None:
    with pytest.raises(InvalidSymbol):
        services.option_security_ensure(symbol="ZZZZ270115C00100000")
    with pytest.raises(InvalidSymbol):
        services.option_security_ensure(symbol="not an option")


# --------------------------------------------------------------------------- bars and quotes


def test_history_ingest_twice_leaves_the_same_rows() -> None:
    provider = services.get_provider()
    end = _last_session()
    start = end - dt.timedelta(days=30)
    written = services.history_ingest(
        provider=provider, symbols=["AAPL", "SPY"], start=start, end=end
    )
    assert written == 2 * len(calendar.sessions_between(start, end))
    first = _state(PriceBar, *BAR_FIELDS)
    again = services.history_ingest(
        provider=provider, symbols=["AAPL", "SPY"], start=start, end=end
    )
    assert again == written and _state(PriceBar, *BAR_FIELDS) == first
    bar = PriceBar.objects.filter(security_id="SPY").latest("date")
    assert bar.close == bar.close.quantize(Decimal("0.0001"))  # rounded to 4 places
    assert bar.source == "simulated" and bar.date == end


def test_history_ingest_keeps_the_real_rows_of_the_fixture() -> None:
    provider = services.get_provider()
    services.history_ingest(
        provider=provider, symbols=["MSFT"], start=dt.date(2022, 12, 27), end=dt.date(2022, 12, 29)
    )
    rows = dict(PriceBar.objects.values_list("date", "source"))
    assert rows[dt.date(2022, 12, 28)] == "skfolio.load_sp500_dataset"  # last real day
    assert rows[dt.date(2022, 12, 29)] == "simulated"


def test_quotes_refresh_upserts_one_quote_per_symbol() -> None:
    provider = services.get_provider()
    services.securities_upsert(provider=provider, symbols=["AAPL", "FXNAX"])
    assert services.quotes_refresh(provider=provider, symbols=["AAPL", "FXNAX", "NOTSTORED"]) == 2
    assert services.quotes_refresh(provider=provider, symbols=["AAPL"]) == 1
    assert Quote.objects.count() == 2
    fund = Quote.objects.get(security_id="FXNAX")
    assert fund.bid == fund.ask == fund.last  # mutual funds trade at NAV


def test_option_marks_give_options_a_history() -> None:
    services.option_security_ensure(symbol=OPTION)
    end = _last_session()
    sessions = calendar.sessions_between(end - dt.timedelta(days=14), end)
    assert services.option_marks_ingest(symbols=[OPTION], sessions=sessions) == len(sessions)
    marks = list(PriceBar.objects.filter(security_id=OPTION).order_by("date"))
    assert [m.date for m in marks] == sessions
    assert all(m.close > 0 and m.source == "simulated" and m.open is None for m in marks)
    # The last mark is the quote the simulated provider gives at that session's close.
    quote = SimulatedProvider(seed=20240101, today=end).quotes([OPTION])[0]
    assert float(marks[-1].close) == pytest.approx(quote.last)


# --------------------------------------------------------------------------- seed and update


def test_market_data_seed_twice_leaves_the_same_state() -> None:
    start = _last_session() - dt.timedelta(days=20)
    first = services.market_data_seed(
        symbols=["AAPL", OPTION], start=start, include_factor_etfs=False
    )
    assert first["securities"] == 3  # AAPL, the option, and its underlying SPY
    assert first["quotes"] == 3 and first["option_marks"] > 0
    state = (
        _state(Security, *SECURITY_FIELDS),
        _state(PriceBar, *BAR_FIELDS),
        _state(Quote, *QUOTE_FIELDS),
    )
    second = services.market_data_seed(
        symbols=["AAPL", OPTION], start=start, include_factor_etfs=False
    )
    assert {k: v for k, v in second.items() if k != "seconds"} == {
        k: v for k, v in first.items() if k != "seconds"
    }
    assert state == (
        _state(Security, *SECURITY_FIELDS),
        _state(PriceBar, *BAR_FIELDS),
        _state(Quote, *QUOTE_FIELDS),
    )


def test_market_data_update_fills_held_symbols_and_benchmarks(
    settings: Any, make_user: Any
) -> None:
    settings.MARKET_DATA_HISTORY_YEARS = 1
    end = _last_session()
    older = calendar.sessions_between(end - dt.timedelta(days=30), end)[0]
    services.market_data_seed(
        symbols=["AAPL", OPTION], start=older, end=older, include_factor_etfs=False
    )
    portfolio = make_user().portfolios.first()
    for symbol, kind in (("AAPL", "LONG"), (OPTION, "LC")):
        Position.objects.create(
            portfolio=portfolio,
            security_id=symbol,
            position_type=kind,
            quantity=Decimal(1),
            entry_price=Decimal(1),
            entry_date=older,
        )
    result = services.market_data_update()
    assert result["failed"] == 0, result["errors"]
    assert result["processed"] == result["successful"] >= 12  # 2 held + SPY + 8 ETFs + QQQ, IWM
    assert result["through"] == end
    for symbol in ("AAPL", "SPY", "QQQ", "IWM", "VLUE", OPTION):
        assert PriceBar.objects.filter(security_id=symbol).latest("date").date == end, symbol
    # The held AAPL was only missing its recent bars; nothing before them was rewritten.
    assert PriceBar.objects.filter(security_id="AAPL").earliest("date").date == older
    again = services.market_data_update()
    assert again["bars"] == 0 and again["option_marks"] == 0 and again["failed"] == 0


class _Failing:
    name = "failing"

    def history(self, symbols: Sequence[str], start: dt.date, end: dt.date) -> pd.DataFrame:
        raise ProviderError("vendor down")

    def quotes(self, symbols: Sequence[str]) -> list:
        raise ProviderError("vendor down")

    def profile(self, symbol: str) -> None:
        return None


def test_market_data_update_records_per_symbol_failures(monkeypatch: Any) -> None:
    Security.objects.create(symbol="AAA", asset_type="stock")
    monkeypatch.setattr(services, "get_provider", lambda: _Failing())
    result = services.market_data_update(symbols=["AAA"])
    assert result["processed"] == 1 and result["failed"] == 1 and result["successful"] == 0
    assert "vendor down" in result["errors"]["AAA"]


# --------------------------------------------------------------------------- corporate actions


def test_corporate_action_record_is_idempotent() -> None:
    Security.objects.create(symbol="AAPL", asset_type="stock")
    kwargs = {"symbol": "aapl", "action_type": "SPLIT", "ex_date": dt.date(2020, 8, 31)}
    services.corporate_action_record(**kwargs, ratio=Decimal(4), source="test")
    action = services.corporate_action_record(**kwargs, ratio=Decimal(4), source="test")
    assert CorporateAction.objects.count() == 1
    assert action.security_id == "AAPL" and action.ratio == Decimal(4)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"action_type": "SPLIT", "ratio": None},
        {"action_type": "SPLIT", "ratio": Decimal(0)},
        {"action_type": "DIVIDEND", "amount": None},
        {"action_type": "MERGER"},
    ],
)
def test_corporate_action_record_validates(kwargs: dict) -> None:
    Security.objects.create(symbol="AAPL", asset_type="stock")
    with pytest.raises(ValidationFailed):
        services.corporate_action_record(
            symbol="AAPL", ex_date=dt.date(2020, 8, 31), source="test", **kwargs
        )


def test_corporate_action_for_an_unknown_symbol_is_invalid() -> None:
    with pytest.raises(InvalidSymbol):
        services.corporate_action_record(
            symbol="NOPE", action_type="DIVIDEND", ex_date=dt.date(2020, 1, 2), amount=1, source="t"
        )
