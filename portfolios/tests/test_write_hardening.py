"""Issue 11, "Input that cannot corrupt the book": each attack answers a clear 4xx and
writes nothing; cash, the ledger and M3's delete rules."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest
from rest_framework.test import APIClient

from marketdata.models import Quote, Security
from portfolios import services
from portfolios.models import Lot, Portfolio, Position, Transaction
from portfolios.tests.conftest import SPY_CALL, TODAY, YESTERDAY
from tests.contract import assert_error_envelope

pytestmark = pytest.mark.django_db
Y = YESTERDAY.isoformat()


@pytest.fixture(autouse=True)
def _today(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.utils import timezone

    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: TODAY)


def _default(client: APIClient) -> Portfolio:
    return Portfolio.objects.get(owner=client.user, is_default=True)  # type: ignore[attr-defined]


def _other(client: APIClient, name: str = "Other") -> Portfolio:
    return services.portfolio_create(owner=client.user, name=name)  # type: ignore[attr-defined]


def _locs(response: Any) -> list[list[Any]]:
    return [item["loc"] for item in response.json()["detail"]]


def _nothing_written(portfolio: Portfolio) -> None:
    assert not Position.objects.filter(portfolio=portfolio).exists()
    assert not Lot.objects.filter(position__portfolio=portfolio).exists()
    assert not Transaction.objects.filter(portfolio=portfolio).exists()


def _add(client: APIClient, portfolio: Portfolio, **body: Any) -> Any:
    payload = {"symbol": "AAPL", "quantity": 1, "entry_price": "100", "entry_date": Y, **body}
    return client.post(
        f"/api/v1/management/portfolios/{portfolio.id}/positions", payload, format="json"
    )


# ---- numbers and dates ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("entry_price", "0.000001"),  # the attack: committed, then every read 500'd
        ("entry_price", "0.00009"),  # below the 0.0001 floor
        ("entry_price", "0"),
        ("entry_price", "1000000.01"),  # above the stated 1,000,000 maximum
        ("entry_price", "1e3"),  # exponent in a string
        ("entry_price", "NaN"),
        ("entry_price", "Infinity"),
        ("quantity", "١٢٣"),  # Arabic-Indic digits: stored as 123 shares before
        ("quantity", "1_000"),  # Python's digit separator: stored as 1,000 before
        ("quantity", "１２"),  # full-width digits
        ("quantity", True),
        ("quantity", "100000000000000"),  # 10^14 > the 10^13 limit (the column holds < 10^14)
        ("quantity", "0.0000001"),  # more places than the column keeps
        ("entry_date", "20260105"),
        ("entry_date", "0001-01-01"),
        ("entry_date", "1969-12-31"),
        ("entry_date", "2026-1-5"),
        ("entry_date", "٢٠٢٦-١١-٢٣"),
        ("entry_date", 20261123),
        ("fees", "-1"),
        ("fees", "1_0"),
    ],
)
def test_bad_numbers_and_dates_are_422_and_write_nothing(
    auth_client: APIClient, market: Any, field: str, value: Any
) -> None:
    portfolio = _default(auth_client)
    response = _add(auth_client, portfolio, **{field: value})
    assert response.status_code == 422, (field, value, response.content)
    assert_error_envelope(response.json(), code="VALIDATION_ERROR")
    assert ["body", field] in _locs(response)
    _nothing_written(portfolio)


def test_money_overflow_is_422_not_a_database_error(auth_client: APIClient, market: Any) -> None:
    """10^13 shares × 1,000,000 = 10^19 dollars: each within its bound, the product beyond
    what the ledger's NUMERIC(20, 2) amount holds."""
    portfolio = _default(auth_client)
    response = _add(auth_client, portfolio, quantity="10000000000000", entry_price="1000000")
    assert response.status_code == 422, response.content
    assert ["body", "quantity"] in _locs(response)
    _nothing_written(portfolio)
    # Adding to an open position: the accumulated size is checked too.
    assert (
        _add(auth_client, portfolio, quantity="9000000000000", entry_price="1").status_code == 201
    )
    again = _add(auth_client, portfolio, quantity="2000000000000", entry_price="1")
    assert again.status_code == 422 and ["body", "quantity"] in _locs(again)
    assert Position.objects.get(portfolio=portfolio).quantity == D("9000000000000")
    assert Lot.objects.filter(position__portfolio=portfolio).count() == 1


