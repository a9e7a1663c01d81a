"""The /data/ portfolio reports, assembled from selectors (reads only).

Each function returns the response body as plain data; the views only validate the
query and serialize. Query counts do not grow with the number of positions.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np

from marketdata.models import AssetType
from marketdata.selectors import (
    historical_prices,
    price_history,
    price_snapshots,
    risk_free_rate,
    stored_symbol,
)
from portfolios.models import PRESENTED_TYPE, Portfolio, Position, TransactionKind
from portfolios.selectors import (
    MarkedPosition,
    PortfolioBook,
    data_quality_score,
    default_portfolio_for_user,
    portfolio_book,
    portfolio_for_user,
    portfolios_for_user,
    position_for_user,
    position_sector,
    position_symbol_for_user,
    position_transactions,
    value_groups,
)
from portfolios.valuation import money, percent, price4, weights
from risk.engine.performance import annualized_volatility, max_drawdown, sharpe_ratio
from sigmasight.errors import PortfolioNotFound

if TYPE_CHECKING:  # types only: the user model is the accounts app's
    from accounts.models import User


def _portfolio_header(portfolio: Portfolio) -> dict[str, Any]:
    return {
        "id": portfolio.id,
        "name": portfolio.name,
        "description": portfolio.description,
        "currency": portfolio.currency,
        "type": portfolio.portfolio_type,
        "created_at": portfolio.created_at,
        "updated_at": portfolio.updated_at,
    }


def portfolio_list(*, user: User, portfolio_ids: list[Any] | None = None) -> list[dict[str, Any]]:
    return [
        {
            **_portfolio_header(row.portfolio),
            "is_default": row.portfolio.is_default,
            "positions_count": row.positions_count,
            "cash_balance": money(row.cash_balance),
            "total_value": money(row.total_value),
            "unpriced": row.unpriced,  # for the list's warnings; not a field of the item
        }
        for row in portfolios_for_user(user=user, portfolio_ids=portfolio_ids)
    ]


def portfolio_list_warnings(rows: list[dict[str, Any]]) -> list[str]:
    """Why a listed portfolio's total_value is null."""
    return [
        f"{row['name']}: total_value is null: no price for {', '.join(row['unpriced'])}"
        for row in rows
        if row["unpriced"]
    ]


def portfolio_item(*, user: User, portfolio_id: Any) -> dict[str, Any]:
    """One portfolio as ``/data/portfolios`` lists it (the M1/M2 response), or 404."""
    rows = portfolio_list(user=user, portfolio_ids=[portfolio_id])
    if not rows:
        raise PortfolioNotFound()
    return rows[0]


def open_quantity(position: Position) -> float:
    """What is held now: 0 for a closed position (what it held stays in its lots and
    transactions)."""
    return float(position.quantity) if position.is_active else 0.0


def _sum_or_null(values: list[Decimal | None]) -> Decimal | None:
    """Σ values, or null when one is unknown (an unpriced position is not worth $0)."""
    if any(v is None for v in values):
        return None
    return sum((v for v in values if v is not None), Decimal(0))


#: The largest |price| a Price field (22 digits, 4 places) shows; beyond it, null.
PRICE_LIMIT = Decimal(10) ** 18


def _price_json(value: Decimal | None) -> float | None:
    """A price as the Price field sends it: 4 places (half up), as a JSON number."""
    rounded = price4(value)
    return None if rounded is None or abs(rounded) >= PRICE_LIMIT else float(rounded)


def _complete_positions(book: PortfolioBook) -> list[dict[str, Any]]:
    """``/complete``'s position rows, JSON-ready (the figures CompletePositionSerializer
    documents, as it would send them): the dollar figures are the book's float64 marks
    rounded to cents, exact Decimals only where a mark is too close to a tie to tell."""
    market_value = book.rounded("market_value")
    unrealized = book.rounded("unrealized_pnl")
    total_cost = book.rounded("total_cost")
    return [
        {
            "id": str(p.id),
            "symbol": p.security_id,
            "position_type": p.presented_type,
            "stored_type": p.position_type,
            "quantity": float(p.quantity),
            "current_price": _price_json(m.price),
            "market_value": market_value[i],
            "unrealized_pnl": unrealized[i],
            "cost_basis": _price_json(p.entry_price),
            "total_cost_basis": total_cost[i],
            "multiplier": p.multiplier,
            "price_source": m.snapshot.source if m.snapshot else None,
        }
        for i, m in enumerate(book.open_positions)
        for p in (m.position,)
    ]


