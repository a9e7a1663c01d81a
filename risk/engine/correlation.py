"""Correlation of position returns: matrix, clusters, effective positions, on numpy arrays.

Pure numpy/scipy: no Django, no pandas. float64 throughout; no Python loop over positions.

Docs RISK-MODEL.md, "Concentration, correlation, data quality": Pearson correlation of
daily returns over the lookback (options count through their underlying: the caller
passes the underlying's return column); clusters are the connected groups at
|ρ| >= a threshold (0.7 by default); effective positions are value-weighted.

This module builds an n x n matrix, which is what the correlation report shows; the VaR
engines never do (they work on scenario P&L or in factor space).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

__all__ = [
    "average_correlation",
    "clusters",
    "correlation_matrix",
    "effective_positions",
]

FloatArray = NDArray[np.float64]


def correlation_matrix(returns: ArrayLike) -> FloatArray:
    """Pearson correlation matrix ``[n, n]`` of daily returns ``[T, n]`` (dimensionless).

    Missing data (NaN) is handled *pairwise-complete*, as pandas ``DataFrame.corr`` does:
    ρ_ij uses the days on which both i and j have a return, so the matrix need not be
    positive semi-definite when the patterns differ. Without NaNs it is ``numpy.corrcoef``
    (one product of the centred, normalized matrix); with NaNs, four masked products give
    every pair's counts, sums and sums of squares at once.

    ρ_ij is NaN when the pair shares fewer than 2 days or either series is constant on
    them; the diagonal is exactly 1 for every series with some variation, NaN otherwise.
    Entries are clipped to [-1, 1].
    """
    x = np.asarray(returns, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"returns must be 2-D [T, n], got shape {x.shape}")
    ok = np.isfinite(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        if ok.all():
            xc = x - x.mean(axis=0)
            ss = np.sqrt(np.einsum("ti,ti->i", xc, xc))
            const = x.max(axis=0, initial=-np.inf) == x.min(axis=0, initial=np.inf)
            scale = np.where(const | (ss == 0.0), np.nan, 1.0 / ss)
            xc *= scale
            corr = xc.T @ xc
        else:
            w = ok.astype(np.float64)
            cnt = np.maximum(w.sum(axis=0), 1.0)
            # Centre on each column's own mean first: the one-pass sums below then lose
            # no precision to the (small) mean of daily returns.
            x0 = np.where(ok, x, 0.0)
            x0 -= x0.sum(axis=0) / cnt
            x0 *= w
            n_pair = w.T @ w
            s = x0.T @ w  # s[i, j] = sum of x_i over the days i and j share
            ss_pair = (x0 * x0).T @ w
            cov = x0.T @ x0 - s * s.T / n_pair
            var = ss_pair - s * s / n_pair
            corr = cov / np.sqrt(var * var.T)
            col_max = np.where(ok, x, -np.inf).max(axis=0)
            col_min = np.where(ok, x, np.inf).min(axis=0)
            const = col_max == col_min
            bad = (n_pair < 2.0) | (var <= 0.0) | (var.T <= 0.0)
            bad |= const[:, None] | const[None, :]
            corr[bad] = np.nan
    np.clip(corr, -1.0, 1.0, out=corr)
    diag = np.diagonal(corr).copy()
    np.fill_diagonal(corr, np.where(np.isnan(diag), np.nan, 1.0))
    return corr


def clusters(corr: ArrayLike, threshold: float = 0.7, *, min_size: int = 2) -> list[list[int]]:
    """Groups of positions connected by |ρ| >= ``threshold`` (``scipy.sparse.csgraph``).

    Two positions are linked when the absolute value of their correlation reaches the
    threshold (a strong negative correlation links them too: it is the same bet, one way
    or the other); a cluster is a connected component of that graph, so its members need
    not all be linked to each other pairwise. NaN entries link nothing. Returns the
    components with at least ``min_size`` members (singletons are not clusters by
    default), each as ascending column indices, largest first (ties: lowest index first).
    """
    c = np.asarray(corr, dtype=np.float64)
    if c.ndim != 2 or c.shape[0] != c.shape[1]:
        raise ValueError(f"corr must be square, got shape {c.shape}")
    n = c.shape[0]
    if n == 0:
        return []
    with np.errstate(invalid="ignore"):
        adj = np.abs(c) >= threshold
    adj &= adj.T  # an asymmetric input links a pair only if both entries agree
    np.fill_diagonal(adj, False)
    n_comp, labels = connected_components(csr_matrix(adj), directed=False)
    order = np.argsort(labels, kind="stable")
    sizes = np.bincount(labels, minlength=n_comp)
    groups = np.split(order, np.cumsum(sizes)[:-1])
    keep = [g for g in groups if g.size >= min_size]
    keep.sort(key=lambda g: (-g.size, int(g[0])))
    return [g.tolist() for g in keep]


def _abs_weights(weights: ArrayLike, n: int) -> FloatArray:
    w = np.abs(np.asarray(weights, dtype=np.float64).reshape(-1))
    if w.size != n:
        raise ValueError(f"weights has {w.size} entries, corr is {n}x{n}")
    w = np.where(np.isfinite(w), w, 0.0)
    total = w.sum()
    return w / total if total > 0.0 else np.full(n, np.nan)


def effective_positions(weights: ArrayLike, corr: ArrayLike) -> float:
    """Value-weighted effective number of independent positions (a count, >= 1).

    With a_i = |w_i| / Σ|w| (``weights`` are market values or weights; only their size
    matters) and |C| the matrix of absolute correlations:

        N_eff = (Σ a_i)² / (a' |C| a) = 1 / (a' |C| a).

    This is the squared diversification ratio of Choueifaty & Coignard ("Toward Maximum
    Diversification", J. Portfolio Management, 2008) taken at unit volatilities, which
    Choueifaty, Froidure & Reynier ("Properties of the Most Diversified Portfolio",
    J. Investment Strategies, 2013) read as the effective number of independent risk
    factors; it is also Kish's effective sample size of a weighted mean of correlated
    observations. Absolute weights and correlations make a long/short pair on correlated
    names one bet (as in :func:`clusters`), not a diversifier, and bound the figure:
    N_eff = 1/HHI (the concentration module's effective positions) when the positions are
    uncorrelated, 1 when every |ρ| = 1, and never outside [1, 1/HHI]. NaN off-diagonal
    correlations (a position without enough history) count as 0, the diagonal as 1.
    NaN when every weight is 0.
    """
    c = np.asarray(corr, dtype=np.float64)
    a = _abs_weights(weights, c.shape[0])
    if np.isnan(a).any():
        return math.nan
    abs_c = np.abs(np.where(np.isnan(c), 0.0, c))
    np.fill_diagonal(abs_c, 1.0)
    return float(1.0 / (a @ abs_c @ a))


def average_correlation(weights: ArrayLike, corr: ArrayLike) -> float:
    """Value-weighted average pairwise correlation (signed ρ, dimensionless, in [-1, 1]).

    Σ_{i≠j} a_i a_j ρ_ij / Σ_{i≠j} a_i a_j with a_i = |w_i| / Σ|w|: every distinct pair
    weighted by the product of the positions' sizes, the diagonal excluded. Pairs with a
    NaN correlation are left out of both sums. NaN with fewer than two positions of
    non-zero weight (or no defined pair).
    """
    c = np.asarray(corr, dtype=np.float64)
    a = _abs_weights(weights, c.shape[0])
    if np.isnan(a).any():
        return math.nan
    pair = np.outer(a, a)
    np.fill_diagonal(pair, 0.0)
    known = ~np.isnan(c)
    pair = np.where(known, pair, 0.0)
    den = float(pair.sum())
    if den <= 0.0:
        return math.nan
    return float((pair * np.where(known, c, 0.0)).sum() / den)
