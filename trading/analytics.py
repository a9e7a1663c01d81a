"""Reads of the 0DTE analytics endpoints (``GET /analytics/performance``,
``GET /analytics/signals``): every figure from the user's closed strategy positions (their
realized P&L, net of every fee) and from the stored signals and the outcomes each stored.
The numerics are the engines': ``risk.engine.performance`` (Sharpe, drawdown) and
``signals.engine.calibration`` (Wilson intervals, Brier score, calibration error)."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Sum

from marketdata import calendar
from marketdata.clock import MarketTime
from marketdata.selectors import risk_free_rate
from risk.engine.performance import max_drawdown, sharpe_ratio
from signals.engine.calibration import calibration_report
from signals.selectors import signals_between
from trading.models import PositionStatus, StrategyPosition, Trade, TradeKind

_FRACTION = 8  # decimal places of a fraction in the answers


def _fraction(value: float | Decimal | None) -> float | None:
    if value is None:
        return None
    number = float(value)
    return round(number, _FRACTION) if math.isfinite(number) else None


def _period(
    start: dt.date | None, end: dt.date | None, at: MarketTime, first: dt.date | None
) -> tuple[dt.date, dt.date, list[dt.date]]:
    """The period asked for: ``start`` (default: the first session traded, else the
    clock's session) to ``end`` (default: the clock's session), and its NYSE sessions."""
    end = end or at.session
    start = start or min(first or end, end)
    return start, end, calendar.sessions_between(start, end)


def _wins(returns: Iterable[float]) -> tuple[int, int]:
    values = list(returns)
    return sum(1 for r in values if r > 0), len(values)


def performance(
    *,
    user: Any,
    at: MarketTime,
    start: dt.date | None = None,
    end: dt.date | None = None,
    symbol: str | None = None,
) -> dict[str, Any]:
    """``GET /analytics/performance`` on ``at``'s clock: the user's strategy positions
    opened in the sessions from ``start`` to ``end`` and closed, ``symbol``'s only if
    given. Each position's return is its realized P&L (net of its entry and exit fees)
    over its capital at risk (the entry's ``total_cost``).

    - ``total_return``: the period's P&L over the equity at its start
      (``PAPER_STARTING_CASH`` plus the P&L realized before it);
    - ``win_rate``, ``avg_win`` and ``avg_loss`` (fractions of cost), ``profit_factor``
      (gross wins over gross losses, dollars; null without a loss);
    - ``sharpe_ratio`` and ``max_drawdown`` (a negative fraction) of the daily equity
      returns over every session of the period (0 on a session without a close), with the
      risk-free rate of the period's end (``risk.engine.performance``);
    - ``by_symbol`` and ``by_strategy``: trades, win rate, and total return (of the
      equity) or average return (of cost)."""
    closed = StrategyPosition.objects.filter(
        user=user, status=PositionStatus.CLOSED, trade__clock=at.clock
    ).select_related("trade")
    if symbol:
        closed = closed.filter(symbol=symbol)
    first = closed.order_by("trade__session").values_list("trade__session", flat=True).first()
    start, end, sessions = _period(start, end, at, first)
    in_period = list(
        closed.filter(trade__session__gte=start, trade__session__lte=end).order_by(
            "closed_at", "id"
        )
    )
    before = closed.filter(trade__session__lt=start).aggregate(total=Sum("realized_pnl"))
    equity_start = Decimal(settings.PAPER_STARTING_CASH) + (before["total"] or Decimal(0))
    warnings: list[str] = []
    daily: dict[dt.date, Decimal] = defaultdict(Decimal)
    returns: list[float] = []
    wins_dollars = losses_dollars = Decimal(0)
    groups: dict[str, dict[str, list[Any]]] = {
        "symbol": defaultdict(list),
        "strategy": defaultdict(list),
    }
    for position in in_period:
        entry = position.trade
        pnl = position.realized_pnl
        daily[entry.session] += pnl
        r = float(pnl / entry.total_cost) if entry.total_cost > 0 else math.nan
        returns.append(r)
        if pnl > 0:
            wins_dollars += pnl
        elif pnl < 0:
            losses_dollars += -pnl
        groups["symbol"][position.symbol].append((pnl, r))
        groups["strategy"][position.strategy].append((pnl, r))
    total_pnl = sum(daily.values(), Decimal(0))
    equity = float(equity_start)
    daily_returns: list[float] = []
    for session in sessions:
        pnl_today = float(daily.get(session, Decimal(0)))
        daily_returns.append(pnl_today / equity if equity > 0 else math.nan)
        equity += pnl_today
    wins = [r for r in returns if r > 0]
    losses = [r for r in returns if r <= 0]
    rate, _ = risk_free_rate(end)
    sharpe = sharpe_ratio(daily_returns, rate) if len(daily_returns) >= 2 else math.nan
    if len(daily_returns) < 2:
        warnings.append("sharpe_ratio needs two sessions of daily returns")
    if not in_period:
        warnings.append("no closed position in the period")
    return {
        "period": {"start_date": start, "end_date": end, "trading_days": len(sessions)},
        "overall_performance": {
            "total_return": _fraction(total_pnl / equity_start),
            "total_trades": len(in_period),
            "win_rate": _fraction(len(wins) / len(returns)) if returns else None,
            "avg_win": _fraction(sum(wins) / len(wins)) if wins else None,
            "avg_loss": _fraction(sum(losses) / len(losses)) if losses else None,
            "profit_factor": _fraction(wins_dollars / losses_dollars) if losses_dollars else None,
            "sharpe_ratio": _fraction(sharpe),
            "max_drawdown": _fraction(max_drawdown(daily_returns)) if daily_returns else None,
            "total_pnl": total_pnl.quantize(Decimal("0.01")),
            "gross_wins": wins_dollars.quantize(Decimal("0.01")),
            "gross_losses": (-losses_dollars).quantize(Decimal("0.01")),
            "fees": sum((p.fees for p in in_period), Decimal(0)).quantize(Decimal("0.01")),
            "starting_equity": equity_start.quantize(Decimal("0.01")),
        },
        "by_symbol": {
            name: {
                "trades": len(rows),
                "win_rate": _fraction(_wins(r for _, r in rows)[0] / len(rows)),
                "total_return": _fraction(sum(p for p, _ in rows) / equity_start),
                "total_pnl": sum((p for p, _ in rows), Decimal(0)).quantize(Decimal("0.01")),
            }
            for name, rows in sorted(groups["symbol"].items())
        },
        "by_strategy": {
            name: {
                "trades": len(rows),
                "win_rate": _fraction(_wins(r for _, r in rows)[0] / len(rows)),
                "avg_return": _fraction(sum(r for _, r in rows) / len(rows)),
                "total_pnl": sum((p for p, _ in rows), Decimal(0)).quantize(Decimal("0.01")),
            }
            for name, rows in sorted(groups["strategy"].items())
        },
        "symbol": symbol,
        "clock": at.clock,
        "warnings": warnings,
    }


def signal_analytics(
    *,
    user: Any,
    at: MarketTime,
    start: dt.date | None = None,
    end: dt.date | None = None,
    symbol: str | None = None,
) -> dict[str, Any]:
    """``GET /analytics/signals`` on ``at``'s clock, the signals generated in the sessions
    from ``start`` to ``end`` (default: the clock's session), ``symbol``'s only if given:
    how many, how many the user executed, their mean confidence, and, on the resolved
    ones, each signal's stored outcome (its event: the target before the stop or the time
    exit) against its confidence: the hit rate per confidence bucket with its count and
    Wilson 95% interval, the Brier score and the expected calibration error
    (``signals.engine.calibration``); per strategy, the signals, their success rate and
    their mean outcome return (the outcome's P&L over the capital at risk)."""
    end = end or at.session
    start = start or end
    signals = signals_between(clock=at.clock, start=start, end=end, symbol=symbol)
    executed = set(
        Trade.objects.filter(
            user=user, kind=TradeKind.OPEN, signal_id__in=[s.id for s in signals]
        ).values_list("signal_id", flat=True)
    )
    scored = [s for s in signals if s.confidence is not None]
    resolved = [s for s in scored if s.outcome_hit is not None]
    report = calibration_report(
        [s.confidence for s in resolved], [int(bool(s.outcome_hit)) for s in resolved]
    )
    warnings: list[str] = []
    if not resolved:
        warnings.append("no resolved signal in the period: no accuracy figures")
    by_strategy: dict[str, list[Any]] = defaultdict(list)
    for s in signals:
        by_strategy[s.strategy].append(s)

    def outcome_return(s: Any) -> float | None:
        at_risk = (s.entry_criteria or {}).get("max_cost")
        if s.outcome_pnl is None or not at_risk:
            return None
        return float(s.outcome_pnl) / float(at_risk)

    effectiveness = {}
    for name, rows in sorted(by_strategy.items()):
        done = [s for s in rows if s.outcome_hit is not None]
        returns = [r for s in done if (r := outcome_return(s)) is not None]
        effectiveness[name] = {
            "signals": len(rows),
            "success_rate": _fraction(sum(bool(s.outcome_hit) for s in done) / len(done))
            if done
            else None,
            "avg_return": _fraction(sum(returns) / len(returns)) if returns else None,
            "resolved": len(done),
            "executed": sum(1 for s in rows if s.id in executed),
        }
    # Every bucket, as the spec's example has them: an empty one's hit rate is null.
    buckets = list(report.buckets)
    return {
        "signal_performance": {
            "total_signals": len(signals),
            "executed_signals": len(executed),
            "execution_rate": _fraction(len(executed) / len(signals)) if signals else None,
            "avg_confidence": _fraction(sum(s.confidence for s in scored) / len(scored))
            if scored
            else None,
            "confidence_accuracy": {b.label: _fraction(b.hit_rate) for b in buckets},
            "confidence_buckets": [
                {
                    "bucket": b.label,
                    "count": b.count,
                    "hits": b.hits,
                    "hit_rate": _fraction(b.hit_rate),
                    "mean_confidence": _fraction(b.mean_confidence),
                    "wilson_low": _fraction(b.wilson_low),
                    "wilson_high": _fraction(b.wilson_high),
                }
                for b in buckets
            ],
            "resolved_signals": report.count,
            "hits": report.hits,
            "brier_score": _fraction(report.brier_score),
            "expected_calibration_error": _fraction(report.expected_calibration_error),
        },
        "strategy_effectiveness": effectiveness,
        "period": {"start_date": start, "end_date": end},
        "symbol": symbol,
        "clock": at.clock,
        "warnings": warnings,
    }
