"""Performance statistics of a daily return series against a benchmark, on numpy arrays.

Pure numpy: no Django, no pandas. Every function takes daily *simple* returns as decimals
(0.01 = 1%) in 1-D arrays, returns a Python float, and returns NaN (never raises) where
the figure is undefined: too few observations, or a zero denominator (zero variance, no
downside, a flat benchmark). Shapes that do not match raise ``ValueError``.

Conventions (docs RISK-MODEL.md, "VaR, ES and performance"), those of empyrical-reloaded,
against which ``risk/tests/test_performance.py`` checks every figure to 1e-10 relative:

* **Annualization** with 252 trading days: means x 252, standard deviations x sqrt(252).
  Standard deviations are sample ones (ddof = 1).
* **Risk-free rate**: given as an annual decimal ``risk_free_annual`` (0.05 = 5%) and
  converted to a constant daily rate by compounding, ``(1 + rf) ** (1/252) - 1``
  (:func:`daily_risk_free`), which compounds back to rf over 252 days. empyrical itself
  takes a daily rate; the tests pass it this conversion.
* **Missing data**: NaNs are dropped; in a two-series figure a day counts only if both
  series have it (empyrical drops NaNs the same way).
* **Zero denominators**: where empyrical gives ±inf or an arbitrary 0/0 (a constant
  series, no downside day) these functions give NaN.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from risk.engine.conventions import TRADING_DAYS_PER_YEAR

__all__ = [
    "TRADING_DAYS",
    "annualized_volatility",
    "beta",
    "correlation",
    "cumulative_return",
    "daily_risk_free",
    "information_ratio",
    "max_drawdown",
    "performance_summary",
    "sharpe_ratio",
    "sortino_ratio",
    "tracking_error",
    "trailing_figures",
]

FloatArray = NDArray[np.float64]

TRADING_DAYS = TRADING_DAYS_PER_YEAR
_SQRT_DAYS = math.sqrt(TRADING_DAYS)


def _series(x: ArrayLike, name: str = "returns") -> FloatArray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {a.shape}")
    return a[~np.isnan(a)]


def _pair(returns: ArrayLike, benchmark: ArrayLike) -> tuple[FloatArray, FloatArray]:
    r = np.asarray(returns, dtype=np.float64)
    b = np.asarray(benchmark, dtype=np.float64)
    if r.ndim != 1 or r.shape != b.shape:
        raise ValueError(f"returns {r.shape} and benchmark {b.shape} must be 1-D, same length")
    both = ~(np.isnan(r) | np.isnan(b))
    return r[both], b[both]


def _std(x: FloatArray) -> float:
    """Sample standard deviation (ddof = 1); 0 exactly for a constant series, whose
    floating-point mean can otherwise leave a residue of ~1e-18; NaN below 2 points."""
    if x.size < 2:
        return math.nan
    if x.max() == x.min():
        return 0.0
    return float(np.std(x, ddof=1))


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0.0 and math.isfinite(den) else math.nan


def daily_risk_free(risk_free_annual: float) -> float:
    """Daily rate (decimal per trading day) equivalent to an annual decimal rate:
    ``(1 + rf) ** (1/252) - 1``, so that 252 days of it compound to ``rf``."""
    return math.expm1(math.log1p(risk_free_annual) / TRADING_DAYS)


def beta(returns: ArrayLike, benchmark: ArrayLike) -> float:
    """OLS beta of daily returns on the benchmark's: cov(r, b) / var(b), dimensionless.

    NaN with fewer than 2 common days or a flat benchmark. A constant risk-free rate
    does not change it. Reference: ``empyrical.beta``.
    """
    r, b = _pair(returns, benchmark)
    if r.size < 2 or b.max() == b.min():
        return math.nan
    bc = b - b.mean()
    return _ratio(float(bc @ (r - r.mean())), float(bc @ bc))


def correlation(returns: ArrayLike, benchmark: ArrayLike) -> float:
    """Pearson correlation of daily returns with the benchmark's, in [-1, 1].

    NaN with fewer than 2 common days or a constant series. Reference: ``numpy.corrcoef``
    (empyrical has no correlation function).
    """
    r, b = _pair(returns, benchmark)
    if r.size < 2 or r.max() == r.min() or b.max() == b.min():
        return math.nan
    rc = r - r.mean()
    bc = b - b.mean()
    rho = float(rc @ bc) / math.sqrt(float(rc @ rc) * float(bc @ bc))
    return min(1.0, max(-1.0, rho))


def tracking_error(returns: ArrayLike, benchmark: ArrayLike) -> float:
    """Annualized standard deviation of the active returns r - b: std(ddof=1) x sqrt(252),
    an annual decimal. NaN below 2 common days; 0 when the active return is constant.
    Reference: ``empyrical.annual_volatility(r - b)``.
    """
    r, b = _pair(returns, benchmark)
    return _std(r - b) * _SQRT_DAYS


def information_ratio(returns: ArrayLike, benchmark: ArrayLike) -> float:
    """Annualized mean active return / tracking error:
    mean(r - b) x 252 / (std(r - b) x sqrt(252)) = sqrt(252) x mean / std, dimensionless.
    NaN below 2 common days or with a zero tracking error. Reference:
    ``empyrical.excess_sharpe(r, b) * sqrt(252)`` (empyrical's daily, unannualized form).
    """
    r, b = _pair(returns, benchmark)
    active = r - b
    if active.size < 2:
        return math.nan
    return _ratio(float(active.mean()) * _SQRT_DAYS, _std(active))


def sharpe_ratio(returns: ArrayLike, risk_free_annual: float = 0.0) -> float:
    """Annualized Sharpe ratio: sqrt(252) x mean(r - rf_d) / std(r - rf_d), with the daily
    rate rf_d = :func:`daily_risk_free` (``risk_free_annual``). Dimensionless. NaN below 2
    days or for a constant series. Reference: ``empyrical.sharpe_ratio(r, risk_free=rf_d)``.
    """
    excess = _series(returns) - daily_risk_free(risk_free_annual)
    if excess.size < 2:
        return math.nan
    return _ratio(float(excess.mean()) * _SQRT_DAYS, _std(excess))


def sortino_ratio(returns: ArrayLike, risk_free_annual: float = 0.0) -> float:
    """Annualized Sortino ratio: mean(r - rf_d) x 252 / downside deviation, where the
    downside deviation is sqrt(mean(min(r - rf_d, 0)²)) x sqrt(252), the mean taken over
    *all* days (empyrical's ``downside_risk`` with required return rf_d =
    :func:`daily_risk_free` (``risk_free_annual``)). NaN below 2 days or with no day below
    rf_d (where empyrical gives inf). Reference:
    ``empyrical.sortino_ratio(r, required_return=rf_d)``.
    """
    excess = _series(returns) - daily_risk_free(risk_free_annual)
    if excess.size < 2:
        return math.nan
    down = np.minimum(excess, 0.0)
    downside = math.sqrt(float(down @ down) / excess.size) * _SQRT_DAYS
    return _ratio(float(excess.mean()) * TRADING_DAYS, downside)


def max_drawdown(returns: ArrayLike) -> float:
    """Largest peak-to-trough fall of the compounded value, as a negative fraction
    (-0.25 = a 25% fall; 0 if the value never fell below a previous peak). The starting
    value counts as a peak, so a first-day loss is a drawdown. NaN for an empty series.
    Reference: ``empyrical.max_drawdown``.
    """
    r = _series(returns)
    if r.size == 0:
        return math.nan
    value = np.empty(r.size + 1)
    value[0] = 1.0
    np.cumprod(1.0 + r, out=value[1:])
    peak = np.maximum.accumulate(value)
    return float(np.min((value - peak) / peak))


def annualized_volatility(returns: ArrayLike) -> float:
    """Standard deviation (ddof = 1) of daily returns x sqrt(252), an annual decimal.
    NaN below 2 days. Reference: ``empyrical.annual_volatility``."""
    return _std(_series(returns)) * _SQRT_DAYS


def cumulative_return(returns: ArrayLike) -> float:
    """Compounded return over the series, prod(1 + r) - 1, a decimal. NaN for an empty
    series. Reference: ``empyrical.cum_returns_final``."""
    r = _series(returns)
    if r.size == 0:
        return math.nan
    return float(np.prod(1.0 + r) - 1.0)


def _trailing_volatility(returns: FloatArray, window: int) -> float:
    return annualized_volatility(returns[-window:]) if returns.size >= window else math.nan


def performance_summary(
    returns: ArrayLike, benchmark: ArrayLike, risk_free_annual: float
) -> dict[str, float]:
    """The RISK-MODEL performance figures of a daily return series against SPY.

    ``returns`` and ``benchmark`` (SPY) are aligned daily simple returns over the lookback;
    ``risk_free_annual`` an annual decimal (see :func:`daily_risk_free`). Keys:

    * ``portfolio_beta`` (:func:`beta`), ``correlation_with_spy`` (:func:`correlation`),
      ``tracking_error`` (annual decimal), ``information_ratio``: on the days both have;
    * ``sharpe_ratio``, ``sortino_ratio`` (annualized, in excess of the risk-free rate),
      ``max_drawdown`` (negative fraction): on the portfolio's own days;
    * ``volatility_30d``, ``volatility_90d``: :func:`annualized_volatility` of the last 30
      and 90 available daily returns (NaNs dropped first); NaN with fewer days than that.
    """
    r = np.asarray(returns, dtype=np.float64)
    own = _series(r)
    return {
        "portfolio_beta": beta(r, benchmark),
        "correlation_with_spy": correlation(r, benchmark),
        "tracking_error": tracking_error(r, benchmark),
        "information_ratio": information_ratio(r, benchmark),
        "sharpe_ratio": sharpe_ratio(own, risk_free_annual),
        "sortino_ratio": sortino_ratio(own, risk_free_annual),
        "max_drawdown": max_drawdown(own),
        "volatility_30d": _trailing_volatility(own, 30),
        "volatility_90d": _trailing_volatility(own, 90),
    }


def trailing_figures(
    returns: ArrayLike, in_current_year: ArrayLike, risk_free_annual: float
) -> dict[str, float]:
    """Figures over the tail of a daily return series (RISK-MODEL.md, performance):
    ``trailing_30d_return`` and ``trailing_90d_return`` (compounded, decimals; fewer days
    use what there is), ``ytd_return`` (compounded over the days flagged
    ``in_current_year``; NaN without one), ``sharpe_ratio_30d`` and ``max_drawdown_30d``
    (negative fraction) of the last 30 days."""
    r = np.asarray(returns, dtype=np.float64)
    ytd = np.asarray(in_current_year, dtype=bool)
    return {
        "trailing_30d_return": float(np.prod(1 + r[-30:]) - 1),
        "trailing_90d_return": float(np.prod(1 + r[-90:]) - 1),
        "ytd_return": float(np.prod(1 + r[ytd]) - 1) if ytd.any() else math.nan,
        "sharpe_ratio_30d": sharpe_ratio(r[-30:], risk_free_annual),
        "max_drawdown_30d": max_drawdown(r[-30:]),
    }
