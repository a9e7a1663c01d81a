"""Expiry payoff, exact risk metrics and chain-implied probability of profit.

Pure numpy: this module imports no Django and nothing from the project.

Units
-----
* Prices, premiums, payoffs and break-evens are **per share** (option price units),
  like quotes on an options chain.
* ``RiskMetrics.max_loss`` / ``max_profit`` are **dollars per package**: the per-share
  amount times the contract multiplier (``MULTIPLIER = 100``); leg quantities (the
  ratio within one package) are already part of the per-share payoff.
* Signs: long (``"buy"``) legs count +, short (``"sell"``) legs count −. A net premium
  is + for a debit paid and − for a credit received.

Methods
-------
* ``expiry_value``: the intrinsic value of each leg at expiry, ``max(S − K, 0)`` for a
  call and ``max(K − S, 0)`` for a put, signed and weighted by quantity.
* ``risk_metrics``: the P&L at expiry, ``expiry_value − net_premium``, is piecewise
  linear in the terminal price S ≥ 0 with kinks only at the strikes, so it is exact
  to evaluate it at S = 0 and at every strike and to take the slope beyond the
  highest strike (the net number of long calls). Profit is unlimited when that slope
  is > 0 and loss unlimited when it is < 0 (S cannot go below 0, so the left side is
  always bounded). Break-evens are the exact roots of the piecewise-linear P&L:
  kinks where it is zero, linear interpolation where it changes sign between two
  kinks, and the root beyond the highest strike from the slope.
* ``implied_cdf``: the risk-neutral distribution of S_T from put prices
  (Breeden & Litzenberger 1978, "Prices of State-Contingent Claims Implicit in
  Option Prices", Journal of Business 51(4)): since P(K) = e^{−rT} E[(K − S_T)^+],
  dP/dK = e^{−rT} Pr(S_T < K), so F(K) = e^{rT} dP/dK. The derivative is a forward
  difference on sorted strikes, which is a second-order estimate at each strike
  midpoint. Quotes are noisy, so the raw estimate is made monotone non-decreasing
  by isotonic regression (pool-adjacent-violators, weighted by strike spacing) and
  then clipped to [0, 1].
* ``probability_of_profit``: the probability mass of the intervals between
  break-evens where the P&L is > 0, under the linear interpolation of that CDF.
  It is the chain's **risk-neutral** probability (the one that prices the options,
  with the variance and skew premia they carry), not a real-world forecast.
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "MULTIPLIER",
    "Leg",
    "RiskMetrics",
    "expiry_value",
    "implied_cdf",
    "net_premium",
    "probability_of_profit",
    "risk_metrics",
]

#: Shares per equity option contract (SPY, QQQ, IWM).
MULTIPLIER = 100

_ACTIONS = ("buy", "sell")
_OPTION_TYPES = ("call", "put")
#: Per-share P&L values within this distance of 0 count as 0 (float noise only).
_ZERO_TOL = 1e-9
#: Decimals kept in break-evens (per share) and dollar metrics: removes float noise.
_BREAK_EVEN_DECIMALS = 6
_DOLLAR_DECIMALS = 6
_PREMIUM_DECIMALS = 10


@dataclass(frozen=True)
class Leg:
    """One option leg of a package.

    ``quantity`` is the positive ratio of this leg within one package (1 for all the
    standard spreads); the direction comes from ``action``.
    """

    action: str
    option_type: str
    strike: float
    quantity: int = 1

    def __post_init__(self) -> None:
        if self.action not in _ACTIONS:
            raise ValueError(f"action must be one of {_ACTIONS}, got {self.action!r}")
        if self.option_type not in _OPTION_TYPES:
            raise ValueError(
                f"option_type must be one of {_OPTION_TYPES}, got {self.option_type!r}"
            )
        if isinstance(self.strike, bool) or not isinstance(self.strike, numbers.Real):
            raise ValueError(f"strike must be a real number, got {self.strike!r}")
        strike = float(self.strike)
        if not math.isfinite(strike) or strike <= 0.0:
            raise ValueError(f"strike must be finite and > 0, got {self.strike!r}")
        if (
            isinstance(self.quantity, bool)
            or not isinstance(self.quantity, numbers.Integral)
            or self.quantity < 1
        ):
            raise ValueError(f"quantity must be a positive integer, got {self.quantity!r}")
        object.__setattr__(self, "strike", strike)
        object.__setattr__(self, "quantity", int(self.quantity))

    @property
    def sign(self) -> int:
        """+1 for a long leg, −1 for a short leg."""
        return 1 if self.action == "buy" else -1


@dataclass(frozen=True)
class RiskMetrics:
    """Exact expiry risk of a package.

    ``net_premium`` is per share (+ debit, − credit). ``max_loss`` and ``max_profit``
    are positive dollar amounts per package (per share × ``MULTIPLIER``); ``max_loss``
    is ``math.inf`` when the loss is unlimited and ``max_profit`` is ``None`` when the
    profit is unlimited. A package that cannot lose has ``max_loss == 0.0``; one that
    cannot win has ``max_profit == 0.0``. ``break_evens`` are per-share terminal
    prices, ascending.
    """

    net_premium: float
    max_loss: float
    max_profit: float | None
    break_evens: tuple[float, ...]
    unlimited_profit: bool
    unlimited_loss: bool


def _check_legs(legs: Sequence[Leg]) -> None:
    if len(legs) == 0:
        raise ValueError("a package needs at least one leg")
    for leg in legs:
        if not isinstance(leg, Leg):
            raise ValueError(f"legs must be Leg instances, got {leg!r}")


def expiry_value(legs: Sequence[Leg], terminal: ArrayLike) -> NDArray[np.float64]:
    """Value of the package at expiry per share, vectorized over terminal prices.

    Long legs count +, short legs −; each leg is weighted by its quantity. The result
    has the shape of ``terminal`` (0-d for a scalar).
    """
    _check_legs(legs)
    s = np.asarray(terminal, dtype=np.float64)
    value = np.zeros_like(s, dtype=np.float64)
    for leg in legs:
        if leg.option_type == "call":
            intrinsic = np.maximum(s - leg.strike, 0.0)
        else:
            intrinsic = np.maximum(leg.strike - s, 0.0)
        value = value + (leg.sign * leg.quantity) * intrinsic
    return value


def net_premium(legs: Sequence[Leg], prices: Sequence[float]) -> float:
    """Signed net price per share of opening the package at the given leg prices.

    ``prices[i]`` is the (positive) per-share price of ``legs[i]``. The result is
    + for a debit paid and − for a credit received, rounded to 1e-10 to drop float
    noise.
    """
    _check_legs(legs)
    if len(prices) != len(legs):
        raise ValueError(f"{len(legs)} legs but {len(prices)} prices")
    total = 0.0
    for i, (leg, price) in enumerate(zip(legs, prices, strict=True)):
        p = float(price)
        if not math.isfinite(p) or p < 0.0:
            raise ValueError(f"price of leg {i} must be finite and >= 0, got {price!r}")
        total += leg.sign * leg.quantity * p
    return round(total, _PREMIUM_DECIMALS) + 0.0  # + 0.0 turns -0.0 into 0.0


def _kinks(
    legs: Sequence[Leg], net: float
) -> tuple[NDArray[np.float64], NDArray[np.float64], float]:
    """Kink points (0 and the sorted strikes), the P&L there, and the slope beyond."""
    x = np.concatenate(([0.0], np.unique([leg.strike for leg in legs])))
    y = expiry_value(legs, x) - net
    slope = float(sum(leg.sign * leg.quantity for leg in legs if leg.option_type == "call"))
    return x, y, slope


def _roots(x: NDArray[np.float64], y: NDArray[np.float64], slope: float) -> list[float]:
    """Exact roots (unrounded, ascending) of the piecewise-linear P&L on S >= 0."""
    roots: list[float] = []
    n = len(x)
    for i in range(n):
        if abs(y[i]) <= _ZERO_TOL:
            roots.append(float(x[i]))
        if i + 1 < n:
            y0, y1 = float(y[i]), float(y[i + 1])
            if (y0 > _ZERO_TOL and y1 < -_ZERO_TOL) or (y0 < -_ZERO_TOL and y1 > _ZERO_TOL):
                x0, x1 = float(x[i]), float(x[i + 1])
                roots.append(x0 - y0 * (x1 - x0) / (y1 - y0))
    y_last = float(y[-1])
    if abs(y_last) > _ZERO_TOL and slope != 0.0:
        step = -y_last / slope
        if step > 0.0:
            roots.append(float(x[-1]) + step)
    return roots


def risk_metrics(legs: Sequence[Leg], prices: Sequence[float]) -> RiskMetrics:
    """Exact max loss, max profit and break-evens of the package held to expiry.

    See the module docstring for the method; units are per share for ``net_premium``
    and ``break_evens`` and dollars per package for ``max_loss`` / ``max_profit``.
    """
    net = net_premium(legs, prices)
    x, y, slope = _kinks(legs, net)
    unlimited_profit = slope > 0.0
    unlimited_loss = slope < 0.0

    max_profit: float | None
    if unlimited_profit:
        max_profit = None
    else:
        max_profit = round(max(float(y.max()), 0.0) * MULTIPLIER, _DOLLAR_DECIMALS) + 0.0
    if unlimited_loss:
        max_loss = math.inf
    else:
        max_loss = round(max(-float(y.min()), 0.0) * MULTIPLIER, _DOLLAR_DECIMALS) + 0.0

    rounded = sorted({round(r, _BREAK_EVEN_DECIMALS) + 0.0 for r in _roots(x, y, slope)})
    return RiskMetrics(
        net_premium=net,
        max_loss=max_loss,
        max_profit=max_profit,
        break_evens=tuple(rounded),
        unlimited_profit=unlimited_profit,
        unlimited_loss=unlimited_loss,
    )


def _valid_chain(
    strikes: ArrayLike, put_prices: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Strikes and put prices as sorted float arrays, with non-finite pairs dropped."""
    k = np.asarray(strikes, dtype=np.float64).ravel()
    p = np.asarray(put_prices, dtype=np.float64).ravel()
    if k.shape != p.shape:
        raise ValueError(f"{k.size} strikes but {p.size} put prices")
    keep = np.isfinite(k) & np.isfinite(p)
    k, p = k[keep], p[keep]
    order = np.argsort(k, kind="stable")
    return k[order], p[order]


