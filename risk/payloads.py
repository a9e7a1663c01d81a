"""The JSON the risk batch stores and the endpoints read back, typed once.

``risk.services`` writes these shapes into the JSON fields of ``PortfolioRiskMetrics``
and ``StressTestResult``; ``risk.reports`` (and ``risk.selectors``) read them. Declaring
them here, with units, is what keeps the writer and its readers from drifting apart.
Dollar figures are in the portfolio's currency; fractions are decimals (0.05 = 5%).
"""

from __future__ import annotations

from typing import Any, Protocol, TypedDict, cast

#: ``{"1_day" | "5_day" | "10_day": {"95" | "99": dollars}}``; losses are negative.
VarTable = dict[str, dict[str, float | None]]


class ComponentVarRow(TypedDict, total=False):
    """One position in ``PortfolioRiskMetrics.component_var`` (1-day figures)."""

    position_id: str
    symbol: str
    position_weight: float  # |market value| / gross exposure, a fraction
    component_var_95: float  # dollars; the components sum to the VaR
    component_var_99: float
    marginal_var_95: float | None  # dollars per unit of weight
    marginal_var_99: float | None
    position_var_95: float  # the position alone, dollars (historical row only)
    position_var_99: float
    beta_to_portfolio: float | None  # of the position's return on the portfolio's
    correlation_to_portfolio: float | None
    # The other VaR methods' component_var_*/marginal_var_* (the rows are stored once,
    # on the historical row): {"parametric": {...}, "monte_carlo": {...}}.
    methods: dict[str, dict[str, float | None]]


class GreekTotals(TypedDict, total=False):
    """``PortfolioRiskMetrics.greeks``: ``risk.engine.aggregation.greek_totals`` plus the
    options' average days to expiry. Keys with digits are as the endpoints show them."""

    total_delta: float  # Σ delta × quantity × multiplier (stocks: delta 1)
    total_gamma: float
    total_theta: float  # per calendar day
    total_vega: float  # per volatility point
    total_rho: float  # per rate point
    net_delta_exposure: float  # dollars
    options_delta_exposure: float  # dollars
    options_notional: float  # dollars
    gamma_risk: dict[str, float]  # {"1_percent_move", "2_percent_move"}: dollars
    vega_risk: dict[str, float]  # {"1_vol_point_move"}: dollars
    theta_decay: dict[str, float]  # {"1_day"}: dollars
    average_days_to_expiry: float | None


class PerformanceFigures(TypedDict, total=False):
    """``PortfolioRiskMetrics.performance``: back-cast daily returns of today's holdings,
    ``risk.engine.performance.performance_summary`` plus trailing figures."""

    portfolio_beta: float | None
    correlation_with_spy: float | None
    tracking_error: float | None  # annualized fraction
    information_ratio: float | None
    sharpe_ratio: float | None
    sortino_ratio: float | None
    max_drawdown: float | None  # negative fraction
    volatility_30d: float | None  # annualized fraction
    volatility_90d: float | None
    trailing_30d_return: float | None  # fraction
    trailing_90d_return: float | None
    ytd_return: float | None
    sharpe_ratio_30d: float | None
    max_drawdown_30d: float | None
    back_cast_days: int


class FactorExposureSummary(TypedDict, total=False):
    """``PortfolioRiskMetrics.factor_exposures``."""

    exposures: dict[str, float | None]  # factor key → portfolio beta (value-weighted)
    dollar_exposures: dict[str, float | None]  # factor key → dollars
    r_squared: float | None  # value-weighted R² of the positions' regressions
    window_days: int
    method: str  # "ols" or "ridge"
    factor_etfs: dict[str, str]  # factor key → ETF symbol
    positions: int
    positions_with_exposures: int


class RiskAttribution(TypedDict):
    """``PortfolioRiskMetrics.risk_attribution``: shares of the portfolio variance."""

    systematic_risk: float | None
    idiosyncratic_risk: float | None
    factor_concentration: dict[str, float | None]


class Concentration(TypedDict, total=False):
    """``PortfolioRiskMetrics.concentration``: ``risk.engine.concentration.concentration``."""

    herfindahl: float
    effective_positions: float
    top_5_weight: float
    largest_position_weight: float
    gross_exposure: float  # dollars
    n_positions: int


class StressContributor(TypedDict):
    """One of ``StressTestResult.top_contributors``."""

    symbol: str
    position_id: str
    impact: float  # dollars, the correlated impact of the position


# --------------------------------------------------------------------------- typed reads


class StoredRiskMetrics(Protocol):
    """The JSON fields of a ``PortfolioRiskMetrics`` row (read as stored)."""

    performance: Any
    greeks: Any
    concentration: Any
    factor_exposures: Any
    risk_attribution: Any
    component_var: Any


def performance_of(row: StoredRiskMetrics | None) -> PerformanceFigures:
    return cast(PerformanceFigures, (row.performance if row else None) or {})


def greeks_of(row: StoredRiskMetrics | None) -> GreekTotals:
    return cast(GreekTotals, (row.greeks if row else None) or {})


def concentration_of(row: StoredRiskMetrics | None) -> Concentration:
    return cast(Concentration, (row.concentration if row else None) or {})


def factors_of(row: StoredRiskMetrics | None) -> FactorExposureSummary:
    return cast(FactorExposureSummary, (row.factor_exposures if row else None) or {})


def components_of(
    row: StoredRiskMetrics | None, method: str = "historical"
) -> list[ComponentVarRow]:
    """The component rows of the historical ``row`` with ``method``'s components and
    marginals in the ``component_var_*``/``marginal_var_*`` keys."""
    rows = cast(list[ComponentVarRow], (row.component_var if row else None) or [])
    if method == "historical":
        return rows
    return [
        cast(ComponentVarRow, {**r, **(r.get("methods") or {}).get(method, {})})
        for r in rows
        if method in (r.get("methods") or {})
    ]
