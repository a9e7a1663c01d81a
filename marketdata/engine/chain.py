"""The simulated 0DTE option chain's market model: strikes, the implied-volatility smile
tied to the VIX, and bid-ask spreads calibrated on a real SPY chain. Pure numpy (prices and
Greeks come from ``risk.engine.pricing``, which the caller applies).

* **Strikes**: $1 apart around the money, ``count`` on each side of the strike nearest
  the spot.
* **Smile**: sigma(K) = sigma_atm (1 − s z + c z²), z = ln(K / F) / (sigma_atm √t) clipped to
  ±3 (the simulated provider's end-of-day smile: put skew s = 0.12, curvature c = 0.02).
  sigma_atm is the VIX (as a fraction) times the ticker's volatility relative to SPY, so
  the chain's level moves with the VIX.
* **Spreads** (full bid-ask, dollars), calibrated on the recorded SPY put chain of
  2024-06-03 (four days to expiry, VIX about 13): one tick (1 cent) on cheap
  out-of-the-money options, 2 cents on the $2.50 at-the-money put, 5 cents at |delta|
  0.75 and 35 cents on a $9 deep in-the-money put. So the spread is
  rel(|delta|) x mid with rel = 0.007 + 0.54 max(0, |delta| − 0.5)^3.5, rounded to the
  tick, at least one tick. It is then widened:
  * into the close of a 0DTE series, to at least 5.8% exp(−(tau − 5) / 15) of the price,
    tau the minutes to the close: the documented 5.8% of the price for SPY 0DTE options
    near $1 five minutes before the close (against about 1%, one tick, for other
    expiries), 1.1% half an hour before it;
  * with the VIX, by sqrt(VIX / 13) above the calibration day's 13;
  * in the session's first minute, by 25× (the recording's stale first bar: 3.19/3.94
    on the 530 put, 3.33/3.36 a minute later).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "OPTION_TICK",
    "bid_ask",
    "smile_volatility",
    "spread_dollars",
    "strikes_around",
]

FloatArray = NDArray[np.float64]

OPTION_TICK = 0.01
SKEW_SLOPE = 0.12
SKEW_CURVE = 0.02
SKEW_Z_CLIP = 3.0
VOL_FLOOR = 0.05
#: rel(|delta|) = SPREAD_BASE + SPREAD_ITM_SCALE * max(0, |delta| - 0.5) ** SPREAD_ITM_POWER
SPREAD_BASE = 0.007
SPREAD_ITM_SCALE = 0.54
SPREAD_ITM_POWER = 3.5
#: A 0DTE series' spread near the close: at least CLOSE_SPREAD * exp(-(tau - 5) / CLOSE_DECAY_MINUTES)
#: of the price, tau the minutes to the close.
CLOSE_SPREAD = 0.058
CLOSE_DECAY_MINUTES = 15.0
#: The VIX on the calibration day; spreads widen by sqrt(VIX / this) above it.
CALIBRATION_VIX = 13.0
#: The first minute of a session quotes this many times wider (stale opening quotes).
OPENING_WIDENING = 25.0


def strikes_around(spot: float, count: int, increment: float = 1.0) -> FloatArray:
    """2 ``count`` + 1 strikes, ``increment`` apart, centred on the strike nearest ``spot``."""
    if count < 0 or increment <= 0 or not spot > 0:
        raise ValueError("count >= 0, increment > 0 and a positive spot")
    centre = round(spot / increment) * increment
    out: FloatArray = centre + increment * np.arange(-count, count + 1, dtype=np.float64)
    return out[out > 0]


def smile_volatility(
    strikes: ArrayLike, forward: float, t_years: float, atm_volatility: float
) -> FloatArray:
    """Implied volatility per strike (annualized fraction) on the smile of the module
    docstring, floored at 5%."""
    k = np.asarray(strikes, dtype=np.float64)
    width = max(atm_volatility * np.sqrt(max(t_years, 1e-12)), 1e-12)
    z = np.clip(np.log(k / forward) / width, -SKEW_Z_CLIP, SKEW_Z_CLIP)
    out: FloatArray = np.maximum(
        atm_volatility * (1.0 - SKEW_SLOPE * z + SKEW_CURVE * z * z), VOL_FLOOR
    )
    return out


def spread_dollars(
    mid: ArrayLike,
    delta: ArrayLike,
    *,
    minutes_to_close: float,
    vix: float,
    zero_dte: bool,
    first_minute: bool,
) -> FloatArray:
    """Full bid-ask spread per option, dollars (a whole number of ticks, at least one)."""
    m = np.asarray(mid, dtype=np.float64)
    d = np.abs(np.asarray(delta, dtype=np.float64))
    rel = SPREAD_BASE + SPREAD_ITM_SCALE * np.maximum(0.0, d - 0.5) ** SPREAD_ITM_POWER
    if zero_dte:
        tau = max(minutes_to_close, 0.0)
        rel = np.maximum(rel, CLOSE_SPREAD * np.exp(-(tau - 5.0) / CLOSE_DECAY_MINUTES))
    widen = float(np.sqrt(max(vix / CALIBRATION_VIX, 1.0))) if np.isfinite(vix) else 1.0
    if first_minute:
        widen *= OPENING_WIDENING
    ticks = np.maximum(1.0, np.round(rel * m * widen / OPTION_TICK))
    out: FloatArray = ticks * OPTION_TICK
    return out


def bid_ask(mid: ArrayLike, spread: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Bid and ask around ``mid``, on the tick grid, ``spread`` apart (the bid not below 0:
    a one-tick wing quotes 0.00/0.01)."""
    m = np.asarray(mid, dtype=np.float64)
    s = np.asarray(spread, dtype=np.float64)
    bid = np.floor(np.round((m - s / 2.0) / OPTION_TICK, 6)) * OPTION_TICK
    bid = np.maximum(bid, 0.0)
    ask = np.round(bid + s, 2)
    # The mid may sit above the ask after flooring the bid by a tick: lift both.
    lift = np.maximum(0.0, np.ceil(np.round((m - ask) / OPTION_TICK, 6))) * OPTION_TICK
    return np.round(bid + lift, 2), np.round(ask + lift, 2)
