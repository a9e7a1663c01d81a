"""``POST /trading/execute`` on the paper broker: one package filled at the fill rule off
the stored chain quote, sized in whole packages, fees booked per fill, the legs in the
user's 0DTE paper portfolio; refusals that write nothing; idempotency; and, on
PostgreSQL, concurrent executions that neither double-fill nor exceed the limits."""

from __future__ import annotations

import datetime as dt
import math
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from marketdata.clock import VirtualClock, use_clock
from marketdata.models import ChainSnapshot
from marketdata.producer import MarketProducer
from portfolios.models import Portfolio, Position, Transaction
from portfolios.selectors import cash_balance
from sigmasight.errors import InsufficientFunds
from signals.engine.fills import slippage_fraction
from signals.engine.payoff import Leg, risk_metrics
from signals.tests.factories import SESSION
from tests.contract import ZERO_DTE, assert_error_envelope, assert_matches_example, spec_example
from trading import selectors, services
from trading.engine.fees import FeeSchedule, fill_fees
from trading.models import (
    AccountState,
    Fill,
    Order,
    StrategyPosition,
    Trade,
    TradingAccount,
    TradingConfig,
)
from trading.tests.helpers import (
    MINUTE,
    client_for,
    concurrently,
    legs_signal,
    set_quotes,
    strikes_of,
)

URL = "/api/v1/trading/execute"
CENT = Decimal("0.01")
DEFAULT_FEES = FeeSchedule(
    "per_contract", Decimal("0.025"), Decimal("0.02"), Decimal("0.00329"), Decimal("20.60")
)


_client = client_for


def _post(client: APIClient, clock: VirtualClock, body: dict[str, Any], **headers: str) -> Any:
    with use_clock(clock):
        return client.post(URL, body, format="json", headers=headers)


def _expected_fill(action: str, bid: Decimal, ask: Decimal, legs: int) -> Decimal:
    s = Decimal(str(slippage_fraction(legs)))
    if action == "buy":
        return (bid + s * (ask - bid)).quantize(CENT, rounding=ROUND_CEILING)
    return (ask - s * (ask - bid)).quantize(CENT, rounding=ROUND_FLOOR)


def _nothing_booked(user: Any) -> None:
    assert not TradingAccount.objects.filter(user=user).exists()
    assert not Portfolio.objects.filter(owner=user, name=services.PAPER_PORTFOLIO_NAME).exists()
    assert not Trade.objects.filter(user=user).exists()
    assert not Order.objects.exists() and not Fill.objects.exists()
    assert not StrategyPosition.objects.filter(user=user).exists()
    assert not Position.objects.filter(portfolio__owner=user).exists()


