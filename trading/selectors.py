"""Reads of the trading app for its views and for other apps."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import F, Q, QuerySet, Sum

from marketdata import calendar
from marketdata.clock import MarketTime
from marketdata.occ import parse_occ
from marketdata.selectors import (
    chain_snapshots_at,
    market_correlation,
    minute_volume_ratios,
    returns_matrix,
    risk_free_rate,
)
from marketdata.tickers import ZERO_DTE_TICKERS
from portfolios.selectors import cash_balance_of, stock_value_of
from risk.engine.revaluation import MODEL_BSM, Book, portfolio_pnl
from risk.engine.var import historical_var
from sigmasight.errors import TradingAccountNotFound
from signals.engine.fills import UnfillableQuote, liquidation_value
from signals.engine.payoff import MULTIPLIER
from trading.brokers import PAPER, live_broker_name
from trading.engine.equity import max_drawdown_dollars, session_horizon_returns
from trading.engine.fees import FeeSchedule, fill_fees
from trading.engine.pin import pinned_strikes
from trading.models import (
    PnlPoint,
    PositionStatus,
    RiskEvent,
    StrategyPosition,
    Trade,
    TradeStatus,
    TradingAccount,
    TradingConfig,
)

_CENT = Decimal("0.01")
_FRACTION = Decimal("0.0001")


@dataclass(frozen=True)
class TradingSettings:
    """A user's config, or the defaults for a user who has saved none (nothing is written
    by reading). Money in dollars; the three fractions as API-CONVENTIONS states them."""

    trading_mode: str
    position_size: Decimal
    profit_target: Decimal
    stop_loss: Decimal
    confidence_threshold: Decimal
    auto_execute: bool
    max_positions: int
    daily_loss_limit: Decimal
    saved: bool

    @property
    def broker(self) -> str | None:
        """Who executes in this mode: ``paper``, the live broker's name, or None where live
        mode was saved and its broker is no longer configured (orders are then refused)."""
        return PAPER if self.trading_mode == PAPER else live_broker_name()


def _fraction(value: float) -> Decimal:
    return Decimal(str(value)).quantize(_FRACTION)


def default_trading_settings() -> TradingSettings:
    """The spec's defaults, as settings (``TRADING_DEFAULT_*``)."""
    return TradingSettings(
        trading_mode=PAPER,
        position_size=Decimal(settings.TRADING_DEFAULT_POSITION_SIZE).quantize(_CENT),
        profit_target=_fraction(settings.TRADING_DEFAULT_PROFIT_TARGET),
        stop_loss=_fraction(settings.TRADING_DEFAULT_STOP_LOSS),
        confidence_threshold=_fraction(settings.TRADING_DEFAULT_CONFIDENCE_THRESHOLD),
        auto_execute=bool(settings.TRADING_DEFAULT_AUTO_EXECUTE),
        max_positions=int(settings.TRADING_DEFAULT_MAX_POSITIONS),
        daily_loss_limit=Decimal(settings.TRADING_DEFAULT_DAILY_LOSS_LIMIT).quantize(_CENT),
        saved=False,
    )


def _from_row(row: TradingConfig) -> TradingSettings:
    return TradingSettings(
        trading_mode=row.trading_mode,
        position_size=row.position_size,
        profit_target=row.profit_target,
        stop_loss=row.stop_loss,
        confidence_threshold=row.confidence_threshold,
        auto_execute=row.auto_execute,
        max_positions=row.max_positions,
        daily_loss_limit=row.daily_loss_limit,
        saved=True,
    )


def trading_settings(*, user_id: Any) -> TradingSettings:
    """``user_id``'s trading config (one query)."""
    row = TradingConfig.objects.filter(user_id=user_id).first()
    return _from_row(row) if row is not None else default_trading_settings()


def fee_schedule() -> FeeSchedule:
    """The commission preset and regulatory rates of the settings (``FEE_*``,
    ``TRADING_COMMISSION_PRESET``); a bad setting fails here, at the first fill or check."""
    return FeeSchedule(
        commission_preset=settings.TRADING_COMMISSION_PRESET,
        occ_per_contract=Decimal(settings.FEE_OCC_PER_CONTRACT),
        orf_per_contract=Decimal(settings.FEE_ORF_PER_CONTRACT),
        taf_per_contract=Decimal(settings.FEE_FINRA_TAF_PER_CONTRACT),
        sec_per_million=Decimal(settings.FEE_SEC_PER_MILLION),
    )


def package_round_trip_fees(legs: Sequence[tuple[str, int, float]], packages: int) -> float:
    """The fees, dollars per package, of opening ``packages`` packages whose legs are
    (action, contracts per package, fill price per share) and closing them at the same
    prices (the fee model of the fills, ``trading.engine.fees``): the estimate a signal's
    outcome is net of (``signals.outcome_fees``, registered in ``TradingConfig.ready``)."""
    schedule = fee_schedule()
    total = Decimal(0)
    for action, ratio, price in legs:
        premium = Decimal(str(max(price, 0.0))).quantize(_FRACTION)
        contracts = ratio * packages
        closing = "sell" if action == "buy" else "buy"
        for side in (action, closing):
            total += fill_fees(schedule, side=side, contracts=contracts, premium=premium).total
    return float(total / packages)


