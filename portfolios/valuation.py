"""Position and portfolio arithmetic on Decimals: pure functions, no ORM.

Conventions (API-CONVENTIONS.md, Symbols and positions):
* ``market_value = quantity × price × multiplier`` (negative for shorts);
* ``unrealized_pnl = market_value − quantity × entry_price × multiplier``;
* percentages are percent (9.53 means 9.53%), measured against the absolute cost or the
  absolute previous value, so a short that gains shows a positive percentage.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
PRICE_PLACES = Decimal("0.0001")
HUNDRED = Decimal(100)


def money(value: Decimal | None) -> Decimal | None:
    """Round to cents (half up), as every money figure in the API."""
    return None if value is None else value.quantize(CENT, rounding=ROUND_HALF_UP)


def price4(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(PRICE_PLACES, rounding=ROUND_HALF_UP)


def percent(numerator: Decimal | None, denominator: Decimal | None) -> Decimal | None:
    """numerator / |denominator| × 100, rounded to 2 places; None when undefined."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return (numerator / abs(denominator) * HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Valuation:
    price: Decimal | None
    previous_close: Decimal | None
    market_value: Decimal | None
    total_cost: Decimal  # signed: quantity × entry_price × multiplier
    unrealized_pnl: Decimal | None
    unrealized_pnl_percent: Decimal | None
    day_change: Decimal | None
    day_change_percent: Decimal | None


def value_position(
    *,
    quantity: Decimal,
    multiplier: int,
    entry_price: Decimal,
    price: Decimal | None,
    previous_close: Decimal | None,
) -> Valuation:
    """Mark one position. Unknown prices give ``None`` figures, never a guess."""
    total_cost = quantity * entry_price * multiplier
    if price is None:
        return Valuation(None, previous_close, None, total_cost, None, None, None, None)
    market_value = quantity * price * multiplier
    unrealized = market_value - total_cost
    day_change = day_change_pct = None
    if previous_close is not None:
        previous_value = quantity * previous_close * multiplier
        day_change = market_value - previous_value
        day_change_pct = percent(day_change, previous_value)
    return Valuation(
        price=price,
        previous_close=previous_close,
        market_value=market_value,
        total_cost=total_cost,
        unrealized_pnl=unrealized,
        unrealized_pnl_percent=percent(unrealized, total_cost),
        day_change=day_change,
        day_change_percent=day_change_pct,
    )


def weights(market_values: Iterable[Decimal | None]) -> list[Decimal | None]:
    """Each position's |market value| / gross exposure (RISK-MODEL.md, Concentration).
    All None when one value is unknown: the gross exposure, every weight's base, is then
    unknown too (an unpriced position is not worth $0)."""
    values = list(market_values)
    if any(v is None for v in values):
        return [None for _ in values]
    gross = sum((abs(v) for v in values if v is not None), Decimal(0))
    if gross == 0:
        return [None for _ in values]
    return [None if v is None else (abs(v) / gross).quantize(Decimal("0.0001")) for v in values]


@dataclass(frozen=True)
class LotFill:
    lot_index: int
    quantity: Decimal  # signed, the lot's sign
    open_price: Decimal
    realized_pnl: Decimal


def fifo_close(
    lots: list[tuple[Decimal, Decimal]],  # (remaining signed quantity, open price), oldest first
    *,
    quantity: Decimal,  # positive amount of the position to close
    exit_price: Decimal,
    multiplier: int,
) -> list[LotFill]:
    """Consume lots first in, first out. Realized P&L of a fill is
    ``fill_qty × (exit − open) × multiplier`` with the lot's sign, so shorts gain when
    the exit is below the open price."""
    if quantity <= 0:
        raise ValueError("quantity to close must be positive")
    left = quantity
    fills: list[LotFill] = []
    for index, (remaining, open_price) in enumerate(lots):
        if left == 0:
            break
        if remaining == 0:
            continue
        take = min(abs(remaining), left)
        signed = take if remaining > 0 else -take
        fills.append(
            LotFill(index, signed, open_price, signed * (exit_price - open_price) * multiplier)
        )
        left -= take
    if left > 0:
        raise ValueError("cannot close more than the open quantity")
    return fills
