"""Stress scenarios: direct and correlated impact with full revaluation of options.

Pure numpy: no Django, no pandas. Methods of docs RISK-MODEL.md ("Stress scenarios").

A scenario lists shocks to some factors (relative returns of the factor, 0.10 = +10%, in
the same definition as the betas: the market return and the styles' returns in excess of
the market), a relative change of implied volatility (2.0 = +200%) and an absolute rate
shift (0.01 = +100bp). The shocks act as log returns (RISK-MODEL "Direct impact"): each
underlying then moves, instantaneously (no time decay), by

    r_u = exp(betas[u] . log(1 + f) + rate_beta[u] x dy) - 1 - duration[u] x dy,

floored at -100%, where f is the factor shock vector. A long stock therefore never loses
more than its value (a beta of 2 to a -45% market is exp(2 log 0.55) - 1 = -69.8%, not
-90%, and a -60% growth shock cannot push anything below 0). A volatility index (the VIX,
``vol_index``) moves by the scenario's volatility shock instead when it has one: the
relative change of implied volatility *is* the VIX's move, whereas its daily market beta
(about -8) compounded over a crash would be no VIX level ever seen. Options on it keep
their own implied volatility (vol of vol) unshocked.

* **direct**: the listed shocks, unlisted factors at 0;
* **correlated**: unlisted factors at their conditional expectation given the listed ones,
  E[f_u | f_s = s] = Sigma_us Sigma_ss^-1 s, each implied shock clipped to +-cap (100%)
  (:func:`conditional_factor_shocks`).

Stocks and funds move linearly with their underlying (so a bond fund with modified
duration D loses D x dy x value, convexity ignored: the duration term stays linear, as
RISK-MODEL states it; a stock with a fitted rate beta moves by about rate_beta x dy);
options are repriced in full by :func:`risk.engine.revaluation.revalue`
at the shocked spot, implied volatility x (1 + vol shock) and rate + dy. All impacts are in
dollars, negative for a loss.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from risk.engine.revaluation import Book, dollar_delta, revalue

__all__ = [
    "ScenarioSpec",
    "StressResult",
    "conditional_factor_shocks",
    "run_scenarios",
    "stress_scenario",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]


@dataclass(frozen=True)
class ScenarioSpec:
    """One scenario of the library: ``factor_shocks`` maps factor keys (``"market"``,
    ``"value"``...) to relative returns (-0.35 = -35%); ``vol_shock`` is the relative
    change of implied volatility (2.0 = +200%); ``rate_shift`` the absolute change of
    rates (0.01 = +100bp)."""

    id: str
    factor_shocks: Mapping[str, float] = field(default_factory=dict)
    vol_shock: float = 0.0
    rate_shift: float = 0.0


@dataclass(frozen=True, eq=False)
class StressResult:
    """Impact of one scenario, dollars (negative = loss).

    * ``direct_impact``, ``correlated_impact``: portfolio P&L with the listed shocks only,
      and with the unlisted factors at their conditional expectation; ``*_by_position``:
      the same per position, shape (n,);
    * ``direct_factor_shocks``, ``correlated_factor_shocks``: the factor vectors used (k,);
    * ``systematic_impact``: the P&L explained by the scenario's factor, rate and volatility
      moves, i.e. the correlated impact (residual moves have zero mean);
    * ``idiosyncratic_sigma``: standard deviation of the residual P&L over
      ``horizon_days``, from the dollar deltas at the correlated scenario's state and each
      underlying's residual volatility (independent across underlyings);
      ``idiosyncratic_band`` = 2 x that: the P&L lies within
      ``systematic_impact +- idiosyncratic_band`` about 95% of the time;
    * ``top_contributors``: indices of the positions with the largest |correlated impact|,
      largest first.
    """

    scenario_id: str | None
    direct_impact: float
    correlated_impact: float
    direct_by_position: FloatArray
    correlated_by_position: FloatArray
    direct_factor_shocks: FloatArray
    correlated_factor_shocks: FloatArray
    systematic_impact: float
    idiosyncratic_sigma: float
    idiosyncratic_band: float
    top_contributors: IntArray


def conditional_factor_shocks(
    cov: ArrayLike,
    shocked_idx: Sequence[int] | ArrayLike,
    shock_values: ArrayLike,
    cap: float = 1.0,
) -> FloatArray:
    """Full factor shock vector (k,), relative returns: the listed factors at their shocks
    (unclipped), each other factor at E[f_u | f_s = s] = Sigma_us Sigma_ss^+ s, clipped to
    [-cap, cap] (cap = 1.0: no implied shock beyond 100%).

    ``cov`` (k, k): factor covariance (the EWMA, lambda = 0.94, of daily factor returns;
    only its correlations and volatility ratios matter, not its time scale);
    ``shocked_idx``: indices of the listed factors; ``shock_values``: their shocks. The
    pseudo-inverse (Sigma_ss^+) keeps collinear listed factors stable. No listed factor:
    all zeros."""
    c = np.asarray(cov, dtype=np.float64)
    k = c.shape[0]
    if c.shape != (k, k):
        raise ValueError(f"cov must be square, got {c.shape}")
    s_idx = np.asarray(shocked_idx, dtype=np.intp).reshape(-1)
    s_val = np.asarray(shock_values, dtype=np.float64).reshape(-1)
    if s_idx.shape != s_val.shape:
        raise ValueError("shocked_idx and shock_values must have the same length")
    if np.unique(s_idx).size != s_idx.size or np.any((s_idx < 0) | (s_idx >= k)):
        raise ValueError(f"shocked_idx must be distinct indices in [0, {k})")
    out = np.zeros(k, dtype=np.float64)
    if s_idx.size == 0:
        return out
    free = np.setdiff1d(np.arange(k), s_idx)
    cov_ss = c[np.ix_(s_idx, s_idx)]
    implied = c[np.ix_(free, s_idx)] @ (np.linalg.pinv(cov_ss, hermitian=True) @ s_val)
    out[free] = np.clip(implied, -cap, cap)
    out[s_idx] = s_val
    return out


def _optional_u(x: ArrayLike | None, u: int, name: str) -> FloatArray:
    if x is None:
        return np.zeros(u, dtype=np.float64)
    a = np.asarray(x, dtype=np.float64)
    if a.shape != (u,):
        raise ValueError(f"{name} must have shape ({u},), got {a.shape}")
    return a


def _stress_batch(
    book: Book,
    shocks: FloatArray,
    vol_shocks: FloatArray,
    rate_shifts: FloatArray,
    ids: Sequence[str | None],
    underlying_betas: ArrayLike,
    factor_cov: ArrayLike,
    residual_vol: ArrayLike,
    duration: ArrayLike | None,
    rate_beta: ArrayLike | None,
    horizon_days: float,
    cap: float,
    n_top: int,
    vol_index: ArrayLike | None = None,
) -> list[StressResult]:
    """Scenarios (m of them) as rows: ``shocks`` (m, k) with NaN for unlisted factors.
    One revaluation call prices all 2m states (direct and correlated)."""
    u = book.n_underlyings
    betas = np.asarray(underlying_betas, dtype=np.float64)
    cov = np.asarray(factor_cov, dtype=np.float64)
    m, k = shocks.shape
    if betas.shape != (u, k) or cov.shape != (k, k):
        raise ValueError(f"underlying_betas must be ({u}, {k}) and factor_cov ({k}, {k})")
    res_vol = _optional_u(residual_vol, u, "residual_vol")
    dur = _optional_u(duration, u, "duration")
    rbeta = _optional_u(rate_beta, u, "rate_beta")

    listed = ~np.isnan(shocks)
    direct = np.where(listed, shocks, 0.0)
    correlated = np.empty_like(direct)
    for j in range(m):  # one small k x k solve per scenario
        idx = np.flatnonzero(listed[j])
        correlated[j] = conditional_factor_shocks(cov, idx, shocks[j, idx], cap)

    factors = np.concatenate([direct, correlated])  # (2m, k)
    shift = np.concatenate([rate_shifts, rate_shifts])
    vol = np.concatenate([vol_shocks, vol_shocks])
    # Log returns: a -100% factor shock would be log(0); 99.9% is as far as one goes.
    log_factors = np.log1p(np.maximum(factors, -0.999))
    spot = np.expm1(log_factors @ betas.T + shift[:, None] * rbeta) - shift[:, None] * dur
    if vol_index is not None:
        vix = np.asarray(vol_index, dtype=bool).reshape(-1)
        if vix.shape != (u,):
            raise ValueError(f"vol_index must have shape ({u},)")
        has_vol = vol != 0.0
        spot[np.ix_(has_vol, vix)] = vol[has_vol, None]
    np.maximum(spot, -1.0, out=spot)
    pnl = revalue(book, spot, vol, shift, 0.0)  # (2m, n), instantaneous

    delta = dollar_delta(book, spot[m:], vol_shocks, rate_shifts, 0.0)  # (m, u)
    idio = np.sqrt(((delta * res_vol) ** 2).sum(axis=1) * horizon_days)

    out = []
    for j in range(m):
        d_pos, c_pos = pnl[j], pnl[m + j]
        correlated_impact = float(c_pos.sum())
        top = np.argsort(-np.abs(c_pos), kind="stable")[:n_top]
        out.append(
            StressResult(
                scenario_id=ids[j],
                direct_impact=float(d_pos.sum()),
                correlated_impact=correlated_impact,
                direct_by_position=d_pos,
                correlated_by_position=c_pos,
                direct_factor_shocks=direct[j],
                correlated_factor_shocks=correlated[j],
                systematic_impact=correlated_impact,
                idiosyncratic_sigma=float(idio[j]),
                idiosyncratic_band=2.0 * float(idio[j]),
                top_contributors=top,
            )
        )
    return out


def stress_scenario(
    book: Book,
    *,
    underlying_betas: ArrayLike,
    factor_cov: ArrayLike,
    factor_shocks: ArrayLike,
    residual_vol: ArrayLike,
    vol_shock: float = 0.0,
    rate_shift: float = 0.0,
    duration: ArrayLike | None = None,
    rate_beta: ArrayLike | None = None,
    horizon_days: float = 1.0,
    cap: float = 1.0,
    n_top: int = 5,
    scenario_id: str | None = None,
    vol_index: ArrayLike | None = None,
) -> StressResult:
    """Direct and correlated impact of one scenario (module docstring), dollars.

    * ``underlying_betas`` (u, k): each underlying's market beta and style tilts (a stock
      or fund is its own underlying; an option moves with its underlying's);
    * ``factor_cov`` (k, k): the factors' covariance (EWMA, lambda = 0.94, daily);
    * ``factor_shocks`` (k,): relative shocks of the listed factors, NaN for a factor the
      scenario does not list (0 means "listed, unchanged": it is conditioned on);
    * ``residual_vol`` (u,): daily residual volatility of each underlying (fraction), for
      the idiosyncratic band over ``horizon_days`` (sqrt scaling);
    * ``vol_shock``: relative change of implied vol; ``rate_shift``: dy, absolute decimal;
    * ``duration`` (u,): modified duration in years of bond funds (0 elsewhere);
      ``rate_beta`` (u,): relative move per unit dy (the fitted rate beta of stocks, 0 where
      it is unknown); both default to zeros;
    * ``cap``: largest implied (conditional) shock in size; ``n_top``: contributors kept;
    * ``vol_index`` (u,): True for a volatility index (the VIX), which moves by the vol
      shock when the scenario has one (module docstring).
    """
    f = np.asarray(factor_shocks, dtype=np.float64).reshape(1, -1)
    return _stress_batch(
        book,
        f,
        np.array([vol_shock], dtype=np.float64),
        np.array([rate_shift], dtype=np.float64),
        [scenario_id],
        underlying_betas,
        factor_cov,
        residual_vol,
        duration,
        rate_beta,
        horizon_days,
        cap,
        n_top,
        vol_index,
    )[0]


def run_scenarios(
    book: Book,
    scenarios: Sequence[ScenarioSpec],
    *,
    factor_names: Sequence[str],
    underlying_betas: ArrayLike,
    factor_cov: ArrayLike,
    residual_vol: ArrayLike,
    duration: ArrayLike | None = None,
    rate_beta: ArrayLike | None = None,
    horizon_days: float = 1.0,
    cap: float = 1.0,
    n_top: int = 5,
    vol_index: ArrayLike | None = None,
) -> list[StressResult]:
    """:func:`stress_scenario` for each scenario, in order, with every state (direct and
    correlated, all scenarios) repriced in one revaluation call. ``factor_names`` (k,)
    names the columns of ``underlying_betas`` and ``factor_cov``; a scenario key not in
    it raises ``KeyError``. Other arguments as in :func:`stress_scenario`."""
    names = {name: j for j, name in enumerate(factor_names)}
    shocks = np.full((len(scenarios), len(names)), np.nan)
    for i, spec in enumerate(scenarios):
        for key, value in spec.factor_shocks.items():
            if key not in names:
                raise KeyError(f"scenario {spec.id!r}: unknown factor {key!r}")
            shocks[i, names[key]] = value
    if not scenarios:
        return []
    return _stress_batch(
        book,
        shocks,
        np.array([s.vol_shock for s in scenarios], dtype=np.float64),
        np.array([s.rate_shift for s in scenarios], dtype=np.float64),
        [s.id for s in scenarios],
        underlying_betas,
        factor_cov,
        residual_vol,
        duration,
        rate_beta,
        horizon_days,
        cap,
        n_top,
        vol_index,
    )