def account_holder(*, requester: Any, user_id: Any | None) -> Any:
    """Whose account a risk-state request (``POST /risk/emergency``, ``/risk/resume``)
    acts on: the requester's own, or with ``user_id`` another user's, which only an admin
    may name (API-CONVENTIONS: the owner, or an admin for any account). Anyone else naming
    another user, or an admin naming no user, gets ``TradingAccountNotFound`` (404: whether
    that user exists is not said)."""
    if user_id is None or str(user_id) == str(requester.pk):
        return requester
    if not requester.has_role("admin"):
        raise TradingAccountNotFound()
    holder = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if holder is None:
        raise TradingAccountNotFound()
    return holder


def trade_body(trade: Trade) -> dict[str, Any]:
    """The execute and close answer: the spec's keys (trade_id, status, orders) and the
    fill's figures (added). One query, the trade's orders with their fills' fees, and one
    more for an opening trade whose position is not at hand (a close trade names the
    position it closes; the execution that created it keeps it on the trade)."""
    orders = list(
        trade.orders.annotate(
            fill_fees=Sum(F("fills__commission") + F("fills__regulatory_fees"))
        ).order_by("leg")
    )
    if trade.closes_id is not None:
        position: str | None = trade.closes_id
    elif Trade.position.is_cached(trade):
        position = trade.position.id
    else:
        position = StrategyPosition.objects.filter(trade=trade).values_list("id", flat=True).first()
    return {
        "trade_id": trade.id,
        "status": trade.status,
        "orders": [
            {
                "order_id": o.id,
                "symbol": o.symbol,
                "action": o.action,
                "quantity": o.quantity,
                "order_type": o.order_type,
                "limit_price": o.limit_price,
                "status": o.status,
                "filled_quantity": o.filled_quantity,
                "average_fill_price": o.average_fill_price,
                "fees": o.fill_fees if o.fill_fees is not None else Decimal(0),
            }
            for o in orders
        ],
        "signal_id": trade.signal_id,
        "symbol": trade.symbol,
        "strategy": trade.strategy,
        "quantity": trade.quantity,
        "requested_quantity": trade.requested_quantity,
        "net_price": trade.net_price,
        "total_cost": trade.total_cost,
        "fees": trade.fees,
        "position_id": position,
        "executed_at": trade.executed_at,
        "clock": trade.clock,
        "kind": trade.kind,
        "reason": trade.reason or None,
        "order_type": trade.order_type,
        "package_limit_price": trade.limit_price,
    }


# --------------------------------------------------------------------------- positions

_PRICE = Decimal("0.0001")


def leg_mark(row: dict[str, Any] | None) -> Decimal | None:
    """A leg's mark from its chain row: the mid of a sane two-sided quote (bid > 0,
    ask ≥ bid), else the last trade, else None (the portfolio's mark rule)."""
    if row is None:
        return None
    bid, ask, last = row.get("bid"), row.get("ask"), row.get("last")
    if bid is not None and ask is not None and float(ask) >= float(bid) > 0:
        return (Decimal(str(bid)) + Decimal(str(ask))) / 2
    return None if last is None else Decimal(str(last))


def _chain_row(snapshot: Any, contract: Any) -> dict[str, Any] | None:
    if snapshot is None or snapshot.expiration != contract.expiry:
        return None
    side = snapshot.calls if contract.is_call else snapshot.puts
    return next((r for r in side if Decimal(str(r["strike"])) == contract.strike), None)


def pin_risk_from(session: dt.date) -> dt.datetime:
    """When the pin-risk window of ``session`` opens, UTC:
    ``TRADING_PIN_RISK_MINUTES_BEFORE_CLOSE`` before its close (15:30 ET, 12:30 on early
    closes). It stays open from then on: after the close the short legs are still to be
    assigned or not."""
    return calendar.session_close_utc(session) - dt.timedelta(
        minutes=settings.TRADING_PIN_RISK_MINUTES_BEFORE_CLOSE
    )


def _pin_risk(
    orders: list[Any], snapshot: Any, near_close: bool
) -> tuple[Decimal | None, list[Decimal]]:
    """The spot the marks' chain snapshot carries and the short strikes of the open
    position's legs expiring with that chain that lie within ``TRADING_PIN_RISK_DISTANCE``
    of it (none before the window, ``near_close`` false, or without a snapshot)."""
    if snapshot is None:
        return None, []
    spot = snapshot.underlying_price
    if not near_close:
        return spot, []
    shorts = [
        contract.strike
        for contract in (parse_occ(o.symbol) for o in orders if o.action == "sell")
        if contract.expiry == snapshot.expiration
    ]
    distance = Decimal(str(settings.TRADING_PIN_RISK_DISTANCE))
    return spot, pinned_strikes(shorts, spot=spot, distance=distance)


def package_ratio(order: Any, entry: Trade) -> int:
    """Contracts of an entry order's leg per package: its filled contracts over the
    packages the entry filled (not its ordered contracts, which count the packages asked
    for: beyond the displayed size they were cancelled)."""
    return int(order.filled_quantity) // entry.quantity


@dataclass(frozen=True)
class _MarkedLeg:
    """One leg of a strategy position at its mark: ``signed`` open contracts (negative
    short), ``ratio`` contracts per package, the chain ``row`` it is marked from, the
    ``mark`` per share and its unrealized ``pnl`` in dollars (0 once closed; None while
    open without a quote)."""

    order: Any
    contract: Any
    signed: int
    ratio: int
    row: dict[str, Any] | None
    mark: Decimal | None
    pnl: Decimal | None