def portfolio_complete(
    *, user: User, portfolio_id: Any, sections: list[str] | None, as_of: dt.date | None
) -> dict[str, Any]:
    portfolio = portfolio_for_user(user=user, portfolio_id=portfolio_id)
    book = portfolio_book(portfolio=portfolio, as_of=as_of, details=False)
    chosen = set(sections or ("portfolio", "positions", "summary", "market_data"))
    body: dict[str, Any] = {"as_of_date": as_of, "warnings": list(book.warnings)}
    if "portfolio" in chosen:
        body["portfolio"] = _portfolio_header(portfolio)
    if "positions" in chosen:
        body["positions"] = _complete_positions(book)
    if "summary" in chosen:
        body["summary"] = {
            "total_value": money(book.total_value_or_null),
            "cash_balance": money(book.cash_balance),
            "positions_value": money(book.positions_value_or_null),
            "total_pnl": money(book.total_pnl_or_null),
            "unrealized_pnl": money(book.unrealized_pnl_or_null),
            "realized_pnl": money(book.realized_pnl),
            "day_change": money(book.day_change_or_null),
            "positions_count": len(book.open_positions),
        }
    if "market_data" in chosen:
        sources = sorted({m.snapshot.source for m in book.marked if m.snapshot})
        body["market_data"] = {
            "last_updated": book.last_updated,
            "data_quality": data_quality_score(book=book),
            "source": ",".join(sources) if sources else None,
        }
    return body


def _detail_row(m: MarkedPosition) -> dict[str, Any]:
    p, v = m.position, m.valuation
    return {
        "id": p.id,
        "portfolio_id": p.portfolio_id,
        "symbol": p.security_id,
        "position_type": p.presented_type,
        "stored_type": p.position_type,
        "quantity": open_quantity(p),
        "cost_basis": price4(p.entry_price),
        "current_price": price4(v.price),
        "market_value": money(v.market_value) if p.is_active else Decimal("0.00"),
        "unrealized_pnl": money(v.unrealized_pnl) if p.is_active else Decimal("0.00"),
        "unrealized_pnl_percent": v.unrealized_pnl_percent if p.is_active else None,
        "realized_pnl": money(m.realized_pnl),
        "day_change": money(v.day_change),
        "day_change_percent": v.day_change_percent,
        "is_active": p.is_active,
        "tags": p.tags,
        "created_at": p.created_at,
        "updated_at": p.updated_at,
    }


def position_row(*, user: User, position_id: Any) -> dict[str, Any]:
    """One position as ``/data/positions/details`` lists it (the M4/M5 response), or 404."""
    position = position_for_user(user=user, position_id=position_id)
    book = portfolio_book(
        portfolio=position.portfolio, include_closed=True, position_ids=[position.id]
    )
    return _detail_row(book.marked[0])


def _type_matches(position: Position, wanted: str | None) -> bool:
    return wanted is None or wanted in (
        position.position_type,
        PRESENTED_TYPE[position.position_type],
    )


def positions_details(
    *, user: User, portfolio_id: Any, position_type: str | None, include_inactive: bool
) -> dict[str, Any]:
    """``/data/positions/details`` of ``portfolio_id``, or of the user's default portfolio
    when it is None (404 when they have none)."""
    portfolio = (
        default_portfolio_for_user(user=user)
        if portfolio_id is None
        else portfolio_for_user(user=user, portfolio_id=portfolio_id)
    )
    book = portfolio_book(portfolio=portfolio, include_closed=include_inactive)
    rows = [m for m in book.marked if _type_matches(m.position, position_type)]
    active = [m for m in rows if m.position.is_active]
    return {
        "data": [_detail_row(m) for m in rows],
        "summary": {
            "total_positions": len(rows),
            "total_market_value": money(_sum_or_null([m.valuation.market_value for m in active])),
            "total_unrealized_pnl": money(
                _sum_or_null([m.valuation.unrealized_pnl for m in active])
            ),
            "total_day_change": money(_sum_or_null([m.valuation.day_change for m in active])),
            "long_positions": sum(
                1 for m in active if m.position.quantity > 0 and not m.position.is_option
            ),
            "short_positions": sum(
                1 for m in active if m.position.quantity < 0 and not m.position.is_option
            ),
            "options_positions": sum(1 for m in active if m.position.is_option),
        },
        "warnings": book.warnings,
    }