@pytest.mark.django_db
def test_a_signal_fills_as_one_package_at_the_fill_rule_with_its_fees(
    spy_signal: Any, auth_client: APIClient
) -> None:
    signal, clock = spy_signal
    response = _post(auth_client, clock, {"signal_id": signal.id})
    assert response.status_code == 201, response.content
    body = response.json()
    assert_matches_example(body, spec_example(ZERO_DTE, "POST /trading/execute"))
    assert body["status"] == "filled" and body["position_id"].startswith("pos_")

    snapshot = ChainSnapshot.objects.filter(symbol="SPY", timestamp__lte=clock.read().now).latest(
        "timestamp"
    )
    legs = signal.legs
    prices, bids_asks = [], []
    for leg, order in zip(legs, body["orders"], strict=True):
        side = snapshot.calls if leg["option_type"] == "call" else snapshot.puts
        row = next(r for r in side if r["strike"] == leg["strike"])
        bid, ask = Decimal(str(row["bid"])), Decimal(str(row["ask"]))
        price = _expected_fill(leg["action"], bid, ask, len(legs))
        assert Decimal(str(order["average_fill_price"])) == price, (leg, row, order)
        assert order["status"] == "filled" and order["action"] == leg["action"]
        assert order["order_id"].startswith("ord_")
        prices.append(price)
        bids_asks.append((bid, ask))
    # Whole packages: floor(24,000 / max loss per package at these fills).
    package = [Leg(g["action"], g["option_type"], g["strike"], g["quantity"]) for g in legs]
    max_loss = Decimal(str(risk_metrics(package, [float(p) for p in prices]).max_loss)).quantize(
        CENT
    )
    quantity = int(Decimal(24000) // max_loss)
    assert body["quantity"] == quantity and quantity >= 1
    assert Decimal(str(body["total_cost"])) == max_loss * quantity
    net = sum((p if g["action"] == "buy" else -p) for g, p in zip(legs, prices, strict=True))
    assert Decimal(str(body["net_price"])) == net
    fees = [
        fill_fees(DEFAULT_FEES, side=g["action"], contracts=quantity, premium=p)
        for g, p in zip(legs, prices, strict=True)
    ]
    assert Decimal(str(body["fees"])) == sum(f.total for f in fees)

    # The paper book: starting cash, then each leg's cash flow and fees.
    account = TradingAccount.objects.get(user=auth_client.user)  # type: ignore[attr-defined]
    portfolio = Portfolio.objects.get(pk=account.paper_portfolio_id)
    assert portfolio.owner == auth_client.user and not portfolio.is_default  # type: ignore[attr-defined]
    flows = sum(
        (
            -(p if g["action"] == "buy" else -p) * 100 * quantity
            for g, p in zip(legs, prices, strict=True)
        ),
        Decimal(0),
    )
    assert cash_balance(portfolio=portfolio) == Decimal(100_000) + flows - sum(
        f.total for f in fees
    )
    held = {p.security_id: p.quantity for p in Position.objects.filter(portfolio=portfolio)}
    assert held == {
        o["symbol"]: (o["filled_quantity"] if o["action"] == "buy" else -o["filled_quantity"])
        for o in body["orders"]
    }
    assert StrategyPosition.objects.get(pk=body["position_id"]).quantity == quantity

    # The next minute's chain quotes the held legs, so the SigmaSight views mark the book.
    with use_clock(clock):
        clock.advance(1)
        producer = MarketProducer()
        producer.tick()
        producer.release()
    later = ChainSnapshot.objects.filter(symbol="SPY").latest("timestamp")
    assert later.timestamp > snapshot.timestamp
    complete = auth_client.get(f"/api/v1/data/portfolio/{portfolio.id}/complete").json()
    for leg, order in zip(legs, body["orders"], strict=True):
        side = later.calls if leg["option_type"] == "call" else later.puts
        row = next(r for r in side if r["strike"] == leg["strike"])
        two_sided = row["ask"] >= row["bid"] > 0
        mark = (row["bid"] + row["ask"]) / 2 if two_sided else row["last"]
        priced = next(p for p in complete["positions"] if p["symbol"] == order["symbol"])
        assert priced["current_price"] == pytest.approx(mark, abs=1e-4)
    assert not [w for w in complete["warnings"] if "No price" in w]


@pytest.mark.django_db
def test_a_retry_with_the_same_key_returns_the_first_trade_and_another_body_conflicts(
    spy_signal: Any, auth_client: APIClient
) -> None:
    signal, clock = spy_signal
    first = _post(auth_client, clock, {"signal_id": signal.id}, **{"Idempotency-Key": "k-1"})
    again = _post(auth_client, clock, {"signal_id": signal.id}, **{"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    other = _post(
        auth_client,
        clock,
        {"signal_id": signal.id, "position_size": 5000},
        **{"Idempotency-Key": "k-1"},
    )
    assert other.status_code == 409
    assert Trade.objects.count() == 1


@pytest.mark.django_db
def test_a_key_holds_for_24_hours_then_makes_a_new_trade(
    spy_signal: Any, auth_client: APIClient
) -> None:
    signal, clock = spy_signal
    key = {"Idempotency-Key": "k-day"}
    first = _post(auth_client, clock, {"signal_id": signal.id}, **key).json()
    Trade.objects.filter(pk=first["trade_id"]).update(
        created_at=timezone.now() - dt.timedelta(hours=23, minutes=59)
    )
    assert _post(auth_client, clock, {"signal_id": signal.id}, **key).json() == first
    Trade.objects.filter(pk=first["trade_id"]).update(
        created_at=timezone.now() - dt.timedelta(hours=24, minutes=1)
    )
    later = _post(auth_client, clock, {"signal_id": signal.id}, **key)
    assert later.status_code == 201 and "Idempotent-Replayed" not in later.headers
    assert later.json()["trade_id"] != first["trade_id"]
    assert Trade.objects.get(pk=first["trade_id"]).idempotency_key is None
    assert Trade.objects.get(pk=later.json()["trade_id"]).idempotency_key == "k-day"


@pytest.mark.django_db
def test_refusals_answer_their_codes_and_book_nothing(
    spy_signal: Any, auth_client: APIClient, make_user: Any, settings: Any
) -> None:
    signal, clock = spy_signal
    user = auth_client.user  # type: ignore[attr-defined]

    def refused(body: dict[str, Any], code: str, at: VirtualClock = clock) -> dict[str, Any]:
        response = _post(auth_client, at, body)
        assert response.status_code == 422, response.content
        assert_error_envelope(response.json(), code=code)
        _nothing_booked(user)
        return response.json()["error"]["details"]

    refused({"signal_id": signal.id}, "MARKET_CLOSED", VirtualClock(SESSION, minute=390))
    expired = VirtualClock(SESSION, minute=376)  # past the 15:45 expiry
    refused({"signal_id": signal.id}, "SIGNAL_EXPIRED", expired)
    stale = VirtualClock(SESSION, minute=MINUTE + 5)  # no chain stored since minute 120
    assert refused({"signal_id": signal.id}, "ORDER_REJECTED", stale)["reason"] == "stale_quote"
    settings.TRADING_CAP_AT_DISPLAYED_SIZE = False  # else the displayed size caps the package
    details = refused({"signal_id": signal.id, "position_size": 10_000_000}, "INSUFFICIENT_FUNDS")
    settings.TRADING_CAP_AT_DISPLAYED_SIZE = True
    assert Decimal(details["available"]) == Decimal(100_000)
    halted = services.trading_account_ensure(user=user)
    TradingAccount.objects.filter(pk=halted.pk).update(state=AccountState.HALTED)
    response = _post(auth_client, clock, {"signal_id": signal.id})
    assert response.status_code == 422
    assert_error_envelope(response.json(), code="EMERGENCY_HALT_ACTIVE")
    assert response.json()["error"]["details"]["account_state"] == "HALTED"
    assert not Trade.objects.filter(user=user).exists()
    TradingAccount.objects.filter(pk=halted.pk).delete()
    Portfolio.objects.filter(owner=user, name=services.PAPER_PORTFOLIO_NAME).delete()

    too_small = _post(auth_client, clock, {"signal_id": signal.id, "position_size": 100})
    assert too_small.status_code == 422 and ["body", "position_size"] in [
        i["loc"] for i in too_small.json()["detail"]
    ]
    for bad in ({"signal_id": "nope"}, {"signal_id": signal.id, "leverage": 2}, {}):
        assert _post(auth_client, clock, bad).status_code == 422
    assert _post(auth_client, clock, {"signal_id": "sig_000000000000"}).status_code == 404
    _nothing_booked(user)

    viewer = _client(make_user(role="viewer"))
    assert _post(viewer, clock, {"signal_id": signal.id}).status_code == 403
    assert APIClient().post(URL, {"signal_id": signal.id}, format="json").status_code == 401

    TradingConfig.objects.create(
        user=user,
        position_size=5000,
        profit_target="0.1",
        stop_loss="0.1",
        confidence_threshold="0.65",
        max_positions=1,
        daily_loss_limit=2400,
    )
    assert _post(auth_client, clock, {"signal_id": signal.id}).status_code == 201
    second = _post(auth_client, clock, {"signal_id": signal.id})
    assert second.status_code == 422
    assert_error_envelope(second.json(), code="POSITION_LIMIT_EXCEEDED")
    assert Trade.objects.filter(user=user).count() == 1


_concurrently = concurrently


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_executions_neither_double_fill_nor_exceed_the_limits(
    spy_signal: Any, trader: Any
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's")
    signal, clock = spy_signal
    request = services.ExecuteRequest(signal_id=signal.id, position_size=Decimal(2000))
    with use_clock(clock):
        same_key = _concurrently(
            [lambda: services.trade_execute(user=trader, request=request, idempotency_key="one")]
            * 20
        )
        assert not [r for r in same_key if isinstance(r, Exception)], same_key
        assert len({trade.id for trade, _ in same_key}) == 1
        assert sum(created for _, created in same_key) == 1
        assert Trade.objects.filter(user=trader).count() == 1

        TradingConfig.objects.create(
            user=trader,
            position_size=2000,
            profit_target="0.1",
            stop_loss="0.1",
            confidence_threshold="0.65",
            max_positions=3,
            daily_loss_limit=2400,
        )
        keys = _concurrently(
            [
                (
                    lambda k=k: services.trade_execute(
                        user=trader, request=request, idempotency_key=k
                    )
                )
                for k in range(20)
            ]
        )
    made = [r for r in keys if not isinstance(r, Exception)]
    refused = [r for r in keys if isinstance(r, Exception)]
    assert len(made) == 2  # up to max_positions 3 with the first
    assert {type(r).__name__ for r in refused} == {"PositionLimitExceeded"}
    assert StrategyPosition.objects.filter(user=trader, status="open").count() == 3
    account = TradingAccount.objects.get(user=trader)
    portfolio = Portfolio.objects.get(pk=account.paper_portfolio_id)
    assert cash_balance(portfolio=portfolio) == Decimal(100_000) + sum(
        t.amount for t in Transaction.objects.filter(portfolio=portfolio, kind__in=["BUY", "SELL"])
    )
    assert math.isfinite(float(cash_balance(portfolio=portfolio)))


@pytest.mark.django_db
def test_an_executions_queries_do_not_grow_with_its_legs_or_the_open_book(
    spy_signal: Any, make_user: Any
) -> None:
    """A four-leg package books in one write (``portfolios.services.positions_open``, bulk
    orders and fills): it costs no more queries than a two-leg one, with more open."""
    signal, clock = spy_signal
    user = make_user(role="trader")
    services.trading_config_update(user_id=user.pk, changes={"max_positions": 20})
    k = strikes_of(clock)
    vertical = [("buy", "call", k[10]), ("sell", "call", k[15])]
    condor = [("buy", "put", k[5]), ("sell", "put", k[10]), ("sell", "call", k[15])]
    condor.append(("buy", "call", k[20]))
    quotes = {("put", k[5]): ("0.20", "0.24"), ("put", k[10]): ("0.60", "0.66")}
    quotes.update({("call", k[10]): ("2.00", "2.10"), ("call", k[15]): ("0.55", "0.61")})
    set_quotes(clock, quotes | {("call", k[20]): ("0.15", "0.19")})

    def execute(strategy: str, legs: list[tuple[str, str, float]]) -> int:
        legs_signal(signal, strategy, legs)
        with use_clock(clock), CaptureQueriesContext(connection) as queries:
            services.trade_execute(
                user=user, request=services.ExecuteRequest(signal_id=signal.id, position_size=1000)
            )
        return len(queries.captured_queries)

    # The first ones open the account and its paper portfolio and store the contracts.
    execute("iron_condor", condor)
    execute("bull_call_spread", vertical)
    two_legs = execute("bull_call_spread", vertical)
    four_legs = execute("iron_condor", condor)
    assert two_legs <= 24 and four_legs <= two_legs
    # Each leg adds to its open position: five contracts held, in one position each.
    assert Position.objects.filter(closed_at__isnull=True, tags__contains=["0dte"]).count() == 5


@pytest.mark.django_db
def test_open_credit_spreads_hold_their_width_as_margin_out_of_buying_power(
    spy_signal: Any, make_user: Any, settings: Any
) -> None:
    """A credit package's cash comes in with it but is owed back at worst: each open one
    holds its max loss plus its credit (the width × 100) out of the cash the next entry
    may spend. A debit package, paid in full, holds nothing."""
    signal, clock = spy_signal
    settings.TRADING_CAP_AT_DISPLAYED_SIZE = False
    user = make_user(role="trader")
    k = strikes_of(clock)
    condor = [("buy", "put", k[5]), ("sell", "put", k[10]), ("sell", "call", k[15])]
    condor.append(("buy", "call", k[20]))
    quotes = {("put", k[5]): ("0.20", "0.24"), ("put", k[10]): ("0.60", "0.66")}
    quotes |= {("call", k[10]): ("2.00", "2.10"), ("call", k[15]): ("0.55", "0.61")}
    set_quotes(clock, quotes | {("call", k[20]): ("0.15", "0.19")})
    legs_signal(signal, "iron_condor", condor)

    def execute(size: int) -> Trade:
        with use_clock(clock):
            trade, _ = services.trade_execute(
                user=user, request=services.ExecuteRequest(signal_id=signal.id, position_size=size)
            )
        return trade

    first = execute(60_000)
    assert first.net_price < 0  # a credit
    # Five-wide wings: 500 dollars a package, max loss and credit together.
    width = Decimal(k[10] - k[5]) * 100
    assert first.total_cost / first.quantity - first.net_price * 100 == width
    [position] = StrategyPosition.objects.filter(trade=first)
    assert selectors.margin_reserved(position) == width * first.quantity
    account = TradingAccount.objects.get(user=user)
    cash = cash_balance(portfolio=Portfolio.objects.get(pk=account.paper_portfolio_id))
    reserved = width * first.quantity
    # The second fits the cash (over 111,000) but not the cash less the margin held.
    assert Decimal(50_000) < cash and cash - reserved < Decimal(50_000)
    with pytest.raises(InsufficientFunds) as refused:
        execute(50_000)
    assert refused.value.details["reserved"] == str(reserved.quantize(CENT))
    assert Decimal(refused.value.details["available"]) == cash - reserved
    assert Trade.objects.filter(user=user).count() == 1
    # What the margin leaves can be spent.
    execute(int(cash - reserved) // 2)
    # A debit package holds nothing.
    legs_signal(signal, "bull_call_spread", [("buy", "call", k[10]), ("sell", "call", k[15])])
    debit = execute(1000)
    assert debit.net_price > 0
    assert selectors.margin_reserved(StrategyPosition.objects.get(trade=debit)) == 0