def test_json_numbers_and_plain_ascii_strings_are_accepted(
    auth_client: APIClient, market: Any
) -> None:
    portfolio = _default(auth_client)
    response = _add(auth_client, portfolio, quantity=" 12.5 ", entry_price=0.0001)
    assert response.status_code == 201, response.content
    position = Position.objects.get(portfolio=portfolio)
    assert position.quantity == D("12.5") and position.entry_price == D("0.0001")
    assert position.entry_date == YESTERDAY


def test_existing_tiny_price_rows_do_not_break_the_reads(
    auth_client: APIClient, market: Any
) -> None:
    """Rows booked before the bounds (entry 0.000001, a P&L of 1.75·10^10 %): the reads
    answer 200, the unrepresentable percent is null and a warning names the position."""
    portfolio = _default(auth_client)
    services.position_open(
        portfolio=portfolio,
        symbol="AAPL",
        quantity=D(1),
        entry_price=D("0.000001"),
        entry_date=YESTERDAY,
    )
    details = auth_client.get(f"/api/v1/data/positions/details?portfolio_id={portfolio.id}")
    assert details.status_code == 200, details.content
    row = details.json()["data"][0]
    assert row["unrealized_pnl_percent"] is None
    assert row["unrealized_pnl"] == 175.25  # 1 × (175.25 − 0.000001), to the cent
    assert any("AAPL" in w and "percent" in w for w in details.json()["warnings"])
    summary = auth_client.get(f"/api/v1/data/portfolios/{portfolio.id}/positions/summary")
    assert summary.status_code == 200, summary.content
    assert summary.json()["position_summary"][0]["unrealized_pnl_percent"] is None
    assert any("AAPL" in w for w in summary.json()["warnings"])
    complete = auth_client.get(f"/api/v1/data/portfolio/{portfolio.id}/complete")
    assert complete.status_code == 200


def test_close_and_update_bounds(auth_client: APIClient, market: Any) -> None:
    portfolio = _default(auth_client)
    pid = _add(auth_client, portfolio, quantity=10).json()["id"]
    for body, field in (
        ({"exit_price": "1000001"}, "exit_price"),
        ({"exit_price": "٣"}, "exit_price"),
        ({"exit_date": "20261124"}, "exit_date"),
        ({"quantity": "0"}, "quantity"),
        ({"quantity": "-1"}, "quantity"),
    ):
        response = auth_client.post(
            f"/api/v1/management/positions/{pid}/close", body, format="json"
        )
        assert response.status_code == 422, (body, response.content)
        assert ["body", field] in _locs(response)
    for body, field in (
        ({"entry_price": "0.000001"}, "entry_price"),
        ({"quantity": "1_0"}, "quantity"),
        ({"entry_date": "0001-01-01"}, "entry_date"),
    ):
        response = auth_client.put(f"/api/v1/management/positions/{pid}", body, format="json")
        assert response.status_code == 422, (body, response.content)
        assert ["body", field] in _locs(response)
    assert Transaction.objects.filter(portfolio=portfolio).count() == 1  # the opening trade
    position = Position.objects.get(pk=pid)
    assert position.quantity == 10 and position.entry_price == 100 and position.is_active
    # A worthless option may still be closed at zero.
    closed = auth_client.post(
        f"/api/v1/management/positions/{pid}/close", {"exit_price": 0}, format="json"
    )
    assert closed.status_code == 200 and closed.json()["realized_pnl"] == -1000.0


# ---- unknown fields and currencies -----------------------------------------------------------


