"""The portfolio report (E1): one document of the API's own figures, in four formats.

The document is the bodies of the API's portfolio endpoints, built by the same report
functions and passed through the same serializers as the views, so each section holds
exactly what its endpoint answers at the same time. Two sections have no endpoint: the
equity curve (the stored daily snapshots) and the payoff of each option strategy
(``risk.engine.payoff``). The renderers turn the document into Markdown, CSV (one row per
figure) or JSON; ``risk.exports.pdf`` makes the PDF with charts.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
from rest_framework import serializers
from rest_framework.utils.encoders import JSONEncoder

from portfolios import reports as portfolio_reports
from portfolios.api.serializers import PositionDetailsSerializer
from portfolios.selectors import open_positions, portfolio_for_user
from risk import reports
from risk.api import serializers as s
from risk.engine import payoff
from risk.models import PortfolioSnapshot
from risk.selectors import latest_greeks
from sigmasight.timefmt import utc_stamp

if TYPE_CHECKING:  # types only: rows come from the owning apps' selectors
    from accounts.models import User
    from portfolios.models import Portfolio, Position
    from risk.models import PositionGreeks

CALL_TYPES = ("LC", "SC")


@dataclass(frozen=True)
class Section:
    """One part of the report: its key in the document, its heading, the endpoint that
    answers the same body (None for the two sections without one), and how to build it."""

    key: str
    title: str
    endpoint: str | None
    build: Callable[[User, Portfolio], dict[str, Any]]


def _served(serializer: type[serializers.Serializer], body: dict[str, Any]) -> dict[str, Any]:
    """``body`` as its endpoint serves it: through the view's serializer, then JSON."""
    return json.loads(json.dumps(serializer(body).data, cls=JSONEncoder))


def _positions(user: User, portfolio: Portfolio) -> dict[str, Any]:
    body = portfolio_reports.positions_details(
        user=user, portfolio_id=portfolio.id, position_type=None, include_inactive=False
    )
    rows = len(body["data"])
    body["pagination"] = {
        "page": 1,
        "limit": rows,
        "total_pages": 1,
        "total_items": rows,
        "has_next": False,
        "has_prev": False,
    }
    return _served(PositionDetailsSerializer, body)


def _equity_curve(user: User, portfolio: Portfolio) -> dict[str, Any]:
    """The stored daily snapshots (``portfolio_snapshot`` job): dollars, and daily
    returns as fractions net of cash flows."""
    rows = list(
        PortfolioSnapshot.objects.filter(portfolio=portfolio)
        .order_by("date")
        .values_list("date", "total_value", "cash_balance", "daily_pnl", "daily_return")
    )
    return {
        "portfolio_id": str(portfolio.id),
        "points": [
            {
                "date": day.isoformat(),
                "total_value": float(total),
                "cash_balance": float(cash),
                "daily_pnl": None if pnl is None else float(pnl),
                "daily_return": ret,
            }
            for day, total, cash, pnl, ret in rows
        ],
        "warnings": []
        if rows
        else ["No equity curve: the portfolio_snapshot batch has not run for this portfolio yet"],
    }


def _leg_text(p: Position) -> str:
    right = "C" if p.position_type in CALL_TYPES else "P"
    return f"{float(p.quantity):+g} {right} {float(p.strike or 0):g}"


