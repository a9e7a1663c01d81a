"""Greeks batch and GET /data/greeks/{portfolio_id}, checked against vollib."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from vollib.black_scholes_merton.greeks import analytical as vollib_greeks
from vollib.black_scholes_merton.implied_volatility import implied_volatility as vollib_iv

from accounts.tokens import issue_for_new_session
from marketdata import calendar
from marketdata.models import AssetType, Quote, Security
from portfolios import services
from portfolios.models import Portfolio
from portfolios.tests.conftest import (  # noqa: F401
    AAPL_PUT,
    SPY_CALL,
    TODAY,
    YESTERDAY,
    market,
    put_prices,
)
from risk.models import PositionGreeks
from risk.services import greeks_for_portfolio
from tests.contract import SIGMASIGHT, assert_error_envelope, assert_matches_example, spec_example

pytestmark = pytest.mark.django_db
AFTER_CLOSE = timezone.make_aware(dt.datetime(2026, 11, 25, 3, 0), dt.UTC)  # night after TODAY


@pytest.fixture
def options_book(auth_client: APIClient, market: Any) -> Portfolio:  # noqa: F811
    portfolio = Portfolio.objects.get(owner=auth_client.user)  # type: ignore[attr-defined]
    for symbol, quantity, price in (
        ("AAPL", 100, "160"),
        (SPY_CALL, 5, "2.85"),
        (AAPL_PUT, -3, "5"),
    ):
        services.position_open(
            portfolio=portfolio,
            symbol=symbol,
            quantity=D(quantity),
            entry_price=D(price),
            entry_date=YESTERDAY,
            today=TODAY,
        )
    return portfolio


def test_greeks_match_vollib_at_the_solved_implied_volatility(options_book: Portfolio) -> None:
    result = greeks_for_portfolio(options_book, now=AFTER_CLOSE)
    assert result == {"options": 2, "computed": 2, "failed": 0, "warnings": []}
    call = PositionGreeks.objects.get(position__security_id=SPY_CALL)
    assert call.volatility_source == "implied_quote" and call.calculation_date == TODAY
    # The quote mid (4.20) at the close of TODAY, SPY at 550, 550 strike, expiry 2026-12-18.
    minutes = calendar.minutes_to_expiry(calendar.session_close_utc(TODAY), dt.date(2026, 12, 18))
    t = minutes / 525_600
    assert call.time_to_expiry_years == pytest.approx(t, abs=1e-12)
    args = ("c", 550.0, 550.0, t, call.rate, call.implied_volatility, 0.0)
    assert call.delta == pytest.approx(vollib_greeks.delta(*args), abs=1e-8)
    assert call.gamma == pytest.approx(vollib_greeks.gamma(*args), abs=1e-8)
    assert call.theta == pytest.approx(vollib_greeks.theta(*args), abs=1e-8)
    assert call.vega == pytest.approx(vollib_greeks.vega(*args), abs=1e-8)
    assert call.rho == pytest.approx(vollib_greeks.rho(*args), abs=1e-8)
    assert call.option_price == pytest.approx(4.20, abs=1e-6)  # it reprices its own mid
    assert call.delta_dollars == pytest.approx(call.delta * 5 * 100 * 550)
    # Idempotent: a re-run upserts.
    greeks_for_portfolio(options_book, now=AFTER_CLOSE)
    assert PositionGreeks.objects.count() == 2


def test_greeks_endpoint(auth_client: APIClient, options_book: Portfolio) -> None:
    greeks_for_portfolio(options_book, now=AFTER_CLOSE)
    response = auth_client.get(f"/api/v1/data/greeks/{options_book.id}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert_matches_example(body, spec_example(SIGMASIGHT, "2.8 Get Greeks Data"))
    assert body["summary"] == {
        "options_positions": 2,
        "positions_with_greeks": 2,
        "coverage_percentage": 100.0,
        "last_updated": body["summary"]["last_updated"],
    }
    rows = {row["symbol"]: row for row in body["greeks_data"]}
    call, put = (PositionGreeks.objects.get(position__security_id=s) for s in (SPY_CALL, AAPL_PUT))
    totals = body["options_greeks"]
    assert totals["total_delta"] == pytest.approx(call.delta * 500 + put.delta * -300)
    assert body["portfolio_greeks"]["total_delta"] == pytest.approx(totals["total_delta"] + 100)
    assert body["portfolio_greeks"]["net_delta_exposure"] == pytest.approx(
        call.delta_dollars + put.delta_dollars + 100 * 175.25
    )
    # Counted from today (New York's date), not from the batch's calculation date.
    today = timezone.now().astimezone(calendar.EASTERN).date()
    assert rows[SPY_CALL]["days_to_expiry"] == (dt.date(2026, 12, 18) - today).days
    one = auth_client.get(
        f"/api/v1/data/greeks/{options_book.id}", {"position_id": rows[AAPL_PUT]["position_id"]}
    )
    assert [r["symbol"] for r in one.json()["greeks_data"]] == [AAPL_PUT]


def test_greeks_before_the_batch_are_null_with_a_warning(
    auth_client: APIClient, options_book: Portfolio
) -> None:
    body = auth_client.get(f"/api/v1/data/greeks/{options_book.id}").json()
    assert all(row["greeks"] is None for row in body["greeks_data"])
    assert len(body["warnings"]) == 2 and body["summary"]["coverage_percentage"] == 0.0


def test_greeks_of_another_users_portfolio_is_404(options_book: Portfolio, make_user: Any) -> None:
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {issue_for_new_session(make_user()).access_token}"
    )
    response = client.get(f"/api/v1/data/greeks/{options_book.id}")
    assert response.status_code == 404
    assert_error_envelope(response.json(), code="NOT_FOUND")


def test_time_to_expiry_runs_from_the_valuation_time_not_an_old_quote(
    options_book: Portfolio,
) -> None:
    """A quote stamped ten days before the valuation time (TODAY's close): T is the 24 days
    from that close to the 2026-12-18 close, not the 34 days from the quote's stamp."""
    close = calendar.session_close_utc(TODAY)
    Quote.objects.filter(security_id=SPY_CALL).update(timestamp=close - dt.timedelta(days=10))
    greeks_for_portfolio(options_book, now=AFTER_CLOSE)
    call = PositionGreeks.objects.get(position__security_id=SPY_CALL)
    assert call.time_to_expiry_years * 525_600 == pytest.approx(24 * 1440, abs=1e-6)


@pytest.mark.parametrize(
    ("bid", "ask"),
    [("0.00", "0.01"), ("2.00", "6.40")],  # a one-tick quote; a spread of 105% of the mid
)
def test_a_one_tick_quote_uses_the_chains_iv_interpolated_in_strike(
    options_book: Portfolio, bid: str, ask: str
) -> None:
    """The SPY 550 call's own quote is not an IV: its volatility is the linear interpolation
    in strike of the 540 and 560 calls' IVs, each solved (here by vollib) from its mid."""
    spy = Security.objects.get(symbol="SPY")
    for strike, mid in ((540, "13.00"), (560, "2.00")):
        put_prices(
            f"SPY261218C00{strike}000",
            mid,
            mid,
            asset_type=AssetType.OPTION,
            underlying=spy,
            option_right="C",
            strike=D(strike),
            expiry=dt.date(2026, 12, 18),
            multiplier=100,
            sector=None,
        )
    # A one-tick wing quote in the chain is left out of it as well.
    put_prices(
        "SPY261218C00600000",
        "0.01",
        "0.01",
        asset_type=AssetType.OPTION,
        underlying=spy,
        option_right="C",
        strike=D(600),
        expiry=dt.date(2026, 12, 18),
        multiplier=100,
        sector=None,
    )
    Quote.objects.filter(security_id="SPY261218C00600000").update(bid=D(0), ask=D("0.01"))
    Quote.objects.filter(security_id=SPY_CALL).update(bid=D(bid), ask=D(ask))
    greeks_for_portfolio(options_book, now=AFTER_CLOSE)
    call = PositionGreeks.objects.get(position__security_id=SPY_CALL)
    t = calendar.minutes_to_expiry(calendar.session_close_utc(TODAY), dt.date(2026, 12, 18))
    t /= 525_600
    iv540 = vollib_iv(13.00, 550.0, 540.0, t, call.rate, 0.0, "c")
    iv560 = vollib_iv(2.00, 550.0, 560.0, t, call.rate, 0.0, "c")
    assert call.volatility_source == "chain"
    assert call.implied_volatility == pytest.approx((iv540 + iv560) / 2, abs=1e-6)
    assert any("interpolated in strike (2 quotes)" in w for w in call.warnings)
    assert any("gives no implied volatility of its own" in w for w in call.warnings)
    args = ("c", 550.0, 550.0, t, call.rate, call.implied_volatility, 0.0)
    assert call.delta == pytest.approx(vollib_greeks.delta(*args), abs=1e-8)


def test_a_one_tick_quote_without_a_chain_falls_back_to_realized_volatility(
    options_book: Portfolio,
) -> None:
    Quote.objects.filter(security_id=SPY_CALL).update(bid=D("0.00"), ask=D("0.01"))
    greeks_for_portfolio(options_book, now=AFTER_CLOSE)
    call = PositionGreeks.objects.get(position__security_id=SPY_CALL)
    assert call.volatility_source == "realized_ewma", call.warnings
    assert any("gives no implied volatility of its own" in w for w in call.warnings)


def test_greeks_of_a_stock_position_is_its_delta(
    auth_client: APIClient, options_book: Portfolio
) -> None:
    """A stock has delta 1 per share and no other Greek: 100 AAPL at 175.25 has delta
    dollars 17,525.00 (not a 404)."""
    aapl = options_book.positions.get(security_id="AAPL")
    response = auth_client.get(f"/api/v1/data/greeks/{options_book.id}", {"position_id": aapl.id})
    assert response.status_code == 200, response.content
    (row,) = response.json()["greeks_data"]
    assert row["symbol"] == "AAPL" and row["quantity"] == 100.0
    assert row["greeks"]["delta"] == 1.0 and row["greeks"]["gamma"] == 0.0
    assert row["delta_dollars"] == 17525.00 and row["underlying_price"] == 175.25
    missing = auth_client.get(
        f"/api/v1/data/greeks/{options_book.id}",
        {"position_id": "00000000-0000-0000-0000-000000000000"},
    )
    assert missing.status_code == 404


def test_greek_dollar_figures_are_rounded_to_cents(
    auth_client: APIClient, options_book: Portfolio
) -> None:
    greeks_for_portfolio(options_book, now=AFTER_CLOSE)
    body = auth_client.get(f"/api/v1/data/greeks/{options_book.id}").json()
    for figure in [
        body["portfolio_greeks"]["net_delta_exposure"],
        body["options_greeks"]["net_delta_exposure"],
        *(row["delta_dollars"] for row in body["greeks_data"]),
    ]:
        assert figure == round(figure, 2)
    call = PositionGreeks.objects.get(position__security_id=SPY_CALL)
    row = next(r for r in body["greeks_data"] if r["symbol"] == SPY_CALL)
    assert row["delta_dollars"] == round(call.delta_dollars, 2)
