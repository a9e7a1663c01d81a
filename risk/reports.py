"""Risk reports for the /data/ and /analytics/ endpoints, from the stored batch results.

Each function returns a response body as plain data. A figure the batch has not
computed yet is ``null`` with a reason in ``warnings``; nothing is made up.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.utils import timezone

from marketdata import calendar
from marketdata.selectors import active_factors, is_gics_sector, price_snapshots
from portfolios import reports as portfolio_reports
from portfolios.selectors import (
    external_cash_flows,
    open_positions,
    portfolio_book,
    portfolio_for_user,
    position_for_user,
    position_sector,
    value_groups,
)
from portfolios.valuation import money, percent
from risk.engine.aggregation import GREEK_NAMES
from risk.engine.aggregation import greek_totals as engine_greek_totals
from risk.payloads import (
    components_of,
    concentration_of,
    factors_of,
    greeks_of,
    performance_of,
)
from risk.quality import portfolio_quality_rows
from risk.selectors import (
    latest_assessment,
    latest_exposures,
    latest_greeks,
    latest_metrics,
    latest_stress_results,
    metrics_with_var_rows,
    stress_results_on,
)
from sigmasight.errors import PositionNotFound

if TYPE_CHECKING:  # types only: rows come from the owning apps' selectors
    from accounts.models import User
    from portfolios.models import Portfolio, Position
    from risk.models import PortfolioRiskMetrics, PositionGreeks

NOT_RUN = "the {job} batch has not run for this portfolio yet"


def days_to_expiry(expiry: dt.date | None, *, today: dt.date | None = None) -> int | None:
    """Calendar days from today (the valuation date, New York's) to ``expiry``; never from
    the date of the last Greeks batch, which may be days old."""
    if expiry is None:
        return None
    today = today or timezone.now().astimezone(calendar.EASTERN).date()
    return (expiry - today).days


SPEC_FACTOR_KEYS = (
    "market",
    "size",
    "value",
    "momentum",
    "quality",
    "low_volatility",
    "dividend_yield",
)
#: RISK-MODEL.md: the /risk-summary example's keys → scenario ids.
SUMMARY_SCENARIOS = {
    "2008_financial_crisis": "financial_crisis_2008",
    "covid_march_2020": "covid_crash_2020",
    "interest_rate_shock": "rates_up_100bp",
}


def greek_totals(
    positions: list[Position], greeks: dict[UUID, PositionGreeks], spots: dict[str, float]
) -> dict[str, float]:
    """Σ Greek × quantity × multiplier over every position (a stock has delta 1 and no other
    Greek), and net delta exposure Σ delta × quantity × multiplier × spot in dollars, by the
    engine's one aggregation (an option without stored Greeks contributes nothing; its
    spot is the underlying price its Greeks were computed at)."""
    stored = [greeks.get(p.id) for p in positions]
    totals = engine_greek_totals(
        quantity=[float(p.quantity) for p in positions],
        multiplier=[p.multiplier for p in positions],
        spot=[
            (g.underlying_price if g is not None else math.nan)
            if p.multiplier > 1
            else spots.get(p.security_id, math.nan)
            for p, g in zip(positions, stored, strict=True)
        ],
        is_option=[p.multiplier > 1 for p in positions],
        # VIX options are volatility exposure: out of net_delta_exposure (RISK-MODEL).
        is_volatility=[g is not None and g.model == "black76" for g in stored],
        **{
            name: [getattr(g, name) if g is not None else math.nan for g in stored]
            for name in GREEK_NAMES
        },
    )
    return {
        key: float(totals[key])
        for key in (*(f"total_{n}" for n in GREEK_NAMES), "net_delta_exposure")
    }


def greeks_report(
    *, user: User, portfolio_id: Any, position_id: UUID | None = None
) -> dict[str, Any]:
    portfolio = portfolio_for_user(user=user, portfolio_id=portfolio_id)
    positions = open_positions(portfolio=portfolio)
    greeks = latest_greeks(positions)
    options = [p for p in positions if p.multiplier > 1]
    spots = {
        s: float(snap.price)
        for s, snap in price_snapshots(
            symbols={p.security_id for p in positions if p.multiplier == 1}
        ).items()
    }
    warnings = []
    rows = []
    for p in options:
        if position_id is not None and p.id != position_id:
            continue
        g = greeks.get(p.id)
        if g is None:
            warnings.append(f"No Greeks yet for {p.security_id}: run the greeks_calculation batch")
        rows.append(
            {
                "position_id": p.id,
                "symbol": p.security_id,
                "position_type": p.presented_type,
                "quantity": float(p.quantity),
                "greeks": None
                if g is None
                else {
                    **{name: getattr(g, name) for name in GREEK_NAMES},
                    "implied_volatility": g.implied_volatility,
                },
                "volatility_source": g.volatility_source if g else None,
                "model": g.model if g else None,
                "option_price": g.option_price if g else None,
                "delta_dollars": g.delta_dollars if g else None,
                "underlying_symbol": p.underlying_symbol,
                "underlying_price": g.underlying_price if g else None,
                "strike_price": float(p.strike) if p.strike is not None else None,
                "expiration_date": p.expiry,
                "days_to_expiry": days_to_expiry(p.expiry),
                "time_to_expiry_years": g.time_to_expiry_years if g else None,
                "calculation_date": g.calculation_date if g else None,
                "last_updated": g.calculated_at if g else None,
                "warnings": g.warnings if g else [],
            }
        )
    if position_id is not None and not rows:
        stock = next((p for p in positions if p.id == position_id), None)
        if stock is None:
            raise PositionNotFound()
        rows.append(_stock_greeks_row(stock, spots.get(stock.security_id)))
        if stock.security_id not in spots:
            warnings.append(f"No price for {stock.security_id}: its delta dollars are null")
    with_greeks = [p for p in options if p.id in greeks]
    stamps = [greeks[p.id].calculated_at for p in with_greeks]
    options_only = greek_totals(options, greeks, spots)
    return {
        "portfolio_id": portfolio.id,
        "greeks_data": rows,
        "portfolio_greeks": greek_totals(positions, greeks, spots),
        "options_greeks": options_only,
        "summary": {
            "options_positions": len(options),
            "positions_with_greeks": len(with_greeks),
            "coverage_percentage": round(100.0 * len(with_greeks) / len(options), 1)
            if options
            else None,
            "last_updated": max(stamps) if stamps else None,
        },
        "units": {
            "delta": "per $1 of the underlying",
            "gamma": "per $1",
            "theta": "per calendar day",
            "vega": "per volatility point (0.01)",
            "rho": "per rate point (0.01)",
            "totals": "Σ Greek × quantity × multiplier (a stock has delta 1)",
            "net_delta_exposure": "dollars",
        },
        "warnings": warnings,
    }


def _stock_greeks_row(p: Position, spot: float | None) -> dict[str, Any]:
    """A stock, ETF or fund as a Greeks row: delta 1 per share and no other Greek, so its
    delta is its quantity and its delta dollars its market value (quantity × spot)."""
    return {
        "position_id": p.id,
        "symbol": p.security_id,
        "position_type": p.presented_type,
        "quantity": float(p.quantity),
        "greeks": {
            "delta": 1.0,
            "gamma": 0.0,
            "theta": 0.0,
            "vega": 0.0,
            "rho": 0.0,
            "implied_volatility": None,
        },
        "volatility_source": None,
        "model": "linear",
        "option_price": None,
        "delta_dollars": float(p.quantity) * spot if spot is not None else None,
        "underlying_symbol": p.security_id,
        "underlying_price": spot,
        "strike_price": None,
        "expiration_date": None,
        "days_to_expiry": None,
        "time_to_expiry_years": None,
        "calculation_date": None,
        "last_updated": None,
        "warnings": [],
    }


# ---- /data/factors/{id} ------------------------------------------------------------------------


def factors_report(*, user: User, portfolio_id: Any, position_id: Any = None) -> dict[str, Any]:
    portfolio = portfolio_for_user(user=user, portfolio_id=portfolio_id)
    book = portfolio_book(portfolio=portfolio, details=False)
    positions = [m.position for m in book.open_positions]
    exposures = latest_exposures(positions)
    metrics = latest_metrics(portfolio)
    # Weights are of gross exposure, unknown while a position has no price.
    gross = (
        None
        if book.unpriced
        else sum((abs(m.valuation.market_value or 0) for m in book.open_positions), Decimal(0))
    )
    warnings = list(book.warnings)
    rows = []
    for m in book.open_positions:
        if position_id is not None and str(m.position.id) != str(position_id):
            continue
        e = exposures.get(m.position.id)
        rows.append(
            {
                "position_id": m.position.id,
                "symbol": m.position.security_id,
                "market_value": money(m.valuation.market_value),
                "weight": float(abs(m.valuation.market_value or 0) / gross) if gross else None,
                "exposures": e.betas if e else None,
                "dollar_exposures": e.dollar_exposures if e else None,
                "r_squared": e.r_squared if e else None,
                "idiosyncratic_share": e.idiosyncratic_share if e else None,
                "residual_volatility": e.residual_volatility if e else None,
                "regressed_symbol": e.regressed_symbol if e else None,
                "observations": e.observations if e else 0,
                "calculation_date": e.calculation_date if e else None,
                "last_updated": e.calculated_at if e else None,
            }
        )
    if position_id is not None and not rows:
        raise PositionNotFound()
    factors = factors_of(metrics)
    if not factors:
        warnings.append("Portfolio exposures are null: " + NOT_RUN.format(job="factor_analysis"))
    with_exposures = sum(
        1 for p in positions if p.id in exposures and exposures[p.id].r_squared is not None
    )
    return {
        "portfolio_id": portfolio.id,
        "factor_exposures": rows,
        "portfolio_exposures": factors.get("exposures"),
        "dollar_exposures": factors.get("dollar_exposures"),
        "risk_attribution": (metrics.risk_attribution or None) if metrics else None,
        "summary": {
            "total_positions": len(positions),
            "positions_with_exposures": with_exposures,
            "coverage_percentage": round(100.0 * with_exposures / len(positions), 1)
            if positions
            else None,
            "r_squared": factors.get("r_squared"),
            "window_days": factors.get("window_days"),
            "method": factors.get("method"),
            "factor_etfs": factors.get("factor_etfs"),
            "last_updated": metrics.calculated_at if metrics else None,
        },
        "warnings": warnings,
    }


# ---- /data/portfolios/{id}/aggregations -------------------------------------------------------


def aggregations_report(
    *, user: User, portfolio_id: Any, include_greeks: bool, include_factors: bool
) -> dict[str, Any]:
    portfolio = portfolio_for_user(user=user, portfolio_id=portfolio_id)
    book = portfolio_book(portfolio=portfolio, details=False)
    metrics = latest_metrics(portfolio)
    warnings = list(book.warnings)
    if metrics is None:
        warnings.append(
            "Concentration, Greeks, factors and performance are null: "
            + NOT_RUN.format(job="risk_metrics")
        )
    total_value, day_change = book.total_value_or_null, book.day_change_or_null
    previous_value = None if total_value is None or day_change is None else total_value - day_change
    body: dict[str, Any] = {
        "portfolio_id": portfolio.id,
        "basic_aggregations": {
            "total_value": money(total_value),
            "cash_balance": money(book.cash_balance),
            "invested_value": money(book.positions_value_or_null),
            "total_pnl": money(book.total_pnl_or_null),
            # Of the gross cost basis Σ |quantity × entry × multiplier| of open positions.
            "total_pnl_percent": percent(book.total_pnl_or_null, book.gross_cost_basis),
            "day_change": money(day_change),
            "day_change_percent": percent(day_change, previous_value),
        },
        "position_breakdown": {
            "by_type": value_groups(
                book.open_positions,
                lambda m: m.position.presented_type,
                ("LONG", "SHORT", "CALL", "PUT"),
            ),
            "by_sector": value_groups(book.open_positions, position_sector),
        },
        "concentration_metrics": None,
        "performance_metrics": None,
        "calculation_date": metrics.calculation_date if metrics else None,
        "last_updated": metrics.calculated_at if metrics else book.last_updated,
        "warnings": warnings,
    }
    if metrics is not None:
        c = concentration_of(metrics)
        body["concentration_metrics"] = {
            "top_5_positions_weight": c.get("top_5_weight"),
            "herfindahl_index": c.get("herfindahl"),
            "effective_positions": c.get("effective_positions"),
            "largest_position_weight": c.get("largest_position_weight"),
        }
        perf = performance_of(metrics)
        body["performance_metrics"] = {
            key: perf.get(key)
            for key in (
                "ytd_return",
                "trailing_30d_return",
                "trailing_90d_return",
                "sharpe_ratio_30d",
                "max_drawdown_30d",
            )
        }
        body["performance_metrics"]["basis"] = "back-cast daily returns of today's holdings"
    if include_greeks:
        g = greeks_of(metrics) or None
        body["greeks_aggregations"] = (
            {
                key: g.get(key)
                for key in (
                    "total_delta",
                    "total_gamma",
                    "total_theta",
                    "total_vega",
                    "total_rho",
                    "net_delta_exposure",
                    "options_notional",
                )
            }
            if g
            else None
        )
    if include_factors:
        f = factors_of(metrics) or None
        body["factor_aggregations"] = (
            {
                "portfolio_beta": f["exposures"].get("market"),
                "factor_loadings": f["exposures"],
                "r_squared": f.get("r_squared"),
            }
            if f and f.get("exposures")
            else None
        )
        if include_factors and not body["factor_aggregations"]:
            warnings.append(
                "Factor aggregations are null: " + NOT_RUN.format(job="factor_analysis")
            )
    return body


# ---- /data/portfolios/{id}/risk-summary --------------------------------------------------------


def _var_block(table: dict[str, dict[str, float]], confidence: int, value: float) -> dict[str, Any]:
    out = {}
    for horizon in ("1_day", "5_day", "10_day"):
        absolute = (table.get(horizon) or {}).get(str(confidence))
        out[horizon] = {
            "absolute": None if absolute is None else round(absolute, 2),
            "percentage": None
            if absolute is None or not value
            else round(absolute / value * 100, 2),
        }
    return out


def _risk_warnings(
    portfolio: Portfolio, metrics: PortfolioRiskMetrics, sectors: dict[str, Any]
) -> list[str]:
    warnings = []
    perf = performance_of(metrics)
    beta = perf.get("portfolio_beta")
    if beta is not None and beta > 1.0:
        warnings.append(f"Portfolio beta {beta:.2f} above 1.0 indicates higher market sensitivity")
    for name, group in sectors.items():
        share = float(group["percentage"] or 0)
        # An index fund's asset class ("Broad Equity") is diversification, not a sector bet.
        if share > 30 and is_gics_sector(name):
            warnings.append(f"High concentration in {name} sector ({share:.1f}%)")
    days = greeks_of(metrics).get("average_days_to_expiry")
    if days is not None:
        warnings.append(f"Options positions have {days:.0f} days average to expiry")
    top = concentration_of(metrics).get("largest_position_weight")
    if top is not None and top > 0.10:
        warnings.append(f"Largest position is {top * 100:.1f}% of gross exposure")
    return warnings


def risk_summary_report(
    *,
    user: User,
    portfolio_id: Any,
    confidence: int,
    method: str = "historical",
    components_limit: int | None = 20,
) -> dict[str, Any]:
    """``/risk-summary``; ``component_var`` holds the ``components_limit`` largest losses
    (None: every position), as API-CONVENTIONS states."""
    portfolio = portfolio_for_user(user=user, portfolio_id=portfolio_id)
    metrics, var_row = metrics_with_var_rows(portfolio, method)
    book = portfolio_book(portfolio=portfolio, details=False)
    warnings = list(book.warnings)
    if metrics is None:
        warnings.append("Risk figures are null: " + NOT_RUN.format(job="risk_metrics"))
    # One mark: the value reported is the book's, as on /complete, overview and aggregations;
    # VaR percentages are of the value the VaR was computed on (the batch's).
    book_value = book.total_value_or_null
    value = (
        float(metrics.portfolio_value)
        if metrics
        else (float(book_value) if book_value is not None else 0.0)
    )
    if metrics and book_value is not None and abs(book_value - metrics.portfolio_value) >= 0.01:
        warnings.append(
            f"Risk figures were computed on a value of {metrics.portfolio_value}; the book is "
            f"worth {money(book_value)} now (prices moved since {metrics.calculated_at:%Y-%m-%d %H:%M} UTC)"
        )
    perf = performance_of(metrics)
    stress = stress_results_on(portfolio, metrics.calculation_date) if metrics else {}
    if metrics and not stress:
        warnings.append("Stress scenarios are empty: " + NOT_RUN.format(job="stress_testing"))
    scenario_map: dict[str, Any] = {}
    for key, sid in SUMMARY_SCENARIOS.items():
        r = stress.get(sid)
        scenario_map[key] = {
            "scenario_return": r.scenario_return if r else None,
            "portfolio_impact": float(r.correlated_impact) if r else None,
            "scenario_id": sid,
        }
    for sid, r in stress.items():
        if sid not in SUMMARY_SCENARIOS.values():
            scenario_map[sid] = {
                "scenario_return": r.scenario_return,
                "portfolio_impact": float(r.correlated_impact),
                "scenario_id": sid,
            }
    components = []
    total_var = (
        ((var_row.value_at_risk or {}).get("1_day") or {}).get(str(confidence)) if var_row else None
    )
    for row in components_of(metrics, method):
        component = row.get(f"component_var_{confidence}")
        components.append(
            {
                "position_id": row["position_id"],
                "symbol": row["symbol"],
                "position_weight": row["position_weight"],
                "component_var": component,
                "marginal_var": row.get(f"marginal_var_{confidence}"),
                "percentage_contribution": round(component / total_var * 100, 2)
                if total_var
                else None,
            }
        )
    components.sort(key=lambda r: r["component_var"] or 0)
    if components_limit is not None and len(components) > components_limit:
        warnings.append(
            f"component_var lists the {components_limit} largest of {len(components)} "
            "components; components_limit=all lists every one"
        )
        components = components[:components_limit]
    g = greeks_of(metrics)
    sectors = value_groups(book.open_positions, position_sector)
    return {
        "portfolio_id": portfolio.id,
        "risk_summary": {
            "portfolio_value": money(book_value),
            "confidence_level": confidence,
            "calculation_date": metrics.calculation_date if metrics else None,
            "lookback_period": metrics.lookback_days if metrics else None,
            "method": method,
            "risk_free_rate": metrics.risk_free_rate if metrics else None,
            "risk_free_source": metrics.risk_free_source if metrics else None,
        },
        "value_at_risk": _var_block(
            (var_row.value_at_risk if var_row else {}) or {}, confidence, value
        ),
        "expected_shortfall": _var_block(
            (var_row.expected_shortfall if var_row else {}) or {}, confidence, value
        ),
        "risk_metrics": {
            "portfolio_beta": perf.get("portfolio_beta"),
            "correlation_with_spy": perf.get("correlation_with_spy"),
            "tracking_error": perf.get("tracking_error"),
            "information_ratio": perf.get("information_ratio"),
            "sharpe_ratio": perf.get("sharpe_ratio"),
            "sortino_ratio": perf.get("sortino_ratio"),
            "maximum_drawdown": perf.get("max_drawdown"),
            "volatility_30d": perf.get("volatility_30d"),
            "volatility_90d": perf.get("volatility_90d"),
        },
        "component_var": components,
        "stress_scenarios": scenario_map,
        "greeks_risk": {
            "delta_equivalent": g.get("net_delta_exposure"),
            "gamma_risk": g.get("gamma_risk") or {"1_percent_move": None, "2_percent_move": None},
            "vega_risk": g.get("vega_risk") or {"1_vol_point_move": None},
            "theta_decay": g.get("theta_decay") or {"1_day": None},
        },
        "risk_warnings": _risk_warnings(portfolio, metrics, sectors) if metrics else [],
        "last_updated": metrics.calculated_at if metrics else None,
        "warnings": warnings + list((metrics.warnings if metrics else []) or []),
    }


# ---- /data/portfolio/{id}/data-quality ------------------------------------------------------


def data_quality_report_for_user(*, user: User, portfolio_id: Any) -> dict[str, Any]:
    """Spec 2.3, assessed now from stored data (the same figures the batch stores)."""
    portfolio = portfolio_for_user(user=user, portfolio_id=portfolio_id)
    rows, shared_warnings = portfolio_quality_rows([portfolio])
    row = rows[0]
    positions = open_positions(portfolio=portfolio)
    options = [p for p in positions if p.multiplier > 1]
    greeks = latest_greeks(options)
    completeness, freshness = row["data_completeness"], row["data_freshness"]
    priced = round((completeness["price_coverage"] or 0) * len(positions) / 100) if positions else 0
    last_assessment = latest_assessment(portfolio)
    return {
        "portfolio_id": portfolio.id,
        "overall_score": row["quality_score"],
        "metrics": {
            "price_coverage": {
                "score": completeness["price_coverage"],
                "total_positions": len(positions),
                "positions_with_prices": priced,
                "missing_prices": len(positions) - priced,
            },
            "data_freshness": {
                "score": freshness["freshness_score"],
                "last_updated": freshness["last_price_update"],
                "hours_since_update": freshness["hours_since_update"],
                "last_market_close": freshness["last_market_close"],
            },
            "greeks_coverage": {
                "score": completeness["greeks_coverage"],
                "options_positions": len(options),
                "positions_with_greeks": len(greeks),
                "missing_greeks": len(options) - len(greeks),
            },
            "factor_coverage": {"score": completeness["factor_coverage"]},
            "historical_data_coverage": {"score": completeness["historical_data_coverage"]},
        },
        "recommendations": row["issues"] or ["No data issues found"],
        "last_assessed": last_assessment.assessed_at if last_assessment else None,
        "warnings": [*row.get("warnings", []), *shared_warnings],
    }


# ---- /analytics/ -------------------------------------------------------------------------------


def _period_pnl(
    *, portfolio: Portfolio, nav_now: Decimal | None, start: dt.date, name: str
) -> tuple[Decimal | None, list[str]]:
    """P&L since the close of ``start`` (the last day before the period): NAV now − NAV at
    that close − deposits net of withdrawals after it. Realized, unrealized, dividends and
    fees all move the NAV; external cash flows do not count as P&L."""
    if nav_now is None:
        return None, [f"pnl.{name} is null: the current value is null (unpriced positions)"]
    before = portfolio_book(portfolio=portfolio, as_of=start, details=False)
    nav_then = before.total_value_or_null
    if nav_then is None:
        return None, [
            f"pnl.{name} is null: no close on or before {start.isoformat()} for "
            + ", ".join(sorted(set(before.unpriced)))
        ]
    flows = sum(
        (amount for day, amount in external_cash_flows(portfolio=portfolio).items() if day > start),
        Decimal(0),
    )
    return nav_now - nav_then - flows, []


def overview_report(*, user: User, portfolio_id: Any) -> dict[str, Any]:
    portfolio = portfolio_for_user(user=user, portfolio_id=portfolio_id)
    book = portfolio_book(portfolio=portfolio, details=False)
    warnings = list(book.warnings)
    values = [m.valuation.market_value for m in book.open_positions]
    sides = [m.position.quantity > 0 for m in book.open_positions]
    # An unpriced position leaves its own side unknown (its sign is its quantity's).
    long_unknown = any(v is None and up for v, up in zip(values, sides, strict=True))
    short_unknown = any(v is None and not up for v, up in zip(values, sides, strict=True))
    long_exposure = (
        None if long_unknown else sum((v for v in values if v is not None and v > 0), Decimal(0))
    )
    short_exposure = (
        None if short_unknown else sum((v for v in values if v is not None and v < 0), Decimal(0))
    )
    both = long_exposure is not None and short_exposure is not None
    gross = long_exposure - short_exposure if both else None  # type: ignore[operator]
    net = long_exposure + short_exposure if both else None  # type: ignore[operator]
    total = book.total_value_or_null
    today = timezone.now().astimezone(calendar.EASTERN).date()
    year_start = dt.date(today.year - 1, 12, 31)
    month_start = today.replace(day=1) - dt.timedelta(days=1)
    ytd, ytd_warnings = _period_pnl(
        portfolio=portfolio, nav_now=total, start=year_start, name="ytd_pnl"
    )
    mtd, mtd_warnings = _period_pnl(
        portfolio=portfolio, nav_now=total, start=month_start, name="mtd_pnl"
    )
    warnings += ytd_warnings + mtd_warnings
    equity = sum(external_cash_flows(portfolio=portfolio).values(), Decimal(0))
    return {
        "portfolio_id": portfolio.id,
        "total_value": money(total),
        "net_asset_value": money(total),
        "cash_balance": money(book.cash_balance),
        "equity_balance": money(equity),
        "exposures": {
            "long_exposure": money(long_exposure),
            "short_exposure": money(short_exposure),
            "gross_exposure": money(gross),
            "net_exposure": money(net),
            "long_percentage": percent(long_exposure, total),
            "short_percentage": percent(short_exposure, total),
            "gross_percentage": percent(gross, total),
            "net_percentage": percent(net, total),
        },
        "pnl": {
            "total_pnl": money(book.total_pnl_or_null),
            "unrealized_pnl": money(book.unrealized_pnl_or_null),
            "realized_pnl": money(book.realized_pnl),
            "day_change": money(book.day_change_or_null),
            "ytd_pnl": money(ytd),
            "mtd_pnl": money(mtd),
        },
        "position_count": {
            "total_positions": len(book.open_positions),
            "long_count": sum(
                1
                for m in book.open_positions
                if m.position.quantity > 0 and not m.position.is_option
            ),
            "short_count": sum(
                1
                for m in book.open_positions
                if m.position.quantity < 0 and not m.position.is_option
            ),
            "option_count": sum(1 for m in book.open_positions if m.position.is_option),
        },
        "last_updated": book.last_updated,
        "warnings": warnings,
    }


def _cents(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def metrics_report(*, user: User, portfolio_id: Any, method: str = "historical") -> dict[str, Any]:
    portfolio = portfolio_for_user(user=user, portfolio_id=portfolio_id)
    metrics, var_row = metrics_with_var_rows(portfolio, method)
    warnings = [] if metrics else ["Risk figures are null: " + NOT_RUN.format(job="risk_metrics")]

    def table(source: dict[str, Any] | None) -> dict[str, Any]:
        return {
            horizon: {
                f"confidence_{c}": _cents((source or {}).get(horizon, {}).get(c))
                for c in ("95", "99")
            }
            for horizon in ("1_day", "5_day", "10_day")
        }

    perf = performance_of(metrics)
    return {
        "portfolio_id": portfolio.id,
        "risk_metrics": {
            "value_at_risk": table(var_row.value_at_risk if var_row else None),
            "expected_shortfall": table(var_row.expected_shortfall if var_row else None),
            "portfolio_beta": perf.get("portfolio_beta"),
            "sharpe_ratio": perf.get("sharpe_ratio"),
            "sortino_ratio": perf.get("sortino_ratio"),
            "max_drawdown": perf.get("max_drawdown"),
            "correlation_with_spy": perf.get("correlation_with_spy"),
            "tracking_error": perf.get("tracking_error"),
            "information_ratio": perf.get("information_ratio"),
            "volatility_30d": perf.get("volatility_30d"),
            "volatility_90d": perf.get("volatility_90d"),
        },
        "calculation_metadata": {
            "calculated_at": metrics.calculated_at if metrics else None,
            "calculation_date": metrics.calculation_date if metrics else None,
            "lookback_days": metrics.lookback_days if metrics else None,
            "confidence_levels": [0.95, 0.99],
            "method": method,
            "portfolio_value": float(metrics.portfolio_value) if metrics else None,
            "risk_free_rate": metrics.risk_free_rate if metrics else None,
            "risk_free_source": metrics.risk_free_source if metrics else None,
        },
        "warnings": warnings + list((metrics.warnings if metrics else []) or []),
    }


def factor_exposures_analytics(*, user: User, portfolio_id: Any) -> dict[str, Any]:
    base = factors_report(user=user, portfolio_id=portfolio_id)
    factors = {f.key: f for f in active_factors()}
    exposures = base["portfolio_exposures"] or {}
    dollars = base["dollar_exposures"] or {}
    concentration = ((base["risk_attribution"] or {}).get("factor_concentration")) or {}
    return {
        "portfolio_id": base["portfolio_id"],
        "factors": [
            {
                "key": key,
                "name": f.name,
                "etf_symbol": f.etf_symbol,
                "exposure": exposures.get(key),
                "dollar_exposure": dollars.get(key),
                "risk_contribution": concentration.get(key),
            }
            for key, f in factors.items()
        ],
        "portfolio_exposures": base["portfolio_exposures"],
        "risk_attribution": base["risk_attribution"],
        "summary": base["summary"],
        "warnings": base["warnings"],
    }


def scenarios_report(*, user: User, portfolio_id: Any) -> dict[str, Any]:
    portfolio = portfolio_for_user(user=user, portfolio_id=portfolio_id)
    last, results = latest_stress_results(portfolio)
    metrics = latest_metrics(portfolio)
    rows = [
        {
            "id": r.scenario_id,
            "name": r.scenario.name,
            "category": r.scenario.category,
            "factor_shocks": r.scenario.factor_shocks,
            "volatility_shock": r.scenario.volatility_shock,
            "direct_impact": float(r.direct_impact),
            "correlated_impact": float(r.correlated_impact),
            "portfolio_impact": float(r.correlated_impact),
            "scenario_return": r.scenario_return,
            "systematic_impact": float(r.systematic_impact),
            "idiosyncratic_band": {
                "lower": float(r.systematic_impact - r.idiosyncratic_band),
                "upper": float(r.systematic_impact + r.idiosyncratic_band),
                "two_sigma": float(r.idiosyncratic_band),
            },
            "implied_factor_shocks": r.implied_shocks,
            "top_contributors": r.top_contributors,
        }
        for r in results
    ]
    worst = min(rows, key=lambda r: r["portfolio_impact"], default=None)
    best = max(rows, key=lambda r: r["portfolio_impact"], default=None)
    return {
        "portfolio_id": portfolio.id,
        "portfolio_value": float(metrics.portfolio_value) if metrics else None,
        "calculation_date": last,
        "scenarios": rows,
        "summary": {
            "scenarios_count": len(rows),
            "worst_scenario": {"id": worst["id"], "portfolio_impact": worst["portfolio_impact"]}
            if worst
            else None,
            "best_scenario": {"id": best["id"], "portfolio_impact": best["portfolio_impact"]}
            if best
            else None,
        },
        "warnings": []
        if rows
        else ["No scenario results: " + NOT_RUN.format(job="stress_testing")],
    }


# ---- /data/positions/{id}/details -------------------------------------------------------------


def position_detail_report(
    *, user: User, position_id: Any, include_history: bool
) -> dict[str, Any]:
    """``GET /data/positions/{id}/details``: the book's view of the position
    (``portfolios.reports.position_detail``) with the risk blocks from the latest batch."""
    body = portfolio_reports.position_detail(
        user=user, position_id=position_id, include_history=include_history
    )
    position = position_for_user(user=user, position_id=position_id)
    risk = position_risk_blocks(position)
    body["greeks"] = risk["greeks"]
    body["factor_exposures"] = risk["factor_exposures"]
    body["risk_metrics"] = risk["risk_metrics"]
    body["fundamentals"]["beta"] = risk["beta"]
    body["warnings"] = [*body["warnings"], *risk["warnings"]]
    return body


def position_risk_blocks(position: Position) -> dict[str, Any]:
    """Greeks, factor exposures and risk metrics of one position, from the latest batch."""
    blocks: dict[str, Any] = {
        "greeks": None,
        "factor_exposures": None,
        "risk_metrics": None,
        "beta": None,
        "warnings": [],
    }
    if position.is_option:
        g = latest_greeks([position]).get(position.id)
        if g is not None:
            blocks["greeks"] = {
                "delta": g.delta,
                "gamma": g.gamma,
                "theta": g.theta,
                "vega": g.vega,
                "rho": g.rho,
                "implied_volatility": g.implied_volatility,
                "volatility_source": g.volatility_source,
                "underlying_price": g.underlying_price,
                "days_to_expiry": days_to_expiry(position.expiry),
                "last_updated": g.calculated_at,
            }
        else:
            blocks["warnings"].append("greeks: " + NOT_RUN.format(job="greeks_calculation"))
    e = latest_exposures([position]).get(position.id)
    if e is not None:
        blocks["factor_exposures"] = {
            **e.betas,
            "r_squared": e.r_squared,
            "last_updated": e.calculated_at,
        }
        blocks["beta"] = e.betas.get("market")
    else:
        blocks["warnings"].append("factor_exposures: " + NOT_RUN.format(job="factor_analysis"))
    metrics = latest_metrics(position.portfolio)
    row = next(
        (r for r in components_of(metrics) if r["position_id"] == str(position.id)),
        None,
    )
    if row is not None:
        blocks["risk_metrics"] = {
            "position_var_95": row.get("position_var_95"),
            "position_var_99": row.get("position_var_99"),
            "component_var": row.get("component_var_95"),
            "marginal_var": row.get("marginal_var_95"),
            "beta_to_portfolio": row.get("beta_to_portfolio"),
            "correlation_to_portfolio": row.get("correlation_to_portfolio"),
            "calculation_date": metrics.calculation_date if metrics else None,
        }
    else:
        blocks["warnings"].append("risk_metrics: " + NOT_RUN.format(job="risk_metrics"))
    return blocks