def _isotonic(values: NDArray[np.float64], weights: NDArray[np.float64]) -> NDArray[np.float64]:
    """Weighted least-squares non-decreasing fit (pool-adjacent-violators)."""
    means: list[float] = []
    totals: list[float] = []
    counts: list[int] = []
    for v, w in zip(values.tolist(), weights.tolist(), strict=True):
        means.append(v)
        totals.append(w)
        counts.append(1)
        while len(means) > 1 and means[-2] > means[-1]:
            w_sum = totals[-2] + totals[-1]
            merged = (means[-2] * totals[-2] + means[-1] * totals[-1]) / w_sum
            count = counts[-2] + counts[-1]
            del means[-1], totals[-1], counts[-1]
            means[-1], totals[-1], counts[-1] = merged, w_sum, count
    return np.repeat(np.asarray(means, dtype=np.float64), counts)


def implied_cdf(
    strikes: ArrayLike, put_prices: ArrayLike, rate: float, t_years: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Risk-neutral CDF of the terminal price implied by put prices.

    Returns ``(points, cdf)``: the midpoints of consecutive sorted strikes and
    F = e^{rT} ΔP/ΔK there (Breeden & Litzenberger 1978), made monotone
    non-decreasing (isotonic regression weighted by strike spacing) and clipped to
    [0, 1]. ``rate`` is the continuously compounded risk-free rate and ``t_years``
    the time to expiry in years. Non-finite (strike, price) pairs are dropped;
    at least two distinct strikes must remain and duplicated strikes are an error.
    """
    r, t = float(rate), float(t_years)
    if not math.isfinite(r):
        raise ValueError(f"rate must be finite, got {rate!r}")
    if not math.isfinite(t) or t < 0.0:
        raise ValueError(f"t_years must be finite and >= 0, got {t_years!r}")
    k, p = _valid_chain(strikes, put_prices)
    if k.size < 2:
        raise ValueError("implied_cdf needs at least two strikes with finite put prices")
    dk = np.diff(k)
    if np.any(dk <= 0.0):
        raise ValueError("strikes must be distinct")
    points = 0.5 * (k[1:] + k[:-1])
    raw = math.exp(r * t) * np.diff(p) / dk
    cdf = np.clip(_isotonic(raw, dk), 0.0, 1.0)
    return points, cdf


def probability_of_profit(
    legs: Sequence[Leg],
    prices: Sequence[float],
    strikes: ArrayLike,
    put_prices: ArrayLike,
    rate: float,
    t_years: float,
) -> float | None:
    """Risk-neutral probability that the package's P&L at expiry is > 0.

    ``prices`` are the per-share opening prices of ``legs`` (as in ``net_premium``);
    ``strikes`` / ``put_prices`` are the chain of the same expiry, fed to
    ``implied_cdf``. The terminal-price axis S >= 0 is cut at the exact break-evens;
    each interval where the P&L is > 0 contributes F(upper) − F(lower), with F the
    linear interpolation of ``(points, cdf)``, equal to ``cdf[0]`` left of the first
    point and ``cdf[-1]`` right of the last, F(0) = 0 and F(∞) = 1 (so
    P(S < first point) = cdf[0] and P(S > last point) = 1 − cdf[-1]).

    This is the probability under the chain's risk-neutral measure, not a
    real-world probability. Returns ``None`` when fewer than three strikes have a
    finite put price.
    """
    net = net_premium(legs, prices)
    k, _ = _valid_chain(strikes, put_prices)
    if k.size < 3:
        return None
    points, cdf = implied_cdf(strikes, put_prices, rate, t_years)
    x, y, slope = _kinks(legs, net)
    roots = _roots(x, y, slope)

    def big_f(s: float) -> float:
        if s <= 0.0:
            return 0.0
        if math.isinf(s):
            return 1.0
        return float(np.interp(s, points, cdf))

    bounds = [0.0, *[r for r in roots if r > 0.0], math.inf]
    total = 0.0
    for lower, upper in itertools.pairwise(bounds):
        if upper <= lower:
            continue
        probe = lower + max(1.0, lower) if math.isinf(upper) else 0.5 * (lower + upper)
        pnl = float(expiry_value(legs, probe)) - net
        if pnl > _ZERO_TOL:
            total += big_f(upper) - big_f(lower)
    return min(max(total, 0.0), 1.0)