def _marked_legs(position: StrategyPosition, snapshot: Any) -> list[_MarkedLeg]:
    """The position's legs in order, each marked at ``snapshot`` (the latest chain of its
    underlying) while the position is open: the one place a leg's mark and P&L are made,
    for the position's body and for the day's P&L the loss limit reads."""
    entry = position.trade
    is_open = position.status == PositionStatus.OPEN
    open_packages = position.quantity if is_open else 0
    legs = []
    for order in sorted(entry.orders.all(), key=lambda o: o.leg):
        contract = parse_occ(order.symbol)
        ratio = package_ratio(order, entry)
        signed = ratio * open_packages * (1 if order.action == "buy" else -1)
        row = _chain_row(snapshot, contract) if is_open else None
        mark = leg_mark(row) if is_open else None
        assert order.average_fill_price is not None
        pnl: Decimal | None
        if not is_open:
            pnl = Decimal("0.00")
        elif mark is None:
            pnl = None
        else:
            pnl = ((mark - order.average_fill_price) * signed * MULTIPLIER).quantize(_CENT)
        legs.append(_MarkedLeg(order, contract, signed, ratio, row, mark, pnl))
    return legs


def _unrealized(legs: list[_MarkedLeg]) -> Decimal | None:
    """The legs' unrealized P&L in dollars; None where a leg has no mark."""
    if any(leg.pnl is None for leg in legs):
        return None
    return sum((leg.pnl for leg in legs if leg.pnl is not None), Decimal("0"))


def _position_body(
    position: StrategyPosition,
    snapshot: Any,
    working: str | None,
    pessimistic: bool,
    near_close: bool,
) -> dict[str, Any]:
    entry = position.trade
    is_open = position.status == PositionStatus.OPEN
    open_packages = position.quantity if is_open else 0
    marked = _marked_legs(position, snapshot)
    orders = [leg.order for leg in marked]
    rows = [leg.row for leg in marked]
    unrealized = _unrealized(marked)
    warnings = [f"{leg.order.symbol}: no quote to mark it" for leg in marked if leg.pnl is None]
    mark_net: Decimal | None = Decimal("0")
    for leg in marked:
        if leg.mark is None or mark_net is None:
            mark_net = None
        else:
            mark_net += leg.mark * leg.ratio if leg.order.action == "buy" else -leg.mark * leg.ratio
    legs = [
        {
            "symbol": leg.order.symbol,
            "quantity": leg.signed,
            "avg_price": leg.order.average_fill_price,
            "current_price": None if leg.mark is None else leg.mark.quantize(_PRICE),
            "unrealized_pnl": leg.pnl,
            "action": leg.order.action,
            "option_type": "call" if leg.contract.is_call else "put",
            "strike": leg.contract.strike,
            "expiration": leg.contract.expiry,
            "bid": None if leg.row is None else leg.row.get("bid"),
            "ask": None if leg.row is None else leg.row.get("ask"),
        }
        for leg in marked
    ]
    total_cost = (entry.total_cost * open_packages / entry.quantity).quantize(_CENT)
    close_value: float | None = None
    if is_open and all(r is not None for r in rows):
        try:
            close_value = liquidation_value(
                [o.action for o in orders],
                [r.get("bid") for r in rows if r is not None],
                [r.get("ask") for r in rows if r is not None],
                quantities=[leg.ratio for leg in marked],
                pessimistic=pessimistic,
            )
        except UnfillableQuote as exc:
            warnings.append(f"a market close cannot fill now: {exc}")
    spot, pinned = _pin_risk(orders, snapshot, near_close) if is_open else (None, [])
    current_value = None if unrealized is None else total_cost + unrealized
    percent = (
        None
        if unrealized is None or total_cost == 0
        else (unrealized / total_cost).quantize(Decimal("0.000001"))
    )
    return {
        "position_id": position.id,
        "symbol": position.symbol,
        "strategy": position.strategy,
        "opened_at": position.opened_at,
        "legs": legs,
        "total_cost": total_cost,
        "current_value": current_value,
        "unrealized_pnl": unrealized,
        "unrealized_pnl_percent": percent,
        "target_profit": (entry.profit_target * total_cost).quantize(_CENT),
        "stop_loss": (entry.stop_loss * total_cost).quantize(_CENT),
        "trade_id": entry.id,
        "signal_id": entry.signal_id,
        "status": position.status,
        "quantity": open_packages,
        "quantity_opened": entry.quantity,
        "entry_net_price": entry.net_price,
        "mark_net_price": None if mark_net is None or not is_open else mark_net.quantize(_PRICE),
        "close_value": None if close_value is None else round(close_value, 4),
        "realized_pnl": position.realized_pnl,
        "fees": position.fees,
        "exit_reason": position.exit_reason or None,
        "closed_at": position.closed_at,
        "working_close_trade_id": working,
        "hold_to_expiry": entry.hold_to_expiry,
        "mark_time": snapshot.timestamp if snapshot is not None and is_open else None,
        "spot": spot,
        "pin_risk": bool(pinned),
        "pin_risk_strikes": pinned,
        "warnings": warnings,
    }


def _positions(
    *,
    user: Any,
    at: MarketTime,
    status: str,
    this_session: bool = False,
    position_ids: list[str] | None = None,
) -> list[StrategyPosition]:
    """The user's strategy positions with their trades and orders, newest first (two
    queries; see :func:`strategy_positions` for the filters)."""
    query = StrategyPosition.objects.filter(user=user).select_related("trade")
    if this_session:
        query = query.filter(trade__clock=at.clock, trade__session=at.session)
        started = loop_start(at.clock, at.session)
        if started is not None:
            query = query.filter(trade__created_at__gte=started)
    if position_ids is not None:
        query = query.filter(pk__in=position_ids)
    if status != "all":
        query = query.filter(status=status)
    return list(query.prefetch_related("trade__orders").order_by("-opened_at", "id"))


