"""The 0DTE book's equity curve: drawdown in dollars, and the horizon scaling of daily
scenario returns to the rest of a session.

Pure numpy. P&L and equity are dollars; returns are simple (0.01 = +1%).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

#: Trading minutes of a regular NYSE session (09:30–16:00 ET).
SESSION_MINUTES = 390


def max_drawdown_dollars(pnl: ArrayLike) -> float:
    """The largest fall, dollars, of a cumulative P&L curve from its running peak, as a
    negative number (0 if it never fell). The curve starts from 0 (the equity it is
    measured from), so a first loss is a drawdown; a drawdown in dollars does not depend
    on the equity the curve starts from. NaN values are skipped. Worked case: P&L
    [100, 40, 150, 90] → peaks [100, 100, 150, 150] → −60."""
    x = np.asarray(pnl, dtype=np.float64).ravel()
    x = x[np.isfinite(x)]
    curve = np.concatenate(([0.0], x))
    peak = np.maximum.accumulate(curve)
    return float(np.min(curve - peak))


def session_horizon_returns(daily_returns: ArrayLike, minutes_left: float) -> np.ndarray:
    """Daily simple returns (scenarios × underlyings) scaled to the ``minutes_left`` of a
    session by the square root of time, ``r × sqrt(minutes_left / 390)``: the scenario
    moves of the 0DTE book's VaR over the rest of the session. Rows with a NaN are
    dropped (a scenario needs every underlying's move)."""
    r = np.asarray(daily_returns, dtype=np.float64)
    if r.ndim != 2:
        raise ValueError(f"daily_returns must be 2-d, got shape {r.shape}")
    if minutes_left < 0:
        raise ValueError("minutes_left is a duration: 0 or more")
    r = r[np.all(np.isfinite(r), axis=1)]
    return r * math.sqrt(minutes_left / SESSION_MINUTES)
