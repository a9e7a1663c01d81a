"""Book-level sums of position Greeks and exposures, on numpy arrays.

Pure numpy: no Django. One function, :func:`greek_totals`, serves both the stored risk
metrics (from the engine's freshly computed Greeks) and ``/data/greeks`` (from the stored
Greeks of each option), so the two can never add up differently.

Units (RISK-MODEL.md, "Options"): per-unit Greeks as the pricing engine gives them
(delta per $1 of the underlying, gamma per $1, theta per calendar day, vega per
volatility point, rho per rate point); a position's size is quantity x multiplier (shares,
or 100 per option contract); dollar figures are in the book's currency.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["GREEK_NAMES", "greek_totals"]

FloatArray = NDArray[np.float64]

GREEK_NAMES = ("delta", "gamma", "theta", "vega", "rho")


def _array(x: ArrayLike, n: int) -> FloatArray:
    a = np.asarray(x, dtype=np.float64)
    if a.shape != (n,):
        raise ValueError(f"expected shape ({n},), got {a.shape}")
    return a


def greek_totals(
    *,
    quantity: ArrayLike,
    multiplier: ArrayLike,
    spot: ArrayLike,
    is_option: ArrayLike,
    delta: ArrayLike,
    gamma: ArrayLike,
    theta: ArrayLike,
    vega: ArrayLike,
    rho: ArrayLike,
    market_value: ArrayLike | None = None,
    is_volatility: ArrayLike | None = None,
) -> dict[str, float | dict[str, float]]:
    """The RISK-MODEL totals of a book of ``n`` positions.

    Inputs are aligned ``[n]`` arrays: signed ``quantity``, ``multiplier``, the
    underlying's ``spot`` ($; a stock is its own underlying), ``is_option``, and per-unit
    Greeks. A stock has delta 1 and no other Greek (pass 1 and 0, or NaN for the others).
    A NaN Greek (an option whose Greeks are unknown) and a NaN spot contribute nothing.
    ``market_value`` ($, signed) gives ``options_notional``; omit it to get NaN there.
    ``is_volatility`` marks VIX options (volatility exposure, RISK-MODEL "Factor model"):
    they count in ``total_delta`` (per unit of the VIX) but their delta dollars are not
    equity delta and stay out of ``net_delta_exposure`` and ``options_delta_exposure``.

    * ``total_<greek>``: Σ Greek x quantity x multiplier;
    * ``net_delta_exposure``: Σ delta x size x spot, dollars (stocks: their market value
      at ``spot``); ``options_delta_exposure`` the same over options only;
    * ``options_notional``: Σ |market value| of the options, dollars;
    * ``gamma_risk``: the second-order P&L ½ Γ (x S)² x size of a 1% and a 2% move,
      dollars; ``vega_risk`` per volatility point, ``theta_decay`` per day, dollars.
    """
    q = np.asarray(quantity, dtype=np.float64)
    n = q.shape[0] if q.ndim == 1 else -1
    size = q * _array(multiplier, n)
    s = _array(spot, n)
    options = np.asarray(is_option, dtype=bool)
    g = {
        name: _array(value, n)
        for name, value in zip(GREEK_NAMES, (delta, gamma, theta, vega, rho), strict=True)
    }
    g["delta"] = np.where(options, g["delta"], 1.0)
    for name in GREEK_NAMES[1:]:
        g[name] = np.where(options, g[name], 0.0)
    weighted = {name: np.nan_to_num(g[name] * size) for name in GREEK_NAMES}
    delta_dollars = np.nan_to_num(g["delta"] * size * s)
    if is_volatility is not None:
        delta_dollars[_array(is_volatility, n).astype(bool)] = 0.0
    gamma = np.nan_to_num(g["gamma"])
    spot_known = np.nan_to_num(s)
    return {
        **{f"total_{name}": float(weighted[name].sum()) for name in GREEK_NAMES},
        "net_delta_exposure": float(delta_dollars.sum()),
        "options_delta_exposure": float(delta_dollars[options].sum()),
        "options_notional": float(np.abs(_array(market_value, n)[options]).sum())
        if market_value is not None
        else float("nan"),
        "gamma_risk": {
            "1_percent_move": float((0.5 * gamma * (0.01 * spot_known) ** 2 * size).sum()),
            "2_percent_move": float((0.5 * gamma * (0.02 * spot_known) ** 2 * size).sum()),
        },
        "vega_risk": {"1_vol_point_move": float(weighted["vega"].sum())},
        "theta_decay": {"1_day": float(weighted["theta"].sum())},
    }