def _mark_snapshots(
    positions: list[StrategyPosition], at: MarketTime, known: dict[str, Any] | None
) -> dict[str, Any]:
    """The latest chain snapshot of each underlying held open, at ``at``: those the caller
    has already read at that moment (``known``), the rest in one query."""
    symbols = {p.symbol for p in positions if p.status == PositionStatus.OPEN}
    known = {s: snapshot for s, snapshot in (known or {}).items() if s in symbols}
    missing = sorted(symbols - set(known))
    return {**known, **chain_snapshots_at(missing, at.now)}


def strategy_positions(
    *,
    user: Any,
    at: MarketTime,
    status: str = "open",
    this_session: bool = False,
    position_ids: list[str] | None = None,
) -> dict[str, Any]:
    """``GET /trading/positions``: the user's strategy positions (``open``, ``closed`` or
    ``all``), newest first, each leg marked at the latest stored chain quote (the mid of a
    two-sided quote, else the last) and the spread at its net mark: ``total_cost`` is the
    open packages' capital at risk, ``current_value`` = total_cost + unrealized P&L, and
    ``close_value`` what a market close would get now per share (the fill rule). From
    :func:`pin_risk_from` on, ``pin_risk`` and ``pin_risk_strikes`` flag the short strikes
    within ``TRADING_PIN_RISK_DISTANCE`` of ``spot``, the chain's underlying price. Four
    queries (the positions, their orders, the working closes, the latest chains of the
    underlyings held open). ``this_session``: only the positions opened in ``at``'s
    session on its clock (in a repeating replay, in its current loop: :func:`loop_start`);
    ``position_ids``: only those."""
    positions = _positions(
        user=user, at=at, status=status, this_session=this_session, position_ids=position_ids
    )
    open_ids = [p.id for p in positions if p.status == PositionStatus.OPEN]
    working = (
        dict(
            Trade.objects.filter(closes_id__in=open_ids, status=TradeStatus.SUBMITTED).values_list(
                "closes_id", "id"
            )
        )
        if open_ids
        else {}
    )
    snapshots = _mark_snapshots(positions, at, None)
    pessimistic = bool(settings.FILL_PESSIMISTIC)
    near_close = at.now >= pin_risk_from(at.session)
    return {
        "positions": [
            _position_body(p, snapshots.get(p.symbol), working.get(p.id), pessimistic, near_close)
            for p in positions
        ],
        "market_status": at.status,
        "clock": at.clock,
        "as_of": at.now,
    }


def strategy_position_exists(*, user: Any, position_id: str) -> bool:
    return StrategyPosition.objects.filter(user=user, pk=position_id).exists()


@dataclass(frozen=True)
class SessionPnl:
    """A user's 0DTE P&L of one session, dollars: ``realized`` by the closes of the
    session's positions (net of fees) and ``unrealized`` of those still open at their
    marks; ``unmarked`` names the open positions without a mark (left out of
    ``unrealized``)."""

    realized: Decimal
    unrealized: Decimal
    unmarked: list[str]

    @property
    def total(self) -> Decimal:
        return self.realized + self.unrealized


def _day_pnl(
    positions: list[StrategyPosition], at: MarketTime, snapshots: dict[str, Any] | None
) -> SessionPnl:
    """The P&L of ``positions`` (the session's), the open ones marked at ``at``."""
    marks = _mark_snapshots(positions, at, snapshots)
    realized = sum((p.realized_pnl for p in positions), Decimal("0.00"))
    unrealized = Decimal("0.00")
    unmarked = []
    for position in positions:
        if position.status != PositionStatus.OPEN:
            continue
        pnl = _unrealized(_marked_legs(position, marks.get(position.symbol)))
        if pnl is None:
            unmarked.append(position.id)
        else:
            unrealized += pnl
    return SessionPnl(realized=realized, unrealized=unrealized, unmarked=unmarked)


def session_pnl(
    *, user: Any, at: MarketTime, snapshots: dict[str, Any] | None = None
) -> SessionPnl:
    """The day's P&L the daily loss limit is checked against: the positions opened in
    ``at``'s session on its clock, at the marks ``strategy_positions`` shows. ``snapshots``:
    chain snapshots the caller has read at ``at``, by symbol. Three queries at most."""
    positions = _positions(user=user, at=at, status="all", this_session=True)
    return _day_pnl(positions, at, snapshots)


@dataclass(frozen=True)
class OpenBook:
    """What an execution checks the user's book against: the strategy positions open
    (of any session) and the day's P&L (:func:`session_pnl`)."""

    open_positions: int
    day: SessionPnl
    reserved: Decimal = Decimal("0.00")


def margin_reserved(position: StrategyPosition) -> Decimal:
    """Dollars of the paper cash an open position holds as margin: per open package its
    max loss plus the net credit it took in, which the cash balance already holds (the
    spread's width × 100 for a credit spread: the most its close can cost). A debit
    package, paid for in full, holds nothing."""
    entry = position.trade
    per_package = entry.total_cost / entry.quantity - entry.net_price * MULTIPLIER
    return max(per_package, Decimal(0)) * position.quantity


