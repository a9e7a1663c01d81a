"""Payoff diagrams of option strategies: P&L against the underlying's price, at expiry and
today.

Pure numpy. Today's values are priced with :mod:`risk.engine.pricing` (BSM, or Black-76
for options on an index whose forward is the axis); this module writes no pricer.

Units, in every function here:

* ``spots``: the underlying's price axis, dollars per share (the forward for Black-76);
* ``strikes``, ``entry_prices``: dollars per share of underlying (per option share);
* ``quantities``: signed contracts (negative is short); ``multipliers``: shares per
  contract (100);
* ``t_years``: time to expiry in years (minutes to the expiry close / 525,600);
  ``rates``, ``div_yields``: continuously compounded decimals; ``sigmas``: annualized
  volatility, a fraction;
* the P&L returned is in dollars for the whole strategy: Σ q × m × (value − entry price).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from risk.engine.pricing import black76_price, bsm_price

FloatArray = NDArray[np.float64]

__all__ = ["break_evens", "pnl_at_expiry", "pnl_today", "spot_axis"]


def _legs(*arrays: ArrayLike) -> list[FloatArray]:
    out = [np.atleast_1d(np.asarray(a, dtype=np.float64)) for a in arrays]
    n = out[0].shape[0]
    if any(a.ndim != 1 or a.shape[0] != n for a in out):
        raise ValueError("every leg input must be a 1-D array of the same length")
    return out


def spot_axis(
    center: float, strikes: ArrayLike, *, width: float = 0.3, points: int = 121
) -> FloatArray:
    """An evenly spaced price axis around ``center`` (±``width`` as a fraction of it),
    widened so that every strike lies inside with a 5% margin. Dollars."""
    if not np.isfinite(center) or center <= 0:
        raise ValueError("center must be a positive price")
    k = np.atleast_1d(np.asarray(strikes, dtype=np.float64))
    low = min(center * (1.0 - width), float(k.min()) * 0.95 if k.size else np.inf)
    high = max(center * (1.0 + width), float(k.max()) * 1.05 if k.size else -np.inf)
    return np.linspace(max(low, 0.0), high, points)


def pnl_at_expiry(
    spots: ArrayLike,
    strikes: ArrayLike,
    is_call: ArrayLike,
    quantities: ArrayLike,
    multipliers: ArrayLike,
    entry_prices: ArrayLike,
) -> FloatArray:
    """Dollar P&L at expiry for each price of ``spots``: Σ q m (intrinsic − entry), with
    intrinsic ``max(S − K, 0)`` for a call and ``max(K − S, 0)`` for a put."""
    s = np.atleast_1d(np.asarray(spots, dtype=np.float64))
    k, call, q, m, entry = _legs(strikes, is_call, quantities, multipliers, entry_prices)
    diff = s[:, None] - k[None, :]
    intrinsic = np.where(call[None, :] > 0, np.maximum(diff, 0.0), np.maximum(-diff, 0.0))
    return ((intrinsic - entry[None, :]) * (q * m)[None, :]).sum(axis=1)


def pnl_today(
    spots: ArrayLike,
    strikes: ArrayLike,
    is_call: ArrayLike,
    quantities: ArrayLike,
    multipliers: ArrayLike,
    entry_prices: ArrayLike,
    t_years: ArrayLike,
    rates: ArrayLike,
    div_yields: ArrayLike,
    sigmas: ArrayLike,
    black76: ArrayLike,
) -> FloatArray:
    """Dollar P&L now (today's time to expiry and volatility held) for each price of
    ``spots``: Σ q m (V(S) − entry), V the BSM price, or the Black-76 price with S as the
    forward where ``black76`` is true. At ``t_years <= 0`` V is the intrinsic value, so
    this equals :func:`pnl_at_expiry`."""
    s = np.atleast_1d(np.asarray(spots, dtype=np.float64))
    k, call, q, m, entry, t, r, d, vol, b76 = _legs(
        strikes,
        is_call,
        quantities,
        multipliers,
        entry_prices,
        t_years,
        rates,
        div_yields,
        sigmas,
        black76,
    )
    grid_s = np.broadcast_to(s[:, None], (s.size, k.size))

    def wide(a: FloatArray) -> FloatArray:
        return np.broadcast_to(a[None, :], grid_s.shape)

    calls = wide(call) > 0
    bsm = bsm_price(grid_s, wide(k), wide(t), wide(r), wide(d), wide(vol), calls)
    values = bsm
    if b76.any():
        futures = black76_price(grid_s, wide(k), wide(t), wide(r), wide(vol), calls)
        values = np.where(wide(b76) > 0, futures, bsm)
    return ((values - entry[None, :]) * (q * m)[None, :]).sum(axis=1)


def break_evens(spots: ArrayLike, pnl: ArrayLike) -> list[float]:
    """The prices where ``pnl`` crosses zero, by linear interpolation between axis
    points (a point exactly at zero counts once). Dollars, ascending."""
    s = np.asarray(spots, dtype=np.float64)
    p = np.asarray(pnl, dtype=np.float64)
    found: list[float] = []
    for i in range(len(s) - 1):
        a, b = p[i], p[i + 1]
        if a == 0.0:
            if not found or found[-1] != s[i]:
                found.append(float(s[i]))
        elif a * b < 0:
            found.append(float(s[i] - a * (s[i + 1] - s[i]) / (b - a)))
    if len(p) and p[-1] == 0.0 and (not found or found[-1] != s[-1]):
        found.append(float(s[-1]))
    return found
