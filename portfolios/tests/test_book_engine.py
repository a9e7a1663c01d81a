"""The book's float64 marks round to the same cents as the exact Decimal valuation.

``portfolios.engine.valuation`` marks a whole book on arrays; ``/complete`` sends its
figures rounded from those. The reference is ``portfolios.valuation.value_position`` (exact
Decimals) rounded with ``money``: every figure must agree with it, ties (x.xx5) and zeros
included, which is what the ``doubtful`` fallback is for.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import pytest
from django.utils import timezone

from marketdata.models import AssetType, Quote, Security
from portfolios.api.serializers import CompletePositionSerializer
from portfolios.engine.valuation import mark, round_half_up
from portfolios.models import Portfolio, Position, PositionType, Transaction
from portfolios.selectors import (
    BookPosition,
    MarkedPosition,
    PortfolioBook,
    _totals,
    portfolio_book,
)
from portfolios.valuation import money, price4, value_position


def test_mark_follows_the_conventions() -> None:
    marks = mark(
        quantity=[10, -10, 2],
        multiplier=[1, 1, 100],
        entry_price=[100, 100, 4],
        price=[110, 110, np.nan],
        previous_close=[105, 105, 3.5],
    )
    assert marks.market_value[:2].tolist() == [1100, -1100]
    assert marks.total_cost.tolist() == [1000, -1000, 800]
    assert marks.unrealized_pnl[:2].tolist() == [100, -100]
    assert marks.unrealized_pnl_percent[:2].tolist() == [10, -10]  # of |cost|: a short loses
    assert marks.day_change[:2].tolist() == [50, -50]
    assert np.isnan(marks.market_value[2]) and np.isnan(marks.day_change_percent[2])


def test_round_half_up_rounds_ties_away_from_zero_and_doubts_them() -> None:
    values = [1.004, 1.006, -1.006, 2.5, 0.0, 1.005]
    rounded, doubtful = round_half_up(values, decimals=2, scale=np.abs(values))
    assert rounded[:3].tolist() == [1.0, 1.01, -1.01]
    assert rounded[3] == 2.5
    # 1.005 is 1.00499999999999989... in binary: only the exact decimal can say 1.01.
    assert doubtful.tolist() == [False, False, False, False, True, True]


def _book(
    rows: list[tuple[Decimal, int, Decimal, Decimal | None, Decimal | None]],
) -> PortfolioBook:
    now = timezone.now()
    marked = [
        MarkedPosition(
            BookPosition(
                uuid.uuid4(),
                uuid.uuid4(),
                f"S{i}",
                "LONG",
                q,
                mult,
                None,
                None,
                None,
                entry,
                dt.date(2026, 1, 2),
                None,
                None,
                None,
                None,
                [],
                now,
                now,
            ),
            None,
            price,
            previous,
        )
        for i, (q, mult, entry, price, previous) in enumerate(rows)
    ]
    marks = mark(
        quantity=[float(r[0]) for r in rows],
        multiplier=[r[1] for r in rows],
        entry_price=[float(r[2]) for r in rows],
        price=[np.nan if r[3] is None else float(r[3]) for r in rows],
        previous_close=[np.nan if r[4] is None else float(r[4]) for r in rows],
    )
    return PortfolioBook(
        portfolio=None,  # type: ignore[arg-type]
        as_of=None,
        marked=marked,
        cash_balance=Decimal(0),
        realized_pnl=Decimal(0),
        totals=_totals(marked),
        open_positions=marked,
        marks=marks,
    )


def _tie_prone_rows(seed: int, n: int) -> list[tuple[Any, ...]]:
    """Fractional quantities and 3-4 decimal prices: many figures land on x.xx5 exactly."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        q = Decimal(rng.choice([1, 3, 7, 10, 25, 100, 1000])) * rng.choice([1, -1])
        q *= Decimal(rng.choice(["1", "0.5", "0.25", "0.125", "0.001"]))
        mult = rng.choice([1, 1, 100])
        entry = Decimal(rng.randint(1, 500_000)) / Decimal(rng.choice([100, 1000, 10_000]))
        price = Decimal(rng.randint(0, 500_000)) / Decimal(rng.choice([100, 1000, 10_000]))
        previous = rng.choice([None, price, price + Decimal("0.005"), entry])
        rows.append((q, mult, entry, rng.choice([price, price, price, None]), previous))
    return rows


@pytest.mark.parametrize("seed", range(5))
def test_rounded_marks_equal_the_exact_valuation_rounded(seed: int) -> None:
    rows = _tie_prone_rows(seed, 400)
    book = _book(rows)
    for name in ("market_value", "unrealized_pnl", "total_cost", "day_change"):
        expected = [
            None if (v := getattr(m.valuation, name)) is None else float(money(v))
            for m in book.open_positions
        ]
        assert book.rounded(name) == expected, name
    for name in ("unrealized_pnl_percent", "day_change_percent"):
        expected = [
            None if (v := getattr(m.valuation, name)) is None else float(v)
            for m in book.open_positions
        ]
        assert book.rounded(name) == expected, name


@pytest.mark.parametrize("seed", range(5))
def test_totals_equal_the_sums_of_the_exact_valuations(seed: int) -> None:
    book = _book(_tie_prone_rows(seed, 400))
    priced = [m.valuation for m in book.open_positions if m.valuation.price is not None]
    assert book.positions_value == sum((v.market_value for v in priced), Decimal(0))
    assert book.unrealized_pnl == sum((v.unrealized_pnl for v in priced), Decimal(0))
    assert book.day_change == sum(
        (v.day_change for v in priced if v.day_change is not None), Decimal(0)
    )
    assert book.gross_cost_basis == sum(
        (abs(m.valuation.total_cost) for m in book.open_positions), Decimal(0)
    )
    assert book.unpriced == [m.position.security_id for m in book.open_positions if m.price is None]