def open_book(*, user: Any, at: MarketTime, snapshots: dict[str, Any] | None = None) -> OpenBook:
    """:class:`OpenBook` from one read of the user's positions that are open or were
    opened in ``at``'s session on its clock (with their trades and orders), and the
    latest chains of those held open that ``snapshots`` does not hold; ``reserved`` is
    the open positions' :func:`margin_reserved`. Three queries at most."""
    positions = list(
        StrategyPosition.objects.filter(user=user)
        .filter(Q(status=PositionStatus.OPEN) | Q(trade__clock=at.clock, trade__session=at.session))
        .select_related("trade")
        .prefetch_related("trade__orders")
    )
    started = loop_start(at.clock, at.session)
    todays = [
        p
        for p in positions
        if p.trade.clock == at.clock
        and p.trade.session == at.session
        and (started is None or p.trade.created_at >= started)
    ]
    still_open = [p for p in positions if p.status == PositionStatus.OPEN]
    return OpenBook(
        open_positions=len(still_open),
        day=_day_pnl(todays, at, snapshots),
        reserved=sum((margin_reserved(p) for p in still_open), Decimal("0.00")).quantize(_CENT),
    )


def _loop_key(clock: str, session: Any) -> str:
    return f"trading:loop-start:{clock}:{session}"


def loop_start(clock: str, session: Any) -> Any | None:
    """When (wall clock) the current loop of a repeating replay of ``session`` began: the
    earlier loops' trades of that session are history, not today's P&L. None on the live
    clock and in a replay's first loop."""
    return cache.get(_loop_key(clock, session))


def strategy_position_body(*, user: Any, position_id: str, at: MarketTime) -> dict[str, Any]:
    """One position as ``GET /trading/positions`` shows it (any status)."""
    body = strategy_positions(user=user, at=at, status="all", position_ids=[position_id])
    [position] = body["positions"]
    return position


def users_with_open_positions(*, at: MarketTime) -> list[Any]:
    """The ids of the users holding open positions opened on ``at``'s clock."""
    return list(
        StrategyPosition.objects.filter(status=PositionStatus.OPEN, trade__clock=at.clock)
        .values_list("user_id", flat=True)
        .distinct()
    )


def risk_events(*, holder: Any, kind: str | None = None) -> QuerySet[RiskEvent]:
    """``holder``'s risk audit log (``GET /risk/audit``), newest first, of one ``kind``
    (``transition``, ``order_cancelled``) or all; only ever that user's."""
    events = RiskEvent.objects.filter(user=holder).order_by("-created_at", "-id")
    return events.filter(kind=kind) if kind else events


def active_protection(*, user: Any, at: MarketTime) -> RiskEvent | None:
    """The protection that pauses ``user``'s new entries at ``at`` (the one locking
    longest), if any: a stop-loss cooldown or a loss-streak pause recorded at or before
    ``at`` whose lock runs past it. One query."""
    return (
        RiskEvent.objects.filter(
            user=user, kind="protection", market_time__lte=at.now, lock_until__gt=at.now
        )
        .order_by("-lock_until")
        .first()
    )


def losing_streak(*, user: Any, at: MarketTime) -> list[StrategyPosition]:
    """``user``'s positions of ``at``'s clock closed at a loss since their last win, or
    since the last loss-streak pause (which restarts the count), newest first: at most
    ``RISK_LOSS_STREAK``. Two queries."""
    paused = (
        RiskEvent.objects.filter(user=user, kind="protection", trigger="loss_streak")
        .order_by("-market_time")
        .values_list("market_time", flat=True)
        .first()
    )
    closed = StrategyPosition.objects.filter(
        user=user, trade__clock=at.clock, status=PositionStatus.CLOSED, closed_at__lte=at.now
    )
    if paused is not None:
        closed = closed.filter(closed_at__gt=paused)
    streak: list[StrategyPosition] = []
    # Newest first; positions closed at one market minute in the order they were opened.
    newest = closed.order_by("-closed_at", "-trade__created_at")
    for position in newest[: settings.RISK_LOSS_STREAK]:
        if position.realized_pnl >= 0:
            break
        streak.append(position)
    return streak


@dataclass(frozen=True)
class MarketEmergency:
    """The market's emergency readings at a moment, against the thresholds in force
    (``/risk/regime``'s ``emergency_thresholds``): which triggers fire, and the figures."""

    fired: list[str]
    vix_level: float | None
    correlation_20: float | None  # SPY_QQQ, 20 one-minute bars
    volume_ratios: dict[str, float | None]
    warnings: list[str]

    def details(self) -> dict[str, Any]:
        return {
            "vix_level": self.vix_level,
            "correlation_20_spy_qqq": self.correlation_20,
            "volume_ratios": self.volume_ratios,
            "vix_emergency": settings.RISK_VIX_EMERGENCY,
            "correlation_breakdown": settings.RISK_CORRELATION_BREAKDOWN,
            "volume_spike": settings.RISK_VOLUME_SPIKE,
        }


