"""Value at risk, expected shortfall and their Euler decomposition.

Pure numpy/scipy: no Django, no pandas. Methods of docs RISK-MODEL.md ("VaR, ES and
performance"):

* **historical simulation with full revaluation** (what fills the spec's fields):
  :func:`historical_full_revaluation`. The h-day scenarios are the compounded returns of
  the overlapping h-day windows of the same daily history (:func:`overlapping_horizon_returns`),
  not sqrt(h) scaling;
* **parametric** (delta-normal, sqrt(h)), in factor space: :func:`parametric_var`;
* **Monte Carlo** (factor model, full revaluation, fixed seed): :func:`monte_carlo_var`.

Signs and units. P&L, VaR and ES are in dollars; a loss is negative. VaR at confidence c
is the (1 - c) quantile of the P&L distribution (negative when it is a loss; it is not
floored at 0), and ES is the mean P&L of the scenarios at or below VaR, so ES <= VaR.

Quantile convention (historical and Monte Carlo): numpy's default ``'linear'`` method
(Hyndman-Fan type 7): sort the S scenario P&Ls ascending as x[0] <= ... <= x[S-1], set
h = (1 - c)(S - 1), and VaR = x[floor h] + (h - floor h)(x[floor h + 1] - x[floor h]).
An h within 1e-9 of an integer is taken as that integer (1 - 0.9 is not 0.1 in floating
point), so VaR is then exactly that scenario's P&L and ES counts it.

Component VaR (Euler). Components sum to VaR to float precision:

* historical and Monte Carlo: each position's P&L averaged over the k scenarios nearest
  the VaR quantile in rank (:func:`tail_scenarios`), scaled by VaR / (the portfolio P&L
  averaged over the same scenarios);
* parametric: w_i (Sigma w)_i / sigma_p^2 x VaR, computed in factor space.

``marginal = component / weight`` with weight = |market value| / gross exposure, so that
component = weight x marginal (:func:`marginal_var`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtri

from risk.engine.conventions import TRADING_DAYS_PER_YEAR
from risk.engine.factors import column_slopes
from risk.engine.parallel import for_ranges
from risk.engine.revaluation import (
    Book,
    portfolio_pnl,
    position_weights,
    revalue,
)

__all__ = [
    "CALENDAR_DAYS_PER_TRADING_DAY",
    "ParametricVaRResult",
    "VaRResult",
    "component_var_historical",
    "default_kernel_size",
    "historical_full_revaluation",
    "historical_var",
    "marginal_var",
    "monte_carlo_var",
    "overlapping_horizon_returns",
    "parametric_var",
    "standalone_statistics",
    "tail_scenarios",
    "vol_betas",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]

#: Time decay of one trading day of horizon, in calendar days (365/252): h trading days
#: of history span on average h x 365/252 calendar days, weekends included.
CALENDAR_DAYS_PER_TRADING_DAY = 365.0 / TRADING_DAYS_PER_YEAR


@dataclass(frozen=True, eq=False)
class VaRResult:
    """VaR of one horizon and confidence from scenarios (historical or Monte Carlo).

    * ``var``, ``es``: dollars, negative for a loss;
    * ``pnl_vector``: portfolio P&L per scenario, dollars, shape (S,);
    * ``component``: Euler component VaR per position, dollars, shape (n,), summing to
      ``var``;
    * ``marginal``: component / weight (weight = |mv| / gross), dollars per unit of
      weight, NaN where the weight is 0;
    * ``tail_scenarios``: indices (into ``pnl_vector``) of the kernel scenarios behind
      the components, in ascending order of P&L.
    """

    method: str
    horizon_days: int
    confidence: float
    var: float
    es: float
    pnl_vector: FloatArray
    component: FloatArray
    marginal: FloatArray
    tail_scenarios: IntArray


@dataclass(frozen=True, eq=False)
class ParametricVaRResult:
    """Delta-normal VaR of one horizon and confidence.

    * ``var``, ``es``: dollars, negative (``-z sigma sqrt(h)`` and
      ``-sigma sqrt(h) phi(z) / (1 - c)``);
    * ``sigma``: standard deviation of the daily portfolio P&L, dollars;
    * ``systematic_variance`` (b' Sigma_f b) and ``idiosyncratic_variance`` (sum of the
      residual variances): daily, dollars squared; they sum to ``sigma**2``;
    * ``factor_exposure``: b = B'w, dollars per unit factor return, shape (k,);
    * ``component``: Euler components, dollars, shape (n,), summing to ``var``.
    """

    horizon_days: int
    confidence: float
    var: float
    es: float
    sigma: float
    systematic_variance: float
    idiosyncratic_variance: float
    factor_exposure: FloatArray
    component: FloatArray


def _alpha(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    return 1.0 - confidence


def _vector(x: ArrayLike, name: str) -> FloatArray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-d array, got shape {a.shape}")
    return a


def _quantile_rank(alpha: float, s: int) -> float:
    """Fractional rank h = alpha (S - 1) of the alpha quantile among S sorted values,
    snapped to the nearest integer when within 1e-9 of it: 1 - 0.9 is
    0.09999999999999998 in floating point, and an 11-scenario 90% VaR must be the second
    worst P&L, not 2e-16 of the way from the worst to it (which would drop that scenario
    from ES)."""
    h = alpha * (s - 1)
    nearest = round(h)
    return float(nearest) if abs(h - nearest) <= 1e-9 * max(1.0, h) else h


def historical_var(pnl_scenarios: ArrayLike, confidence: float) -> tuple[float, float]:
    """(VaR, ES) in the P&L's units (dollars), from scenario P&Ls of shape (S,).

    VaR is the (1 - confidence) quantile, type 7 as numpy's ``'linear'`` default (module
    docstring), with the fractional rank snapped to an integer within 1e-9: negative for a
    loss. ES is the mean of the P&Ls at or below VaR (at least the worst scenario), so
    ES <= VaR. References: a sort in a Python loop, and ``np.quantile`` (tests)."""
    x = np.sort(_vector(pnl_scenarios, "pnl_scenarios"))
    h = _quantile_rank(_alpha(confidence), x.size)
    j = math.floor(h)
    g = h - j
    var = float(x[j]) if g == 0.0 else float(x[j] + g * (x[j + 1] - x[j]))
    tail = x[: int(np.searchsorted(x, var, side="right"))]
    # VaR + mean(tail - VaR) rather than mean(tail): equal in exact arithmetic, and
    # ES <= VaR survives rounding (three equal P&Ls do not average to above VaR).
    es = var + float((tail - var).mean())
    return var, es


def overlapping_horizon_returns(returns: ArrayLike, h: int) -> FloatArray:
    """Compounded h-day returns of the overlapping windows of daily simple returns.

    ``returns`` (T, u), relative (0.01 = +1%), oldest first; the result (T - h + 1, u) has
    row j = prod_{d=j}^{j+h-1} (1 + r_d) - 1, relative. h = 1 returns a copy."""
    r = np.asarray(returns, dtype=np.float64)
    if r.ndim != 2:
        raise ValueError(f"returns must be 2-d (T, u), got shape {r.shape}")
    if not 1 <= h <= r.shape[0]:
        raise ValueError(f"h must lie in [1, T={r.shape[0]}], got {h}")
    windows = np.lib.stride_tricks.sliding_window_view(1.0 + r, h, axis=0)  # (T-h+1, u, h)
    out: FloatArray = windows.prod(axis=-1)
    out -= 1.0
    return out


def default_kernel_size(n_scenarios: int, confidence: float) -> int:
    """Number k of scenarios averaged for the Euler components.

    ``k = max(5, ceil(2.5% of S))``, reduced to the widest window centred on the
    quantile, ``2 floor((1 - c)(S - 1)) + 1``, when that is smaller (but not below 5), and
    at most S. About 2.5% of the scenarios keeps the noise of a component down; the cap
    keeps the window symmetric around the quantile where the tail is short (99% of 10,000
    Monte Carlo paths: k = 199, ranks 0 to 198 around rank 99.99; 99% of 252 days: k = 5;
    95% of 252 days: k = 7)."""
    alpha = _alpha(confidence)
    k = max(5, math.ceil(0.025 * n_scenarios))
    centred = 2 * math.floor(alpha * (n_scenarios - 1)) + 1
    k = min(k, max(5, centred))
    return max(1, min(k, n_scenarios))


def tail_scenarios(pnl_scenarios: ArrayLike, confidence: float, k: int | None = None) -> IntArray:
    """Indices of the k scenarios nearest the VaR quantile in rank, ascending in P&L.

    With the ascending order statistics x[0..S-1] and the quantile's fractional rank
    h = (1 - c)(S - 1), the window is the k consecutive ranks whose centre is nearest h
    (a tie goes to the tail side), shifted inwards at the ends of the sample.
    ``k=None``: :func:`default_kernel_size`."""
    pnl = _vector(pnl_scenarios, "pnl_scenarios")
    s = pnl.size
    alpha = _alpha(confidence)
    k = default_kernel_size(s, confidence) if k is None else k
    if not 1 <= k <= s:
        raise ValueError(f"k must lie in [1, S={s}], got {k}")
    h = _quantile_rank(alpha, s)
    start = min(max(math.ceil(h - (k - 1) / 2.0 - 0.5), 0), s - k)
    order = np.argsort(pnl, kind="stable")
    return order[start : start + k]


def _euler_scale(window_pnl: FloatArray, var: float) -> FloatArray:
    """Components from the (k, n) position P&L of the kernel scenarios: the column means
    scaled by VaR / (their sum = the portfolio's mean P&L in the kernel), so that they sum
    to VaR. NaN if that mean is exactly 0 (the decomposition is then undefined)."""
    mean = window_pnl.mean(axis=0)
    denominator = float(mean.sum())
    if denominator == 0.0:
        return np.full(mean.shape, np.nan)
    out: FloatArray = mean * (var / denominator)
    return out


def component_var_historical(
    pnl_matrix: ArrayLike, var: float, *, confidence: float, k: int | None = None
) -> FloatArray:
    """Euler component VaR from scenario P&L, dollars, shape (n,), summing to ``var``.

    ``pnl_matrix`` (S, n): P&L per scenario and position, dollars; ``var``: the portfolio
    VaR of its row sums at ``confidence``. Each position's P&L is averaged over the k
    scenarios nearest the quantile in rank (:func:`tail_scenarios`; ``k=None`` for
    :func:`default_kernel_size`), then scaled by VaR / (the portfolio P&L averaged over
    the same scenarios). The average of a position's P&L given that the portfolio sits at
    its quantile is the Euler derivative dVaR/dw_i, estimated with a rank kernel."""
    m = np.asarray(pnl_matrix, dtype=np.float64)
    if m.ndim != 2:
        raise ValueError(f"pnl_matrix must be 2-d (S, n), got shape {m.shape}")
    idx = tail_scenarios(m.sum(axis=1), confidence, k)
    return _euler_scale(m[idx], var)


def marginal_var(component: ArrayLike, weight: ArrayLike) -> FloatArray:
    """Marginal VaR = component / weight, dollars per unit of weight (weight = |market
    value| / gross exposure, a fraction), so that component = weight x marginal. NaN
    where the weight is 0 (undefined)."""
    c = np.asarray(component, dtype=np.float64)
    w = np.asarray(weight, dtype=np.float64)
    out = np.full(np.broadcast_shapes(c.shape, w.shape), np.nan)
    np.divide(c, w, out=out, where=w != 0.0)
    return out


def _horizons(horizons: Sequence[int]) -> list[int]:
    hs = [int(h) for h in horizons]
    if any(h < 1 for h in hs):
        raise ValueError(f"horizons must be positive trading days, got {horizons}")
    return hs


def _scenario_results(
    method: str,
    book: Book,
    pnl: FloatArray,
    rows: FloatArray | None,
    shocks: FloatArray | Callable[[IntArray], FloatArray],
    vol: FloatArray | float,
    decay_days: float,
    h: int,
    confidences: Sequence[float],
    k: int | None,
    weights: FloatArray,
) -> dict[tuple[int, float], VaRResult]:
    """VaR/ES and components at each confidence for one horizon; ``rows`` is the (S, n)
    P&L matrix when it exists, else the kernel scenarios are revalued from ``shocks`` (the
    (S, u) shocks, or a function giving the rows of the scenarios asked for)."""
    out: dict[tuple[int, float], VaRResult] = {}
    for c in confidences:
        var, es = historical_var(pnl, c)
        idx = tail_scenarios(pnl, c, k)
        if rows is not None:
            window = rows[idx]
        else:
            v = vol if np.ndim(vol) == 0 else np.asarray(vol)[idx]
            at = shocks(idx) if callable(shocks) else shocks[idx]
            window = revalue(book, at, v, 0.0, decay_days)
        component = _euler_scale(window, var)
        out[(h, c)] = VaRResult(
            method=method,
            horizon_days=h,
            confidence=c,
            var=var,
            es=es,
            pnl_vector=pnl,
            component=component,
            marginal=marginal_var(component, weights),
            tail_scenarios=idx,
        )
    return out


def historical_full_revaluation(
    book: Book,
    underlying_returns: ArrayLike,
    horizons: Sequence[int] = (1, 5, 10),
    confidences: Sequence[float] = (0.95, 0.99),
    *,
    vol_returns: ArrayLike | None = None,
    k: int | None = None,
    calendar_days_per_trading_day: float = CALENDAR_DAYS_PER_TRADING_DAY,
) -> dict[tuple[int, float], VaRResult]:
    """Historical-simulation VaR/ES with full revaluation, keyed by (horizon, confidence).

    ``underlying_returns`` (T, u): daily simple returns of each underlying (aligned with
    ``book.spot0``), oldest first, all finite (fill or proxy missing history first);
    ``horizons`` in trading days; ``confidences`` as fractions (0.99).

    For each horizon h, the scenarios are the T - h + 1 overlapping compounded h-day
    returns, applied to today's spots; the (S, n) P&L matrix is built once by
    :func:`risk.engine.revaluation.revalue`, with options repriced at
    ``t - h x calendar_days_per_trading_day / 365`` (h trading days of history span
    h x 365/252 calendar days on average). Implied volatility stays at today's level
    (sticky) unless ``vol_returns`` (T,), daily relative changes of implied volatility (a
    VIX series, say), is given: it is compounded over the same windows and applied to
    every option, scaled per option by ``book.vol_beta`` ((1 + change) ** vol_beta). The portfolio P&L is the row sum; components come from the same matrix
    (:func:`component_var_historical`), marginals with the book's weights.
    """
    r = np.asarray(underlying_returns, dtype=np.float64)
    if r.ndim != 2 or r.shape[1] != book.n_underlyings:
        raise ValueError(f"underlying_returns must be (T, {book.n_underlyings}), got {r.shape}")
    if not np.all(np.isfinite(r)):
        raise ValueError("underlying_returns must be finite (fill or proxy missing history)")
    vr = None
    if vol_returns is not None:
        vr = np.asarray(vol_returns, dtype=np.float64).reshape(-1, 1)
        if vr.shape[0] != r.shape[0]:
            raise ValueError("vol_returns must have one value per day of underlying_returns")
    weights = position_weights(book)
    out: dict[tuple[int, float], VaRResult] = {}
    for h in _horizons(horizons):
        shocks = overlapping_horizon_returns(r, h)
        vol: FloatArray | float = 0.0 if vr is None else overlapping_horizon_returns(vr, h)[:, 0]
        decay = h * calendar_days_per_trading_day
        matrix = revalue(book, shocks, vol, 0.0, decay)
        pnl = matrix.sum(axis=1)
        out |= _scenario_results(
            "historical", book, pnl, matrix, shocks, vol, decay, h, confidences, k, weights
        )
    return out


def parametric_var(
    *,
    exposure: ArrayLike,
    factor_loadings: ArrayLike,
    factor_cov: ArrayLike,
    residual_var: ArrayLike | None = None,
    confidence: float,
    horizon_days: int = 1,
    underlying_index: ArrayLike | None = None,
    residual_vol: ArrayLike | None = None,
) -> ParametricVaRResult:
    """Delta-normal VaR in factor space, with Euler components.

    * ``exposure`` w (n,): dollar exposure of each position (market value for a stock,
      delta dollars q*m*delta*spot for an option);
    * ``factor_loadings`` B (n, k): each position's betas per unit of its dollar exposure
      (an option takes its underlying's betas, RISK-MODEL "Factor model");
    * ``factor_cov`` Sigma_f (k, k): daily covariance of factor returns (fractions^2);
    * ``residual_var`` (n,): daily variance of each position's residual P&L, dollars^2
      (w_i^2 x residual volatility_i^2 for a daily residual volatility in fractions);
    * ``confidence``: fraction; ``horizon_days``: trading days, sqrt(h) scaling;
    * instead of ``residual_var``, residuals per underlying (RISK-MODEL "Residuals are
      per underlying"): ``underlying_index`` (n,) and ``residual_vol`` (u,), the daily
      residual volatility of each underlying (fraction). A stock and the options on it
      then share one residual: with W_u = sum of w_j over the positions on underlying u,
      the residual variance is sum_u W_u^2 vol_u^2 and position i's residual term is
      w_i W_u(i) vol_u(i)^2 (these sum to it), so a delta-hedged name has no residual.

    With b = B'w and D the diagonal of residual variances per dollar^2, the position
    covariance is Sigma = B Sigma_f B' + D (never built). sigma_p^2 = b' Sigma_f b + sum of
    residual_var; VaR = -z_c sigma_p sqrt(h) with z_c = Phi^-1(c), ES = -sigma_p sqrt(h)
    phi(z_c) / (1 - c); component_i = w_i (Sigma w)_i / sigma_p^2 x VaR, where
    w_i (Sigma w)_i = w_i (B Sigma_f b)_i + residual_var_i. sigma_p^2 is computed as the sum
    of those terms (equal to the formula above) so that the components sum to VaR.
    Reference: an explicit n x n covariance on a small book (tests).
    """
    w = _vector(exposure, "exposure")
    n = w.size
    b_mat = np.asarray(factor_loadings, dtype=np.float64)
    cov = np.asarray(factor_cov, dtype=np.float64)
    if (residual_var is None) == (residual_vol is None or underlying_index is None):
        raise ValueError("give residual_var, or underlying_index with residual_vol")
    if residual_var is not None:
        res = _vector(residual_var, "residual_var")
        if res.shape != (n,) or np.any(res < 0.0):
            raise ValueError("residual_var must be (n,) and non-negative")
    else:
        ui = np.asarray(underlying_index, dtype=np.intp).reshape(-1)
        rv = np.asarray(residual_vol, dtype=np.float64).reshape(-1)
        if ui.shape != (n,) or (n and (ui.min() < 0 or ui.max() >= rv.size)):
            raise ValueError(f"underlying_index must be (n={n},) indices into residual_vol")
        if np.any(rv < 0.0) or not np.all(np.isfinite(rv)):
            raise ValueError("residual_vol must be finite and non-negative")
        net = np.bincount(ui, weights=w, minlength=rv.size)
        res = w * net[ui] * rv[ui] ** 2  # may be negative for one leg of a hedge
    if b_mat.ndim != 2 or b_mat.shape[0] != n:
        raise ValueError(f"factor_loadings must be (n={n}, k), got {b_mat.shape}")
    k = b_mat.shape[1]
    if cov.shape != (k, k):
        raise ValueError(f"factor_cov must be ({k}, {k}), got {cov.shape}")
    if horizon_days < 1:
        raise ValueError("horizon_days must be at least 1")
    alpha = _alpha(confidence)

    b = b_mat.T @ w  # (k,) dollars per unit factor return
    sigma_b = cov @ b  # (k,)
    terms = w * (b_mat @ sigma_b) + res  # w_i (Sigma w)_i, dollars^2
    variance = float(terms.sum())
    if not np.any(w):
        # No dollar exposure (a book of expired or zero-delta positions): nothing moves
        # with the factors, so the loss quantile is exactly 0, not an error.
        return ParametricVaRResult(
            horizon_days=horizon_days,
            confidence=confidence,
            var=0.0,
            es=0.0,
            sigma=0.0,
            systematic_variance=0.0,
            idiosyncratic_variance=0.0,
            factor_exposure=b,
            component=np.zeros(n),
        )
    if not variance > 0.0:
        raise ValueError("portfolio variance is not positive (check factor_cov)")
    sigma = math.sqrt(variance)
    z = float(ndtri(confidence))
    scale = sigma * math.sqrt(horizon_days)
    var = -z * scale
    es = -scale * math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi) / alpha
    return ParametricVaRResult(
        horizon_days=horizon_days,
        confidence=confidence,
        var=var,
        es=es,
        sigma=sigma,
        systematic_variance=float(b @ sigma_b),
        idiosyncratic_variance=float(res.sum()),
        factor_exposure=b,
        component=terms * (var / variance),
    )


def _factor_root(cov: FloatArray) -> FloatArray:
    """A (k, k) with A A' = cov, from the eigen-decomposition (negative eigenvalues of
    an estimated, possibly singular, covariance are set to 0)."""
    vals, vecs = np.linalg.eigh(0.5 * (cov + cov.T))
    root: FloatArray = vecs * np.sqrt(np.clip(vals, 0.0, None))
    return root


def monte_carlo_var(
    book: Book,
    factor_cov: ArrayLike,
    loadings: ArrayLike,
    residual_vol: ArrayLike,
    n_paths: int = 10_000,
    horizons: Sequence[int] = (1, 5, 10),
    confidences: Sequence[float] = (0.95, 0.99),
    seed: int = 0,
    *,
    k: int | None = None,
    calendar_days_per_trading_day: float = CALENDAR_DAYS_PER_TRADING_DAY,
    vol_loadings: ArrayLike | None = None,
    vol_residual: float = 0.0,
    vol_underlying: int | None = None,
) -> dict[tuple[int, float], VaRResult]:
    """Monte Carlo VaR/ES from a factor model with full revaluation, keyed by
    (horizon, confidence).

    Implied volatility moves with the VIX in every path (RISK-MODEL "VaR, ES and
    performance") when ``vol_loadings`` (k,), the VIX's factor betas, is given: the VIX's
    daily log change is v = f . vol_loadings + e_v with e_v ~ N(0, ``vol_residual``²)
    (daily), or, when the VIX is itself an underlying of the book (``vol_underlying``,
    its index), that underlying's simulated log return, so that a VIX option's level and
    every option's implied vol move together. The h-day implied-vol change is
    expm1(sqrt(h) v), applied per option through ``book.vol_beta``. Without
    ``vol_loadings`` implied volatility is held (the former behaviour).

    ``factor_cov`` (k, k): daily factor return covariance; ``loadings`` (u, k): each
    underlying's betas; ``residual_vol`` (u,): daily residual volatility of each
    underlying (fraction); ``n_paths``; ``horizons`` in trading days; ``seed``: the
    factors (then the VIX residuals) come from ``numpy.random.default_rng(seed)`` and each
    path's residuals from its own child stream ``SeedSequence(seed, spawn_key=(path,))``
    (same seed, same figures, on any thread count and block size).

    Model: the daily log-return of the underlyings is x = L f + e, f ~ N(0, Sigma_f),
    e ~ N(0, diag(residual_vol^2)), independent, zero mean. The h-day scenario is
    expm1(sqrt(h) x) from the same draws for every horizon (common random numbers; prices
    stay positive). Options are repriced in full at ``t - h x 365/252 / 365`` with
    implied volatility and rates held at today's levels. The portfolio P&L per path comes
    from :func:`risk.engine.revaluation.portfolio_pnl` (no (paths, n) matrix is built);
    the kernel scenarios of each confidence are then revalued position by position for
    the Euler components (as in :func:`component_var_historical`).
    """
    cov = np.asarray(factor_cov, dtype=np.float64)
    lo = np.asarray(loadings, dtype=np.float64)
    rv = np.asarray(residual_vol, dtype=np.float64)
    u = book.n_underlyings
    if lo.ndim != 2 or lo.shape[0] != u or cov.shape != (lo.shape[1], lo.shape[1]):
        raise ValueError("loadings must be (u, k) and factor_cov (k, k)")
    if rv.shape != (u,) or np.any(rv < 0.0):
        raise ValueError(f"residual_vol must be ({u},) and non-negative")
    if n_paths < 2:
        raise ValueError("n_paths must be at least 2")
    rng = np.random.default_rng(seed)
    z_f = rng.standard_normal((n_paths, cov.shape[0]))
    f = z_f @ _factor_root(cov).T  # (paths, k) factor returns
    v: FloatArray | None = None
    if vol_underlying is not None:
        if not 0 <= vol_underlying < u:
            raise ValueError(f"vol_underlying must lie in [0, {u})")
        v = np.empty(n_paths, dtype=np.float64)  # filled path by path below
    elif vol_loadings is not None:
        vl = np.asarray(vol_loadings, dtype=np.float64).reshape(-1)
        if vl.shape != (cov.shape[0],) or not np.all(np.isfinite(vl)):
            raise ValueError("vol_loadings must be (k,) and finite")
        v = f @ vl + rng.standard_normal(n_paths) * float(vol_residual)
    paths = _ResidualPaths(seed, f, lo.T, rv)
    steps = [(h, math.sqrt(h), h * calendar_days_per_trading_day) for h in _horizons(horizons)]
    pnl = {h: np.empty(n_paths, dtype=np.float64) for h, _, _ in steps}
    rows = _path_block_rows(u)

    def path_pnl(first: int, last: int) -> None:
        # Each block of paths is drawn once into a buffer reused for the whole range and
        # revalued at every horizon: no (paths, u) array is ever built (at 10,000 paths
        # and thousands of underlyings its page faults alone cost seconds).
        x_buffer = np.empty((min(rows, last - first), u), dtype=np.float64)
        shock_buffer = np.empty_like(x_buffer)
        for a, b in _blocks(last - first, rows):
            a, b = first + a, first + b
            x = paths.fill(a, b, x_buffer[: b - a])
            if vol_underlying is not None and v is not None:
                v[a:b] = x[:, vol_underlying]
            shocks = shock_buffer[: b - a]
            for h, root_h, decay in steps:
                np.multiply(x, root_h, out=shocks)
                np.expm1(shocks, out=shocks)
                vol_ab: FloatArray | float = 0.0 if v is None else np.expm1(root_h * v[a:b])
                pnl[h][a:b] = portfolio_pnl(book, shocks, vol_ab, 0.0, decay)

    for_ranges(n_paths, path_pnl, align=rows)  # path blocks are independent
    weights = position_weights(book)
    out: dict[tuple[int, float], VaRResult] = {}
    for h, root_h, decay in steps:
        vol: FloatArray | float = 0.0 if v is None else np.expm1(root_h * v)

        def shocks_at(idx: IntArray, root_h: float = root_h) -> FloatArray:
            return np.expm1(root_h * paths.rows(idx))

        out |= _scenario_results(
            "monte_carlo", book, pnl[h], None, shocks_at, vol, decay, h, confidences, k, weights
        )
    return out


class _ResidualPaths:
    """The daily log-returns x = f L' + e of the Monte Carlo paths, drawn path by path.

    Path i's residuals e_i ~ N(0, diag(residual_vol²)) come from its own generator,
    ``SeedSequence(seed, spawn_key=(i,))`` (numpy's independent child streams), so any
    path can be drawn again on its own, in any order and on any thread, with the same
    figures: the kernel scenarios are redrawn instead of keeping every path in memory.
    """

    def __init__(self, seed: int, f: FloatArray, loadings_t: FloatArray, rv: FloatArray):
        self.seed, self.f, self.loadings_t, self.rv = seed, f, loadings_t, rv
        self._memo: dict[int, FloatArray] = {}

    def fill(self, first: int, last: int, out: FloatArray) -> FloatArray:
        """Paths [first, last) into ``out`` ((last − first, u)), returned."""
        for offset, i in enumerate(range(first, last)):
            seeds = np.random.SeedSequence(self.seed, spawn_key=(i,))
            np.random.Generator(np.random.PCG64(seeds)).standard_normal(out=out[offset])
        out *= self.rv
        out += self.f[first:last] @ self.loadings_t
        return out

    def rows(self, idx: IntArray) -> FloatArray:
        """Paths ``idx`` as a (len(idx), u) array (each drawn once, then remembered)."""
        out = np.empty((len(idx), self.rv.size), dtype=np.float64)
        for j, i in enumerate(np.asarray(idx, dtype=np.intp).tolist()):
            row = self._memo.get(i)
            if row is None:
                row = self._memo[i] = self.fill(i, i + 1, out[j : j + 1])[0].copy()
            else:
                out[j] = row
        return out


#: Elements of one block of Monte Carlo paths (8 MB of float64).
_PATH_BLOCK_ELEMENTS = 1 << 20


def _path_block_rows(u: int) -> int:
    return max(1, _PATH_BLOCK_ELEMENTS // max(u, 1))


def _blocks(total: int, rows: int) -> Iterator[tuple[int, int]]:
    for a in range(0, total, rows):
        yield a, min(total, a + rows)


@dataclass(frozen=True)
class StandaloneStatistics:
    """Each position seen alone against the portfolio, over the same P&L scenarios."""

    var: dict[float, FloatArray]  # confidence → the position's own VaR, dollars (negative)
    beta_to_portfolio: FloatArray  # NaN where undefined
    correlation_to_portfolio: FloatArray  # NaN where undefined


def standalone_statistics(
    position_pnl: ArrayLike,
    gross_values: ArrayLike,
    portfolio_value: float,
    confidences: Sequence[float],
) -> StandaloneStatistics:
    """Per position, from a scenario P&L matrix ``position_pnl[s, n]`` (dollars):

    * its standalone VaR at each confidence: the (1 − c) quantile of its own P&L column
      (numpy's linear interpolation), dollars, negative for a loss;
    * its beta to the portfolio: the OLS slope of its return (P&L / ``gross_values[n]``,
      the position's |market value|) on the portfolio's return (Σ P&L /
      ``portfolio_value``) = cov(pnl_n, pnl_p) / var(pnl_p) × value / gross_n;
    * its Pearson correlation with the portfolio's P&L.

    NaN where a denominator is zero (a flat portfolio, a zero-value or constant position).
    """
    matrix = np.asarray(position_pnl, dtype=np.float64)
    gross = np.asarray(gross_values, dtype=np.float64)
    var = {c: np.quantile(matrix, 1.0 - c, axis=0) for c in confidences}
    total = matrix.sum(axis=1)
    centred = matrix - matrix.mean(axis=0)
    port_centred = total - total.mean()
    port_var = float(port_centred @ port_centred)
    covariances = centred.T @ port_centred
    stdevs = np.sqrt((centred * centred).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        beta = np.where(
            (gross > 0) & (port_var > 0), covariances / port_var * portfolio_value / gross, np.nan
        )
        correlation = np.where(
            (stdevs > 0) & (port_var > 0),
            covariances / (stdevs * math.sqrt(max(port_var, 0.0))),
            np.nan,
        )
    return StandaloneStatistics(
        var=var, beta_to_portfolio=beta, correlation_to_portfolio=correlation
    )


#: Block length (trading days, about a month) and fewest block-to-block changes for a
#: regression of realized-vol changes on VIX changes (:func:`vol_betas`).
VOL_BETA_BLOCK = 21
VOL_BETA_MIN_CHANGES = 8
VOL_BETA_BOUNDS = (0.0, 3.0)


def vol_betas(
    underlying_returns: ArrayLike,
    vix_returns: ArrayLike,
    *,
    block: int = VOL_BETA_BLOCK,
    min_changes: int = VOL_BETA_MIN_CHANGES,
) -> tuple[FloatArray, NDArray[np.bool_]]:
    """How each underlying's volatility follows the VIX: ``(beta[u], fitted[u])``.

    ``underlying_returns`` (T, u) and ``vix_returns`` (T,): daily simple returns (the VIX
    level's relative change), oldest first, NaN where missing. The window is cut into
    consecutive blocks of ``block`` days from the newest day back; per block, the
    underlying's realized volatility sqrt(mean r²) and the VIX's mean level (from its
    compounded returns). beta is the OLS slope, with an intercept, of the block-to-block
    log change of the realized vol on the log change of the VIX level: the elasticity of
    the name's volatility to the VIX (RISK-MODEL: "regression of its ATM-IV or
    realized-vol changes on VIX changes where history allows, else 1"; no ATM-IV history
    is stored, so realized vol stands in). Where fewer than ``min_changes`` changes have
    data, or the VIX does not move, beta is 1 and ``fitted`` False. The slope is clipped
    to [0, 3]: a month-to-month estimate from about a year of data is noisy, and a
    negative or explosive elasticity would be noise, not a property of the name.
    """
    r = _as_matrix(underlying_returns)
    vr = np.asarray(vix_returns, dtype=np.float64).reshape(-1)
    t, u = r.shape
    if vr.shape != (t,):
        raise ValueError(f"vix_returns must have shape ({t},)")
    n_blocks = t // block
    beta = np.ones(u)
    fitted = np.zeros(u, dtype=bool)
    if n_blocks < min_changes + 1 or u == 0:
        return beta, fitted
    start = t - n_blocks * block
    rb = r[start:].reshape(n_blocks, block, u)
    level = np.cumprod(1.0 + np.where(np.isfinite(vr), vr, 0.0))[start:]
    vix_ok: NDArray[np.bool_] = np.asarray(
        np.isfinite(vr[start:]).reshape(n_blocks, block).all(axis=1), dtype=bool
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        log_vix = np.log(level.reshape(n_blocks, block).mean(axis=1))
        rv = np.sqrt(np.nanmean(rb * rb, axis=1))  # (blocks, u)
        log_rv = np.where(rv > 0.0, np.log(rv), np.nan)
    dx = np.where(vix_ok[1:] & vix_ok[:-1], np.diff(log_vix), np.nan)
    dy = np.diff(log_rv, axis=0)  # (blocks - 1, u)
    slope, n, sxx = column_slopes(dx, dy)
    ok = (n >= min_changes) & (sxx > 0.0) & np.isfinite(slope)
    beta[ok] = np.clip(slope[ok], *VOL_BETA_BOUNDS)
    fitted[ok] = True
    return beta, fitted


def _as_matrix(x: ArrayLike) -> FloatArray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"expected a (T, u) array, got shape {a.shape}")
    return a