def positions_summary(
    *, user: User, portfolio_id: Any, group_by: str | None, include_closed: bool
) -> dict[str, Any]:
    portfolio = portfolio_for_user(user=user, portfolio_id=portfolio_id)
    book = portfolio_book(portfolio=portfolio, include_closed=True)
    active = [m for m in book.marked if m.position.is_active]
    closed = [m for m in book.marked if not m.position.is_active]
    listed = active + (closed if include_closed else [])
    active_weights = dict(
        zip(
            (m.position.id for m in active),
            weights(m.valuation.market_value for m in active),
            strict=True,
        )
    )
    market_value = _sum_or_null([m.valuation.market_value for m in active])
    cost = sum((m.valuation.total_cost for m in active), Decimal(0))
    gross_cost = sum((abs(m.valuation.total_cost) for m in active), Decimal(0))
    unrealized = _sum_or_null([m.valuation.unrealized_pnl for m in active])
    ranked = [m for m in active if m.valuation.unrealized_pnl_percent is not None]
    best = max(ranked, key=lambda m: m.valuation.unrealized_pnl_percent or 0, default=None)
    worst = min(ranked, key=lambda m: m.valuation.unrealized_pnl_percent or 0, default=None)
    groupings = {
        "by_asset_type": value_groups(
            active, lambda m: "options" if m.position.is_option else "stocks", ("stocks", "options")
        ),
        "by_sector": value_groups(active, position_sector),
        "by_position_type": value_groups(
            active, lambda m: m.position.presented_type, ("LONG", "SHORT", "CALL", "PUT")
        ),
    }
    if group_by == "tag":
        groupings["by_tag"] = value_groups(
            [m for m in active if m.position.tags], lambda m: m.position.tags[0]
        )
    return {
        "portfolio_id": portfolio.id,
        "summary_statistics": {
            "total_positions": len(active) + len(closed),
            "active_positions": len(active),
            "closed_positions": len(closed),
            "total_market_value": money(market_value),
            "total_cost_basis": money(cost),
            "total_unrealized_pnl": money(unrealized),
            # Of the gross cost basis: a short's proceeds are not negative capital.
            "total_unrealized_pnl_percent": percent(unrealized, gross_cost),
        },
        "position_summary": [
            {
                "id": m.position.id,
                "symbol": m.position.security_id,
                "position_type": m.position.presented_type,
                "quantity": open_quantity(m.position),
                "market_value": money(m.valuation.market_value)
                if m.position.is_active
                else Decimal("0.00"),
                "weight": float(active_weights[m.position.id])
                if active_weights.get(m.position.id) is not None
                else None,
                "unrealized_pnl": money(m.valuation.unrealized_pnl)
                if m.position.is_active
                else Decimal("0.00"),
                "unrealized_pnl_percent": m.valuation.unrealized_pnl_percent
                if m.position.is_active
                else None,
                "day_change": money(m.valuation.day_change),
                "day_change_percent": m.valuation.day_change_percent,
                "is_active": m.position.is_active,
            }
            for m in listed
        ],
        "groupings": groupings,
        "performance_metrics": {
            "winners": sum(1 for m in active if (m.valuation.unrealized_pnl or 0) > 0),
            "losers": sum(1 for m in active if (m.valuation.unrealized_pnl or 0) < 0),
            "best_performer": (
                {
                    "symbol": best.position.security_id,
                    "unrealized_pnl_percent": best.valuation.unrealized_pnl_percent,
                }
                if best
                else None
            ),
            "worst_performer": (
                {
                    "symbol": worst.position.security_id,
                    "unrealized_pnl_percent": worst.valuation.unrealized_pnl_percent,
                }
                if worst
                else None
            ),
        },
        "last_updated": book.last_updated,
        "warnings": book.warnings,
    }