def market_emergency(
    *, at: MarketTime, correlation: dict[str, Any] | None = None
) -> MarketEmergency:
    """The VIX, the 20-bar SPY_QQQ correlation and each ticker's minute-volume ratio at
    ``at`` (``marketdata.selectors``), and which emergency triggers they fire: the VIX at
    or above ``RISK_VIX_EMERGENCY``, the correlation below ``RISK_CORRELATION_BREAKDOWN``, a
    ratio at or above ``RISK_VOLUME_SPIKE``. A reading that cannot be made fires nothing
    and is named in ``warnings``. ``correlation``: ``market_correlation(at)`` where the
    caller has it."""
    body = correlation if correlation is not None else market_correlation(at)
    vix = body["vix_level"]
    corr = body["correlations_20"].get("SPY_QQQ")
    ratios = minute_volume_ratios(
        ZERO_DTE_TICKERS, at, sessions=settings.MARKET_MINUTE_HISTORY_SESSIONS
    )
    fired: list[str] = []
    warnings = list(body["warnings"])
    if vix is not None and vix >= settings.RISK_VIX_EMERGENCY:
        fired.append("vix_emergency")
    if corr is not None and corr < settings.RISK_CORRELATION_BREAKDOWN:
        fired.append("correlation_breakdown")
    if any(r is not None and r >= settings.RISK_VOLUME_SPIKE for r in ratios.values()):
        fired.append("volume_spike")
    missing = [s for s, r in ratios.items() if r is None]
    if missing:
        warnings.append(
            f"no minute-volume ratio for {', '.join(missing)} (no past sessions' minute)"
        )
    rounded = {s: None if r is None else round(r, 3) for s, r in ratios.items()}
    return MarketEmergency(fired, vix, corr, rounded, warnings)


def risk_regime(*, at: MarketTime) -> dict[str, Any]:
    """``GET /risk/regime``: the VIX regime at ``at`` (``marketdata.engine.correlation``)
    with its adaptation factor and risk adjustments, the regime's VIX thresholds and the
    emergency thresholds in force, and (added) the emergency readings now and which
    triggers they fire. A figure that cannot be computed is null with a warning."""
    correlation = market_correlation(at)
    emergency = market_emergency(at=at, correlation=correlation)
    regime = correlation["regime_adjustments"]
    low, normal, high = settings.REGIME_VIX_THRESHOLDS
    return {
        "regime_type": correlation["regime"],
        "vix_level": correlation["vix_level"],
        "adaptation_factor": regime["adaptation_factor"] if regime else None,
        "risk_adjustments": {
            "position_size_multiplier": regime["position_size_multiplier"] if regime else None,
            "confidence_threshold_adjustment": regime["confidence_threshold_bump"]
            if regime
            else None,
            "stop_loss_tightening": regime["stop_loss_tightening"] if regime else None,
        },
        "emergency_thresholds": {
            "vix_emergency": settings.RISK_VIX_EMERGENCY,
            "correlation_breakdown": settings.RISK_CORRELATION_BREAKDOWN,
            "volume_spike": settings.RISK_VOLUME_SPIKE,
        },
        "regime_thresholds": {
            "low_volatility_below": low,
            "normal_below": normal,
            "high_volatility_below": high,
        },
        "emergency_readings": {
            "vix_level": emergency.vix_level,
            "correlation_20_spy_qqq": emergency.correlation_20,
            "volume_ratios": emergency.volume_ratios,
            "fired": emergency.fired,
        },
        "timestamp": correlation["timestamp"],
        "market_status": at.status,
        "clock": at.clock,
        "session": at.session,
        "warnings": emergency.warnings,
    }


def _pnl_curve(*, user: Any, at: MarketTime) -> tuple[list[float], list[float]]:
    """The user's P&L curves on ``at``'s clock up to ``at`` (dollars, from the monitor's
    ``PnlPoint``s, one query): the daily curve (each earlier session's last point,
    cumulated) and the intraday curve of ``at``'s session (each minute's day P&L, on top
    of the earlier sessions' cumulated P&L)."""
    rows = (
        PnlPoint.objects.filter(user=user, clock=at.clock, market_time__lte=at.now)
        .order_by("market_time")
        .values_list("session", "realized", "unrealized")
    )
    last_of: dict[dt.date, float] = {}
    today: list[float] = []
    for day, realized, unrealized in rows:
        total = float(realized + unrealized)
        if day == at.session:
            today.append(total)
        else:
            last_of[day] = total
    daily: list[float] = []
    running = 0.0
    for day in sorted(last_of):
        running += last_of[day]
        daily.append(running)
    return daily, [running + x for x in today]