def test_unknown_body_fields_are_422_on_every_write(auth_client: APIClient, market: Any) -> None:
    portfolio = _default(auth_client)
    pid = _add(auth_client, portfolio).json()["id"]
    before = list(Transaction.objects.values_list("id", "amount"))
    attempts = [
        ("post", "/api/v1/management/portfolios", {"name": "x", "bogus_field": 1}, "bogus_field"),
        ("put", f"/api/v1/management/portfolios/{portfolio.id}", {"bogus_field": 1}, "bogus_field"),
        (
            "patch",
            f"/api/v1/management/portfolios/{portfolio.id}",
            {"is_default": True},
            "is_default",
        ),
        (
            "post",
            f"/api/v1/management/portfolios/{portfolio.id}/positions",
            {"symbol": "XOM", "quantity": 1, "entry_price": 1, "entry_date": Y, "side": "buy"},
            "side",
        ),
        ("put", f"/api/v1/management/positions/{pid}", {"symbol": "XOM"}, "symbol"),
        ("put", f"/api/v1/management/positions/{pid}", {"quantity": 2, "price": 5}, "price"),
        ("post", f"/api/v1/management/positions/{pid}/close", {"exitprice": 5}, "exitprice"),
        (
            "post",
            f"/api/v1/management/portfolios/{portfolio.id}/cash",
            {"type": "DEPOSIT", "amount": 5, "currency": "USD"},
            "currency",
        ),
    ]
    for method, url, body, field in attempts:
        response = getattr(auth_client, method)(url, body, format="json")
        assert response.status_code == 422, (url, body, response.content)
        assert_error_envelope(response.json(), code="VALIDATION_ERROR")
        assert ["body", field] in _locs(response), (url, response.json())
    assert Portfolio.objects.filter(owner=auth_client.user).count() == 1  # type: ignore[attr-defined]
    position = Position.objects.get(pk=pid)
    assert position.security_id == "AAPL" and position.quantity == 1 and position.is_active
    assert list(Transaction.objects.values_list("id", "amount")) == before


def test_currency_is_an_iso_4217_code(auth_client: APIClient) -> None:
    url = "/api/v1/management/portfolios"
    for bad in ("XYZ", "US", "usdd", "XXX", "١٢٣"):
        response = auth_client.post(url, {"name": "x", "currency": bad}, format="json")
        assert response.status_code == 422, bad
        assert ["body", "currency"] in _locs(response)
    created = auth_client.post(url, {"name": "Euro book", "currency": "eur"}, format="json")
    assert created.status_code == 201 and created.json()["currency"] == "EUR"
    updated = auth_client.put(f"{url}/{created.json()['id']}", {"currency": "ABC"}, format="json")
    assert updated.status_code == 422
    assert Portfolio.objects.get(pk=created.json()["id"]).currency == "EUR"
    assert (
        auth_client.put(f"{url}/{created.json()['id']}", {"currency": "chf"}, format="json").json()[
            "currency"
        ]
        == "CHF"
    )


# ---- options ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "symbol",
    [
        "SPY270115C99999999",  # strike 99,999.999 on SPY at 550: 181x the price
        "SPY261218P00001000",  # strike 1: below a tenth of the price
        "SPY261218C06000000",  # strike 6,000: just beyond 10x
    ],
)
def test_absurd_strikes_are_422_and_write_nothing(
    auth_client: APIClient, market: Any, symbol: str
) -> None:
    portfolio = _default(auth_client)
    securities = Security.objects.count()
    response = _add(auth_client, portfolio, symbol=symbol, entry_price="1")
    assert response.status_code == 422, response.content
    assert ["body", "symbol"] in _locs(response)
    assert "10x" in response.json()["detail"][0]["msg"]
    _nothing_written(portfolio)
    assert Security.objects.count() == securities  # no option row for it either


def test_strikes_within_the_multiple_are_accepted(auth_client: APIClient, market: Any) -> None:
    portfolio = _default(auth_client)
    for symbol in ("SPY261218C05500000", "SPY261218P00055000"):  # 10x and 1/10x of 550
        assert _add(auth_client, portfolio, symbol=symbol, entry_price="1").status_code == 201


