"""Concentration of a portfolio's positions by value, on numpy arrays.

Pure numpy: no Django, no pandas. Docs RISK-MODEL.md, "Concentration, correlation, data
quality": weights are |market value| / gross exposure, the Herfindahl index is Σw², the
effective number of positions is 1/HHI; the top-5 weight is reported too. (The sector
breakdown needs the reference data and is built by the service.)
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["TOP_N", "concentration"]

#: Number of largest positions summed in ``top_5_weight``.
TOP_N = 5


def concentration(values: ArrayLike) -> dict[str, float]:
    """Concentration figures of the positions' signed market values ``values[n]`` (dollars).

    Weights w_i = |v_i| / Σ|v| (fractions of gross exposure; a short counts by its size).
    Non-finite values count as 0 (a missing price shows in data-quality coverage). Keys:

    * ``herfindahl``: Σ w², in [1/n, 1];
    * ``effective_positions``: 1 / herfindahl, a count in [1, n];
    * ``top_5_weight``: the sum of the 5 largest weights (all of them if fewer), a fraction;
    * ``largest_position_weight``: the largest weight, a fraction;
    * ``gross_exposure``: Σ|v|, dollars;
    * ``n_positions``: the number of non-zero weights (a float, for a uniform dict).

    With no non-zero value every figure but ``gross_exposure`` and ``n_positions`` is NaN.
    """
    v = np.abs(np.asarray(values, dtype=np.float64).reshape(-1))
    v = np.where(np.isfinite(v), v, 0.0)
    gross = float(v.sum())
    n_nonzero = float(np.count_nonzero(v))
    if gross <= 0.0:
        nan = math.nan
        return {
            "herfindahl": nan,
            "effective_positions": nan,
            "top_5_weight": nan,
            "largest_position_weight": nan,
            "gross_exposure": gross,
            "n_positions": n_nonzero,
        }
    w = v / gross
    hhi = float(w @ w)
    top = np.partition(w, w.size - TOP_N)[-TOP_N:] if w.size > TOP_N else w
    return {
        "herfindahl": hhi,
        "effective_positions": 1.0 / hhi,
        "top_5_weight": float(top.sum()),
        "largest_position_weight": float(w.max()),
        "gross_exposure": gross,
        "n_positions": n_nonzero,
    }