def _book_var(
    legs: list[tuple[StrategyPosition, _MarkedLeg, Any]], at: MarketTime, warnings: list[str]
) -> tuple[float | None, float | None, int, float]:
    """The 0DTE book's 95% VaR and ES over the rest of ``at``'s session, dollars (a loss
    negative), by full revaluation (``risk.engine.revaluation``): each open leg repriced
    (BSM at its chain IV, at the time left to its expiry's close less the horizon, so a
    0DTE leg is worth its intrinsic value at the close) under the historical daily moves
    of the underlyings over ``RISK_LOOKBACK_DAYS`` sessions, scaled to the minutes left by
    the square root of time (``trading.engine.equity.session_horizon_returns``). Returns
    (VaR, ES, scenarios, minutes left); None where a leg lacks an IV, spot or mark."""
    close = calendar.session_close_utc(at.session)
    minutes_left = max(0.0, (close - at.now).total_seconds() / 60)
    if not legs:
        return 0.0, 0.0, 0, minutes_left
    underlyings = sorted({position.symbol for position, _, _ in legs})
    index = {symbol: i for i, symbol in enumerate(underlyings)}
    spot0 = [0.0] * len(underlyings)
    columns: dict[str, list[Any]] = {k: [] for k in ("q", "u", "k", "t", "call", "sigma", "p")}
    for position, leg, snapshot in legs:
        sigma = None if leg.row is None else leg.row.get("implied_volatility")
        spot = None if snapshot is None else snapshot.underlying_price
        if leg.mark is None or not sigma or spot is None:
            warnings.append(f"var_95: {leg.order.symbol} has no mark, IV or spot to revalue")
            return None, None, 0, minutes_left
        spot0[index[position.symbol]] = float(spot)
        expiry_close = calendar.session_close_utc(leg.contract.expiry)
        columns["q"].append(leg.signed)
        columns["u"].append(index[position.symbol])
        columns["k"].append(float(leg.contract.strike))
        columns["t"].append(max(0.0, (expiry_close - at.now).total_seconds() / 60) / 525_600)
        columns["call"].append(leg.contract.is_call)
        columns["sigma"].append(float(sigma))
        columns["p"].append(float(leg.mark))
    rate, _ = risk_free_rate(at.session)
    n = len(columns["q"])
    book = Book(
        quantity=np.array(columns["q"], dtype=float),
        multiplier=np.full(n, float(MULTIPLIER)),
        is_option=np.ones(n, dtype=bool),
        underlying_index=np.array(columns["u"]),
        strike=np.array(columns["k"]),
        t_years=np.array(columns["t"]),
        is_call=np.array(columns["call"]),
        rate=np.full(n, rate),
        div_yield=np.zeros(n),
        sigma=np.array(columns["sigma"]),
        model=np.full(n, MODEL_BSM),
        spot0=np.array(spot0),
        price0=np.array(columns["p"]),
    )
    _, daily = returns_matrix(
        underlyings,
        end=calendar.previous_session(at.session),
        lookback=settings.RISK_LOOKBACK_DAYS,
    )
    shocks = session_horizon_returns(daily, minutes_left)
    if shocks.shape[0] < 20:
        warnings.append(f"var_95: {shocks.shape[0]} days of history, 20 needed")
        return None, None, int(shocks.shape[0]), minutes_left
    pnl = portfolio_pnl(book, shocks, horizon_days=minutes_left / 1440)
    var, es = historical_var(pnl, 0.95)
    return var, es, int(shocks.shape[0]), minutes_left


def risk_metrics(*, user: Any, at: MarketTime) -> dict[str, Any]:
    """``GET /risk/metrics`` for ``user``'s 0DTE account at ``at``, dollars unless said:

    - ``portfolio_value``: the paper portfolio's cash plus the open legs at their marks
      (and any stock an assignment left in it, at its latest close);
    - ``daily_pnl``: the session's realized and unrealized P&L (``session_pnl``);
      ``daily_pnl_percent`` its fraction of the value at the start of the day;
    - ``max_drawdown``: the largest fall of the P&L curve (the daily curve of the earlier
      sessions, then today's minutes: ``PnlPoint``), negative; ``intraday_max_drawdown``
      (added) today's alone;
    - ``var_95`` (and ``es_95``, added): the rest of the session's 95% VaR by full
      revaluation (:func:`_book_var`), negative;
    - ``position_concentration``: each underlying's share of the open capital at risk;
    - ``risk_limits``; ``emergency_status`` (true in REDUCING and HALTED), ``account_state``
      and the active protection (added)."""
    warnings: list[str] = []
    config = trading_settings(user_id=user.pk)
    account = TradingAccount.objects.filter(user=user).first()
    state = account.state if account is not None else "ACTIVE"
    positions = _positions(user=user, at=at, status="open")
    snapshots = _mark_snapshots(positions, at, None)
    legs = [
        (position, leg, snapshots.get(position.symbol))
        for position in positions
        for leg in _marked_legs(position, snapshots.get(position.symbol))
    ]
    legs_value: Decimal | None = Decimal(0)
    for _, leg, _ in legs:
        if leg.mark is None or legs_value is None:
            legs_value = None
        else:
            legs_value += leg.mark * leg.signed * MULTIPLIER
    if legs_value is None:
        warnings.append("an open leg has no quote: portfolio_value and daily_pnl are null")
    value: Decimal | None = None
    if account is None:
        warnings.append("no trading account yet (it opens with the first execution)")
    elif legs_value is not None:
        cash = cash_balance_of(portfolio_id=account.paper_portfolio_id)
        stock = stock_value_of(portfolio_id=account.paper_portfolio_id, on=at.session)
        value = (cash + legs_value + stock).quantize(_CENT)
    day = session_pnl(user=user, at=at, snapshots=snapshots)
    if day.unmarked:
        warnings.append(f"unmarked positions left out of daily_pnl: {', '.join(day.unmarked)}")
    daily_pnl = None if day.unmarked else day.total.quantize(_CENT)
    start_value = None if value is None or daily_pnl is None else value - daily_pnl
    percent = (
        None
        if start_value is None or daily_pnl is None or start_value <= 0
        else (daily_pnl / start_value).quantize(Decimal("0.000001"))
    )
    daily_curve, intraday_curve = _pnl_curve(user=user, at=at)
    drawdown = max_drawdown_dollars(daily_curve + intraday_curve)
    intraday = max_drawdown_dollars(
        [x - (daily_curve[-1] if daily_curve else 0.0) for x in intraday_curve]
    )
    if not daily_curve and not intraday_curve:
        warnings.append("no P&L curve yet (the monitor records one point a market minute)")
    var, es, scenarios, minutes_left = _book_var(legs, at, warnings)
    at_risk: dict[str, Decimal] = {}
    for position in positions:
        entry = position.trade
        share = entry.total_cost * position.quantity / entry.quantity
        at_risk[position.symbol] = at_risk.get(position.symbol, Decimal(0)) + share
    total_at_risk = sum(at_risk.values(), Decimal(0))
    # Every 0DTE ticker, as the spec's example has them (0 where none is held), and any
    # other underlying held.
    concentration = {
        symbol: 0.0
        if total_at_risk == 0
        else float((at_risk.get(symbol, Decimal(0)) / total_at_risk).quantize(Decimal("0.0001")))
        for symbol in [*ZERO_DTE_TICKERS, *sorted(set(at_risk) - set(ZERO_DTE_TICKERS))]
    }
    lock = active_protection(user=user, at=at)
    return {
        "portfolio_value": value,
        "daily_pnl": daily_pnl,
        "daily_pnl_percent": percent,
        "realized_pnl": day.realized.quantize(_CENT),
        "unrealized_pnl": day.unrealized.quantize(_CENT),
        "max_drawdown": round(drawdown, 2),
        "intraday_max_drawdown": round(intraday, 2),
        "var_95": None if var is None else round(var, 2),
        "es_95": None if es is None else round(es, 2),
        "var_horizon_minutes": round(minutes_left, 1),
        "var_scenarios": scenarios,
        "position_concentration": concentration,
        "capital_at_risk": total_at_risk.quantize(_CENT),
        "open_positions": len(positions),
        "risk_limits": {
            "daily_loss_limit": config.daily_loss_limit,
            "position_limit": config.position_size,
            "max_positions": config.max_positions,
            "daily_loss_reducing_at": (
                config.daily_loss_limit * Decimal(str(settings.RISK_DAILY_LOSS_REDUCING_SHARE))
            ).quantize(_CENT),
        },
        "emergency_status": state != "ACTIVE",
        "account_state": state,
        "protection": None
        if lock is None
        else {"trigger": lock.trigger, "until": lock.lock_until, "event_id": lock.id},
        "market_status": at.status,
        "clock": at.clock,
        "as_of": at.now,
        "warnings": warnings,
    }