def test_option_quantities_are_whole_contracts(auth_client: APIClient, market: Any) -> None:
    portfolio = _default(auth_client)
    bad = _add(auth_client, portfolio, symbol=SPY_CALL, quantity="1.5", entry_price="4")
    assert bad.status_code == 422 and ["body", "quantity"] in _locs(bad)
    _nothing_written(portfolio)
    pid = _add(auth_client, portfolio, symbol=SPY_CALL, quantity=3, entry_price="4").json()["id"]
    update = auth_client.put(
        f"/api/v1/management/positions/{pid}", {"quantity": "2.5"}, format="json"
    )
    assert update.status_code == 422 and ["body", "quantity"] in _locs(update)
    close = auth_client.post(
        f"/api/v1/management/positions/{pid}/close", {"quantity": "0.5"}, format="json"
    )
    assert close.status_code == 422 and ["body", "quantity"] in _locs(close)
    assert Position.objects.get(pk=pid).quantity == 3
    assert Transaction.objects.filter(portfolio=portfolio).count() == 1
    # Stocks may hold fractional shares.
    assert _add(auth_client, portfolio, quantity="0.5").status_code == 201


# ---- pricing on booking ----------------------------------------------------------------------


def test_a_new_option_is_priced_when_booked(auth_client: APIClient, market: Any) -> None:
    """An AAPL call nobody has quoted: M4 asks the (simulated) provider at once, so the
    response and the next /complete value it."""
    portfolio = _default(auth_client)
    symbol = "AAPL261218C00125000"  # near the simulated AAPL (~126), so a real mark
    assert not Security.objects.filter(symbol=symbol).exists()
    response = _add(auth_client, portfolio, symbol=symbol, quantity=2, entry_price="3")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["warnings"] == []
    quote = Quote.objects.get(security_id=symbol)
    # The option mark rule (selectors.mark_price): the mid of a sane two-sided quote, else
    # its last. Which of the two the simulated quote offers varies with the date.
    two_sided = quote.bid is not None and quote.ask is not None and quote.ask >= quote.bid > 0
    mark = float((quote.bid + quote.ask) / 2 if two_sided else quote.last)
    assert mark > 0
    assert body["current_price"] == pytest.approx(mark, abs=1e-4)
    assert body["market_value"] == pytest.approx(2 * 100 * mark, abs=0.01)
    assert Quote.objects.get(security_id="AAPL").last == D("175.25")  # its mark is kept
    complete = auth_client.get(f"/api/v1/data/portfolio/{portfolio.id}/complete").json()
    row = next(p for p in complete["positions"] if p["symbol"] == symbol)
    assert row["current_price"] == pytest.approx(mark, abs=1e-4)
    assert row["market_value"] == pytest.approx(200 * mark, abs=0.01)


def test_booking_stands_when_the_provider_fails(
    auth_client: APIClient, market: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from marketdata import services as marketdata_services

    portfolio = _default(auth_client)
    symbol = "AAPL261218C00185000"
    marketdata_services.option_security_ensure(symbol=symbol)  # known, never quoted

    def down() -> Any:
        raise ConnectionError("provider down")

    monkeypatch.setattr(marketdata_services, "get_provider", down)
    response = _add(auth_client, portfolio, symbol=symbol, quantity=1, entry_price="3")
    assert response.status_code == 201, response.content
    assert response.json()["current_price"] is None and response.json()["market_value"] is None
    assert any(symbol in w and "provider" in w for w in response.json()["warnings"])
    assert Position.objects.filter(portfolio=portfolio, security_id=symbol).exists()
    complete = auth_client.get(f"/api/v1/data/portfolio/{portfolio.id}/complete").json()
    assert any(symbol in w for w in complete["warnings"])


def test_a_quoted_symbol_is_not_requoted(
    auth_client: APIClient, market: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from marketdata import services as marketdata_services

    calls: list[Any] = []
    monkeypatch.setattr(marketdata_services, "get_provider", lambda: calls.append(1))
    response = _add(auth_client, _default(auth_client))
    assert response.status_code == 201 and response.json()["current_price"] == 175.25
    assert calls == [] and response.json()["warnings"] == []
