"""Paper-trading fill rule, package fills, liquidation values and exit detection.

Pure numpy: this module imports no Django and nothing from the project.

Fill rule
---------
The slippage schedule ORATS publishes for its backtests: a buy fills at
``bid + s × (ask − bid)`` and a sell at ``ask − s × (ask − bid)``, where ``s``
depends on the number of legs of the package traded together: 0.75 for one leg,
0.66 for two, 0.56 for three and 0.53 for four (and for more legs). The
pessimistic setting crosses the whole spread (``s = 1``: buy at the ask, sell at
the bid). Fill prices are rounded to the cent toward the side worse for the
trader (buys up, sells down) and are never outside ``[bid, ask]``.

Unfillable quotes (``UnfillableQuote``)
---------------------------------------
* missing: the bid or the ask is ``None``, NaN or infinite;
* negative: the bid or the ask is < 0;
* crossed: bid > ask;
* locked: bid == ask (this includes a 0.00/0.00 quote);
* one-sided for a sell: a zero bid means nobody is buying, so a sell cannot fill.
  A buy against a 0.00 bid / 0.01 ask is a valid one-tick market.

Units and signs
---------------
Prices are per share (option price units). A package's net opening price is
+ for a debit paid and − for a credit received; a liquidation value is the cash
per share received when closing (+ received, − paid). P&L per share of a round
trip is ``liquidation_value − entry_net``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "PESSIMISTIC_SLIPPAGE",
    "SLIPPAGE_BY_LEG_COUNT",
    "ExitOutcome",
    "UnfillableQuote",
    "fill_price",
    "first_exit",
    "liquidation_value",
    "package_fill",
    "slippage_fraction",
]

#: Fraction of the bid-ask spread paid, by the package's leg count (ORATS schedule).
SLIPPAGE_BY_LEG_COUNT: dict[int, float] = {1: 0.75, 2: 0.66, 3: 0.56, 4: 0.53}
#: Fraction paid by the pessimistic setting: the whole spread.
PESSIMISTIC_SLIPPAGE = 1.0

_ACTIONS = ("buy", "sell")
_CENT = 100  # cents per price unit
#: Decimals kept when comparing prices: quotes are in cents, so this only removes
#: float noise such as 1.7 − 1.2 = 0.49999999999999956.
_NOISE_DECIMALS = 9


class UnfillableQuote(ValueError):
    """A quote (or a package leg's quote) at which the fill rule cannot fill.

    ``reason`` is a short human-readable cause; ``leg_index`` is set when the quote
    belongs to a leg of a package.
    """

    def __init__(self, reason: str, *, leg_index: int | None = None) -> None:
        self.reason = reason
        self.leg_index = leg_index
        message = reason if leg_index is None else f"leg {leg_index}: {reason}"
        super().__init__(message)


def _check_action(action: str) -> None:
    if action not in _ACTIONS:
        raise ValueError(f"action must be one of {_ACTIONS}, got {action!r}")


def _check_leg_count(leg_count: int) -> None:
    if isinstance(leg_count, bool) or not isinstance(leg_count, numbers.Integral) or leg_count < 1:
        raise ValueError(f"leg_count must be a positive integer, got {leg_count!r}")


def slippage_fraction(leg_count: int, *, pessimistic: bool = False) -> float:
    """Fraction ``s`` of the bid-ask spread a fill gives up, for ``leg_count`` legs.

    0.75 / 0.66 / 0.56 / 0.53 for 1 / 2 / 3 / 4 legs, 0.53 beyond four, and 1.0
    (the whole spread) when ``pessimistic``.
    """
    _check_leg_count(leg_count)
    if pessimistic:
        return PESSIMISTIC_SLIPPAGE
    return SLIPPAGE_BY_LEG_COUNT[min(int(leg_count), max(SLIPPAGE_BY_LEG_COUNT))]


def _quote_value(value: float | None, side: str) -> float:
    if value is None:
        raise UnfillableQuote(f"missing {side}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UnfillableQuote(f"missing {side}: {value!r} is not a number") from None
    if not math.isfinite(number):
        raise UnfillableQuote(f"missing {side}: {value!r}")
    if number < 0.0:
        raise UnfillableQuote(f"negative {side}: {number!r}")
    return number


def fill_price(
    action: str,
    bid: float | None,
    ask: float | None,
    *,
    leg_count: int,
    pessimistic: bool = False,
) -> float:
    """Per-share fill price of one leg under the fill rule.

    A buy fills at ``bid + s × (ask − bid)`` rounded up to the cent, a sell at
    ``ask − s × (ask − bid)`` rounded down to the cent, with
    ``s = slippage_fraction(leg_count, pessimistic=pessimistic)``; the result is
    clamped to ``[bid, ask]``. Raises ``UnfillableQuote`` for a missing, negative,
    crossed or locked quote, and for a sell against a zero bid (see the module
    docstring); raises ``ValueError`` for an unknown action or leg count.
    """
    _check_action(action)
    s = slippage_fraction(leg_count, pessimistic=pessimistic)
    b = _quote_value(bid, "bid")
    a = _quote_value(ask, "ask")
    if b > a:
        raise UnfillableQuote(f"crossed market: bid {b!r} > ask {a!r}")
    if b == a:
        raise UnfillableQuote(f"locked market: bid == ask == {b!r}")
    spread = a - b
    if action == "buy":
        raw = b + s * spread
        cents = math.ceil(round(raw * _CENT, _NOISE_DECIMALS - 2))
        return min(cents / _CENT, a)
    if b == 0.0:
        raise UnfillableQuote("one-sided quote: zero bid, no buyer for a sell")
    raw = a - s * spread
    cents = math.floor(round(raw * _CENT, _NOISE_DECIMALS - 2))
    return max(cents / _CENT, b)


def _check_package(
    actions: Sequence[str],
    bids: Sequence[float | None],
    asks: Sequence[float | None],
    quantities: Sequence[int] | None,
) -> list[int]:
    n = len(actions)
    if n == 0:
        raise ValueError("a package needs at least one leg")
    if len(bids) != n or len(asks) != n:
        raise ValueError(f"{n} actions but {len(bids)} bids and {len(asks)} asks")
    for action in actions:
        _check_action(action)
    if quantities is None:
        return [1] * n
    if len(quantities) != n:
        raise ValueError(f"{n} actions but {len(quantities)} quantities")
    checked: list[int] = []
    for q in quantities:
        if isinstance(q, bool) or not isinstance(q, numbers.Integral) or q < 1:
            raise ValueError(f"quantities must be positive integers, got {q!r}")
        checked.append(int(q))
    return checked


def package_fill(
    actions: Sequence[str],
    bids: Sequence[float | None],
    asks: Sequence[float | None],
    *,
    quantities: Sequence[int] | None = None,
    pessimistic: bool = False,
) -> tuple[list[float], float]:
    """Fill every leg of a package together (all or none).

    Each leg fills by ``fill_price`` with ``leg_count = len(actions)``. Returns the
    per-leg fill prices and the signed net price per package per share,
    ``Σ ±quantity × fill`` (+ for a buy: debit paid; − for a sell: credit
    received). Any unfillable leg raises ``UnfillableQuote`` with its ``leg_index``.
    """
    qty = _check_package(actions, bids, asks, quantities)
    leg_count = len(actions)
    fills: list[float] = []
    for i, (action, bid, ask) in enumerate(zip(actions, bids, asks, strict=True)):
        try:
            fills.append(fill_price(action, bid, ask, leg_count=leg_count, pessimistic=pessimistic))
        except UnfillableQuote as exc:
            raise UnfillableQuote(exc.reason, leg_index=i) from exc
    net = sum(
        (1 if action == "buy" else -1) * q * price
        for action, q, price in zip(actions, qty, fills, strict=True)
    )
    return fills, round(net, _NOISE_DECIMALS) + 0.0


def liquidation_value(
    actions: Sequence[str],
    bids: Sequence[float | None],
    asks: Sequence[float | None],
    *,
    quantities: Sequence[int] | None = None,
    pessimistic: bool = False,
) -> float:
    """Signed cash per package per share of closing an open package now.

    ``actions`` are the package's *opening* actions; each leg closes with the
    opposite one (a long leg sells, a short leg buys) at the fill rule with
    ``leg_count = len(actions)``. Returns + for cash received, − for cash paid.
    Raises ``UnfillableQuote`` (with ``leg_index``) if any leg cannot be closed,
    e.g. a long leg whose bid is 0.00.
    """
    _check_package(actions, bids, asks, quantities)
    closing = ["sell" if action == "buy" else "buy" for action in actions]
    _, net = package_fill(closing, bids, asks, quantities=quantities, pessimistic=pessimistic)
    return -net + 0.0


@dataclass(frozen=True)
class ExitOutcome:
    """Where and why a position is closed.

    ``reason`` is ``"target"``, ``"stop"``, ``"time"`` or ``"no_data"``; ``hit`` (the
    outcome a signal's confidence predicts) is True for the target only. ``index`` is the position in ``closing_values``
    and ``pnl`` the per-share P&L there (both ``None`` for ``"no_data"``).
    """

    hit: bool
    reason: str
    index: int | None
    pnl: float | None


def first_exit(
    entry_net: float,
    closing_values: ArrayLike,
    *,
    target_profit: float,
    stop_loss: float,
    time_exit_index: int,
) -> ExitOutcome:
    """First profit-target or stop-loss exit, else the time exit.

    ``entry_net`` is the package's signed opening price per share (+ debit paid,
    − credit received); ``closing_values`` are per-minute ``liquidation_value``
    results (NaN where the package could not be valued or filled: skipped). The
    P&L at minute i is ``closing_values[i] − entry_net``. Scanning
    ``0 <= i <= time_exit_index``, the first minute with P&L <= −``stop_loss`` is a
    ``"stop"`` and the first with P&L >= ``target_profit`` a ``"target"``; when both
    hold on the same minute the stop wins (conservative). Otherwise the position
    closes at the last valid value at or before ``time_exit_index`` (``"time"``,
    ``hit=False``); a ``time_exit_index`` past the end of the data means the last
    valid value. No valid value in the window gives ``"no_data"``.

    ``target_profit`` and ``stop_loss`` are positive per-share amounts
    (``math.inf`` disables one). Zero is accepted too (a break-even target or
    stop); it is the only way both conditions can hold on one minute (P&L == 0
    with both thresholds 0), and then the stop wins. P&L is rounded to 1e-9 before
    the comparisons so that float noise cannot move a threshold.
    """
    entry = float(entry_net)
    if not math.isfinite(entry):
        raise ValueError(f"entry_net must be finite, got {entry_net!r}")
    target = float(target_profit)
    stop = float(stop_loss)
    if math.isnan(target) or target < 0.0:
        raise ValueError(f"target_profit must be >= 0, got {target_profit!r}")
    if math.isnan(stop) or stop < 0.0:
        raise ValueError(f"stop_loss must be >= 0, got {stop_loss!r}")
    if (
        isinstance(time_exit_index, bool)
        or not isinstance(time_exit_index, numbers.Integral)
        or time_exit_index < 0
    ):
        raise ValueError(f"time_exit_index must be a non-negative integer, got {time_exit_index!r}")
    values = np.asarray(closing_values, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"closing_values must be one-dimensional, got shape {values.shape}")

    last = min(int(time_exit_index), values.size - 1)
    last_valid: tuple[int, float] | None = None
    for i in range(last + 1):
        value = float(values[i])
        if not math.isfinite(value):
            continue
        pnl = round(value - entry, _NOISE_DECIMALS) + 0.0
        if pnl <= -stop:
            return ExitOutcome(hit=False, reason="stop", index=i, pnl=pnl)
        if pnl >= target:
            return ExitOutcome(hit=True, reason="target", index=i, pnl=pnl)
        last_valid = (i, pnl)
    if last_valid is None:
        return ExitOutcome(hit=False, reason="no_data", index=None, pnl=None)
    return ExitOutcome(hit=False, reason="time", index=last_valid[0], pnl=last_valid[1])
