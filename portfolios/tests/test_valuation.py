"""Hand-computed marks: long and short stock, long and short options (×100)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from portfolios.valuation import fifo_close, value_position, weights


def test_long_stock_matches_the_spec_example() -> None:
    # 100 AAPL bought at 160.00, now 175.25, yesterday 172.40 (spec 2.4).
    v = value_position(
        quantity=D(100),
        multiplier=1,
        entry_price=D("160"),
        price=D("175.25"),
        previous_close=D("172.40"),
    )
    assert v.market_value == D("17525.00")
    assert v.unrealized_pnl == D("1525.00")
    assert v.unrealized_pnl_percent == D("9.53")
    assert v.day_change == D("285.00")
    assert v.day_change_percent == D("1.65")


def test_short_stock_gains_when_the_price_falls() -> None:
    # Short 200 at 100; now 90, yesterday 92: value −18,000, cost −20,000.
    v = value_position(
        quantity=D(-200), multiplier=1, entry_price=D(100), price=D(90), previous_close=D(92)
    )
    assert v.market_value == D(-18000)
    assert v.unrealized_pnl == D(2000)
    assert v.unrealized_pnl_percent == D("10.00")
    assert v.day_change == D(400)
    assert v.day_change_percent == D("2.17")  # 400 / 18,400


def test_long_call_uses_the_100_multiplier() -> None:
    # 5 SPY calls at 2.85, now 4.20, yesterday 3.95 (spec 2.4's option row).
    v = value_position(
        quantity=D(5),
        multiplier=100,
        entry_price=D("2.85"),
        price=D("4.20"),
        previous_close=D("3.95"),
    )
    assert v.market_value == D("2100.00")
    assert v.total_cost == D("1425.00")
    assert v.unrealized_pnl == D("675.00")
    assert v.unrealized_pnl_percent == D("47.37")
    assert v.day_change == D("125.00")
    assert v.day_change_percent == D("6.33")


def test_short_put_gains_as_the_premium_decays() -> None:
    # Sold 3 puts at 5.00; now 3.50, yesterday 4.00.
    v = value_position(
        quantity=D(-3), multiplier=100, entry_price=D(5), price=D("3.50"), previous_close=D(4)
    )
    assert v.market_value == D(-1050)
    assert v.unrealized_pnl == D(450)
    assert v.unrealized_pnl_percent == D("30.00")
    assert v.day_change == D(150)
    assert v.day_change_percent == D("12.50")


def test_missing_price_gives_nulls_not_guesses() -> None:
    v = value_position(
        quantity=D(10), multiplier=1, entry_price=D(5), price=None, previous_close=None
    )
    assert v.market_value is None and v.unrealized_pnl is None and v.day_change is None
    assert v.total_cost == D(50)


def test_weights_are_shares_of_gross_exposure() -> None:
    assert weights([D(600), D(-300), D(100)]) == [D("0.6"), D("0.3"), D("0.1")]
    # An unpriced position leaves the gross exposure unknown: no weight is right then.
    assert weights([D(600), D(-300), D(100), None]) == [None, None, None, None]
    assert weights([D(0)]) == [None]


def test_fifo_consumes_oldest_lots_first() -> None:
    lots = [(D(100), D(10)), (D(50), D(12))]
    fills = fifo_close(lots, quantity=D(120), exit_price=D(15), multiplier=1)
    assert [(f.lot_index, f.quantity, f.realized_pnl) for f in fills] == [
        (0, D(100), D(500)),  # 100 × (15 − 10)
        (1, D(20), D(60)),  # 20 × (15 − 12)
    ]


def test_fifo_short_lots_gain_below_their_open_price() -> None:
    fills = fifo_close([(D(-2), D("5.00"))], quantity=D(2), exit_price=D("1.25"), multiplier=100)
    assert fills[0].realized_pnl == D(750)  # −2 × (1.25 − 5.00) × 100


def test_fifo_refuses_to_close_more_than_is_open() -> None:
    with pytest.raises(ValueError):
        fifo_close([(D(10), D(1))], quantity=D(11), exit_price=D(1), multiplier=1)