def _strategy(legs: list[Position], greeks: dict[Any, PositionGreeks]) -> dict[str, Any]:
    """The payoff of the options of one underlying and expiry, at expiry and today."""
    first = legs[0]
    strikes = np.array([float(p.strike or 0) for p in legs])
    is_call = np.array([p.position_type in CALL_TYPES for p in legs], dtype=float)
    quantities = np.array([float(p.quantity) for p in legs])
    multipliers = np.array([float(p.multiplier) for p in legs])
    entries = np.array([float(p.entry_price) for p in legs])
    rows = [greeks.get(p.id) for p in legs]
    warnings: list[str] = []
    known = [g for g in rows if g is not None]
    center = known[0].underlying_price if known else float(np.median(strikes))
    axis = payoff.spot_axis(center, strikes)
    at_expiry = payoff.pnl_at_expiry(axis, strikes, is_call, quantities, multipliers, entries)
    today: list[float] | None = None
    if len(known) == len(legs):
        today = payoff.pnl_today(
            axis,
            strikes,
            is_call,
            quantities,
            multipliers,
            entries,
            [g.time_to_expiry_years for g in known],
            [g.rate for g in known],
            [g.dividend_yield for g in known],
            [g.implied_volatility or 0.0 for g in known],
            [g.model == "black76" for g in known],
        ).tolist()
    else:
        warnings.append(
            f"{first.underlying_symbol} {first.expiry}: today's curve is null: "
            "no Greeks yet for every leg (run the greeks_calculation batch)"
        )
    return {
        "name": f"{first.underlying_symbol} {first.expiry}: " + ", ".join(map(_leg_text, legs)),
        "underlying_symbol": first.underlying_symbol,
        "expiry": first.expiry.isoformat() if first.expiry else None,
        "legs": [
            {
                "position_id": str(p.id),
                "symbol": p.security_id,
                "option_type": "CALL" if p.position_type in CALL_TYPES else "PUT",
                "quantity": float(p.quantity),
                "strike_price": float(p.strike or 0),
                "entry_price": float(p.entry_price),
                "multiplier": p.multiplier,
            }
            for p in legs
        ],
        "underlying_price": known[0].underlying_price if known else None,
        "underlying_prices": [round(float(x), 4) for x in axis],
        "pnl_at_expiry": [round(float(x), 2) for x in at_expiry],
        "pnl_today": None if today is None else [round(x, 2) for x in today],
        "break_evens_at_expiry": [round(x, 4) for x in payoff.break_evens(axis, at_expiry)],
        "warnings": warnings,
    }


def _option_strategies(user: User, portfolio: Portfolio) -> dict[str, Any]:
    """Each underlying-and-expiry group of open option positions as one strategy. P&L in
    dollars against the underlying's price (per share)."""
    options = open_positions(portfolio=portfolio, options_only=True)
    greeks = latest_greeks(options)
    groups: dict[tuple[str, Any], list[Position]] = {}
    for p in options:
        groups.setdefault((p.underlying_symbol or p.security_id, p.expiry), []).append(p)
    strategies = [
        _strategy(legs, greeks)
        for _, legs in sorted(groups.items(), key=lambda kv: (kv[0][0], str(kv[0][1])))
    ]
    return {
        "portfolio_id": str(portfolio.id),
        "strategies": strategies,
        "warnings": [w for st in strategies for w in st["warnings"]],
    }


def _endpoint(
    serializer: type[serializers.Serializer], build: Callable[..., dict[str, Any]], **kw: Any
) -> Callable[[User, Portfolio], dict[str, Any]]:
    def section(user: User, portfolio: Portfolio) -> dict[str, Any]:
        return _served(serializer, build(user=user, portfolio_id=portfolio.id, **kw))

    return section


#: The report's sections, in the order the formats show them.
SECTIONS: tuple[Section, ...] = (
    Section(
        "overview",
        "Overview",
        "/api/v1/analytics/portfolio/{id}/overview",
        _endpoint(s.OverviewSerializer, reports.overview_report),
    ),
    Section(
        "positions", "Positions", "/api/v1/data/positions/details?portfolio_id={id}", _positions
    ),
    Section(
        "aggregations",
        "Exposures and aggregates",
        "/api/v1/data/portfolios/{id}/aggregations?include_greeks=true&include_factors=true",
        _endpoint(
            s.AggregationsSerializer,
            reports.aggregations_report,
            include_greeks=True,
            include_factors=True,
        ),
    ),
    Section(
        "greeks",
        "Greeks",
        "/api/v1/data/greeks/{id}",
        _endpoint(s.GreeksReportSerializer, reports.greeks_report),
    ),
    Section(
        "factor_exposures",
        "Factor betas",
        "/api/v1/analytics/factor/{id}/exposures",
        _endpoint(s.FactorAnalyticsSerializer, reports.factor_exposures_analytics),
    ),
    Section(
        "risk_metrics",
        "VaR, ES and performance",
        "/api/v1/analytics/risk/{id}/metrics",
        _endpoint(s.MetricsSerializer, reports.metrics_report),
    ),
    Section(
        "stress_tests",
        "Stress tests",
        "/api/v1/analytics/risk/{id}/scenarios",
        _endpoint(s.ScenariosSerializer, reports.scenarios_report),
    ),
    Section("equity_curve", "Equity curve", None, _equity_curve),
    Section("option_strategies", "Option strategies", None, _option_strategies),
)


