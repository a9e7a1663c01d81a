"""Factor model on numpy arrays: design, regression, option betas, exposures, attribution.

Pure numpy/scipy: no Django, no pandas. float64 throughout; no Python loop runs over
positions (or over days).

Method (docs RISK-MODEL.md, "Factor model"):

* **Design.** Column 0 is the market's daily return (SPY); every other column is a style
  ETF's daily return *in excess of the market*, orthogonalized against the market over
  the window (:func:`factor_design`), so that the market coefficient is exactly the
  position's single-factor beta and the style coefficients are tilts.
* **Regression.** :func:`regress` fits ``r_t = alpha + x_t' beta + e_t`` for every position
  at once, by OLS, or by ridge (``ridge > 0``; neither the intercept nor the market column
  is penalized). Each position uses
  only the days on which both it and the design have data. Checked against statsmodels
  OLS (betas, R², residual standard deviation) to 1e-8, and the ridge against its closed
  form and scikit-learn's ``Ridge``.
* **Options** take their underlying's betas scaled by the elasticity delta x spot / price
  (:func:`option_betas`).
* **Exposures and attribution** (:func:`portfolio_exposures`, :func:`risk_attribution`)
  work in factor space with a k x k factor covariance (:func:`ewma_covariance`) plus
  diagonal residual variances: no n x n position covariance is ever built.

Units: returns are daily simple returns as decimals (0.01 = 1%); ``alpha`` is per day;
volatilities and covariances are annualized with 252 trading days (x sqrt(252) for a
volatility, x 252 for a variance); dollar figures are in the portfolio's currency.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.linalg import solve_triangular

from risk.engine.conventions import EWMA_LAMBDA, TRADING_DAYS_PER_YEAR

__all__ = [
    "TRADING_DAYS",
    "Attribution",
    "FactorFit",
    "ewma_covariance",
    "ewma_volatility",
    "factor_design",
    "option_betas",
    "portfolio_exposures",
    "rate_betas",
    "regress",
    "risk_attribution",
    "weighted_r_squared",
]

FloatArray = NDArray[np.float64]

TRADING_DAYS = TRADING_DAYS_PER_YEAR

# Relative size below which an eigenvalue of a (unit-diagonal) normal matrix counts as 0,
# i.e. singular values of the standardized design below sqrt(1e-13) ~ 3e-7 of the largest:
# such a design is rank-deficient and gets the minimum-norm solution, in both solver paths.
_GRAM_RCOND = 1e-13
_DESIGN_RCOND = math.sqrt(_GRAM_RCOND)


class FactorFit(NamedTuple):
    """Per-position result of :func:`regress` (n positions, p factors, T days).

    * ``alpha[n]``: intercept, a daily return (decimal per day);
    * ``betas[n, p]``: sensitivity to each design column (return per unit factor return);
    * ``r_squared[n]``: 1 - SSR / centred total sum of squares, on the position's own days;
    * ``residual_vol[n]``: ``sqrt(SSR / (n_obs - p - 1)) * sqrt(252)``, annualized decimal
      (statsmodels' residual standard deviation ``sqrt(scale)``, annualized);
    * ``idiosyncratic_share[n]``: 1 - R², the share of the position's variance not
      explained by the factors;
    * ``n_obs[n]``: the number of days used;
    * ``valid[n]``: False where ``n_obs < max(min_obs, p + 2)``; every other field of such a
      position is NaN (``n_obs`` excepted);
    * ``residuals[T, n]``: daily residual returns, NaN on the days a position was not fitted.
    """

    alpha: FloatArray
    betas: FloatArray
    r_squared: FloatArray
    residual_vol: FloatArray
    idiosyncratic_share: FloatArray
    n_obs: NDArray[np.int64]
    valid: NDArray[np.bool_]
    residuals: FloatArray


class Attribution(NamedTuple):
    """Portfolio variance split into factor and residual parts (:func:`risk_attribution`).

    * ``systematic_share``: b'Σb / total variance (a fraction, RISK-MODEL ``systematic_risk``);
    * ``idiosyncratic_share``: 1 - systematic_share (``idiosyncratic_risk``);
    * ``factor_contributions[p]``: Euler shares b_i (Σb)_i / b'Σb of the systematic
      variance; they sum to 1 and may be negative for a hedging factor
      (``factor_concentration``);
    * ``systematic_variance``: b'Σb in dollars² per year (with an annualized Σ);
    * ``total_variance``: systematic variance + Σ residual dollar variances, same units.
    """

    systematic_share: float
    idiosyncratic_share: float
    factor_contributions: FloatArray
    systematic_variance: float
    total_variance: float


def _as_2d(x: ArrayLike, name: str) -> FloatArray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"{name} must be 1-D or 2-D, got shape {a.shape}")
    return a


def factor_design(market: ArrayLike, styles: ArrayLike) -> FloatArray:
    """Regression design ``[T, k + 1]`` from daily returns (decimals per day).

    Column 0 is ``market[T]`` (SPY's return). Column j >= 1 is the style ETF's return in
    excess of the market, ``s_j = styles[:, j-1] - market``, orthogonalized against the
    market over the same window: the residual ``s_j - a_j - b_j market`` of the OLS of
    the spread on the market with an intercept, fitted on the days where the market and
    that style are both finite. The style columns then have zero mean and zero sample
    covariance with the market, so in a regression on this design the market coefficient
    equals the single-factor market beta exactly (RISK-MODEL "Regression"), whatever the
    style tilts. A NaN in an input stays NaN in the design and removes that day from
    every regression (see :func:`regress`); on a position's own subset of days the
    orthogonality, and so the equality, is only approximate.
    """
    m = np.asarray(market, dtype=np.float64)
    if m.ndim != 1:
        raise ValueError(f"market must be 1-D, got shape {m.shape}")
    s = _as_2d(styles, "styles")
    if s.shape[0] != m.shape[0]:
        raise ValueError(f"styles has {s.shape[0]} rows, market has {m.shape[0]}")
    out = np.empty((m.shape[0], s.shape[1] + 1), dtype=np.float64)
    out[:, 0] = m
    spread = out[:, 1:]
    np.subtract(s, m[:, None], out=spread)
    ok = np.isfinite(spread) & np.isfinite(m)[:, None]  # [T, k]
    count = ok.sum(axis=0)
    w = ok.astype(np.float64)
    m0 = np.where(np.isfinite(m), m, 0.0)[:, None] * w
    s0 = np.where(ok, spread, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        m_mean = m0.sum(axis=0) / count
        s_mean = s0.sum(axis=0) / count
        m_dev = (m0 - m_mean) * w
        var_m = np.einsum("tj,tj->j", m_dev, m_dev)
        slope = np.where(var_m > 0.0, np.einsum("tj,tj->j", m_dev, s0) / var_m, 0.0)
    slope = np.where(np.isfinite(slope), slope, 0.0)
    intercept = np.where(count > 0, s_mean - slope * m_mean, 0.0)
    spread -= intercept + m[:, None] * slope
    return out


def regress(
    returns: ArrayLike,
    design: ArrayLike,
    *,
    ridge: float = 0.0,
    min_obs: int = 60,
    unpenalized: Sequence[int] = (0,),
) -> FactorFit:
    """Regress every column of ``returns[T, n]`` on ``design[T, p]`` with an intercept.

    Units: daily simple returns (decimals per day) in both; see :class:`FactorFit` for the
    outputs. A 1-D ``returns`` is one position; a 1-D ``design`` is one factor.

    Objective per position i, over its days D_i:
    ``sum_{t in D_i} (r_ti - a_i - x_t' b_i)^2 + ridge * sum_{j not in unpenalized} b_ij^2``.
    ``ridge`` is in the design's own units (squared daily returns: the same convention as
    scikit-learn's ``Ridge(alpha=ridge, fit_intercept=True)``); the intercept and the
    columns of ``unpenalized`` (by default column 0, the market: RISK-MODEL never shrinks
    the market beta) are not penalized. ``ridge = 0``
    is OLS (statsmodels ``OLS(y, add_constant(X))``); an exactly collinear design then gets
    the minimum-norm solution in standardized coordinates.

    Missing data: D_i is the set of days on which ``returns[:, i]`` and every column of
    ``design`` are finite. Positions with data on every usable day (the common case) are
    solved together by one QR factorization of the centred, standardized design and one
    triangular solve with n right-hand sides. The others are solved together through
    masked normal equations: one matrix product gives every position's Gram matrix over
    its own days, then one batched inverse (Cholesky-checked) and one step of iterative
    refinement. A design whose singular values (standardized) fall below ~3e-7 of the
    largest is treated as rank-deficient and gets the minimum-norm solution. Positions with ``n_obs < max(min_obs, p + 2)`` are not fitted: ``valid`` is False and
    their figures are NaN. ``residual_vol`` and R² use the same formulas with a ridge fit.
    The degrees of freedom of ``residual_vol`` are always n_obs - p - 1, also for an exactly
    collinear design (where statsmodels uses n_obs - rank; its coefficients, R² and
    residuals are still matched).
    """
    y = _as_2d(returns, "returns")
    x = _as_2d(design, "design")
    n_days, n_pos = y.shape
    if x.shape[0] != n_days:
        raise ValueError(f"design has {x.shape[0]} rows, returns has {n_days}")
    if not ridge >= 0.0:
        raise ValueError(f"ridge must be >= 0, got {ridge}")
    p = x.shape[1]

    day_ok: NDArray[np.bool_] = np.all(np.isfinite(x), axis=1)
    mask = np.isfinite(y) & day_ok[:, None]
    n_obs = mask.sum(axis=0).astype(np.int64)
    valid = n_obs >= max(int(min_obs), p + 2)

    # Standardize the design over its usable days: the intercept column and the factor
    # columns then have the same scale, which keeps the solves well conditioned.
    if day_ok.any():
        mu = x[day_ok].mean(axis=0)
        sd = x[day_ok].std(axis=0)
    else:
        mu = np.zeros(p)
        sd = np.ones(p)
    sd = np.where((sd > 0.0) & np.isfinite(sd), sd, 1.0)
    z = np.where(day_ok[:, None], (x - mu) / sd, 0.0)
    penalty = float(ridge) / sd**2  # ridge * ||b||^2 with b = b_std / sd
    penalty[list(unpenalized)] = 0.0  # per-column: the market beta is never shrunk

    coef = np.full((n_pos, p), np.nan)  # slopes on z
    icpt = np.full(n_pos, np.nan)  # intercept on z
    full = valid & (n_obs == day_ok.sum())
    part = valid & ~full
    if full.any():
        # Solved for every column (cheap: p x n), kept for the complete ones; a column
        # with gaps only yields NaNs here, which the masked solve below replaces.
        y_rows = y if day_ok.all() else y[day_ok]
        with np.errstate(invalid="ignore"):
            slopes, intercepts = _solve_complete(z[day_ok], y_rows, penalty)
        coef[full], icpt[full] = slopes[full], intercepts[full]
    if part.any():
        coef[part], icpt[part] = _solve_masked(z, y[:, part], mask[:, part], penalty)

    resid = z @ coef.T
    resid += icpt
    np.subtract(y, resid, out=resid)
    if full.all() and day_ok.all():  # the common case: nothing to mask
        ssr = np.einsum("ti,ti->i", resid, resid)
        dev = y - y.mean(axis=0)
    else:
        unused = ~(mask & valid)
        np.copyto(resid, np.nan, where=unused)
        dev = np.square(resid)
        np.copyto(dev, 0.0, where=unused)
        ssr = dev.sum(axis=0)
        np.copyto(dev, y)
        np.copyto(dev, 0.0, where=~mask)
        dev -= dev.sum(axis=0) / np.maximum(n_obs, 1)
        np.copyto(dev, 0.0, where=~mask)
    sst = np.einsum("ti,ti->i", dev, dev)
    ok_sst = valid & (sst > 0.0)
    r2 = np.full(n_pos, np.nan)
    r2[ok_sst] = 1.0 - ssr[ok_sst] / sst[ok_sst]
    resid_vol = np.full(n_pos, np.nan)
    resid_vol[valid] = np.sqrt(ssr[valid] / (n_obs[valid] - p - 1) * TRADING_DAYS)

    betas = coef / sd
    alpha = icpt - betas @ mu
    return FactorFit(
        alpha=alpha,
        betas=betas,
        r_squared=r2,
        residual_vol=resid_vol,
        idiosyncratic_share=1.0 - r2,
        n_obs=n_obs,
        valid=valid,
        residuals=resid,
    )


def _solve_complete(
    z: FloatArray, y: FloatArray, penalty: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Slopes ``[m, p]`` and intercepts ``[m]`` for positions with data on every row of
    ``z`` (T x p, standardized). Centring removes the unpenalized intercept exactly; the
    ridge is the augmented system [Zc; diag(sqrt(penalty))] with zero targets. One
    Householder QR of the design serves all m right-hand sides; a numerically
    rank-deficient design falls back to the minimum-norm SVD solution. Columns of ``y``
    with NaNs give meaningless results, which the caller discards."""
    n_days = z.shape[0]
    z_mean = z.mean(axis=0)
    y_mean = y.mean(axis=0)
    zc = z - z_mean
    if np.any(penalty > 0.0):
        zc = np.vstack([zc, np.diag(np.sqrt(penalty))])
    q, r = np.linalg.qr(zc)
    d = np.abs(np.diagonal(r))
    if d.size and d.min() > d.max() * _DESIGN_RCOND:
        # Q'(y - 1 ybar') without a centred copy of y; the augmented rows of the ridge
        # system have zero targets, so only Q's first T rows act.
        q_top = q[:n_days]
        qty = q_top.T @ y
        qty -= np.outer(q_top.sum(axis=0), y_mean)
        b = solve_triangular(r, qty, check_finite=False)
    else:
        yc = np.nan_to_num(y - y_mean, nan=0.0, posinf=0.0, neginf=0.0)  # gappy columns
        y_aug = np.vstack([yc, np.zeros((zc.shape[0] - n_days, y.shape[1]))])
        b = np.linalg.lstsq(zc, y_aug, rcond=_DESIGN_RCOND)[0]
    return b.T, y_mean - z_mean @ b


def _solve_masked(
    z: FloatArray, y: FloatArray, mask: NDArray[np.bool_], penalty: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Slopes and intercepts for positions observed on different days, all at once.

    With X = [1, z] (T x q) and m_i the 0/1 mask of position i, its normal matrix is
    G_i = X' diag(m_i) X + P = sum_t m_ti x_t x_t' + P: one product ``mask' @ (x_t x_t')``
    gives every G_i. Zeroed rows of X and y change no least-squares solution, so X'(m_i y_i)
    is ``X' @ (mask * y)``. One step of iterative refinement on the residual of the normal
    equations recovers the accuracy lost to squaring the condition number.
    """
    n_days, p = z.shape
    q = p + 1
    x1 = np.empty((n_days, q))
    x1[:, 0] = 1.0
    x1[:, 1:] = z
    w = mask.astype(np.float64)
    y0 = np.where(mask, y, 0.0)
    outer = (x1[:, :, None] * x1[:, None, :]).reshape(n_days, q * q)
    gram = (w.T @ outer).reshape(-1, q, q)
    pen = np.zeros(q)
    pen[1:] = penalty
    gram += np.diag(pen)
    ginv = _inverse_gram(gram)
    beta = np.einsum("kij,jk->ki", ginv, x1.T @ y0)
    resid = (y0 - x1 @ beta.T) * w
    beta += np.einsum("kij,jk->ki", ginv, x1.T @ resid - (beta * pen).T)
    return beta[:, 1:], beta[:, 0]


def _inverse_gram(gram: FloatArray) -> FloatArray:
    """Inverses of a stack of symmetric positive semi-definite matrices ``[k, q, q]``.

    Each is Jacobi-scaled to a unit diagonal; a batched Cholesky tells the well-posed ones
    (every squared pivot above ``_GRAM_RCOND``), which a batched LU inverse serves. The
    others, rank-deficient to that tolerance, get the pseudo-inverse (eigenvalues below
    ``_GRAM_RCOND`` x the largest dropped: the minimum-norm solution).
    """
    d = np.diagonal(gram, axis1=1, axis2=2)
    scale = np.where(d > 0.0, 1.0 / np.sqrt(np.where(d > 0.0, d, 1.0)), 1.0)
    outer = scale[:, :, None] * scale[:, None, :]
    g = gram * outer
    try:
        pivots = np.diagonal(np.linalg.cholesky(g), axis1=1, axis2=2)
        weak = ~(pivots.min(axis=1) ** 2 > _GRAM_RCOND)
    except np.linalg.LinAlgError:  # some matrix is not positive definite
        weak = np.ones(g.shape[0], dtype=bool)
    inv = np.empty_like(g)
    if (~weak).any():
        inv[~weak] = np.linalg.inv(g[~weak])
    if weak.any():
        inv[weak] = np.linalg.pinv(g[weak], rcond=_GRAM_RCOND, hermitian=True)
    inv *= outer
    return inv


def option_betas(
    underlying_betas: ArrayLike,
    delta: ArrayLike,
    spot: ArrayLike,
    option_price: ArrayLike,
) -> FloatArray:
    """Factor betas ``[n, p]`` of options from their underlyings' betas ``[n, p]``.

    beta_option = beta_underlying x delta x spot / option_price: the option's elasticity
    (return of the option per unit return of the underlying) times the underlying's beta.
    ``delta`` per $1 of the underlying and ``option_price`` per unit of underlying (as
    :func:`risk.engine.pricing.bsm_greeks` gives them; the contract multiplier cancels),
    ``spot`` in the same currency. Rows whose price is 0, negative or not finite are NaN
    (no warning is raised). The option's dollar exposure to factor j is therefore
    beta_underlying_j x delta x spot x quantity x multiplier (its delta dollars).
    """
    b = _as_2d(underlying_betas, "underlying_betas")
    d = np.asarray(delta, dtype=np.float64)
    s = np.asarray(spot, dtype=np.float64)
    price = np.asarray(option_price, dtype=np.float64)
    ok = (price > 0.0) & np.isfinite(price)
    num = d * s
    shape = np.broadcast_shapes(num.shape, price.shape)
    elasticity = np.divide(num, price, out=np.full(shape, np.nan), where=ok)
    return b * np.reshape(elasticity, (-1, 1))


def portfolio_exposures(
    betas: ArrayLike, dollar_exposure: ArrayLike, total_value: float
) -> tuple[FloatArray, FloatArray]:
    """Portfolio factor exposures ``(exposures[p], dollar_exposures[p])``.

    dollar_exposures = Σ_i betas[i] x dollar_exposure[i] (dollars per unit factor return);
    exposures = dollar_exposures / total_value (a fraction of the portfolio's value, e.g.
    1.1 = a 1% market move moves the portfolio 1.1%). ``dollar_exposure`` is a stock's
    signed market value, and an option's delta dollars (delta x quantity x multiplier x
    spot) with its *underlying's* betas (equivalently, its market value with
    :func:`option_betas`). Positions without a fit (NaN betas) contribute nothing; report
    them through factor-exposure coverage. ``total_value`` of 0 gives NaN exposures.
    """
    b = _as_2d(betas, "betas")
    v = np.asarray(dollar_exposure, dtype=np.float64).reshape(-1)
    if b.shape[0] != v.shape[0]:
        raise ValueError(f"betas has {b.shape[0]} rows, dollar_exposure has {v.shape[0]}")
    known = np.isfinite(b)
    dollars = np.where(known, b, 0.0).T @ np.where(np.isfinite(v), v, 0.0)
    if total_value == 0.0 or not math.isfinite(total_value):
        return np.full(b.shape[1], np.nan), dollars
    return dollars / float(total_value), dollars


def risk_attribution(
    dollar_exposures: ArrayLike,
    factor_cov: ArrayLike,
    residual_var_dollars: ArrayLike,
) -> Attribution:
    """Split portfolio variance into factor (systematic) and residual parts.

    ``dollar_exposures[p]`` from :func:`portfolio_exposures`; ``factor_cov[p, p]`` the
    covariance of the *design* columns (market, and styles in excess of the market), per
    year (:func:`ewma_covariance` of :func:`factor_design`); ``residual_var_dollars[n]``
    each position's residual variance in dollars² per year, i.e.
    (dollar_exposure_i x residual_vol_i)², residual_vol annualized (for an option, its
    delta dollars x its underlying's residual volatility). Residuals are taken as
    uncorrelated across positions, so they add. NaN residual variances count as 0.

    Returns an :class:`Attribution`; with b'Σb = 0 the factor contributions are NaN and the
    systematic share is 0; with a total variance of 0 both shares are NaN.
    """
    b = np.asarray(dollar_exposures, dtype=np.float64).reshape(-1)
    cov = np.asarray(factor_cov, dtype=np.float64)
    if cov.shape != (b.size, b.size):
        raise ValueError(f"factor_cov must be {b.size}x{b.size}, got {cov.shape}")
    res = np.asarray(residual_var_dollars, dtype=np.float64).reshape(-1)
    sigma_b = cov @ b
    systematic = float(b @ sigma_b)
    total = systematic + float(np.nansum(res))
    contributions = b * sigma_b / systematic if systematic > 0.0 else np.full(b.size, np.nan)
    share = systematic / total if total > 0.0 else math.nan
    return Attribution(
        systematic_share=share,
        idiosyncratic_share=1.0 - share,
        factor_contributions=contributions,
        systematic_variance=systematic,
        total_variance=total,
    )


def ewma_covariance(returns: ArrayLike, lam: float = EWMA_LAMBDA) -> FloatArray:
    """RiskMetrics EWMA covariance ``[k, k]`` of daily returns ``[T, k]``, annualized x 252.

    Σ = 252 x Σ_t w_t r_t r_t' with zero mean (the RiskMetrics convention for daily
    returns) and weights w_t = λ^(T-1-t) (1 - λ) / (1 - λ^T): the newest day weighs
    (1 - λ) / (1 - λ^T), and the weights sum to 1 over the window (the finite-window form
    of the recursion Σ_t = λ Σ_{t-1} + (1 - λ) r_t r_t'). Days with a NaN in any column
    are dropped. Fewer than one usable day gives a NaN matrix. A 1-D input is one series.
    Checked against pandas ``ewm(alpha=1-λ, adjust=True).mean()`` of the products.
    """
    r = _as_2d(returns, "returns")
    if not 0.0 < lam < 1.0:
        raise ValueError(f"lam must be in (0, 1), got {lam}")
    r = r[np.isfinite(r).all(axis=1)]
    n_days, k = r.shape
    if n_days == 0:
        return np.full((k, k), np.nan)
    w = lam ** np.arange(n_days - 1, -1, -1, dtype=np.float64)
    w /= w.sum()
    cov = (r * w[:, None]).T @ r
    cov = 0.5 * (cov + cov.T)
    return cov * TRADING_DAYS


def ewma_volatility(returns: ArrayLike, lam: float = EWMA_LAMBDA) -> FloatArray:
    """RiskMetrics EWMA volatility of each column of daily returns, annualized (√252).
    NaNs are skipped (a missing day contributes nothing). Vectorized over columns; weights
    λ^(T-1-t) normalized over the days present, zero mean (RiskMetrics)."""
    a = np.asarray(returns, dtype=np.float64)
    r = np.where(np.isfinite(a), a, 0.0)
    present = np.isfinite(a).astype(float)
    t = r.shape[0]
    w = lam ** np.arange(t - 1, -1, -1, dtype=float)[:, None] * present
    total = w.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        variance = (w * r * r).sum(axis=0) / total
    return np.sqrt(variance * TRADING_DAYS)


def weighted_r_squared(r_squared: ArrayLike, weights: ArrayLike) -> float:
    """The weight-averaged R² of positions' regressions (weights: |market value|), over
    the positions that have one; NaN when none has."""
    r2 = np.asarray(r_squared, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    known = np.isfinite(r2)
    if not known.any():
        return math.nan
    return float(np.nansum(r2 * w) / w[known].sum())


#: Fewest overlapping months for a rate beta: three years of monthly data.
RATE_BETA_MIN_MONTHS = 36


def rate_betas(
    monthly_returns: ArrayLike,
    yield_changes: ArrayLike,
    min_obs: int = RATE_BETA_MIN_MONTHS,
) -> tuple[FloatArray, NDArray[np.int64]]:
    """Rate betas ``(beta[u], n_obs[u])`` of each column of ``monthly_returns[M, u]`` on
    ``yield_changes[M]`` (RISK-MODEL "Rate shocks").

    ``monthly_returns``: simple monthly returns (decimals, NaN where a month is missing);
    ``yield_changes``: the month's change of the AAA yield, a decimal (0.01 = +100bp).
    beta is the OLS slope with an intercept over the months where both are finite, in
    relative return per unit of yield change: beta = -3 means -3% for +100bp. NaN where
    fewer than ``min_obs`` months overlap or the yield does not vary. Vectorized over
    columns; checked against statsmodels OLS.
    """
    y = _as_2d(monthly_returns, "monthly_returns")
    x = np.asarray(yield_changes, dtype=np.float64).reshape(-1)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"yield_changes has {x.shape[0]} rows, monthly_returns {y.shape[0]}")
    beta, n, sxx = column_slopes(x, y)
    beta = np.where((n >= max(int(min_obs), 3)) & (sxx > 0.0) & np.isfinite(beta), beta, np.nan)
    return beta, n


def column_slopes(x: ArrayLike, y: ArrayLike) -> tuple[FloatArray, NDArray[np.int64], FloatArray]:
    """The OLS slope, with an intercept, of each column of ``y[T, u]`` on ``x[T]``, each over
    the rows where both are finite: ``(slope[u], n_obs[u], sxx[u])``, where ``sxx`` is the
    sum of squared deviations of x over those rows (0: x does not vary there, and the
    slope is NaN or inf). Units: y's per unit of x. Vectorized over columns (no loop)."""
    xv = np.asarray(x, dtype=np.float64).reshape(-1)
    ym = _as_2d(y, "y")
    mask = np.isfinite(ym) & np.isfinite(xv)[:, None]
    n = mask.sum(axis=0).astype(np.int64)
    w = mask.astype(np.float64)
    xs = np.where(np.isfinite(xv), xv, 0.0)[:, None] * w
    ys = np.where(mask, ym, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        x_dev = (xs - xs.sum(axis=0) / n) * w
        sxx = np.einsum("tj,tj->j", x_dev, x_dev)
        slope = np.einsum("tj,tj->j", x_dev, ys) / sxx
    return slope, n, sxx