def test_complete_rows_equal_what_the_position_serializer_sends(
    auth_client: Any, trader: Any
) -> None:
    """Each /complete row, built without a serializer, is what CompletePositionSerializer
    made of the exact valuation: same keys, same numbers (ties included)."""
    portfolio = Portfolio.objects.create(owner=trader, name="Ties")
    stamp = timezone.make_aware(dt.datetime(2026, 11, 24, 21, 0), dt.UTC)
    for i, (q, mult, entry, price, *_rest) in enumerate(_tie_prone_rows(7, 60)):
        symbol = f"T{i:03d}"
        Security.objects.create(symbol=symbol, name=symbol, asset_type=AssetType.STOCK)
        if price is not None:
            Quote.objects.create(
                security_id=symbol,
                bid=price,
                ask=price,
                last=price or Decimal("0.01"),
                timestamp=stamp,
                source="test",
            )
        Position.objects.create(
            portfolio=portfolio,
            security_id=symbol,
            quantity=q,
            multiplier=mult,
            position_type=PositionType.LONG if q > 0 else PositionType.SHORT,
            entry_price=entry,
            entry_date=dt.date(2026, 11, 2),
        )
    book = portfolio_book(portfolio=portfolio)
    expected = {
        str(m.position.id): CompletePositionSerializer(
            {
                "id": m.position.id,
                "symbol": m.position.security_id,
                "position_type": m.position.presented_type,
                "stored_type": m.position.position_type,
                "quantity": float(m.position.quantity),
                "current_price": price4(m.valuation.price),
                "market_value": money(m.valuation.market_value),
                "unrealized_pnl": money(m.valuation.unrealized_pnl),
                "cost_basis": price4(m.position.entry_price),
                "total_cost_basis": money(m.valuation.total_cost),
                "multiplier": m.position.multiplier,
                "price_source": m.snapshot.source if m.snapshot else None,
            }
        ).data
        for m in book.open_positions
    }
    response = auth_client.get(f"/api/v1/data/portfolio/{portfolio.id}/complete")
    assert response.status_code == 200
    rows = response.json()["positions"]
    assert len(rows) == 60
    for row in rows:
        want = {
            k: (float(v) if isinstance(v, Decimal) else v) for k, v in expected[row["id"]].items()
        }
        assert row == want
    assert sum(Decimal(str(r["market_value"])) for r in rows if r["market_value"] is not None) == (
        Decimal(0)
        + sum(
            (money(m.valuation.market_value) for m in book.open_positions if m.price is not None),
            Decimal(0),
        )
    )


def test_quantize_reference_is_half_up() -> None:
    # The reference the tests above hold the engine to (API: money is rounded half up).
    assert money(Decimal("0.005")) == Decimal("0.01")
    assert money(Decimal("-0.005")) == Decimal("-0.01")
    assert Decimal("2.675").quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) == Decimal("2.68")
    assert value_position(
        quantity=Decimal("0.5"),
        multiplier=1,
        entry_price=Decimal(1),
        price=Decimal("10.01"),
        previous_close=None,
    ).market_value == Decimal("5.005")


def test_an_unpriced_positions_cost_still_rounds_exactly() -> None:
    # -0.75 × 1463.1 = -1097.325: a tie, whose operands include an unknown price.
    book = _book([(Decimal("-0.75"), 1, Decimal("1463.1"), None, None)])
    assert book.rounded("total_cost") == [-1097.33]
    assert book.rounded("market_value") == [None]


def test_complete_reads_the_ledger_in_one_query(
    auth_client: Any, trader: Any, market: Any, django_assert_num_queries: Any, settings: Any
) -> None:
    """Cash, realized P&L and realized P&L per position come from one grouped ledger query:
    /complete is 7 queries (user, portfolio, positions, quotes, splits, bars, ledger)."""
    settings.RESPONSE_CACHE_SECONDS = 0  # the report's own reads, not a cached body
    portfolio = Portfolio.objects.create(owner=trader, name="Ledger")
    position = Position.objects.create(
        portfolio=portfolio,
        security_id="AAPL",
        quantity=Decimal(10),
        multiplier=1,
        position_type=PositionType.LONG,
        entry_price=Decimal(170),
        entry_date=dt.date(2026, 11, 2),
    )
    day = dt.date(2026, 11, 3)
    Transaction.objects.create(
        portfolio=portfolio, kind="DEPOSIT", amount=Decimal("5000.10"), trade_date=day
    )
    Transaction.objects.create(
        portfolio=portfolio,
        position=position,
        kind="SELL",
        amount=Decimal("900.25"),
        realized_pnl=Decimal("12.34"),
        trade_date=day,
    )
    Transaction.objects.create(
        portfolio=portfolio,
        position=position,
        kind="BUY",
        amount=Decimal("-1700.00"),
        trade_date=day,
    )
    Transaction.objects.create(
        portfolio=portfolio,
        kind="DIVIDEND",
        amount=Decimal("1.11"),
        realized_pnl=None,
        trade_date=day,
    )
    url = f"/api/v1/data/portfolio/{portfolio.id}/complete"
    auth_client.get(url)
    with django_assert_num_queries(7):
        summary = auth_client.get(url).json()["summary"]
    assert summary["cash_balance"] == 4201.46
    assert summary["realized_pnl"] == 12.34
    book = portfolio_book(portfolio=portfolio)
    assert book.marked[0].realized_pnl == Decimal("12.34")
