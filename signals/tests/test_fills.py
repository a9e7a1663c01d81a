"""Tests of signals.engine.fills: the ORATS fill rule, package fills and exits.

Every expected price is computed by hand in the comments.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from signals.engine.fills import (
    SLIPPAGE_BY_LEG_COUNT,
    ExitOutcome,
    UnfillableQuote,
    fill_price,
    first_exit,
    liquidation_value,
    package_fill,
    slippage_fraction,
)

# --- slippage schedule --------------------------------------------------------------


def test_slippage_schedule() -> None:
    assert SLIPPAGE_BY_LEG_COUNT == {1: 0.75, 2: 0.66, 3: 0.56, 4: 0.53}
    assert slippage_fraction(1) == 0.75
    assert slippage_fraction(2) == 0.66
    assert slippage_fraction(3) == 0.56
    assert slippage_fraction(4) == 0.53
    assert slippage_fraction(6) == 0.53
    assert slippage_fraction(2, pessimistic=True) == 1.0


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_slippage_rejects_bad_leg_count(bad: object) -> None:
    with pytest.raises(ValueError):
        slippage_fraction(bad)  # type: ignore[arg-type]


# --- fill_price -----------------------------------------------------------------------

# Quote 1.00 / 1.10, spread 0.10:
#   legs  s     buy = 1.00 + s·0.10  → up      sell = 1.10 − s·0.10 → down
#   1     0.75  1.075                → 1.08    1.025                → 1.02
#   2     0.66  1.066                → 1.07    1.034                → 1.03
#   3     0.56  1.056                → 1.06    1.044                → 1.04
#   4     0.53  1.053                → 1.06    1.047                → 1.04
#   5     0.53  (as four legs)       → 1.06                         → 1.04


@pytest.mark.parametrize(
    ("leg_count", "buy", "sell"),
    [(1, 1.08, 1.02), (2, 1.07, 1.03), (3, 1.06, 1.04), (4, 1.06, 1.04), (5, 1.06, 1.04)],
)
def test_fill_price_by_leg_count(leg_count: int, buy: float, sell: float) -> None:
    assert fill_price("buy", 1.00, 1.10, leg_count=leg_count) == buy
    assert fill_price("sell", 1.00, 1.10, leg_count=leg_count) == sell


def test_fill_price_pessimistic_crosses_the_spread() -> None:
    assert fill_price("buy", 1.00, 1.10, leg_count=1, pessimistic=True) == 1.10
    assert fill_price("sell", 1.00, 1.10, leg_count=4, pessimistic=True) == 1.00


def test_fill_price_on_an_exact_cent_is_not_bumped_by_float_noise() -> None:
    # 2.00 + 0.75 × 0.20 = 2.15 exactly (in floats 215.00000000000003 cents): stays 2.15.
    assert fill_price("buy", 2.00, 2.20, leg_count=1) == 2.15
    # 2.20 − 0.75 × 0.20 = 2.05 exactly: stays 2.05.
    assert fill_price("sell", 2.00, 2.20, leg_count=1) == 2.05
    # 0.40 + 0.66 × 0.50 = 0.73 exactly.
    assert fill_price("buy", 0.40, 0.90, leg_count=2) == 0.73


def test_fill_price_one_tick_quote_with_zero_bid_is_buyable() -> None:
    # 0.00 / 0.01: 0.75 × 0.01 = 0.0075 → up to 0.01 (the ask).
    assert fill_price("buy", 0.00, 0.01, leg_count=1) == 0.01
    assert fill_price("buy", 0.0, 0.05, leg_count=2) == 0.04  # 0.033 → 0.04


def test_fill_price_stays_inside_a_sub_penny_quote() -> None:
    # 1.000 / 1.005: buy 1.00375 rounds up to 1.01 but is capped at the ask 1.005;
    # sell 1.00125 rounds down to 1.00 = the bid.
    assert fill_price("buy", 1.000, 1.005, leg_count=1) == 1.005
    assert fill_price("sell", 1.000, 1.005, leg_count=1) == 1.00


@pytest.mark.parametrize(
    ("action", "bid", "ask", "words"),
    [
        ("buy", None, 1.10, "missing bid"),
        ("buy", 1.00, None, "missing ask"),
        ("sell", math.nan, 1.10, "missing bid"),
        ("buy", 1.00, math.nan, "missing ask"),
        ("buy", 1.00, math.inf, "missing ask"),
        ("buy", 1.10, 1.00, "crossed"),
        ("sell", 1.10, 1.00, "crossed"),
        ("buy", 1.00, 1.00, "locked"),
        ("sell", 1.00, 1.00, "locked"),
        ("buy", 0.00, 0.00, "locked"),
        ("sell", 0.00, 0.05, "one-sided"),
        ("buy", -0.01, 0.05, "negative bid"),
        ("sell", 0.05, -0.01, "negative ask"),
    ],
)
def test_fill_price_unfillable(
    action: str, bid: float | None, ask: float | None, words: str
) -> None:
    with pytest.raises(UnfillableQuote, match=words) as info:
        fill_price(action, bid, ask, leg_count=1)
    assert isinstance(info.value, ValueError)
    assert info.value.leg_index is None
    assert words in info.value.reason


def test_fill_price_rejects_unknown_action() -> None:
    with pytest.raises(ValueError) as info:
        fill_price("short", 1.00, 1.10, leg_count=1)
    assert not isinstance(info.value, UnfillableQuote)


# --- package_fill ---------------------------------------------------------------------


def test_bull_call_spread_package_fill() -> None:
    # Two legs, s = 0.66.
    # Buy 100C at 3.40 / 3.60: 3.40 + 0.66 × 0.20 = 3.532 → 3.54.
    # Sell 105C at 0.90 / 1.00: 1.00 − 0.66 × 0.10 = 0.934 → 0.93.
    # Net debit = 3.54 − 0.93 = 2.61.
    fills, net = package_fill(["buy", "sell"], [3.40, 0.90], [3.60, 1.00])
    assert fills == [3.54, 0.93]
    assert net == 2.61


def test_iron_condor_package_fill() -> None:
    # Four legs, s = 0.53 (0.53 × 0.10 = 0.053).
    # Buy 95P at 0.25 / 0.35: 0.303 → 0.31.     Sell 100P at 0.95 / 1.05: 0.997 → 0.99.
    # Sell 110C at 0.75 / 0.85: 0.797 → 0.79.   Buy 115C at 0.25 / 0.35: 0.303 → 0.31.
    # Net = 0.31 − 0.99 − 0.79 + 0.31 = −1.16 (credit received).
    fills, net = package_fill(
        ["buy", "sell", "sell", "buy"],
        [0.25, 0.95, 0.75, 0.25],
        [0.35, 1.05, 0.85, 0.35],
    )
    assert fills == [0.31, 0.99, 0.79, 0.31]
    assert net == -1.16


def test_iron_condor_package_fill_pessimistic() -> None:
    # Buys at the ask, sells at the bid: 0.35 − 0.95 − 0.75 + 0.35 = −1.00.
    fills, net = package_fill(
        ["buy", "sell", "sell", "buy"],
        [0.25, 0.95, 0.75, 0.25],
        [0.35, 1.05, 0.85, 0.35],
        pessimistic=True,
    )
    assert fills == [0.35, 0.95, 0.75, 0.35]
    assert net == -1.0


def test_package_fill_weights_quantities() -> None:
    # 1x2 ratio: buy 1 at 2.00 / 2.20 (s = 0.66: 2.132 → 2.14), sell 2 at 0.50 / 0.60
    # (0.534 → 0.53). Net = 2.14 − 2 × 0.53 = 1.08.
    fills, net = package_fill(["buy", "sell"], [2.00, 0.50], [2.20, 0.60], quantities=[1, 2])
    assert fills == [2.14, 0.53]
    assert net == 1.08


def test_package_fill_is_all_or_none_and_names_the_leg() -> None:
    with pytest.raises(UnfillableQuote, match="leg 2: crossed") as info:
        package_fill(
            ["buy", "sell", "sell", "buy"],
            [0.25, 0.95, 0.90, 0.25],
            [0.35, 1.05, 0.85, 0.35],
        )
    assert info.value.leg_index == 2
    assert "crossed" in info.value.reason
    with pytest.raises(UnfillableQuote, match="leg 1: missing bid"):
        package_fill(["buy", "sell"], [3.40, None], [3.60, 1.00])


def test_package_fill_rejects_malformed_packages() -> None:
    with pytest.raises(ValueError):
        package_fill([], [], [])
    with pytest.raises(ValueError):
        package_fill(["buy", "sell"], [1.0], [1.1, 1.2])
    with pytest.raises(ValueError):
        package_fill(["buy"], [1.0], [1.1], quantities=[0])
    with pytest.raises(ValueError):
        package_fill(["buy"], [1.0], [1.1], quantities=[1, 1])
    with pytest.raises(ValueError):
        package_fill(["hold"], [1.0], [1.1])


# --- liquidation_value ----------------------------------------------------------------


def test_liquidation_value_of_bull_call_spread() -> None:
    # Close: sell the long 100C at 3.40 / 3.60: 3.60 − 0.132 = 3.468 → 3.46 received;
    # buy back the short 105C at 0.90 / 1.00: 0.90 + 0.066 = 0.966 → 0.97 paid.
    # Cash = 3.46 − 0.97 = +2.49.
    assert liquidation_value(["buy", "sell"], [3.40, 0.90], [3.60, 1.00]) == 2.49


def test_liquidation_value_of_iron_condor() -> None:
    # Close (s = 0.53): sell 95P 0.35 − 0.053 = 0.297 → 0.29; buy 100P 0.95 + 0.053 =
    # 1.003 → 1.01; buy 110C 0.803 → 0.81; sell 115C → 0.29.
    # Cash = 0.29 − 1.01 − 0.81 + 0.29 = −1.24 (paid to close the credit package).
    value = liquidation_value(
        ["buy", "sell", "sell", "buy"],
        [0.25, 0.95, 0.75, 0.25],
        [0.35, 1.05, 0.85, 0.35],
    )
    assert value == -1.24


def test_liquidation_value_pessimistic_and_quantities() -> None:
    # Pessimistic close of a 1x2: sell 1 at the bid 2.00, buy 2 at the ask 0.60:
    # 2.00 − 1.20 = 0.80.
    value = liquidation_value(
        ["buy", "sell"], [2.00, 0.50], [2.20, 0.60], quantities=[1, 2], pessimistic=True
    )
    assert value == 0.8


def test_liquidation_value_long_leg_with_zero_bid_is_unfillable() -> None:
    # The long 95P wing is bid 0.00: closing it is a sell into no buyer.
    with pytest.raises(UnfillableQuote, match="leg 0: one-sided"):
        liquidation_value(
            ["buy", "sell", "sell", "buy"],
            [0.00, 0.95, 0.75, 0.25],
            [0.05, 1.05, 0.85, 0.35],
        )
    # A short leg at 0.00 / 0.05 is fine to buy back: 0.75 × 0.05 = 0.0375 → 0.04 paid.
    assert liquidation_value(["sell"], [0.00], [0.05]) == -0.04


# --- first_exit -----------------------------------------------------------------------


def test_first_exit_target_first() -> None:
    # Debit 1.20; target 0.50, stop 0.80. P&L: 0.10, −0.30, 0.50 (1.70 − 1.20, which is
    # 0.49999999999999956 in floats: still the target), then a later stop is ignored.
    values = [1.30, 0.90, 1.70, 0.10]
    out = first_exit(1.20, values, target_profit=0.50, stop_loss=0.80, time_exit_index=3)
    assert out == ExitOutcome(hit=True, reason="target", index=2, pnl=0.5)


def test_first_exit_stop_first() -> None:
    # Debit 2.00; P&L −0.10, −0.90 (≤ −0.80: stop) before +0.60.
    values = [1.90, 1.10, 2.60]
    out = first_exit(2.00, values, target_profit=0.50, stop_loss=0.80, time_exit_index=2)
    assert not out.hit and out.reason == "stop" and out.index == 1
    assert out.pnl == pytest.approx(-0.90)


def test_first_exit_stop_exactly_at_threshold() -> None:
    # 1.20 − 2.00 = −0.80 exactly (−0.8000000000000000 after rounding): a stop.
    out = first_exit(2.00, [1.95, 1.20], target_profit=0.50, stop_loss=0.80, time_exit_index=1)
    assert out.reason == "stop" and out.index == 1 and out.pnl == -0.8


def test_first_exit_both_on_same_minute_stop_wins() -> None:
    # With a break-even target and a break-even stop (both 0), a flat minute (P&L 0)
    # satisfies both P&L >= 0 and P&L <= −0: the stop wins.
    out = first_exit(1.00, [1.00, 1.50], target_profit=0.0, stop_loss=0.0, time_exit_index=1)
    assert out == ExitOutcome(hit=False, reason="stop", index=0, pnl=0.0)


def test_first_exit_time_exit() -> None:
    # Never reaches ±thresholds by index 3; the target at index 4 is after the time exit.
    values = [2.10, 1.90, 2.20, 2.30, 3.00]
    out = first_exit(2.00, values, target_profit=0.50, stop_loss=0.80, time_exit_index=3)
    assert not out.hit and out.reason == "time" and out.index == 3
    assert out.pnl == pytest.approx(0.30)


def test_first_exit_skips_nan_gaps() -> None:
    # NaN minutes are skipped: the target at index 3 is found past the gap; a NaN that
    # would have been a stop cannot trigger anything.
    values = [math.nan, 2.10, math.nan, 2.60, 0.00]
    out = first_exit(2.00, values, target_profit=0.50, stop_loss=0.80, time_exit_index=4)
    assert out.reason == "target" and out.index == 3 and out.pnl == pytest.approx(0.60)
    # A NaN at the time exit falls back to the last valid value before it (index 2).
    values = [math.nan, 2.10, 2.20, math.nan, math.nan]
    out = first_exit(2.00, values, target_profit=0.50, stop_loss=0.80, time_exit_index=3)
    assert out.reason == "time" and out.index == 2 and out.pnl == pytest.approx(0.20)


def test_first_exit_no_data() -> None:
    expected = ExitOutcome(hit=False, reason="no_data", index=None, pnl=None)
    assert first_exit(2.0, [math.nan] * 3, target_profit=0.5, stop_loss=0.8, time_exit_index=2) == (
        expected
    )
    assert first_exit(2.0, [], target_profit=0.5, stop_loss=0.8, time_exit_index=0) == expected
    # Valid values only after the time exit do not count.
    values = [math.nan, math.nan, 2.6]
    assert first_exit(2.0, values, target_profit=0.5, stop_loss=0.8, time_exit_index=1) == (
        expected
    )


def test_first_exit_credit_package() -> None:
    # Credit 1.20 (entry_net −1.20); closing values are what it costs to buy back (−).
    # P&L = value + 1.20: −0.10, 0.30, 0.60 (≥ 0.50: target at index 2).
    values = np.array([-1.30, -0.90, -0.60, -0.10])
    out = first_exit(-1.20, values, target_profit=0.50, stop_loss=1.00, time_exit_index=3)
    assert out.reason == "target" and out.index == 2 and out.pnl == pytest.approx(0.60)
    # Buying back at −2.50: P&L −1.30 ≤ −1.00, a stop.
    out = first_exit(-1.20, [-1.30, -2.50], target_profit=0.50, stop_loss=1.00, time_exit_index=1)
    assert out.reason == "stop" and out.index == 1 and out.pnl == pytest.approx(-1.30)


def test_first_exit_time_index_past_the_data_uses_last_valid() -> None:
    out = first_exit(2.0, [2.1, 2.2], target_profit=0.5, stop_loss=0.8, time_exit_index=10)
    assert out.reason == "time" and out.index == 1 and out.pnl == pytest.approx(0.2)


def test_first_exit_uses_liquidation_values() -> None:
    # End to end: open the bull call spread at 2.61 (see test_bull_call_spread_package_fill)
    # and value it each minute with liquidation_value.
    entry = package_fill(["buy", "sell"], [3.40, 0.90], [3.60, 1.00])[1]
    quotes = [
        ([3.40, 0.90], [3.60, 1.00]),  # 2.49: P&L −0.12
        ([3.90, 0.70], [4.10, 0.80]),  # sell 3.968 → 3.96; buy 0.766 → 0.77: 3.19, P&L 0.58
        ([4.20, 0.60], [4.40, 0.70]),  # sell 4.268 → 4.26; buy 0.666 → 0.67: 3.59, P&L 0.98
    ]
    values = [liquidation_value(["buy", "sell"], b, a) for b, a in quotes]
    assert values == [2.49, pytest.approx(3.19), pytest.approx(3.59)]
    out = first_exit(entry, values, target_profit=0.75, stop_loss=1.00, time_exit_index=2)
    assert out.reason == "target" and out.index == 2 and out.pnl == pytest.approx(0.98)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"target_profit": -0.5, "stop_loss": 0.8, "time_exit_index": 1},
        {"target_profit": 0.5, "stop_loss": -0.8, "time_exit_index": 1},
        {"target_profit": math.nan, "stop_loss": 0.8, "time_exit_index": 1},
        {"target_profit": 0.5, "stop_loss": 0.8, "time_exit_index": -1},
    ],
)
def test_first_exit_rejects_bad_parameters(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        first_exit(2.0, [2.1, 2.2], **kwargs)  # type: ignore[arg-type]