def symbol_history(*, user: User, subject: str, start: dt.date, end: dt.date) -> dict[str, Any]:
    """``GET /data/prices/historical/{symbol_or_position_id}``: the daily bars of a stored
    symbol, or of the symbol of one of ``user``'s positions (another user's is 404)."""
    try:
        position_id: uuid.UUID | None = uuid.UUID(str(subject))
    except ValueError:
        position_id = None
    symbol = (
        stored_symbol(subject)
        if position_id is None
        else position_symbol_for_user(user=user, position_id=position_id)
    )
    return historical_prices(symbol=symbol, start=start, end=end)


def _daily_returns(symbol: str, end: dt.date, sessions: int = 30) -> list[tuple[dt.date, float]]:
    bars = price_history(symbol=symbol, start=end - dt.timedelta(days=sessions * 2 + 10), end=end)
    closes = [(bar["date"], float(bar["adj_close"])) for bar in bars][-(sessions + 1) :]
    return [(d1, c1 / c0 - 1.0) for (_, c0), (d1, c1) in itertools.pairwise(closes) if c0 > 0]


def finite_or_none(value: float) -> float | None:
    """An engine figure for JSON: NaN (undefined, e.g. too few returns) becomes null."""
    return value if math.isfinite(value) else None


def _alerts(m: MarkedPosition, weight: Decimal | None, today: dt.date) -> list[str]:
    alerts = []
    if weight is not None and weight > Decimal("0.10"):
        alerts.append(f"Position weight above 10% of portfolio ({float(weight) * 100:.1f}%)")
    pct = m.valuation.unrealized_pnl_percent
    if pct is not None and pct <= Decimal(-20):
        alerts.append(f"Unrealized loss of {pct}% on this position")
    if m.position.expiry is not None and m.position.is_active:
        days = (m.position.expiry - today).days
        if days <= 7:
            alerts.append(f"Option expires in {days} days ({m.position.expiry.isoformat()})")
    return alerts


