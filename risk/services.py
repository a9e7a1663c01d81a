"""The risk batch: each function computes one family of figures for one portfolio from
stored data with the pure engines in ``risk/engine`` and upserts the results on their
natural keys, in one transaction per portfolio. ``risk/jobs.py`` runs them as batch
steps over the live portfolios.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
import math
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from batch.models import JobSource
from batch.services import job_create, job_dispatch
from marketdata import calendar
from marketdata.selectors import risk_free_rate
from portfolios.selectors import external_cash_flows, open_positions, portfolio_book
from risk.book import (
    VOLATILITY_INDEX,
    RiskInputs,
    SharedReads,
    security_durations,
    stock_rate_betas,
)
from risk.engine.aggregation import greek_totals
from risk.engine.concentration import concentration
from risk.engine.conventions import TRADING_DAYS_PER_YEAR
from risk.engine.correlation import (
    average_correlation,
    clusters,
    correlation_matrix,
    effective_positions,
)
from risk.engine.factors import (
    ewma_covariance,
    option_betas,
    portfolio_exposures,
    risk_attribution,
    weighted_r_squared,
)
from risk.engine.performance import performance_summary, trailing_figures
from risk.engine.revaluation import revalue
from risk.engine.stress import ScenarioSpec, StressResult, run_scenarios
from risk.engine.var import (
    CALENDAR_DAYS_PER_TRADING_DAY,
    historical_full_revaluation,
    marginal_var,
    monte_carlo_var,
    parametric_var,
    standalone_statistics,
)
from risk.greeks import compute_greeks
from risk.models import (
    CorrelationResult,
    DataQualityAssessment,
    PortfolioRiskMetrics,
    PortfolioSnapshot,
    PositionFactorExposure,
    PositionGreeks,
    StressScenario,
    StressTestResult,
)
from risk.payloads import ComponentVarRow, GreekTotals, PerformanceFigures, VarTable
from risk.quality import portfolio_quality_rows, refresh_preview, refresh_report
from sigmasight import versions
from sigmasight.bulk import bulk_upsert

if TYPE_CHECKING:  # types only: rows come from the portfolios app's selectors
    from portfolios.models import Portfolio

logger = logging.getLogger(__name__)


_Service = TypeVar("_Service", bound=Callable[..., Any])


def _stores_results(service: _Service) -> _Service:
    """A service that stores results for its portfolio (its first argument) advances the
    portfolio's ``risk`` version and its owner's once it returns or fails
    (``sigmasight.versions``), so that cached reports read the new figures."""

    @functools.wraps(service)
    def wrapper(portfolio: Portfolio, *args: Any, **kwargs: Any) -> Any:
        try:
            return service(portfolio, *args, **kwargs)
        finally:
            versions.bump(("risk", portfolio.pk), ("user", portfolio.owner_id))

    return cast(_Service, wrapper)


def calculation_date(now: dt.datetime | None = None) -> dt.date:
    """Risk figures are as of the last completed NYSE session."""
    return calendar.last_completed_session(now or timezone.now())


# ---- Greeks ----------------------------------------------------------------------------------


GREEK_FIELDS = [
    "delta",
    "gamma",
    "theta",
    "vega",
    "rho",
    "option_price",
    "implied_volatility",
    "volatility_source",
    "underlying_price",
    "time_to_expiry_years",
    "rate",
    "rate_source",
    "dividend_yield",
    "model",
    "delta_dollars",
    "gamma_dollars_1pct",
    "warnings",
]


@transaction.atomic
def _store_greeks(portfolio: Portfolio, on: dt.date, rows: list[dict[str, Any]]) -> int:
    """One bulk upsert on (position, calculation_date)."""
    objects = [
        PositionGreeks(
            position=row["position"], calculation_date=on, **{f: row[f] for f in GREEK_FIELDS}
        )
        for row in rows
    ]
    return bulk_upsert(
        PositionGreeks,
        objects,
        unique_fields=["position", "calculation_date"],
        update_fields=[*GREEK_FIELDS, "calculated_at"],
    )


@_stores_results
def greeks_for_portfolio(
    portfolio: Portfolio, *, now: dt.datetime | None = None, shared: SharedReads | None = None
) -> dict[str, Any]:
    """Compute and store the Greeks of every open option position of ``portfolio`` (with a
    run's ``shared`` reads, the same rows the later steps of the run use)."""
    on, as_of = _pricing_moment(now)
    if shared is None:
        options = open_positions(portfolio=portfolio, options_only=True)
        rows, warnings = compute_greeks(options, as_of=as_of, on=on)
    else:
        rows, warnings = shared.greeks(portfolio, on=on, as_of=as_of)
        options = [p for p in shared.positions(portfolio) if p.multiplier > 1]
    warnings = list(warnings)
    finite_rows = []
    for row in rows:
        bad = [
            f
            for f in GREEK_FIELDS
            if isinstance(row[f], float) and not np.isfinite(row[f]) and f != "implied_volatility"
        ]
        if bad:  # a NaN Greek is not stored as a number: the option is named and skipped
            warnings.append(
                f"{row['position'].security_id}: Greeks not computed ({', '.join(bad)} not finite)"
            )
            continue
        if row["implied_volatility"] is not None and not np.isfinite(row["implied_volatility"]):
            row = {**row, "implied_volatility": None}
        finite_rows.append({**row, "warnings": json_safe(row["warnings"])})
    stored = _store_greeks(portfolio, on, finite_rows)
    return {
        "options": len(options),
        "computed": stored,
        "failed": len(options) - stored,
        "warnings": warnings,
    }


# ---- Shared --------------------------------------------------------------------------------------


def _pricing_moment(now: dt.datetime | None) -> tuple[dt.date, dt.datetime]:
    """(calculation date, pricing time): the last completed session and its close (or
    ``now`` if earlier, which a completed session's day does not allow in practice)."""
    now = now or timezone.now()
    on = calculation_date(now)
    close = calendar.session_close_utc(on)
    return on, (min(now, close) if now.date() == on else close)


def _inputs(
    portfolio: Portfolio,
    *,
    now: dt.datetime | None,
    lookback: int,
    shared: SharedReads | None,
) -> RiskInputs:
    on, as_of = _pricing_moment(now)
    return (shared or SharedReads(max_positions=0)).inputs(
        portfolio, on=on, as_of=as_of, lookback=lookback
    )


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _money(value: float) -> Decimal:
    return Decimal(str(round(float(value), 2)))


# ---- Factor exposures ------------------------------------------------------------------------


def _position_betas(inputs: RiskInputs) -> np.ndarray:
    """Each position's betas: a stock's own; an option's are its underlying's scaled by its
    elasticity (delta × spot / price), so its dollar exposure is β × delta dollars."""
    u_idx = inputs.book.underlying_index
    betas = inputs.fit.betas[u_idx] if len(u_idx) else np.zeros((0, len(inputs.factor_names)))
    if inputs.book.is_option.any():
        opt = inputs.book.is_option
        betas = betas.copy()
        betas[opt] = option_betas(
            inputs.fit.betas[u_idx[opt]],
            inputs.delta[opt],
            inputs.book.spot0[u_idx[opt]],
            inputs.book.price0[opt],
        )
    return betas


def _residual_var_per_underlying(inputs: RiskInputs) -> np.ndarray:
    """Annual residual variance in dollars² per *underlying* (RISK-MODEL "Residuals are
    per underlying"): (Σ of its positions' dollar exposures × its residual volatility)².
    A stock and the options on it share one residual, so a hedged name nets out."""
    u_idx = inputs.book.underlying_index
    n_u = len(inputs.underlyings)
    if not len(u_idx):
        return np.zeros(n_u)
    net = np.bincount(u_idx, weights=inputs.dollar_exposure, minlength=n_u)
    return np.nan_to_num((net * inputs.fit.residual_vol) ** 2)


@_stores_results
def factor_analysis_for_portfolio(
    portfolio: Portfolio, *, now: dt.datetime | None = None, shared: SharedReads | None = None
) -> dict[str, Any]:
    """Regress each position (options through their underlying) on the factor ETFs and
    store position and portfolio exposures (RISK-MODEL.md, Factor model)."""
    inputs = _inputs(portfolio, now=now, lookback=settings.FACTOR_WINDOW_DAYS, shared=shared)
    on = inputs.on
    betas = _position_betas(inputs)
    u_idx = inputs.book.underlying_index
    fit = inputs.fit
    method = "ridge" if settings.FACTOR_RIDGE > 0 else "ols"
    stored = 0
    fields = [
        "betas",
        "dollar_exposures",
        "r_squared",
        "residual_volatility",
        "idiosyncratic_share",
        "observations",
        "method",
        "regressed_symbol",
        "warnings",
    ]
    rows = []
    for i, position in enumerate(inputs.positions):
        u = u_idx[i]
        valid = bool(fit.valid[u])
        rows.append(
            PositionFactorExposure(
                position=position,
                calculation_date=on,
                betas={name: _finite(betas[i, j]) for j, name in enumerate(inputs.factor_names)},
                dollar_exposures={
                    name: _finite(fit.betas[u, j] * inputs.dollar_exposure[i])
                    for j, name in enumerate(inputs.factor_names)
                },
                r_squared=_finite(fit.r_squared[u]),
                residual_volatility=_finite(fit.residual_vol[u]),
                idiosyncratic_share=_finite(fit.idiosyncratic_share[u]),
                observations=int(fit.n_obs[u]),
                method=method,
                regressed_symbol=inputs.underlyings[u],
                warnings=[]
                if valid
                else [f"Fewer than {settings.FACTOR_MIN_OBSERVATIONS} days of history: no betas"],
            )
        )
        stored += valid
    with transaction.atomic():
        bulk_upsert(
            PositionFactorExposure,
            rows,
            unique_fields=["position", "calculation_date"],
            update_fields=[*fields, "calculated_at"],
        )
        dollar_betas = fit.betas[u_idx] if len(u_idx) else np.zeros((0, len(inputs.factor_names)))
        exposures, dollars = portfolio_exposures(
            dollar_betas, inputs.dollar_exposure, inputs.total_value
        )
        attribution = risk_attribution(
            dollars, ewma_covariance(inputs.design), _residual_var_per_underlying(inputs)
        )
        r2 = fit.r_squared[u_idx]
        weights = np.abs(inputs.market_values)
        weighted_r2 = _finite(weighted_r_squared(r2, weights))
        factor_defaults = {
            "portfolio_value": _money(inputs.total_value),
            "factor_exposures": {
                "exposures": dict(zip(inputs.factor_names, map(_finite, exposures), strict=True)),
                "dollar_exposures": dict(
                    zip(inputs.factor_names, map(_finite, dollars), strict=True)
                ),
                "r_squared": weighted_r2,
                "window_days": settings.FACTOR_WINDOW_DAYS,
                "method": method,
                "factor_etfs": dict(zip(inputs.factor_names, inputs.factor_symbols, strict=True)),
                "positions": len(inputs.positions),
                "positions_with_exposures": stored,
            },
            "risk_attribution": {
                "systematic_risk": _finite(attribution.systematic_share),
                "idiosyncratic_risk": _finite(attribution.idiosyncratic_share),
                "factor_concentration": dict(
                    zip(
                        inputs.factor_names,
                        map(_finite, attribution.factor_contributions),
                        strict=True,
                    )
                ),
            },
        }
        PortfolioRiskMetrics.objects.update_or_create(
            portfolio=portfolio,
            calculation_date=on,
            method="historical",
            defaults=_json_defaults(factor_defaults, _METRICS_JSON),
            # A row created by this step has no VaR yet: it says so, and which rate the
            # figures will use, rather than reading as "computed, all null".
            create_defaults=_json_defaults(
                {
                    **factor_defaults,
                    "risk_free_rate": inputs.rate,
                    "risk_free_source": inputs.rate_source,
                    "warnings": [
                        f"VaR, expected shortfall, performance and Greek totals for {on} are "
                        "not computed yet: the risk_metrics step has not run since "
                        "factor_analysis"
                    ],
                },
                _METRICS_JSON,
            ),
        )
    return {
        "positions": len(inputs.positions),
        "computed": stored,
        "failed": len(inputs.positions) - stored,
        "warnings": inputs.warnings,
    }


# ---- VaR, ES, performance, Greek totals, concentration -------------------------------------------

HORIZONS = (1, 5, 10)
CONFIDENCES = (0.95, 0.99)
#: Why a performance figure can be null (RISK-MODEL: a null says why in ``warnings``).
_NULL_DEFAULT = "not defined for this return series (a zero denominator or too few days)"
_NULL_REASONS = {
    "portfolio_beta": "no position has a fitted market beta, or the portfolio's value is 0",
    "correlation_with_spy": "the back-cast or SPY returns are constant over the lookback",
    "information_ratio": "zero tracking error (the returns equal SPY's)",
    "tracking_error": "SPY returns are missing over the lookback",
    "sortino_ratio": "no day below the risk-free rate in the lookback",
    "volatility_30d": "fewer than 30 days of back-cast returns",
    "volatility_90d": "fewer than 90 days of back-cast returns",
}


def _greek_totals(inputs: RiskInputs) -> GreekTotals:
    """RISK-MODEL.md totals: Σ Greek × quantity × multiplier (stocks: delta 1), dollar
    delta, gamma for 1% and 2% moves, vega per vol point, theta per day."""
    book = inputs.book
    rows = [inputs.greeks_rows.get(str(p.id)) for p in inputs.positions]
    greeks = {
        name: np.array([r[name] if r else 0.0 for r in rows], dtype=float)
        for name in ("gamma", "theta", "vega", "rho")
    }
    options = book.is_option
    return {
        **greek_totals(
            quantity=book.quantity,
            multiplier=book.multiplier,
            spot=book.spot0[book.underlying_index] if len(book.quantity) else np.zeros(0),
            is_option=options,
            delta=inputs.delta,
            market_value=inputs.market_values,
            # VIX options are volatility exposure, not equity delta (RISK-MODEL).
            is_volatility=inputs.is_volatility,
            **greeks,
        ),
        "average_days_to_expiry": (
            float(np.mean([(p.expiry - inputs.on).days for p in inputs.positions if p.expiry]))
            if options.any()
            else None
        ),
    }


@_stores_results
def risk_metrics_for_portfolio(
    portfolio: Portfolio, *, now: dt.datetime | None = None, shared: SharedReads | None = None
) -> dict[str, Any]:
    """Historical-simulation VaR/ES with full revaluation (1/5/10 days from overlapping
    windows, 95/99%), Euler component VaR, back-cast performance, Greek totals and
    concentration, stored as the ``historical`` row of PortfolioRiskMetrics."""
    inputs = _inputs(portfolio, now=now, lookback=settings.RISK_LOOKBACK_DAYS, shared=shared)
    on = inputs.on
    value = inputs.total_value
    n = len(inputs.positions)
    var_table: VarTable = {}
    es_table: VarTable = {}
    components: list[ComponentVarRow] = []
    performance: PerformanceFigures = {}
    warnings = list(inputs.warnings)
    if n and len(inputs.dates) >= 20:
        # Implied vol moves with the VIX in every scenario, scaled per underlying (book).
        results = historical_full_revaluation(
            inputs.book,
            inputs.underlying_returns,
            horizons=HORIZONS,
            confidences=CONFIDENCES,
            vol_returns=inputs.vix_returns,
        )
        for h in HORIZONS:
            var_table[f"{h}_day"] = {
                f"{int(c * 100)}": float(results[(h, c)].var) for c in CONFIDENCES
            }
            es_table[f"{h}_day"] = {
                f"{int(c * 100)}": float(results[(h, c)].es) for c in CONFIDENCES
            }
        weights = np.abs(inputs.market_values) / max(inputs.gross_exposure, 1e-12)
        one_day = {c: results[(1, c)] for c in CONFIDENCES}
        for i, position in enumerate(inputs.positions):
            components.append(
                {
                    "position_id": str(position.id),
                    "symbol": position.security_id,
                    "position_weight": float(weights[i]),
                    **{
                        f"component_var_{int(c * 100)}": float(one_day[c].component[i])
                        for c in CONFIDENCES
                    },
                    **{
                        f"marginal_var_{int(c * 100)}": _finite(one_day[c].marginal[i])
                        for c in CONFIDENCES
                    },
                }
            )
        # Each position alone: its own historical 1-day VaR, and its beta and correlation
        # to the portfolio over the same scenarios.
        matrix = revalue(
            inputs.book,
            inputs.underlying_returns,
            0.0 if inputs.vix_returns is None else inputs.vix_returns,
            horizon_days=CALENDAR_DAYS_PER_TRADING_DAY,
        )
        alone = standalone_statistics(
            matrix, np.abs(inputs.market_values), value, confidences=CONFIDENCES
        )
        for i, row in enumerate(components):
            row["position_var_95"] = float(alone.var[0.95][i])
            row["position_var_99"] = float(alone.var[0.99][i])
            row["beta_to_portfolio"] = _finite(alone.beta_to_portfolio[i])
            row["correlation_to_portfolio"] = _finite(alone.correlation_to_portfolio[i])
        # Back-cast daily returns of today's holdings (the 1-day P&L in date order).
        pnl = one_day[0.95].pnl_vector
        base = value if value else 1.0
        portfolio_returns = np.asarray(pnl, dtype=float) / base
        summary = performance_summary(portfolio_returns, inputs.benchmark, inputs.rate)
        ytd = np.array([d.year == on.year for d in inputs.dates], dtype=bool)
        trailing = trailing_figures(portfolio_returns, ytd, inputs.rate)
        performance = {key: _finite(v) for key, v in {**summary, **trailing}.items()}
        # One beta (RISK-MODEL "Regression"): the factor model's market exposure, which
        # /aggregations also reports, not a second regression of the back-cast P&L.
        performance["portfolio_beta"] = _finite(inputs.market_beta())
        performance["back_cast_days"] = len(portfolio_returns)
        for key, figure in performance.items():
            if figure is None:
                warnings.append(f"{key} is null: {_NULL_REASONS.get(key, _NULL_DEFAULT)}")
    elif not n:
        warnings.append(
            "VaR, expected shortfall and performance are null: no position could be valued"
        )
    else:
        warnings.append(
            f"VaR, expected shortfall and performance are null: {len(inputs.dates)} days of "
            "history in the lookback, at least 20 are needed"
        )
    model_var = _model_var(inputs) if n and len(inputs.dates) >= 20 else {}
    # Components are stored once, on the historical row: each position's row carries the
    # other methods' components and marginals under ``methods`` (risk.payloads.components_of).
    for i, row in enumerate(components):
        row["methods"] = {method: comp_m[i] for method, (_, _, comp_m) in model_var.items()}
    with transaction.atomic():
        PortfolioRiskMetrics.objects.update_or_create(
            portfolio=portfolio,
            calculation_date=on,
            method="historical",
            defaults=_json_defaults(
                {
                    "portfolio_value": _money(value),
                    "lookback_days": settings.RISK_LOOKBACK_DAYS,
                    "value_at_risk": var_table,
                    "expected_shortfall": es_table,
                    "component_var": components,
                    "performance": performance,
                    "greeks": _greek_totals(inputs),
                    "concentration": concentration(inputs.market_values) if n else {},
                    "risk_free_rate": inputs.rate,
                    "risk_free_source": inputs.rate_source,
                    "warnings": warnings,
                },
                _METRICS_JSON,
            ),
        )
        for method, (var_m, es_m, _) in model_var.items():
            PortfolioRiskMetrics.objects.update_or_create(
                portfolio=portfolio,
                calculation_date=on,
                method=method,
                defaults=_json_defaults(
                    {
                        "portfolio_value": _money(value),
                        "lookback_days": settings.RISK_LOOKBACK_DAYS,
                        "value_at_risk": var_m,
                        "expected_shortfall": es_m,
                        "component_var": [],  # on the historical row
                        "risk_free_rate": inputs.rate,
                        "risk_free_source": inputs.rate_source,
                        "warnings": warnings,
                    },
                    _METRICS_JSON,
                ),
            )
    return {
        "positions": n,
        "computed": 1 if var_table else 0,
        "failed": 0 if var_table else 1,
        "warnings": warnings,
    }


def _mc_vol_arguments(inputs: RiskInputs) -> dict[str, Any]:
    """How implied vol moves in the Monte Carlo paths: with the VIX's simulated log change
    (its own path where it is an underlying, else its factor betas and residual)."""
    if inputs.vix_underlying is not None:
        return {"vol_underlying": inputs.vix_underlying}
    if inputs.vix_fit is None:
        return {}
    return {
        "vol_loadings": np.nan_to_num(inputs.vix_fit.betas[0]),
        "vol_residual": float(inputs.vix_fit.residual_vol[0]) / np.sqrt(TRADING_DAYS_PER_YEAR),
    }


def _model_var(inputs: RiskInputs) -> dict[str, tuple[dict, dict, list[dict[str, Any]]]]:
    """Parametric (delta-normal, √h) and Monte Carlo (factor model, full revaluation) VaR,
    ES and Euler components, in factor space (RISK-MODEL.md, "Other methods")."""
    u_idx = inputs.book.underlying_index
    factor_cov = ewma_covariance(inputs.design) / TRADING_DAYS_PER_YEAR  # daily
    underlying_betas = np.nan_to_num(inputs.fit.betas)
    residual_daily = np.nan_to_num(inputs.fit.residual_vol) / np.sqrt(TRADING_DAYS_PER_YEAR)
    weights = np.abs(inputs.market_values) / max(inputs.gross_exposure, 1e-12)
    out: dict[str, tuple[dict, dict, list[dict[str, Any]]]] = {}
    var_p: dict[str, dict[str, float]] = {}
    es_p: dict[str, dict[str, float]] = {}
    comp_p: list[dict[str, Any]] = [{} for _ in inputs.positions]
    for h in HORIZONS:
        for c in CONFIDENCES:
            result = parametric_var(
                exposure=inputs.dollar_exposure,
                factor_loadings=underlying_betas[u_idx],
                factor_cov=factor_cov,
                underlying_index=u_idx,
                residual_vol=residual_daily,  # one residual per underlying
                confidence=c,
                horizon_days=h,
            )
            var_p.setdefault(f"{h}_day", {})[f"{int(c * 100)}"] = float(result.var)
            es_p.setdefault(f"{h}_day", {})[f"{int(c * 100)}"] = float(result.es)
            if h == 1:
                marginal = marginal_var(result.component, weights)
                for i in range(len(inputs.positions)):
                    comp_p[i][f"component_var_{int(c * 100)}"] = float(result.component[i])
                    comp_p[i][f"marginal_var_{int(c * 100)}"] = _finite(marginal[i])
    out["parametric"] = (var_p, es_p, comp_p)
    mc = monte_carlo_var(
        inputs.book,
        factor_cov,
        underlying_betas,
        residual_daily,
        n_paths=settings.MONTE_CARLO_PATHS,
        horizons=HORIZONS,
        confidences=CONFIDENCES,
        seed=settings.SIMULATION_SEED,
        **_mc_vol_arguments(inputs),
    )
    var_m = {
        f"{h}_day": {f"{int(c * 100)}": float(mc[(h, c)].var) for c in CONFIDENCES}
        for h in HORIZONS
    }
    es_m = {
        f"{h}_day": {f"{int(c * 100)}": float(mc[(h, c)].es) for c in CONFIDENCES} for h in HORIZONS
    }
    comp_m = [
        {
            **{
                f"component_var_{int(c * 100)}": float(mc[(1, c)].component[i]) for c in CONFIDENCES
            },
            **{
                f"marginal_var_{int(c * 100)}": _finite(mc[(1, c)].marginal[i]) for c in CONFIDENCES
            },
        }
        for i in range(len(inputs.positions))
    ]
    out["monte_carlo"] = (var_m, es_m, comp_m)
    return out


@_stores_results
def record_step_failure(
    portfolio: Portfolio, *, step: str, message: str, now: dt.datetime | None = None
) -> None:
    """Say on the portfolio's metrics row for today that ``step`` failed, and why, so that
    the endpoints report a failure rather than "has not run" or silent nulls. A row is
    created only where the portfolio's value is known (its value is a stored figure)."""
    on = calculation_date(now)
    note = f"The {step} step failed for {on}: {message}"
    with transaction.atomic():
        row = (
            PortfolioRiskMetrics.objects.select_for_update()
            .filter(portfolio=portfolio, calculation_date=on, method="historical")
            .first()
        )
        if row is None:
            value = portfolio_book(portfolio=portfolio, details=False).total_value
            if value is None:
                return
            rate, source = risk_free_rate(on)
            PortfolioRiskMetrics.objects.create(
                portfolio=portfolio,
                calculation_date=on,
                method="historical",
                portfolio_value=_money(float(value)),
                risk_free_rate=rate,
                risk_free_source=source,
                warnings=[note],
            )
            return
        if note not in row.warnings:
            row.warnings = [*row.warnings, note]
            row.save(update_fields=["warnings", "calculated_at"])


# ---- Stress tests ----------------------------------------------------------------------------


def scenario_results(
    inputs: RiskInputs, scenarios: list[StressScenario]
) -> tuple[list[StressResult], list[str]]:
    """Each scenario's impacts on the book of ``inputs`` (risk.engine.stress), and the
    warnings about the rate betas used."""
    # The shocks apply to the model's own factors, as its betas are measured: ``market`` is
    # the market return and each style is a tilt (its return in excess of the market,
    # orthogonalized), as log returns: "market -35%, growth +15%" moves a growth stock by
    # 0.65 ** beta_m x 1.15 ** beta_g - 1. The factors a scenario does not list move by
    # their conditional expectation under the EWMA covariance of the same design. Rates act
    # through durations, stock rate betas and option repricing.
    specs = [
        ScenarioSpec(
            id=scenario.id,
            factor_shocks={
                k: float(v)
                for k, v in scenario.factor_shocks.items()
                if k != "rates" and k in inputs.factor_names
            },
            vol_shock=float(scenario.volatility_shock),
            rate_shift=float(scenario.factor_shocks.get("rates", 0.0)),
        )
        for scenario in scenarios
    ]
    daily_cov = ewma_covariance(inputs.design) / TRADING_DAYS_PER_YEAR
    durations = security_durations(inputs.underlyings)
    rate_beta, rate_warnings = stock_rate_betas(inputs.underlyings, durations)
    # The VIX moves by the scenario's vol shock, and options on it keep their own implied
    # volatility (vol of vol) unshocked (risk.engine.stress).
    vol_index = np.zeros(len(inputs.underlyings), dtype=bool)
    vol_index[inputs.book.underlying_index[inputs.is_volatility]] = True
    vol_index |= np.array([s == VOLATILITY_INDEX for s in inputs.underlyings], dtype=bool)
    stress_book = dataclasses.replace(
        inputs.book,
        vol_beta=np.where(inputs.is_volatility, 0.0, inputs.book.vol_beta),
    )
    results = run_scenarios(
        stress_book,
        specs,
        factor_names=inputs.factor_names,
        underlying_betas=np.nan_to_num(inputs.fit.betas),
        factor_cov=daily_cov,
        residual_vol=np.nan_to_num(inputs.fit.residual_vol) / np.sqrt(TRADING_DAYS_PER_YEAR),
        duration=durations,
        rate_beta=rate_beta,
        vol_index=vol_index,
    )
    return results, rate_warnings


@_stores_results
def stress_for_portfolio(
    portfolio: Portfolio, *, now: dt.datetime | None = None, shared: SharedReads | None = None
) -> dict[str, Any]:
    """Every active scenario: direct and correlated impact with full option revaluation."""
    inputs = _inputs(portfolio, now=now, lookback=settings.FACTOR_WINDOW_DAYS, shared=shared)
    on = inputs.on
    scenarios = list(StressScenario.objects.filter(is_active=True))
    if not inputs.positions or not scenarios:
        return {
            "scenarios": 0,
            "computed": 0,
            "failed": 0,
            "warnings": ["No positions or no active scenarios"],
        }
    results, rate_warnings = scenario_results(inputs, scenarios)
    value = inputs.total_value or 1.0
    with transaction.atomic():
        for scenario, result in zip(scenarios, results, strict=True):
            StressTestResult.objects.update_or_create(
                portfolio=portfolio,
                scenario=scenario,
                calculation_date=on,
                defaults=_json_defaults(
                    {
                        "direct_impact": _money(result.direct_impact),
                        "correlated_impact": _money(result.correlated_impact),
                        "scenario_return": float(result.correlated_impact / value),
                        "systematic_impact": _money(result.systematic_impact),
                        "idiosyncratic_band": _money(result.idiosyncratic_band),
                        "implied_shocks": dict(
                            zip(
                                inputs.factor_names,
                                map(_finite, result.correlated_factor_shocks),
                                strict=True,
                            )
                        ),
                        "top_contributors": [
                            {
                                "symbol": inputs.symbols[i],
                                "position_id": str(inputs.positions[i].id),
                                "impact": float(result.correlated_by_position[i]),
                            }
                            for i in result.top_contributors
                        ],
                    },
                    _STRESS_JSON,
                ),
            )
    warnings = [*inputs.warnings, *rate_warnings]
    return {
        "scenarios": len(scenarios),
        "computed": len(results),
        "failed": 0,
        "warnings": warnings,
    }


# ---- Correlations ----------------------------------------------------------------------------


@_stores_results
def correlations_for_portfolio(
    portfolio: Portfolio,
    *,
    now: dt.datetime | None = None,
    threshold: float = 0.7,
    shared: SharedReads | None = None,
) -> dict[str, Any]:
    """Pearson correlations of the positions' underlyings over the lookback, clusters at
    |ρ| ≥ threshold, and value-weighted effective positions."""
    inputs = _inputs(portfolio, now=now, lookback=settings.RISK_LOOKBACK_DAYS, shared=shared)
    on = inputs.on
    symbols = inputs.underlyings
    if len(symbols) < 2:
        return {
            "symbols": len(symbols),
            "computed": 0,
            "failed": 0,
            "warnings": ["Fewer than two underlyings"],
        }
    corr = correlation_matrix(inputs.underlying_returns)
    exposure = np.zeros(len(symbols))
    np.add.at(exposure, inputs.book.underlying_index, inputs.dollar_exposure)
    groups = clusters(corr, threshold=threshold)
    CorrelationResult.objects.update_or_create(
        portfolio=portfolio,
        calculation_date=on,
        defaults={
            "lookback_days": settings.RISK_LOOKBACK_DAYS,
            "threshold": threshold,
            "symbols": symbols,
            "matrix": json_safe(corr),
            "clusters": [[symbols[i] for i in group] for group in groups],
            "effective_positions": _finite(effective_positions(exposure, corr)),
            "average_correlation": _finite(average_correlation(exposure, corr)),
        },
    )
    return {"symbols": len(symbols), "computed": 1, "failed": 0, "warnings": inputs.warnings}


# ---- Daily snapshots -------------------------------------------------------------------------

SNAPSHOT_BACKFILL_SESSIONS = 30


@_stores_results
def snapshot_for_portfolio(
    portfolio: Portfolio,
    *,
    now: dt.datetime | None = None,
    backfill: int = SNAPSHOT_BACKFILL_SESSIONS,
) -> dict[str, Any]:
    """The portfolio's value at each session close (the last ``backfill`` sessions that have
    no snapshot yet), from stored closes and the cash ledger. The daily return is net of
    deposits and withdrawals."""
    on, _ = _pricing_moment(now)
    sessions = calendar.sessions_between(on - dt.timedelta(days=backfill * 2 + 10), on)[-backfill:]
    done = set(
        PortfolioSnapshot.objects.filter(portfolio=portfolio, date__in=sessions).values_list(
            "date", flat=True
        )
    )
    todo = [d for d in sessions if d not in done or d == on]
    flows = external_cash_flows(portfolio=portfolio)
    written = 0
    warnings: list[str] = []
    for day in todo:
        book = portfolio_book(portfolio=portfolio, as_of=day, details=False)
        total = book.total_value_or_null
        if total is None:
            # A missing close is not $0: no snapshot rather than a false drop in value.
            warnings.append(
                f"{day.isoformat()}: no snapshot, no close for {', '.join(sorted(book.unpriced))}"
            )
            continue
        previous = (
            PortfolioSnapshot.objects.filter(portfolio=portfolio, date__lt=day)
            .order_by("-date")
            .first()
        )
        daily_pnl = daily_return = None
        if previous is not None and previous.total_value:
            net_flow = flows.get(day, Decimal(0))
            daily_pnl = total - previous.total_value - net_flow
            daily_return = float(daily_pnl / previous.total_value)
        PortfolioSnapshot.objects.update_or_create(
            portfolio=portfolio,
            date=day,
            defaults={
                "total_value": _money(float(total)),
                "positions_value": _money(float(book.positions_value)),
                "cash_balance": _money(float(book.cash_balance)),
                "unrealized_pnl": _money(float(book.unrealized_pnl)),
                "realized_pnl": _money(float(book.realized_pnl)),
                "daily_pnl": None if daily_pnl is None else _money(float(daily_pnl)),
                "daily_return": daily_return,
                "positions_count": len(book.open_positions),
            },
        )
        written += 1
    return {
        "sessions": len(todo),
        "computed": written,
        "failed": len(warnings),
        "warnings": warnings,
    }


# ---- Data quality ----------------------------------------------------------------------------


@_stores_results
def data_quality_for_portfolio(
    portfolio: Portfolio, *, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Assess and store the portfolio's data quality (coverage of prices, Greeks, factor
    exposures and history, and freshness against the last NYSE close)."""
    now = now or timezone.now()
    rows, warnings = portfolio_quality_rows([portfolio], now=now)
    row = rows[0] if rows else {}
    DataQualityAssessment.objects.create(
        portfolio=portfolio,
        assessed_at=now,
        overall_score=row.get("quality_score"),
        metrics=json_safe({k: v for k, v in row.items() if k not in ("issues",)}),
        recommendations=[*row.get("issues", []), *warnings],
    )
    return {"score": row.get("quality_score"), "computed": 1, "failed": 0}


def json_safe(value: Any) -> Any:
    """A value fit for a JSONField: dates and UUIDs as strings, Decimals and numpy numbers
    as floats, and NaN or ±inf as ``None`` (JSON has no NaN: PostgreSQL's ``jsonb``
    rejects it and a reader cannot tell it from a number). This is the storage boundary:
    every JSON figure the risk batch writes goes through it."""
    kind = type(value)
    if kind is float:  # the common case first: the batch writes ~10 floats per position
        return value if math.isfinite(value) else None
    if kind is str or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [json_safe(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    return value


def _json_defaults(defaults: dict[str, Any], json_fields: tuple[str, ...]) -> dict[str, Any]:
    """``defaults`` with each JSON field passed through :func:`json_safe`."""
    return {k: json_safe(v) if k in json_fields else v for k, v in defaults.items()}


_METRICS_JSON = (
    "value_at_risk",
    "expected_shortfall",
    "component_var",
    "performance",
    "greeks",
    "concentration",
    "factor_exposures",
    "risk_attribution",
    "warnings",
)
_STRESS_JSON = ("implied_shocks", "top_contributors")


def data_quality_refresh_start(
    *, portfolio: Portfolio | None = None, requested_by: Any = None
) -> dict[str, Any]:
    """Start a ``data_quality_refresh`` job for ``portfolio`` (None: all) and describe it
    (spec 3.5). The quality before the refresh is measured first: the job may already be
    running (in a thread of the embedded default) when the answer is built."""
    before = refresh_preview(portfolio=portfolio)
    job = job_create(
        job_name="data_quality_refresh",
        portfolio=portfolio,
        source=JobSource.API_TRIGGER,
        requested_by=requested_by,
        metadata={"quality_score_before": before["overall_score"]},
    )
    job_dispatch(job)
    job.refresh_from_db()
    return refresh_report(job=job, preview=before)
