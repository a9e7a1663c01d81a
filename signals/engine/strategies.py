"""Which 0DTE strategy a signal proposes, and its legs on the live chain. Pure numpy.

**Choice** (:func:`choose_strategy`), from the signal's direction and the VIX regime:

* bullish: a bull call spread; bearish: a bear put spread (a debit put spread: buy the
  higher strike, sell the lower). A vertical caps the loss at the debit in every regime.
* neutral, by regime: the premium a range day pays is worth selling when it is fair or
  rich, and worth buying when it is cheap or the tape is extreme:

  ======================  ================  =========================================
  regime                  strategy          why
  ======================  ================  =========================================
  ``low_volatility``      long straddle     options are cheap; a quiet open breaks out
  ``normal``              iron condor       sell the wings of a fairly priced range
  ``high_volatility``     iron butterfly    rich at-the-money premium, sold with wings
  ``extreme_volatility``  long strangle     moves outrun even rich premium
  ======================  ================  =========================================

**Legs** (:func:`build_legs`), by delta on the chain (|delta| of the option, a fraction):
the at-the-money strike is the one nearest the spot; spreads sell the 0.25 delta; the
condor sells the 0.20 deltas and buys the 0.08 deltas; the butterfly sells the
at-the-money straddle and buys the 0.15 deltas; the strangle buys the 0.30 deltas.
A wing or short strike is always at least one strike beyond the strike it protects, and
a leg to sell is only placed where somebody bids for it (bid > 0): late in a 0DTE
session the 0.25 delta can sit next to the money with a zero bid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from signals.engine.payoff import Leg

__all__ = [
    "LEG_DELTAS",
    "STRATEGIES",
    "ChainSide",
    "build_legs",
    "choose_strategy",
    "leg_quotes",
]

FloatArray = NDArray[np.float64]

STRATEGIES = (
    "bull_call_spread",
    "bear_put_spread",
    "iron_condor",
    "iron_butterfly",
    "long_straddle",
    "long_strangle",
)
NEUTRAL_BY_REGIME = {
    "low_volatility": "long_straddle",
    "normal": "iron_condor",
    "high_volatility": "iron_butterfly",
    "extreme_volatility": "long_strangle",
}
#: Target |delta| of each role.
LEG_DELTAS = {
    "vertical_short": 0.25,
    "condor_short": 0.20,
    "condor_wing": 0.08,
    "butterfly_wing": 0.15,
    "strangle": 0.30,
}


@dataclass(frozen=True)
class ChainSide:
    """One side (calls or puts) of a chain: strikes ascending, with delta, bid and ask."""

    strikes: ArrayLike
    delta: ArrayLike
    bid: ArrayLike
    ask: ArrayLike

    def arrays(self) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        return tuple(
            np.asarray(a, dtype=np.float64) for a in (self.strikes, self.delta, self.bid, self.ask)
        )  # type: ignore[return-value]


def choose_strategy(signal_type: str, regime_type: str | None) -> str:
    """The strategy of the module docstring's table (a missing regime counts as normal)."""
    if signal_type == "bullish":
        return "bull_call_spread"
    if signal_type == "bearish":
        return "bear_put_spread"
    if signal_type != "neutral":
        raise ValueError(f"unknown signal type {signal_type!r}")
    return NEUTRAL_BY_REGIME.get(regime_type or "normal", "iron_condor")


def _pick(
    side: ChainSide, target: float, beyond: float, *, above: bool, sell: bool
) -> float | None:
    """The strike strictly above (or below) ``beyond`` whose |delta| is nearest ``target``;
    for a leg to sell, only strikes somebody bids for (bid > 0). None where there is none."""
    strikes, delta, bid, _ = side.arrays()
    keep = (strikes > beyond) if above else (strikes < beyond)
    keep &= np.isfinite(delta)
    if sell:
        keep &= bid > 0
    if not keep.any():
        return None
    candidates = np.flatnonzero(keep)
    distance = np.abs(np.abs(delta[candidates]) - target)
    return float(strikes[candidates[int(np.argmin(distance))]])


def build_legs(strategy: str, spot: float, calls: ChainSide, puts: ChainSide) -> list[Leg] | None:
    """The legs of ``strategy`` (one contract each) on the chain; None where the chain
    lacks a strike the strategy needs."""
    strikes = np.asarray(calls.strikes, dtype=np.float64)
    if strikes.size < 3:
        return None
    atm = float(strikes[int(np.argmin(np.abs(strikes - spot)))])
    if strategy == "bull_call_spread":
        short = _pick(calls, LEG_DELTAS["vertical_short"], atm, above=True, sell=True)
        return None if short is None else [Leg("buy", "call", atm), Leg("sell", "call", short)]
    if strategy == "bear_put_spread":
        short = _pick(puts, LEG_DELTAS["vertical_short"], atm, above=False, sell=True)
        return None if short is None else [Leg("buy", "put", atm), Leg("sell", "put", short)]
    if strategy == "long_straddle":
        return [Leg("buy", "call", atm), Leg("buy", "put", atm)]
    if strategy == "long_strangle":
        call = _pick(calls, LEG_DELTAS["strangle"], atm, above=True, sell=False)
        put = _pick(puts, LEG_DELTAS["strangle"], atm, above=False, sell=False)
        if call is None or put is None:
            return None
        return [Leg("buy", "put", put), Leg("buy", "call", call)]
    if strategy == "iron_butterfly":
        call_wing = _pick(calls, LEG_DELTAS["butterfly_wing"], atm, above=True, sell=False)
        put_wing = _pick(puts, LEG_DELTAS["butterfly_wing"], atm, above=False, sell=False)
        if call_wing is None or put_wing is None or not _bid(calls, atm) or not _bid(puts, atm):
            return None
        return [
            Leg("buy", "put", put_wing),
            Leg("sell", "put", atm),
            Leg("sell", "call", atm),
            Leg("buy", "call", call_wing),
        ]
    if strategy == "iron_condor":
        short_put = _pick(puts, LEG_DELTAS["condor_short"], atm, above=False, sell=True)
        short_call = _pick(calls, LEG_DELTAS["condor_short"], atm, above=True, sell=True)
        if short_put is None or short_call is None:
            return None
        put_wing = _pick(puts, LEG_DELTAS["condor_wing"], short_put, above=False, sell=False)
        call_wing = _pick(calls, LEG_DELTAS["condor_wing"], short_call, above=True, sell=False)
        if put_wing is None or call_wing is None:
            return None
        return [
            Leg("buy", "put", put_wing),
            Leg("sell", "put", short_put),
            Leg("sell", "call", short_call),
            Leg("buy", "call", call_wing),
        ]
    raise ValueError(f"unknown strategy {strategy!r}")


def _bid(side: ChainSide, strike: float) -> bool:
    """True where somebody bids for ``strike`` on ``side``."""
    strikes, _, bid, _ = side.arrays()
    at = np.flatnonzero(np.isclose(strikes, strike))
    return bool(at.size and bid[at[0]] > 0)


def leg_quotes(legs: list[Leg], calls: ChainSide, puts: ChainSide) -> tuple[FloatArray, FloatArray]:
    """(bids, asks) of the legs on the chain; NaN for a strike the chain does not quote."""
    bids, asks = [], []
    for leg in legs:
        strikes, _, bid, ask = (calls if leg.option_type == "call" else puts).arrays()
        at = np.flatnonzero(np.isclose(strikes, leg.strike))
        bids.append(float(bid[at[0]]) if at.size else float("nan"))
        asks.append(float(ask[at[0]]) if at.size else float("nan"))
    return np.asarray(bids), np.asarray(asks)
