"""Reads of stored risk results, shaped for the /data/ and /analytics/ endpoints."""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.db.models import Max

from marketdata.selectors import price_snapshots
from portfolios.selectors import open_positions, portfolio_for_user
from risk.engine.aggregation import GREEK_NAMES
from risk.engine.aggregation import greek_totals as engine_greek_totals
from risk.models import PositionFactorExposure, PositionGreeks
from sigmasight.errors import PositionNotFound

if TYPE_CHECKING:  # types only: rows come from the owning apps' selectors
    from accounts.models import User
    from portfolios.models import Position


def latest_greeks(positions: list[Position]) -> dict[UUID, PositionGreeks]:
    """The most recent stored Greeks of each position (two queries)."""
    ids = [p.id for p in positions]
    latest = dict(
        PositionGreeks.objects.filter(position_id__in=ids)
        .values_list("position_id")
        .annotate(last=Max("calculation_date"))
        .values_list("position_id", "last")
    )
    if not latest:
        return {}
    rows = PositionGreeks.objects.filter(
        position_id__in=list(latest), calculation_date__in=set(latest.values())
    )
    return {g.position_id: g for g in rows if latest.get(g.position_id) == g.calculation_date}


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
                "days_to_expiry": (p.expiry - g.calculation_date).days if g and p.expiry else None,
                "time_to_expiry_years": g.time_to_expiry_years if g else None,
                "calculation_date": g.calculation_date if g else None,
                "last_updated": g.calculated_at if g else None,
                "warnings": g.warnings if g else [],
            }
        )
    if position_id is not None and not rows:
        raise PositionNotFound()
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


def days_between(a: dt.date, b: dt.date) -> int:
    return (b - a).days


def data_quality_report(portfolio: Any) -> dict[str, Any]:
    """The risk engine's part of a portfolio's data quality: the share of option positions
    with Greeks and of positions with factor exposures from the latest batch (percent),
    and issues naming the positions at fault. Read by ``risk.quality``."""
    positions = open_positions(portfolio=portfolio)
    options = [p for p in positions if p.multiplier > 1]
    greeks = latest_greeks(options)
    exposures = set(
        PositionFactorExposure.objects.filter(
            position__in=positions, r_squared__isnull=False
        ).values_list("position_id", flat=True)
    )
    issues = []
    missing_greeks = [p.security_id for p in options if p.id not in greeks]
    missing_factors = [p.security_id for p in positions if p.id not in exposures]
    if missing_greeks:
        issues.append(f"Missing Greeks for {', '.join(missing_greeks[:8])}")
    if missing_factors:
        issues.append(f"Missing factor exposures for {', '.join(missing_factors[:8])}")
    return {
        "greeks_coverage": round(100.0 * len(greeks) / len(options), 1) if options else None,
        "factor_coverage": round(100.0 * len(exposures) / len(positions), 1) if positions else None,
        "issues": issues,
    }