def report_document(
    *,
    user: User,
    portfolio_id: Any,
    generated_at: dt.datetime,
    job_id: str,
    sections: Iterator[Section] | None = None,
) -> dict[str, Any]:
    """The whole report as JSON primitives. ``sections`` lets the job count progress
    while it iterates; it defaults to every section. 404 for another user's portfolio."""
    portfolio = portfolio_for_user(user=user, portfolio_id=portfolio_id)
    body: dict[str, Any] = {
        "report": {
            "job_id": job_id,
            "portfolio_id": str(portfolio.id),
            "portfolio_name": portfolio.name,
            "currency": portfolio.currency,
            "generated_at": utc_stamp(generated_at),
            "sections": {sec.key: sec.endpoint for sec in SECTIONS},
        },
    }
    warnings: list[str] = []
    for sec in sections if sections is not None else iter(SECTIONS):
        body[sec.key] = sec.build(user, portfolio)
        warnings += [f"{sec.key}: {w}" for w in body[sec.key].get("warnings") or []]
    body["warnings"] = list(dict.fromkeys(warnings))
    return body


# --------------------------------------------------------------------------- renderers


def render_json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, indent=2, ensure_ascii=False).encode()


def _leaves(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        if not value:
            yield path, "{}"
        for key, item in value.items():
            yield from _leaves(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        if not value:
            yield path, "[]"
        for i, item in enumerate(value):
            yield from _leaves(item, f"{path}[{i}]")
    else:
        yield path, value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float | Decimal):
        return repr(float(value)) if isinstance(value, float) else str(value)
    return str(value)


def render_csv(document: dict[str, Any]) -> bytes:
    """One row per figure: ``section``, ``field`` (a path inside the section, as in the
    JSON: ``value_at_risk.1_day.confidence_95``, ``data[0].symbol``) and ``value``
    (empty for null). Units are those of the section's endpoint."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "field", "value"])
    for key, section in document.items():
        for path, value in _leaves(section, ""):
            writer.writerow([key, path, _cell(value)])
    return out.getvalue().encode()


def _md_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value).replace("|", "\\|")


def _md_table(rows: list[dict[str, Any]], columns: list[str]) -> list[str]:
    if not rows:
        return ["_none_", ""]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_md_value(r.get(c)) for c in columns) + " |" for r in rows]
    return [*lines, ""]


def _md_pairs(pairs: dict[str, Any]) -> list[str]:
    return _md_table([{"figure": k, "value": v} for k, v in pairs.items()], ["figure", "value"])


def render_markdown(document: dict[str, Any]) -> bytes:
    """A readable report: one heading per section, tables of its figures (the same
    values as the JSON, unrounded), the endpoint that serves each section, and the
    warnings."""
    head = document["report"]
    lines = [
        f"# {head['portfolio_name']}: portfolio report",
        "",
        f"Generated {head['generated_at']} (job `{head['job_id']}`); currency {head['currency']}. "
        "Money in dollars; `*_percent`/`*_percentage` in percent; weights, returns and "
        "volatilities as fractions (API-CONVENTIONS).",
        "",
    ]
    for sec in SECTIONS:
        body = document.get(sec.key)
        if body is None:
            continue
        lines += [f"## {sec.title}", ""]
        if sec.endpoint:
            lines += [f"Served by `GET {sec.endpoint.format(id=head['portfolio_id'])}`.", ""]
        lines += _MD_SECTION.get(sec.key, _md_generic)(body)
    lines += ["## Warnings", ""]
    lines += [f"- {w}" for w in document.get("warnings", [])] or ["_none_"]
    return ("\n".join(lines) + "\n").encode()


def _md_generic(body: dict[str, Any]) -> list[str]:
    return _md_pairs({path: v for path, v in _leaves(body, "") if not path.startswith("warnings")})


def _md_overview(body: dict[str, Any]) -> list[str]:
    return _md_pairs(
        {
            "total_value": body["total_value"],
            "cash_balance": body["cash_balance"],
            "equity_balance": body["equity_balance"],
            **{f"exposures.{k}": v for k, v in body["exposures"].items()},
            **{f"pnl.{k}": v for k, v in body["pnl"].items()},
        }
    )


def _md_positions(body: dict[str, Any]) -> list[str]:
    columns = [
        "symbol",
        "position_type",
        "quantity",
        "current_price",
        "market_value",
        "cost_basis",
        "unrealized_pnl",
    ]
    return _md_table(body["data"], columns) + _md_pairs(body["summary"])


def _md_aggregations(body: dict[str, Any]) -> list[str]:
    sectors = [
        {"sector": k, **v} for k, v in (body["position_breakdown"].get("by_sector") or {}).items()
    ]
    columns = list(sectors[0].keys()) if sectors else ["sector"]
    return [
        *_md_pairs(body["basic_aggregations"]),
        "### Exposure by sector",
        "",
        *_md_table(sectors, columns),
    ]


def _md_greeks(body: dict[str, Any]) -> list[str]:
    rows = [
        {"symbol": r["symbol"], "quantity": r["quantity"], **(r.get("greeks") or {})}
        for r in body["greeks_data"]
    ]
    columns = ["symbol", "quantity", "delta", "gamma", "theta", "vega", "rho", "implied_volatility"]
    return _md_table(rows, columns) + _md_pairs(
        {f"portfolio_greeks.{k}": v for k, v in (body.get("portfolio_greeks") or {}).items()}
    )


def _md_factors(body: dict[str, Any]) -> list[str]:
    return _md_table(
        body["factors"],
        ["key", "name", "etf_symbol", "exposure", "dollar_exposure", "risk_contribution"],
    )


def _md_metrics(body: dict[str, Any]) -> list[str]:
    m = body["risk_metrics"]
    rows = [
        {"measure": name, "horizon": h, **m[name][h]}
        for name in ("value_at_risk", "expected_shortfall")
        for h in m[name]
    ]
    rest = {k: v for k, v in m.items() if k not in ("value_at_risk", "expected_shortfall")}
    return _md_table(rows, ["measure", "horizon", "confidence_95", "confidence_99"]) + _md_pairs(
        rest
    )


def _md_stress(body: dict[str, Any]) -> list[str]:
    return _md_table(
        body["scenarios"],
        ["id", "name", "category", "direct_impact", "correlated_impact", "scenario_return"],
    )


def _md_equity(body: dict[str, Any]) -> list[str]:
    return _md_table(
        body["points"], ["date", "total_value", "cash_balance", "daily_pnl", "daily_return"]
    )


def _md_strategies(body: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for st in body["strategies"]:
        lines += [f"### {st['name']}", ""]
        lines += _md_table(
            st["legs"], ["symbol", "option_type", "quantity", "strike_price", "entry_price"]
        )
        lines += _md_pairs(
            {
                "underlying_price": st["underlying_price"],
                "break_evens_at_expiry": st["break_evens_at_expiry"],
            }
        )
    return lines or ["_no open option positions_", ""]


_MD_SECTION: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "overview": _md_overview,
    "positions": _md_positions,
    "aggregations": _md_aggregations,
    "greeks": _md_greeks,
    "factor_exposures": _md_factors,
    "risk_metrics": _md_metrics,
    "stress_tests": _md_stress,
    "equity_curve": _md_equity,
    "option_strategies": _md_strategies,
}
