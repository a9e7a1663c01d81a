"""Position marks of a whole book at once, on float64 arrays.

Pure numpy: no Django. The same conventions as ``portfolios.valuation`` (its Decimal
twin, which stays the reference and the fallback):

* ``market_value = quantity × price × multiplier`` (dollars; negative for shorts);
* ``total_cost = quantity × entry_price × multiplier`` (dollars, signed);
* ``unrealized_pnl = market_value − total_cost`` (dollars);
* ``day_change = market_value − quantity × previous_close × multiplier`` (dollars);
* percentages are percent (9.53 means 9.53%) of the absolute cost or the absolute
  previous value.

Unknown inputs (no price, no previous close) are NaN and give NaN figures. A float64
figure is within a few ulps of the exact decimal one, so it rounds to the same cents
except within that distance of a tie (x.xx5): :func:`round_half_up` says where, and the
caller computes those few exactly.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["Marks", "mark", "round_half_up"]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

#: Relative distance to a tie below which float64 cannot be trusted to round as the exact
#: decimal would. A figure here carries a few ulps (~1e-16 relative) of its operands' size;
#: 1e-9 leaves a wide margin, and only exact ties come that close in practice.
TIE_TOLERANCE = 1e-9


class Marks(NamedTuple):
    """Per-position figures (float64, NaN when unknown), and the magnitude of the operands
    each was computed from (what its rounding error scales with)."""

    market_value: FloatArray  # dollars
    total_cost: FloatArray  # dollars, signed
    unrealized_pnl: FloatArray  # dollars
    unrealized_pnl_percent: FloatArray  # percent of |total_cost|
    day_change: FloatArray  # dollars
    day_change_percent: FloatArray  # percent of |previous value|
    money_scale: FloatArray  # dollars: |market value| + |cost| + |previous value|
    percent_scale: FloatArray  # percent: the percentages' operands over their base


def _vector(x: ArrayLike, n: int | None = None) -> FloatArray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1 or (n is not None and a.shape[0] != n):
        raise ValueError(f"expected a vector of length {n}, got shape {a.shape}")
    return a


def mark(
    *,
    quantity: ArrayLike,
    multiplier: ArrayLike,
    entry_price: ArrayLike,
    price: ArrayLike,
    previous_close: ArrayLike,
) -> Marks:
    """Mark every position: quantities in shares or contracts, prices per share (per option
    share), multipliers in shares per contract (1 for stock); NaN price = unpriced."""
    q = _vector(quantity)
    n = q.shape[0]
    m = _vector(multiplier, n)
    size = q * m
    cost = size * _vector(entry_price, n)
    value = size * _vector(price, n)
    previous = size * _vector(previous_close, n)
    unrealized = value - cost
    day = value - previous
    with np.errstate(divide="ignore", invalid="ignore"):
        abs_cost, abs_previous = np.abs(cost), np.abs(previous)
        unrealized_pct = np.where(abs_cost == 0, np.nan, unrealized / abs_cost * 100.0)
        day_pct = np.where(abs_previous == 0, np.nan, day / abs_previous * 100.0)
        # Unknown operands (NaN) count as 0: the known figures' scale must stay finite, or
        # no tie among them would be seen.
        abs_value = np.nan_to_num(np.abs(value))
        money_scale = abs_value + np.nan_to_num(abs_cost) + np.nan_to_num(abs_previous)
        percent_scale = np.nan_to_num(
            (abs_value + abs_cost) / abs_cost * 100.0, nan=0.0, posinf=0.0
        ) + np.nan_to_num((abs_value + abs_previous) / abs_previous * 100.0, nan=0.0, posinf=0.0)
    return Marks(value, cost, unrealized, unrealized_pct, day, day_pct, money_scale, percent_scale)


def round_half_up(
    values: ArrayLike, *, decimals: int, scale: ArrayLike
) -> tuple[FloatArray, BoolArray]:
    """``values`` rounded to ``decimals`` places, ties away from zero (Decimal's
    ROUND_HALF_UP), and where that rounding is in doubt: within ``TIE_TOLERANCE × scale``
    (the operands' magnitude, same unit as ``values``) of a tie. NaN stays NaN, not in doubt.

    Rounded values are the nearest float64 to the decimal result (k / 10^decimals)."""
    v = _vector(values)
    factor = 10.0**decimals
    scaled = np.abs(v) * factor
    whole = np.floor(scaled)
    fraction = scaled - whole
    rounded = np.copysign((whole + (fraction >= 0.5)) / factor, v)
    tolerance = TIE_TOLERANCE * (_vector(scale, v.shape[0]) * factor + 1.0)
    doubtful = np.abs(fraction - 0.5) <= tolerance
    # A figure that is exactly 0 may come out as ±1e-17: its rounded sign (0.00 or -0.00)
    # is in doubt then.
    doubtful |= scaled <= tolerance
    doubtful |= scaled >= 2.0**52  # no fraction left to trust
    return rounded, doubtful & np.isfinite(v)
