"""``portfolios.services.positions_open``: a multi-leg package books as one write, all or
none, in a number of queries that does not grow with its legs; an add to an open
position averages its entry like a single open does."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from typing import Any

import pytest

from marketdata.models import AssetType, PriceBar, Security
from portfolios import selectors, services
from portfolios.models import Lot, Portfolio, Position, Transaction
from portfolios.services import PositionOpen
from sigmasight.errors import Conflict, InsufficientFunds, PortfolioNotFound, ValidationFailed

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 10)
CONDOR = (  # an SPY iron condor on the 2026-11-20 monthly, per-share fill prices
    ("SPY261120P00540000", 1, "1.10"),
    ("SPY261120P00545000", -1, "1.85"),
    ("SPY261120C00555000", -1, "1.95"),
    ("SPY261120C00560000", 1, "1.05"),
)


@pytest.fixture
def book(db: None, trader: Any) -> Portfolio:
    Security.objects.create(symbol="SPY", asset_type=AssetType.ETF, name="SPY")
    PriceBar.objects.create(
        security_id="SPY",
        date=TODAY,
        open=D("550"),
        high=D("551"),
        low=D("549"),
        close=D("550"),
        adj_close=D("550"),
        source="test",
    )
    portfolio = services.portfolio_create(owner=trader, name="Package")
    services.cash_transaction(
        portfolio=portfolio, kind="DEPOSIT", amount=D("100000"), trade_date=TODAY
    )
    return portfolio


def _opens(packages: int, legs: tuple[tuple[str, int, str], ...] = CONDOR) -> list[PositionOpen]:
    return [
        PositionOpen(symbol, D(ratio * packages), D(price), fees=D("0.65") * packages)
        for symbol, ratio, price in legs
    ]


def _open(portfolio: Portfolio, opens: list[PositionOpen]) -> list[Position]:
    return services.positions_open(
        portfolio=portfolio, opens=opens, entry_date=TODAY, tags=["0dte"], today=TODAY
    )


def test_a_condor_books_four_positions_their_lots_and_their_cash(book: Portfolio) -> None:
    positions = _open(book, _opens(3))
    assert [p.security_id for p in positions] == [symbol for symbol, _, _ in CONDOR]
    assert [p.quantity for p in positions] == [3, -3, -3, 3]
    assert [p.position_type for p in positions] == ["LP", "SP", "SC", "LC"]
    assert all(p.multiplier == 100 and p.tags == ["0dte"] for p in positions)
    assert Lot.objects.filter(position__portfolio=book).count() == 4
    ledger = Transaction.objects.filter(portfolio=book).exclude(kind="DEPOSIT")
    # Cash by hand: −(3 × 1.10 × 100) − 1.95 fees = −331.95; +(3 × 1.85 × 100) − 1.95 = 553.05;
    # +(3 × 1.95 × 100) − 1.95 = 583.05; −(3 × 1.05 × 100) − 1.95 = −316.95.
    assert sorted(t.amount for t in ledger) == sorted(
        [D("-331.95"), D("553.05"), D("583.05"), D("-316.95")]
    )
    assert selectors.cash_balance(portfolio=book) == D("100487.20")


def test_its_queries_do_not_grow_with_the_legs(
    book: Portfolio, django_assert_max_num_queries: Any
) -> None:
    _open(book, _opens(1))  # the securities exist from here on
    with django_assert_max_num_queries(14) as one_leg:
        _open(book, _opens(1, CONDOR[:1]))
    with django_assert_max_num_queries(len(one_leg.captured_queries)):
        _open(book, _opens(2))  # four legs
    second = services.portfolio_create(owner=book.owner, name="Second")
    third = services.portfolio_create(owner=book.owner, name="Third")
    with django_assert_max_num_queries(16) as one_new:
        _open(second, _opens(1, CONDOR[:1]))  # a new position
    with django_assert_max_num_queries(len(one_new.captured_queries)):
        _open(third, _opens(1))  # four new positions


def test_an_add_averages_the_entry_and_keeps_one_open_position(book: Portfolio) -> None:
    _open(book, _opens(1))
    later = [PositionOpen(s, D(q * 2), D(p) + D("0.30")) for s, q, p in CONDOR]
    positions = _open(book, later)
    assert Position.objects.filter(portfolio=book, closed_at__isnull=True).count() == 4
    # (1 × 1.10 + 2 × 1.40) / 3 = 1.30
    assert positions[0].quantity == 3 and positions[0].entry_price == D("1.30")
    assert Position.objects.get(pk=positions[0].pk).entry_price == D("1.30")
    assert [t.note for t in Transaction.objects.filter(position=positions[0]).order_by("id")] in (
        ["open", "add"],
        ["add", "open"],
    )


def test_a_package_with_one_bad_leg_writes_nothing(book: Portfolio) -> None:
    before = (Position.objects.count(), Lot.objects.count(), Transaction.objects.count())
    expired = (("SPY261106P00540000", 1, "1.00"),)  # expired four days before TODAY
    with pytest.raises(ValidationFailed):
        _open(book, _opens(1, CONDOR[:3] + expired))
    _open(book, _opens(1, CONDOR[:1]))
    after_one = (Position.objects.count(), Lot.objects.count(), Transaction.objects.count())
    # The other side of an open position is refused, and the package's other legs too.
    short_again = ((CONDOR[0][0], -1, "1.10"),)
    with pytest.raises(Conflict):
        _open(book, _opens(1, CONDOR[1:] + short_again))
    assert (Position.objects.count(), Lot.objects.count(), Transaction.objects.count()) == (
        after_one
    )
    assert after_one == (before[0] + 1, before[1] + 1, before[2] + 1)


def test_a_package_names_each_contract_once(book: Portfolio) -> None:
    with pytest.raises(ValidationFailed) as raised:
        _open(book, _opens(1, CONDOR[:1] + CONDOR[:1]))
    assert "once" in str(raised.value.errors)
    assert not Position.objects.filter(portfolio=book).exists()


def test_cash_required_is_checked_under_the_lock_and_a_shortfall_writes_nothing(
    book: Portfolio,
) -> None:
    before = (Position.objects.count(), Lot.objects.count(), Transaction.objects.count())
    with pytest.raises(InsufficientFunds) as raised:
        services.positions_open(
            portfolio=book.pk,  # by id, as a trading account books into its paper portfolio
            opens=_opens(1),
            entry_date=TODAY,
            today=TODAY,
            cash_required=D("100000.01"),
        )
    assert raised.value.details == {"required": "100000.01", "available": "100000.00"}
    assert (Position.objects.count(), Lot.objects.count(), Transaction.objects.count()) == before
    booked = services.positions_open(
        portfolio=str(book.pk),
        opens=_opens(1),
        entry_date=TODAY,
        today=TODAY,
        cash_required=D("100000"),
    )
    assert len(booked) == 4 and all(p.portfolio_id == book.pk for p in booked)
    services.portfolio_soft_delete(portfolio=book)
    with pytest.raises(PortfolioNotFound):
        services.positions_open(portfolio=book.pk, opens=_opens(1), entry_date=TODAY, today=TODAY)


def test_a_given_underlying_price_decides_the_strike_check_without_a_price_read(
    book: Portfolio, django_assert_max_num_queries: Any
) -> None:
    _open(book, _opens(1))  # the securities exist from here on
    # The stored close is 550; at a given spot of 50, a 540 strike is beyond 10x of it.
    with pytest.raises(ValidationFailed) as raised:
        services.positions_open(
            portfolio=book,
            opens=_opens(1, CONDOR[:1]),
            entry_date=TODAY,
            today=TODAY,
            underlying_prices={"SPY": D("50")},
        )
    assert "implausible" in str(raised.value.errors)
    with django_assert_max_num_queries(14) as stored:
        _open(book, _opens(1, CONDOR[:1]))
    with django_assert_max_num_queries(len(stored.captured_queries) - 2) as given:
        services.positions_open(
            portfolio=book,
            opens=_opens(1, CONDOR[:1]),
            entry_date=TODAY,
            today=TODAY,
            underlying_prices={"SPY": D("551.20")},
        )
    assert not any("marketdata_pricebar" in q["sql"] for q in given.captured_queries)