def position_detail(*, user: User, position_id: Any, include_history: bool) -> dict[str, Any]:
    """The book side of ``GET /data/positions/{id}/details``: the position, its P&L,
    market data, fundamentals, history and transactions. The risk blocks (``greeks``,
    ``factor_exposures``, ``risk_metrics``, ``fundamentals.beta``) are null here; the risk
    app's report fills them from its stored results."""
    position = position_for_user(user=user, position_id=position_id)
    book = portfolio_book(portfolio=position.portfolio)
    marked_by_id = {m.position.id: m for m in book.marked}
    active_weights = dict(
        zip(
            marked_by_id,
            weights(m.valuation.market_value for m in marked_by_id.values()),
            strict=True,
        )
    )
    m = marked_by_id.get(position.id)
    if m is None:  # closed: value it on its own
        m = portfolio_book(portfolio=position.portfolio, include_closed=True).marked
        m = next(x for x in m if x.position.id == position.id)
    # The detail shows the 52-week range, which the book's snapshots leave out.
    snapshot = (
        price_snapshots(symbols=[position.security_id], year_range=True).get(position.security_id)
        or m.snapshot
    )
    security = position.security
    warnings = [w for w in book.warnings if position.security_id in w]
    trades = position_transactions(position=position)
    total_cost = sum(
        (
            -t.amount
            for t in trades
            if t.amount < 0 and t.kind in (TransactionKind.BUY, TransactionKind.SELL)
        ),
        Decimal(0),
    )
    proceeds = sum(
        (
            t.amount
            for t in trades
            if t.amount > 0 and t.kind in (TransactionKind.BUY, TransactionKind.SELL)
        ),
        Decimal(0),
    )
    price = snapshot.price if snapshot else None
    market_cap = pe = None
    if price is not None and security.shares_outstanding:
        market_cap = money(security.shares_outstanding * price)
    if price is not None and security.eps_ttm and security.eps_ttm > 0:
        pe = round(float(price / security.eps_ttm), 2)
    if security.asset_type in (AssetType.STOCK,) and security.shares_outstanding is None:
        warnings.append("market_cap is null: shares outstanding are not in the reference data")
    history = None
    today = snapshot.price_date if snapshot else dt.date.today()
    if include_history:
        series = _daily_returns(position.security_id, today)
        returns = np.array([r for _, r in series])
        risk_free, _ = risk_free_rate(today)
        history = {
            "returns": [{"date": d, "return": round(r, 6)} for d, r in reversed(series)],
            "volatility_30d": finite_or_none(annualized_volatility(returns)),
            "sharpe_ratio_30d": finite_or_none(sharpe_ratio(returns, risk_free)),
            # Fewer than two returns say nothing about a drawdown either.
            "max_drawdown_30d": finite_or_none(max_drawdown(returns))
            if returns.size >= 2
            else None,
        }
        if not series:
            warnings.append("No price history for this symbol: historical performance is empty")
    v = m.valuation
    return {
        "position": {
            "id": position.id,
            "portfolio_id": position.portfolio_id,
            "symbol": position.security_id,
            "position_type": position.presented_type,
            "stored_type": position.position_type,
            "quantity": open_quantity(position),
            "multiplier": position.multiplier,
            "cost_basis": price4(position.entry_price),
            "current_price": price4(v.price),
            "market_value": money(v.market_value) if position.is_active else Decimal("0.00"),
            "weight_in_portfolio": float(active_weights[position.id])
            if active_weights.get(position.id) is not None
            else None,
            "entry_date": position.entry_date,
            "exit_date": position.exit_date,
            "exit_price": price4(position.exit_price),
            "underlying_symbol": position.underlying_symbol,
            "strike": price4(position.strike),
            "expiration_date": position.expiry,
            "tags": position.tags,
            "created_at": position.created_at,
            "updated_at": position.updated_at,
            "is_active": position.is_active,
        },
        "pnl_analysis": {
            "unrealized_pnl": money(v.unrealized_pnl) if position.is_active else Decimal("0.00"),
            "unrealized_pnl_percent": v.unrealized_pnl_percent if position.is_active else None,
            "realized_pnl": money(m.realized_pnl),
            "day_change": money(v.day_change),
            "day_change_percent": v.day_change_percent,
            "total_cost": money(total_cost),
            "total_proceeds": money(proceeds),
        },
        "market_data": {
            "current_price": price4(price),
            "previous_close": price4(snapshot.previous_close) if snapshot else None,
            "bid": price4(snapshot.bid) if snapshot else None,
            "ask": price4(snapshot.ask) if snapshot else None,
            "volume": snapshot.volume if snapshot else None,
            "day_high": price4(snapshot.day_high) if snapshot else None,
            "day_low": price4(snapshot.day_low) if snapshot else None,
            "year_high": price4(snapshot.year_high) if snapshot else None,
            "year_low": price4(snapshot.year_low) if snapshot else None,
            "implied_volatility": snapshot.implied_volatility if snapshot else None,
            "source": snapshot.source if snapshot else None,
            "last_updated": snapshot.last_updated if snapshot else None,
        },
        "fundamentals": {
            "market_cap": market_cap,
            "pe_ratio": pe,
            "dividend_yield": float(security.dividend_yield)
            if security.dividend_yield is not None
            else None,
            "beta": None,
            "sector": security.sector,
            "industry": security.industry,
            "asset_type": security.asset_type,
        },
        "greeks": None,
        "factor_exposures": None,
        "risk_metrics": None,
        "historical_performance": history,
        "transactions": [
            {
                "date": t.trade_date,
                "type": t.kind,
                "quantity": float(t.quantity) if t.quantity is not None else None,
                "price": price4(t.price),
                "value": money(abs(t.quantity * t.price * position.multiplier))
                if t.quantity is not None and t.price is not None
                else money(abs(t.amount)),
                "fees": money(t.fees),
                "realized_pnl": money(t.realized_pnl),
            }
            for t in trades
        ],
        "alerts": _alerts(m, active_weights.get(position.id), today),
        "last_updated": snapshot.last_updated if snapshot else None,
        "warnings": warnings,
    }
