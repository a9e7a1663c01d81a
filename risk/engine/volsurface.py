"""Which option quotes give an implied volatility, and the chain's IV at a strike.
Pure numpy: no Django, no app imports.

RISK-MODEL.md, Options, "Volatility input" and "A one-tick quote is not an implied
volatility": an option's own mid quote gives its IV (source 1) only when the mid is at least
a price floor (dollars per option share, default $0.05) and the bid-ask spread is at most a
share of the mid (a fraction, default 0.5 = 50%); otherwise the IV of the same expiry's
chain, interpolated in strike (source 2), is used.

Units: prices and strikes in dollars per share; volatilities annualized fractions
(0.21 = 21%).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["interpolate_in_strike", "reliable_quotes"]


def reliable_quotes(
    mid: ArrayLike,
    spread: ArrayLike,
    *,
    min_price: float,
    max_spread_fraction: float,
) -> np.ndarray:
    """True where a quote can give an implied volatility: ``mid >= min_price`` (dollars)
    and ``spread <= max_spread_fraction × mid``. A NaN mid is never reliable; a NaN spread
    (a last trade without a bid and ask) is judged on the price floor alone.

    Example: mid 0.005 (a one-tick quote) with floor 0.05 is False; mid 2.00 with spread
    1.20 (60% of the mid) against 50% is False; mid 2.00 with spread 0.10 is True.
    """
    m = np.asarray(mid, dtype=float)
    s = np.asarray(spread, dtype=float)
    with np.errstate(invalid="ignore"):
        priced = np.isfinite(m) & (m >= min_price)
        tight = ~np.isfinite(s) | (s <= max_spread_fraction * m)
    return np.asarray(priced & tight, dtype=bool)


def interpolate_in_strike(strikes: ArrayLike, vols: ArrayLike, target: ArrayLike) -> np.ndarray:
    """The chain's implied volatility at ``target`` strike(s): linear in strike between the
    neighbouring chain points, flat beyond the lowest and highest strike (no extrapolated
    smile slope, which one wing quote could make absurd). Points with a non-finite strike
    or volatility are dropped; several points at one strike are averaged. NaN where the
    chain has no usable point.

    Example: chain (100, 0.30), (110, 0.26): strike 105 -> 0.28, 107.5 -> 0.27, 90 -> 0.30,
    120 -> 0.26.
    """
    k = np.asarray(strikes, dtype=float).ravel()
    v = np.asarray(vols, dtype=float).ravel()
    if k.shape != v.shape:
        raise ValueError("strikes and vols must have the same length")
    x = np.asarray(target, dtype=float)
    keep = np.isfinite(k) & np.isfinite(v) & (v > 0)
    k, v = k[keep], v[keep]
    if k.size == 0:
        return np.full(x.shape, np.nan)
    unique, inverse = np.unique(k, return_inverse=True)
    mean = np.bincount(inverse, weights=v) / np.bincount(inverse)
    return np.asarray(np.interp(x, unique, mean), dtype=float)