def users_trading_in_session(*, at: MarketTime) -> list[Any]:
    """The ids of the users with a trade in ``at``'s session on its clock, or holding an
    open position of its clock: those whose day's P&L the daily-loss triggers check. One
    query."""
    return list(
        Trade.objects.filter(
            Q(clock=at.clock, session=at.session)
            | Q(kind="open", clock=at.clock, position__status=PositionStatus.OPEN)
        )
        .values_list("user_id", flat=True)
        .distinct()
    )


def auto_executing_users() -> list[tuple[Any, Decimal]]:
    """(user, confidence threshold) of every active trader or admin whose saved config has
    ``auto_execute`` on. One query."""
    rows = TradingConfig.objects.filter(
        auto_execute=True, user__is_active=True, user__role__in=["trader", "admin"]
    ).select_related("user")
    return [(row.user, row.confidence_threshold) for row in rows]


def session_report(
    *, session: Any, clock: str, user_id: Any | None = None, all_loops: bool = False
) -> list[dict[str, Any]]:
    """The day's trading per user (``manage.py trading_report``): every trade of
    ``session`` on ``clock`` with its fills and fees, and the P&L of the positions opened
    that session: realized (net of fees) and, for those still open, the count. In a
    repeating replay, the current loop's (``all_loops``: every loop's). Three queries."""
    trades = Trade.objects.filter(session=session, clock=clock).select_related("user")
    positions = StrategyPosition.objects.filter(trade__session=session, trade__clock=clock)
    started = None if all_loops else loop_start(clock, session)
    if started is not None:
        trades = trades.exclude(kind="open", created_at__lt=started).exclude(
            kind="close", closes__trade__created_at__lt=started
        )
        positions = positions.filter(trade__created_at__gte=started)
    if user_id is not None:
        trades = trades.filter(user_id=user_id)
    trades = trades.prefetch_related("orders__fills").order_by("user_id", "created_at")
    if user_id is not None:
        positions = positions.filter(user_id=user_id)
    by_user: dict[Any, dict[str, Any]] = {}
    for trade in trades:
        entry = by_user.setdefault(
            trade.user_id,
            {"user": trade.user.email, "trades": [], "fills": 0, "fees": Decimal("0.00")},
        )
        fills = [f for o in trade.orders.all() for f in o.fills.all()]
        entry["trades"].append(
            {
                "trade_id": trade.id,
                "time": trade.executed_at,
                "kind": trade.kind,
                "strategy": trade.strategy,
                "symbol": trade.symbol,
                "quantity": trade.quantity,
                "net_price": trade.net_price,
                "fees": trade.fees,
                "status": trade.status,
                "reason": trade.reason,
                "fills": len(fills),
            }
        )
        entry["fills"] += len(fills)
        entry["fees"] += trade.fees
    for position in positions:
        if position.user_id not in by_user:
            continue
        entry = by_user[position.user_id]
        entry["realized_pnl"] = entry.get("realized_pnl", Decimal("0.00")) + position.realized_pnl
        entry.setdefault("exits", {})
        if position.status == PositionStatus.OPEN:
            entry["open_positions"] = entry.get("open_positions", 0) + 1
        else:
            reason = position.exit_reason or "unknown"
            entry["exits"][reason] = entry["exits"].get(reason, 0) + 1
    for entry in by_user.values():
        entry.setdefault("realized_pnl", Decimal("0.00"))
        entry.setdefault("open_positions", 0)
        entry.setdefault("exits", {})
    return list(by_user.values())
