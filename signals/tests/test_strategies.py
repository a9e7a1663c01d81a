"""Tests of signals.engine.strategies: the choice table, the legs picked by delta on a
synthetic Black-Scholes chain, their exact risk (via signals.engine.payoff) and quotes.

The chain's deltas are computed here with scipy.stats.norm, independently of the module.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from signals.engine.payoff import Leg, risk_metrics
from signals.engine.strategies import (
    LEG_DELTAS,
    STRATEGIES,
    ChainSide,
    build_legs,
    choose_strategy,
    leg_quotes,
)

# --- choose_strategy ------------------------------------------------------------------

REGIMES = ("low_volatility", "normal", "high_volatility", "extreme_volatility", None)
NEUTRAL = {
    "low_volatility": "long_straddle",
    "normal": "iron_condor",
    "high_volatility": "iron_butterfly",
    "extreme_volatility": "long_strangle",
    None: "iron_condor",  # a missing regime counts as normal
}


@pytest.mark.parametrize("regime", REGIMES)
def test_choose_strategy_table(regime: str | None) -> None:
    assert choose_strategy("bullish", regime) == "bull_call_spread"
    assert choose_strategy("bearish", regime) == "bear_put_spread"
    assert choose_strategy("neutral", regime) == NEUTRAL[regime]


def test_choose_strategy_covers_every_strategy() -> None:
    chosen = {choose_strategy(s, r) for s in ("bullish", "bearish", "neutral") for r in REGIMES}
    assert chosen == set(STRATEGIES)


@pytest.mark.parametrize("signal_type", ["", "Bullish", "up", "long", "none"])
def test_choose_strategy_unknown_signal_type_raises(signal_type: str) -> None:
    with pytest.raises(ValueError, match="unknown signal type"):
        choose_strategy(signal_type, "normal")


# --- a synthetic chain ----------------------------------------------------------------
#
# Strikes 90..110 step 1, spot 100.2, sigma 0.2, r = 0, t = 25/365 (sigma √t ≈ 0.0523,
# which spreads the deltas so every target falls on its own strike). Black-Scholes
# call delta N(d1), put delta N(d1) − 1, d1 = (ln(S/K) + sigma² t / 2) / (sigma √t):
#
#   K     call    put          K     call    put
#   92   0.9513 −0.0487       101   0.4500 −0.5500
#   93   0.9266 −0.0734       102   0.3768 −0.6232
#   94   0.8937 −0.1063       103   0.3084 −0.6916
#   95   0.8518 −0.1482       104   0.2467 −0.7533
#   96   0.8007 −0.1993       105   0.1928 −0.8072
#   97   0.7409 −0.2591       106   0.1471 −0.8529
#   98   0.6738 −0.3262       107   0.1097 −0.8903
#   99   0.6012 −0.3988       108   0.0799 −0.9201
#  100   0.5257 −0.4743       109   0.0568 −0.9432
#
# ATM = 100 (|100.2 − 100| = 0.2 is the least distance).
# Calls above 100: 0.30 -> 103 (|0.3084−0.30| = 0.008), 0.25 -> 104 (0.003),
#   0.20 -> 105 (0.007), 0.15 -> 106 (0.003); 0.08 beyond 105 -> 108 (0.0001).
# Puts below 100:  0.30 -> 98 (0.026 vs 97: 0.041), 0.25 -> 97 (0.009),
#   0.20 -> 96 (0.0007), 0.15 -> 95 (0.002); 0.08 beyond 96 -> 93 (0.007 vs 92: 0.031).

STRIKES = np.arange(90.0, 111.0)
SPOT = 100.2
SIGMA = 0.2
T_YEARS = 25.0 / 365.0


def _deltas(spot: float = SPOT) -> tuple[np.ndarray, np.ndarray]:
    d1 = (np.log(spot / STRIKES) + 0.5 * SIGMA**2 * T_YEARS) / (SIGMA * math.sqrt(T_YEARS))
    call = norm.cdf(d1)
    return call, call - 1.0


# arbitrary positive quotes: calls bid 0.05 + 0.01 i, puts bid 0.07 + 0.02 i (i the
# strike's index, 0 for 90), each ask 0.10 above its bid
CALL_BID = 0.05 + 0.01 * np.arange(STRIKES.size)
PUT_BID = 0.07 + 0.02 * np.arange(STRIKES.size)


def _chain(
    call_bid: np.ndarray = CALL_BID, put_bid: np.ndarray = PUT_BID
) -> tuple[ChainSide, ChainSide]:
    call_delta, put_delta = _deltas()
    calls = ChainSide(STRIKES, call_delta, call_bid, call_bid + 0.10)
    puts = ChainSide(STRIKES, put_delta, put_bid, put_bid + 0.10)
    return calls, puts


def test_chain_deltas_as_tabulated() -> None:
    call, put = _deltas()
    at = {k: i for i, k in enumerate(STRIKES)}
    assert call[at[104.0]] == pytest.approx(0.2467, abs=1e-4)
    assert call[at[108.0]] == pytest.approx(0.0799, abs=1e-4)
    assert put[at[96.0]] == pytest.approx(-0.1993, abs=1e-4)
    assert put[at[93.0]] == pytest.approx(-0.0734, abs=1e-4)
    assert LEG_DELTAS == {
        "vertical_short": 0.25,
        "condor_short": 0.20,
        "condor_wing": 0.08,
        "butterfly_wing": 0.15,
        "strangle": 0.30,
    }


EXPECTED_LEGS = {
    "bull_call_spread": [Leg("buy", "call", 100.0), Leg("sell", "call", 104.0)],
    "bear_put_spread": [Leg("buy", "put", 100.0), Leg("sell", "put", 97.0)],
    "iron_condor": [
        Leg("buy", "put", 93.0),
        Leg("sell", "put", 96.0),
        Leg("sell", "call", 105.0),
        Leg("buy", "call", 108.0),
    ],
    "iron_butterfly": [
        Leg("buy", "put", 95.0),
        Leg("sell", "put", 100.0),
        Leg("sell", "call", 100.0),
        Leg("buy", "call", 106.0),
    ],
    "long_straddle": [Leg("buy", "call", 100.0), Leg("buy", "put", 100.0)],
    "long_strangle": [Leg("buy", "put", 98.0), Leg("buy", "call", 103.0)],
}


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_build_legs_strikes_actions_and_order(strategy: str) -> None:
    calls, puts = _chain()
    legs = build_legs(strategy, SPOT, calls, puts)
    assert legs == EXPECTED_LEGS[strategy]
    assert all(leg.quantity == 1 for leg in legs)


def test_build_legs_atm_is_nearest_strike() -> None:
    # spot 100.6 -> ATM 101; the straddle sits there
    calls, puts = _chain()
    assert build_legs("long_straddle", 100.6, calls, puts) == [
        Leg("buy", "call", 101.0),
        Leg("buy", "put", 101.0),
    ]


def test_build_legs_unknown_strategy_raises() -> None:
    calls, puts = _chain()
    with pytest.raises(ValueError, match="unknown strategy"):
        build_legs("calendar_spread", SPOT, calls, puts)


# --- the risk of each built package (prices picked per leg, figures by hand) ----------
#
# bull call 100/104 at 2.50 / 0.70: debit 1.80; max loss 1.80·100 = 180;
#   max profit (4 − 1.80)·100 = 220; break-even 100 + 1.80 = 101.80.
# bear put 100/97 at 2.30 / 0.60: debit 1.70; max loss 170; max profit (3 − 1.70)·100
#   = 130; break-even 100 − 1.70 = 98.30.
# iron condor 93/96/105/108 at 0.15 / 0.55 / 0.65 / 0.20: credit 0.55 + 0.65 − 0.15
#   − 0.20 = 0.85; max profit 85; both wings 3 wide: max loss (3 − 0.85)·100 = 215;
#   break-evens 96 − 0.85 = 95.15 and 105 + 0.85 = 105.85.
# iron butterfly 95/100/100/106 at 0.40 / 2.30 / 2.50 / 0.30: credit 2.30 + 2.50 − 0.40
#   − 0.30 = 4.10; max profit 410; put wing 5 wide (loss 0.90), call wing 6 wide
#   (loss 1.90): max loss 190; break-evens 100 ∓ 4.10 = 95.90, 104.10.
# long straddle 100 at 2.50 + 2.30 = 4.80 debit: max loss 480, profit unlimited;
#   break-evens 95.20 and 104.80.
# long strangle 98P / 103C at 1.20 + 1.10 = 2.30 debit: max loss 230, profit unlimited;
#   break-evens 98 − 2.30 = 95.70 and 103 + 2.30 = 105.30.
RISK = {
    "bull_call_spread": ([2.50, 0.70], 1.80, 180.0, 220.0, (101.80,)),
    "bear_put_spread": ([2.30, 0.60], 1.70, 170.0, 130.0, (98.30,)),
    "iron_condor": ([0.15, 0.55, 0.65, 0.20], -0.85, 215.0, 85.0, (95.15, 105.85)),
    "iron_butterfly": ([0.40, 2.30, 2.50, 0.30], -4.10, 190.0, 410.0, (95.90, 104.10)),
    "long_straddle": ([2.50, 2.30], 4.80, 480.0, None, (95.20, 104.80)),
    "long_strangle": ([1.20, 1.10], 2.30, 230.0, None, (95.70, 105.30)),
}


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_built_legs_risk_metrics(strategy: str) -> None:
    calls, puts = _chain()
    legs = build_legs(strategy, SPOT, calls, puts)
    assert legs is not None
    prices, net, max_loss, max_profit, break_evens = RISK[strategy]
    metrics = risk_metrics(legs, prices)
    assert metrics.net_premium == pytest.approx(net, abs=1e-9)
    assert metrics.max_loss == pytest.approx(max_loss, abs=1e-6)
    if max_profit is None:
        assert metrics.max_profit is None
        assert metrics.unlimited_profit
    else:
        assert metrics.max_profit == pytest.approx(max_profit, abs=1e-6)
        assert not metrics.unlimited_profit
    assert not metrics.unlimited_loss  # every package here has a bounded loss
    assert metrics.break_evens == pytest.approx(break_evens, abs=1e-6)


# --- the protected strike, the bid rule, a chain without a strike beyond -----------


def test_short_strike_strictly_beyond_atm() -> None:
    # the 0.25 call delta sits AT the money (100): the short must still be above it
    strikes = [99.0, 100.0, 101.0, 102.0]
    calls = ChainSide(strikes, [0.40, 0.25, 0.12, 0.05], [1.0] * 4, [1.1] * 4)
    puts = ChainSide(strikes, [-0.60, -0.25, -0.88, -0.95], [1.0] * 4, [1.1] * 4)
    assert build_legs("bull_call_spread", 100.0, calls, puts) == [
        Leg("buy", "call", 100.0),
        Leg("sell", "call", 101.0),  # 0.12 is the nearest to 0.25 above 100
    ]
    assert build_legs("bear_put_spread", 100.0, calls, puts) == [
        Leg("buy", "put", 100.0),
        Leg("sell", "put", 99.0),  # the only strike below 100
    ]


def test_condor_wing_strictly_beyond_short() -> None:
    # calls: 0.20 -> 101 (above ATM 100). Of all the calls, 101 itself (|0.20 − 0.08| =
    # 0.12) is the nearest to the 0.08 wing target, but the wing must be strictly above
    # 101: 102 (|0.30 − 0.08| = 0.22) beats 103 (|0.50 − 0.08| = 0.42). Non-monotone
    # deltas, impossible on a real chain, isolate the rule.
    strikes = [97.0, 98.0, 99.0, 100.0, 101.0, 102.0, 103.0]
    calls = ChainSide(strikes, [0.9, 0.8, 0.7, 0.5, 0.2, 0.30, 0.50], [1.0] * 7, [1.1] * 7)
    puts = ChainSide(strikes, [-0.5, -0.3, -0.2, -0.5, -0.8, -0.9, -0.95], [1.0] * 7, [1.1] * 7)
    # puts: 0.20 -> 99 (99 itself is again nearest 0.08); wing below 99: 98 (|0.3 − 0.08|
    # = 0.22) vs 97 (0.42) -> 98
    assert build_legs("iron_condor", 100.0, calls, puts) == [
        Leg("buy", "put", 98.0),
        Leg("sell", "put", 99.0),
        Leg("sell", "call", 101.0),
        Leg("buy", "call", 102.0),
    ]


def test_short_leg_needs_a_bid() -> None:
    # no bid on the 104 and 105 calls: the 0.25 short moves to 103 (|0.3084 − 0.25| =
    # 0.058, vs 106: 0.103)
    call_bid = CALL_BID.copy()
    call_bid[[14, 15]] = 0.0  # strikes 104, 105
    calls, puts = _chain(call_bid=call_bid)
    assert build_legs("bull_call_spread", SPOT, calls, puts) == [
        Leg("buy", "call", 100.0),
        Leg("sell", "call", 103.0),
    ]
    # the condor's 0.20 short call moves to 106 (|0.1471 − 0.20| = 0.053 vs 103: 0.108)
    # and its wing beyond 106 stays 108
    legs = build_legs("iron_condor", SPOT, calls, puts)
    assert legs is not None
    assert [leg.strike for leg in legs] == [93.0, 96.0, 106.0, 108.0]
    # a bought leg needs no bid: the strangle is unchanged
    assert build_legs("long_strangle", SPOT, calls, puts) == EXPECTED_LEGS["long_strangle"]


def test_no_bid_anywhere_beyond_gives_none() -> None:
    call_bid = np.where(STRIKES > 100.0, 0.0, CALL_BID)
    calls, puts = _chain(call_bid=call_bid)
    assert build_legs("bull_call_spread", SPOT, calls, puts) is None
    assert build_legs("iron_condor", SPOT, calls, puts) is None
    # the butterfly buys its call wing (no bid needed) and sells the ATM call (bid 0.15)
    assert build_legs("iron_butterfly", SPOT, calls, puts) == EXPECTED_LEGS["iron_butterfly"]


def test_butterfly_needs_a_bid_at_the_money() -> None:
    put_bid = PUT_BID.copy()
    put_bid[10] = 0.0  # the 100 put
    calls, puts = _chain(put_bid=put_bid)
    assert build_legs("iron_butterfly", SPOT, calls, puts) is None


def test_condor_on_three_strikes_is_none() -> None:
    # ATM 100, shorts 99 and 101, and no strike beyond them for the wings
    strikes = [99.0, 100.0, 101.0]
    calls = ChainSide(strikes, [0.7, 0.5, 0.2], [1.0] * 3, [1.1] * 3)
    puts = ChainSide(strikes, [-0.2, -0.5, -0.7], [1.0] * 3, [1.1] * 3)
    assert build_legs("iron_condor", 100.0, calls, puts) is None
    # the verticals and the strangle still fit on three strikes
    assert build_legs("bull_call_spread", 100.0, calls, puts) == [
        Leg("buy", "call", 100.0),
        Leg("sell", "call", 101.0),
    ]
    assert build_legs("long_strangle", 100.0, calls, puts) == [
        Leg("buy", "put", 99.0),
        Leg("buy", "call", 101.0),
    ]


def test_nothing_beyond_the_top_strike_is_none() -> None:
    # spot at the top of the chain: nothing above the ATM strike 110
    calls, puts = _chain()
    for strategy in ("bull_call_spread", "iron_condor", "iron_butterfly", "long_strangle"):
        assert build_legs(strategy, 115.0, calls, puts) is None, strategy
    assert build_legs("long_straddle", 115.0, calls, puts) == [
        Leg("buy", "call", 110.0),
        Leg("buy", "put", 110.0),
    ]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_fewer_than_three_strikes_is_none(strategy: str) -> None:
    side = ChainSide([100.0, 101.0], [0.5, 0.25], [1.0, 1.0], [1.1, 1.1])
    assert build_legs(strategy, 100.0, side, side) is None


# --- leg_quotes -----------------------------------------------------------------------


def test_leg_quotes_from_the_right_side() -> None:
    calls, puts = _chain()
    legs = EXPECTED_LEGS["iron_condor"]  # 93P, 96P, 105C, 108C
    bids, asks = leg_quotes(legs, calls, puts)
    # puts bid 0.07 + 0.02 i: 93 (i 3) 0.13, 96 (i 6) 0.19;
    # calls bid 0.05 + 0.01 i: 105 (i 15) 0.20, 108 (i 18) 0.23; asks 0.10 higher.
    np.testing.assert_allclose(bids, [0.13, 0.19, 0.20, 0.23], atol=1e-12)
    np.testing.assert_allclose(asks, [0.23, 0.29, 0.30, 0.33], atol=1e-12)


def test_leg_quotes_missing_strike_is_nan() -> None:
    calls, puts = _chain()
    legs = [Leg("buy", "call", 100.5), Leg("sell", "put", 100.0), Leg("buy", "put", 120.0)]
    bids, asks = leg_quotes(legs, calls, puts)
    assert math.isnan(bids[0]) and math.isnan(asks[0])
    # the 100 put (i 10): bid 0.07 + 0.20 = 0.27, ask 0.37
    assert bids[1] == pytest.approx(0.27, abs=1e-12)
    assert asks[1] == pytest.approx(0.37, abs=1e-12)
    assert math.isnan(bids[2]) and math.isnan(asks[2])
    assert bids.shape == asks.shape == (3,)
