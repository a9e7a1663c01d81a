"""Writes of the trading app."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db import connection as db_connection
from django.utils import timezone

from batch.consumers import JOBS_GROUP
from marketdata import calendar
from marketdata.clock import MarketTime, configured_clock, market_time
from marketdata.engine.correlation import classify_regime
from marketdata.occ import OptionContract, parse_occ
from marketdata.selectors import chain_snapshot_at, regime_rule, session_opens_closes, vix_level
from portfolios import services as portfolio_services
from portfolios.models import TransactionKind
from portfolios.selectors import position_for_user
from portfolios.settlement import options_settle
from sigmasight.errors import (
    Conflict,
    DailyLossLimitExceeded,
    EmergencyHaltActive,
    InsufficientFunds,
    MarketClosed,
    OrderRejected,
    PositionLimitExceeded,
    SignalExpired,
    StrategyPositionNotFound,
    ValidationFailed,
)
from sigmasight.timefmt import utc_stamp
from sigmasight.ws import publish, publish_later
from signals.engine.fills import first_exit, package_fill
from signals.engine.payoff import MULTIPLIER, Leg, risk_metrics
from signals.selectors import signal_get
from trading.brokers import broker_for
from trading.engine.fees import CENT, FillFees, fill_fees
from trading.messages import (
    fill_message,
    order_update,
    pin_risk_message,
    position_update,
    positions_group,
    risk_state_message,
)
from trading.models import (
    STATE_SEVERITY,
    AccountState,
    ExitReason,
    Fill,
    Order,
    OrderStatus,
    PnlPoint,
    PositionStatus,
    RemainderCancel,
    RiskEvent,
    RiskEventKind,
    RiskTrigger,
    StrategyPosition,
    Trade,
    TradeKind,
    TradeStatus,
    TradingAccount,
    TradingConfig,
)
from trading.selectors import (
    TradingSettings,
    active_protection,
    default_trading_settings,
    fee_schedule,
    leg_mark,
    losing_streak,
    market_emergency,
    open_book,
    package_ratio,
    session_pnl,
    strategy_position_body,
    strategy_positions,
    trading_settings,
    users_trading_in_session,
    users_with_open_positions,
)

#: The name of each user's 0DTE paper portfolio.
PAPER_PORTFOLIO_NAME = "0DTE paper trading"

#: The config fields a user may change (``saved`` is not one).
CONFIG_FIELDS = (
    "trading_mode",
    "position_size",
    "profit_target",
    "stop_loss",
    "confidence_threshold",
    "auto_execute",
    "max_positions",
    "daily_loss_limit",
)


def trading_config_update(*, user_id: Any, changes: dict[str, Any]) -> TradingSettings:
    """Apply ``changes`` (validated fields of :data:`CONFIG_FIELDS`) to ``user_id``'s
    config, creating it from the defaults on the first change. Live mode needs a
    configured live broker (``LiveTradingUnavailable`` otherwise, and nothing is written).
    The row is locked, so two concurrent updates apply one after the other."""
    unknown = set(changes) - set(CONFIG_FIELDS)
    if unknown:
        raise ValueError(f"not config fields: {sorted(unknown)}")
    if "trading_mode" in changes:
        broker_for(changes["trading_mode"])  # refuses live without a broker
    with transaction.atomic():
        row = TradingConfig.objects.select_for_update().filter(user_id=user_id).first()
        if row is None:
            defaults = asdict(default_trading_settings())
            defaults.pop("saved")
            row, _ = TradingConfig.objects.get_or_create(user_id=user_id, defaults=defaults)
            row = TradingConfig.objects.select_for_update().get(pk=row.pk)
        for field, value in changes.items():
            setattr(row, field, value)
        row.save()
    return trading_settings(user_id=user_id)


# --------------------------------------------------------------------------- execution


@dataclass(frozen=True)
class ExecuteRequest:
    """``POST /trading/execute``: the signal, the sizing (dollars; the config's by
    default) and the exit overrides (fractions of the capital at risk)."""

    signal_id: str
    position_size: Decimal | None = None
    profit_target: Decimal | None = None
    stop_loss: Decimal | None = None
    hold_to_expiry: bool = False

    def fingerprint(self) -> str:
        """What a retry with the same idempotency key must repeat."""
        fields = (self.signal_id, self.position_size, self.profit_target, self.stop_loss)
        text = "|".join(str(v) for v in fields)
        if self.hold_to_expiry:  # keeps the keys of earlier requests valid
            text += "|hold"
        return hashlib.sha256(text.encode()).hexdigest()


def trading_account_ensure(*, user: Any) -> TradingAccount:
    """The user's trading account, created with its 0DTE paper portfolio and the paper
    starting cash (``PAPER_STARTING_CASH``) on first use. Concurrent first uses make one."""
    account = TradingAccount.objects.filter(user=user).first()
    if account is not None:
        return account
    try:
        with transaction.atomic():
            portfolio = portfolio_services.portfolio_create(
                owner=user,
                name=PAPER_PORTFOLIO_NAME,
                description="Paper trades of 0DTE signals (trading app)",
                is_default=False,
            )
            portfolio_services.cash_transaction(
                portfolio=portfolio,
                kind=TransactionKind.DEPOSIT,
                amount=Decimal(settings.PAPER_STARTING_CASH),
                trade_date=timezone.localdate(),
                note="paper starting cash",
            )
            return TradingAccount.objects.create(user=user, paper_portfolio_id=portfolio.id)
    except IntegrityError:  # another first use made it
        return TradingAccount.objects.get(user=user)


#: Option prices are kept to the hundredth of a cent.
PRICE = Decimal("0.0001")


@dataclass(frozen=True)
class _LegQuote:
    bid: Decimal
    ask: Decimal
    bid_size: int | None = None  # contracts displayed (None: not quoted)
    ask_size: int | None = None


def _displayed_packages(
    actions: list[str], ratios: list[int], quotes: list[_LegQuote]
) -> int | None:
    """How many packages the displayed sizes fill: each leg trades against the size on
    its side (a buy takes the ask's, a sell the bid's), ``ratio`` contracts a package.
    None where no leg shows a size (no cap)."""
    caps = []
    for action, ratio, quote in zip(actions, ratios, quotes, strict=True):
        size = quote.ask_size if action == "buy" else quote.bid_size
        if size is not None:
            caps.append(int(size) // ratio)
    return min(caps) if caps else None


@dataclass(frozen=True)
class _QuotedLeg:
    """A leg as it trades now: its action, right and strike."""

    action: str
    option_type: str
    strike: Decimal


#: ``_package_quotes``'s snapshot not read by the caller (None is "no snapshot stored").
_UNREAD: Any = object()


def _quote_reason(bid: Decimal | None, ask: Decimal | None, action: str) -> str | None:
    """Why a leg's quote cannot fill (None: it can)."""
    if bid is None or ask is None:
        return "missing_quote"
    if ask < bid:
        return "crossed_quote"
    if ask == bid:
        return "locked_quote"
    if action == "sell" and bid <= 0:
        return "one_sided_quote"
    return None


def _package_quotes(
    symbol: str,
    expiration: dt.date,
    legs: list[_QuotedLeg],
    fill: MarketTime,
    *,
    field: str,
    snapshot: Any = _UNREAD,
) -> tuple[list[_LegQuote], dt.datetime]:
    """The quotes of a package's legs in force at the fill moment ``fill``: the latest chain
    snapshot of ``symbol`` stored at or before ``fill.now``, which must be of ``expiration``,
    fresh at that moment (``TRADING_QUOTE_MAX_AGE_SECONDS`` of market time) and quote every
    leg two-sided (bid > 0 for a sell, ask > bid). Otherwise the whole package is rejected
    (``OrderRejected`` naming the leg, the reason and the request ``field`` it concerns).
    Also returns the snapshot's time, the quote time its fills record. ``snapshot``: that
    snapshot where the caller has read it (``chain_snapshot_at(symbol, fill.now)``)."""
    if snapshot is _UNREAD:
        snapshot = chain_snapshot_at(symbol, fill.now)
    if snapshot is None or snapshot.expiration != expiration:
        raise OrderRejected(
            "No chain quote for the package's expiry",
            details={"field": field, "reason": "no_quote"},
        )
    age = (fill.now - snapshot.timestamp).total_seconds()
    if age > settings.TRADING_QUOTE_MAX_AGE_SECONDS:
        raise OrderRejected(
            f"The chain quote is {age:.0f} s old",
            details={
                "field": field,
                "reason": "stale_quote",
                "quote_time": utc_stamp(snapshot.timestamp),
            },
        )
    quotes: list[_LegQuote] = []
    for index, leg in enumerate(legs):
        side = snapshot.calls if leg.option_type == "call" else snapshot.puts
        row = next((r for r in side if Decimal(str(r["strike"])) == leg.strike), None)
        bid = None if row is None or row.get("bid") is None else Decimal(str(row["bid"]))
        ask = None if row is None or row.get("ask") is None else Decimal(str(row["ask"]))
        reason = _quote_reason(bid, ask, leg.action)
        if reason is not None:
            raise OrderRejected(
                f"Leg {index} ({leg.action} {leg.option_type} {leg.strike}) cannot fill",
                details={"field": field, "reason": reason, "leg": index},
            )
        assert bid is not None and ask is not None and row is not None
        quotes.append(
            _LegQuote(
                bid=bid,
                ask=ask,
                bid_size=None if row.get("bid_size") is None else int(row["bid_size"]),
                ask_size=None if row.get("ask_size") is None else int(row["ask_size"]),
            )
        )
    return quotes, snapshot.timestamp


def _leg_quotes(
    signal: Any, fill: MarketTime, snapshot: Any
) -> tuple[list[_LegQuote], dt.datetime]:
    legs = [
        _QuotedLeg(leg["action"], leg["option_type"], Decimal(str(leg["strike"])))
        for leg in signal.legs
    ]
    return _package_quotes(
        signal.symbol, signal.expiration, legs, fill, field="signal_id", snapshot=snapshot
    )


def _await_fill_moment(arrival: MarketTime) -> MarketTime:
    """When an order arriving at ``arrival`` fills: ``TRADING_FILL_LATENCY_MS`` of market
    time later, returned once the clock has got there. A live or replay clock is slept on
    (the quote in force at that moment does not exist before it); a virtual clock, which
    only a test's step moves, is not. Callers wait before they take the account's lock:
    a sleep must never hold a lock or a transaction open."""
    fill = arrival.later(dt.timedelta(milliseconds=settings.TRADING_FILL_LATENCY_MS))
    if fill.is_open and fill.now > arrival.now:
        configured_clock().wait_until(fill.now)
    return fill


def _market_open(at: MarketTime, fill: MarketTime, *, field: str) -> None:
    """``MarketClosed`` unless the market is open now and still at the fill moment (an
    order whose latency runs past the close does not fill)."""
    for reading in (at, fill):
        if not reading.is_open:
            raise MarketClosed(
                details={"field": field, "market_status": reading.status, "clock": reading.clock}
            )


def _announce(user_id: Any, messages: list[dict[str, Any]]) -> None:
    """Send ``messages`` to the user's ``/ws/positions`` sockets once the transaction
    commits (a rolled-back trade announces nothing)."""
    if not messages:
        return
    group = positions_group(user_id)
    transaction.on_commit(lambda: publish_later(group, messages))


def _trade_messages(
    trade_id: str, position_id: str, at: MarketTime, fill_ids: set[int] | None = None
) -> list[dict[str, Any]]:
    """A trade's ``order_update`` and ``fill`` messages (only the fills ``fill_ids`` names,
    where given: a resting remainder's later fill announces itself, not the earlier ones),
    then its position's update."""
    trade = Trade.objects.get(pk=trade_id)
    messages: list[dict[str, Any]] = []
    for order in trade.orders.prefetch_related("fills").order_by("leg"):
        messages.append(order_update(order))
        messages.extend(
            fill_message(fill, order)
            for fill in order.fills.all()
            if fill_ids is None or fill.pk in fill_ids
        )
    body = strategy_position_body(user=trade.user_id, position_id=position_id, at=at)
    _remember_mark(body)
    messages.append(position_update(body))
    return messages


def _announce_trade(
    trade: Trade, position_id: str, at: MarketTime, fill_ids: set[int] | None = None
) -> None:
    """Send a filled trade's messages (:func:`_trade_messages`) to its owner's sockets once
    the transaction commits. They are read and sent from the publisher thread, so the
    request answers without waiting on those reads (a dozen milliseconds) or the layer."""
    group, trade_id = positions_group(trade.user_id), trade.id

    def messages() -> list[dict[str, Any]]:
        try:
            return _trade_messages(trade_id, position_id, at, fill_ids)
        finally:
            db_connection.close()  # the thread's own connection, back to the pool

    transaction.on_commit(lambda: publish_later(group, messages))


def _mark_key(position_id: str) -> str:
    return f"trading:ws-mark:{position_id}"


def _mark_of(body: dict[str, Any]) -> tuple[Any, ...]:
    return (
        body["unrealized_pnl"],
        body["current_value"],
        body["close_value"],
        body["status"],
        body["pin_risk"],
        tuple(body["pin_risk_strikes"]),
    )


def _remember_mark(body: dict[str, Any]) -> bool:
    """Note the mark a ``position_update`` sends; False if it was sent already."""
    key, mark = _mark_key(body["position_id"]), _mark_of(body)
    if cache.get(key) == mark:
        return False
    cache.set(key, mark, timeout=86_400)
    return True


def _pin_key(position_id: str) -> str:
    return f"trading:ws-pin:{position_id}"


def _pin_raised(body: dict[str, Any]) -> bool:
    """Note a position's pin-risk flag; True when it turns on (it was off, or never seen),
    so each raise sends one ``pin_risk`` message and a flag that drops and rises again
    sends another."""
    key, flagged = _pin_key(body["position_id"]), bool(body["pin_risk"])
    was = bool(cache.get(key, False))
    if flagged != was:
        cache.set(key, flagged, timeout=86_400)
    return flagged and not was


def marks_publish(*, at: MarketTime) -> int:
    """Send a ``position_update`` for each open position whose mark (or pin-risk flag)
    changed since the last one sent, and a ``pin_risk`` for each whose flag turned on:
    how many ``position_update`` were sent."""
    sent = 0
    for user_id in users_with_open_positions(at=at):
        body = strategy_positions(user=user_id, at=at, status="open")
        for position in body["positions"]:
            if _remember_mark(position):
                publish(positions_group(user_id), position_update(position))
                sent += 1
            if _pin_raised(position):
                publish(positions_group(user_id), pin_risk_message(position))
    return sent


def _capped(
    requested: int, actions: list[str], ratios: list[int], quotes: list[_LegQuote], *, field: str
) -> int:
    """The packages that fill now: ``requested``, capped at what the displayed sizes fill
    (``TRADING_CAP_AT_DISPLAYED_SIZE``); the rest is cancelled. No size at all rejects."""
    if not settings.TRADING_CAP_AT_DISPLAYED_SIZE:
        return requested
    displayed = _displayed_packages(actions, ratios, quotes)
    if displayed is None:
        return requested
    if displayed < 1:
        raise OrderRejected(
            "The displayed size fills no package",
            details={"field": field, "reason": "no_size"},
        )
    return min(requested, displayed)


def _fill_new(
    order: Order,
    contracts: int,
    price: Decimal,
    quote: _LegQuote,
    quote_time: dt.datetime,
    fees: FillFees,
    at: MarketTime,
) -> Fill:
    """A fill of ``contracts`` at ``price`` off ``quote`` (unsaved)."""
    return Fill(
        order=order,
        quantity=contracts,
        price=price,
        bid=quote.bid,
        ask=quote.ask,
        quote_time=quote_time,
        commission=fees.commission,
        regulatory_fees=fees.regulatory,
        filled_at=at.now,
    )


def _occ(signal: Any, leg: dict[str, Any]) -> str:
    contract = OptionContract(
        underlying=signal.symbol,
        expiry=signal.expiration,
        right="C" if leg["option_type"] == "call" else "P",
        strike=Decimal(str(leg["strike"])),
    )
    return contract.occ_symbol


def _book_package(
    account: TradingAccount,
    trade: Trade,
    legs: list[tuple[str, int, Decimal, Decimal]],
    *,
    spot: Decimal,
    cash_required: Decimal,
) -> list[Any]:
    """Book a filled package's legs, each (OCC symbol, signed contracts, price per share,
    fees), into the account's paper portfolio as one write, tagged with the trade, on the
    trade's session: the strike check against ``spot``, the underlying price the package
    was priced with, and the cash balance, read under the portfolio's lock, covering
    ``cash_required`` (``InsufficientFunds`` otherwise). The legs' Positions, in order."""
    return portfolio_services.positions_open(
        portfolio=account.paper_portfolio_id,
        opens=[
            portfolio_services.PositionOpen(
                symbol=symbol, quantity=Decimal(contracts), entry_price=price, fees=fees
            )
            for symbol, contracts, price, fees in legs
        ],
        entry_date=trade.session,
        tags=["0dte", trade.id],
        today=trade.session,
        underlying_prices={trade.symbol: spot},
        cash_required=cash_required,
    )


def trade_execute(
    *, user: Any, request: ExecuteRequest, idempotency_key: str | None = None
) -> tuple[Trade, bool]:
    """Execute a signal as one package on the paper broker: returns (trade, created).

    In one transaction under the account's row lock (a user's executions serialize):
    an idempotency key seen before returns its trade (``Conflict`` if the request
    differs); then the account must be ACTIVE, the market open, the signal active on
    this clock and session and before its expiry, the open positions below
    ``max_positions``, the session's realized and unrealized P&L above −``daily_loss_limit``
    (``trading.selectors.session_pnl``); every leg needs a fresh two-sided quote; the quantity is whole
    packages, floor(position_size / max loss per package at the fill prices); the paper
    cash, less the margin the open credit packages hold (``selectors.margin_reserved``),
    must cover the capital at risk and the fees. The legs fill together at the fill
    rule (``signals.engine.fills``), each fill books its fees (``trading.engine.fees``),
    and each leg becomes a Position of the paper portfolio with its cash flow."""
    config = trading_settings(user_id=user.pk)
    fingerprint = request.fingerprint()
    # The order arrives now and fills TRADING_FILL_LATENCY_MS later, waited for here,
    # before the lock; the checks below read the clock again, once that moment has come.
    fill = _await_fill_moment(market_time())
    with transaction.atomic():
        # Inside the transaction: a refused first execution opens no account either.
        account = TradingAccount.objects.select_for_update().filter(user=user).first()
        if account is None:
            opened = trading_account_ensure(user=user)
            account = TradingAccount.objects.select_for_update().get(pk=opened.pk)
        earlier = _replayed(user, idempotency_key, fingerprint)
        if earlier is not None:
            return earlier, False
        if account.state != AccountState.ACTIVE:
            raise EmergencyHaltActive(
                details={"field": "signal_id", "account_state": account.state}
            )
        at = market_time()
        _market_open(at, fill, field="signal_id")
        lock = active_protection(user=user, at=at)
        if lock is not None:
            raise EmergencyHaltActive(
                "A protection pauses new entries",
                details={
                    "field": "signal_id",
                    "account_state": account.state,
                    "protection": lock.trigger,
                    "until": utc_stamp(lock.lock_until) if lock.lock_until else None,
                    "event_id": lock.id,
                },
            )
        signal = signal_get(request.signal_id, with_features=False)
        if (
            signal.status != "active"
            or signal.clock != at.clock
            or signal.session != at.session
            or signal.expires_at <= at.now
        ):
            raise SignalExpired(
                details={
                    "field": "signal_id",
                    "signal_id": signal.id,
                    "status": signal.status,
                    "expires_at": utc_stamp(signal.expires_at),
                }
            )
        # The day's P&L is marked, and the package priced, off the chain in force at the
        # fill moment: one read of the signal's chain serves both.
        snapshot = chain_snapshot_at(signal.symbol, fill.now)
        book = open_book(
            user=user, at=fill, snapshots={signal.symbol: snapshot} if snapshot else None
        )
        if book.open_positions >= config.max_positions:
            raise PositionLimitExceeded(
                details={
                    "field": "signal_id",
                    "open_positions": book.open_positions,
                    "max_positions": config.max_positions,
                }
            )
        day = book.day
        if day.total <= -config.daily_loss_limit:
            raise DailyLossLimitExceeded(
                details={
                    "field": "signal_id",
                    "daily_pnl": str(day.total),
                    "realized_pnl": str(day.realized),
                    "unrealized_pnl": str(day.unrealized),
                    "daily_loss_limit": str(config.daily_loss_limit),
                }
            )
        at = fill  # priced off the quotes in force at the fill moment, and booked then
        quotes, quote_time = _leg_quotes(signal, at, snapshot)
        legs = [
            Leg(leg["action"], leg["option_type"], float(leg["strike"]), int(leg["quantity"]))
            for leg in signal.legs
        ]
        prices, net = package_fill(
            [leg.action for leg in legs],
            [float(q.bid) for q in quotes],
            [float(q.ask) for q in quotes],
            quantities=[leg.quantity for leg in legs],
            pessimistic=settings.FILL_PESSIMISTIC,
        )
        max_loss = Decimal(str(risk_metrics(legs, prices).max_loss)).quantize(CENT)
        position_size = request.position_size or config.position_size
        if max_loss <= 0:
            raise OrderRejected(
                "The package has no defined risk", details={"field": "signal_id", "reason": "risk"}
            )
        requested = int(position_size // max_loss)
        if requested < 1:
            raise ValidationFailed(
                {
                    "position_size": [
                        f"{position_size} does not cover one package (max loss {max_loss})"
                    ]
                }
            )
        quantity = _capped(
            requested,
            [leg.action for leg in legs],
            [leg.quantity for leg in legs],
            quotes,
            field="signal_id",
        )
        schedule = fee_schedule()
        fills = [
            fill_fees(
                schedule,
                side=leg.action,
                contracts=quantity * leg.quantity,
                premium=Decimal(str(price)),
            )
            for leg, price in zip(legs, prices, strict=True)
        ]
        fees = sum((f.total for f in fills), Decimal("0.00"))
        total_cost = max_loss * quantity
        net_price = Decimal(str(net)).quantize(Decimal("0.0001"))
        short = quantity < requested
        # TRADING_REMAINDER=rest: the packages beyond the displayed size work on at this
        # fill's net (working_entries_fill); else they are cancelled now.
        resting = short and settings.TRADING_REMAINDER == "rest"
        trade = Trade.objects.create(
            user=user,
            signal_id=signal.id,
            symbol=signal.symbol,
            strategy=signal.strategy,
            clock=at.clock,
            session=at.session,
            quantity=quantity,
            requested_quantity=requested,
            status=TradeStatus.PARTIALLY_FILLED if resting else TradeStatus.FILLED,
            order_type="limit",  # each leg a marketable limit at its fill price
            limit_price=net_price if resting else None,
            remainder_cancelled=RemainderCancel.DISPLAYED_SIZE if short and not resting else "",
            remainder_cancelled_at=at.now if short and not resting else None,
            net_price=net_price,
            total_cost=total_cost,
            fees=fees,
            profit_target=request.profit_target or config.profit_target,
            stop_loss=request.stop_loss or config.stop_loss,
            hold_to_expiry=request.hold_to_expiry,
            idempotency_key=idempotency_key,
            request_fingerprint=fingerprint,
            executed_at=at.now,
        )
        symbols = [_occ(signal, raw) for raw in signal.legs]
        fill_prices = [Decimal(str(price)).quantize(PRICE) for price in prices]
        contracts = [quantity * leg.quantity for leg in legs]
        try:
            # The paper cash must cover the capital at risk and the fees: checked under the
            # portfolio's lock, in the booking.
            booked = _book_package(
                account,
                trade,
                [
                    (symbol, n if leg.action == "buy" else -n, price, leg_fees.total)
                    for symbol, n, leg, price, leg_fees in zip(
                        symbols, contracts, legs, fill_prices, fills, strict=True
                    )
                ],
                spot=snapshot.underlying_price,
                # The cash the open credit packages hold as margin is not available.
                cash_required=total_cost + fees + book.reserved,
            )
        except InsufficientFunds as exc:
            available = Decimal(exc.details["available"]) - book.reserved
            raise InsufficientFunds(
                details={
                    "field": "position_size",
                    "required": str(total_cost + fees),
                    "available": str(available),
                    "reserved": str(book.reserved),
                    "quantity": quantity,
                }
            ) from exc
        orders = Order.objects.bulk_create(
            Order(
                trade=trade,
                leg=index,
                symbol=symbol,
                action=leg.action,
                quantity=requested * leg.quantity,
                limit_price=price,
                # The part beyond the displayed size rests or is cancelled.
                status=OrderStatus.FILLED
                if not short
                else OrderStatus.PARTIALLY_FILLED
                if resting
                else OrderStatus.CANCELLED,
                filled_quantity=n,
                average_fill_price=price,
                book_position_id=book.pk,
            )
            for index, (symbol, leg, n, price, book) in enumerate(
                zip(symbols, legs, contracts, fill_prices, booked, strict=True)
            )
        )
        Fill.objects.bulk_create(
            _fill_new(order, n, price, quote, quote_time, leg_fees, at)
            for order, n, price, quote, leg_fees in zip(
                orders, contracts, fill_prices, quotes, fills, strict=True
            )
        )
        position = StrategyPosition.objects.create(
            user=user,
            trade=trade,
            symbol=signal.symbol,
            strategy=signal.strategy,
            quantity=quantity,
            opened_at=at.now,
            fees=fees,
        )
        _announce_trade(trade, position.id, at)
    return trade, True


# --------------------------------------------------------------------------- closing

CLOSE_TYPES = ("market", "limit")


@dataclass(frozen=True)
class CloseRequest:
    """``POST /trading/close/{position_id}``: at market, or at a limit on the package's
    price per share (closing a debit package sells it for at least ``limit_price``;
    closing a credit package buys it back for at most ``limit_price``); all the open
    packages, or ``partial_quantity`` of them."""

    close_type: str = "market"
    limit_price: Decimal | None = None
    partial_quantity: int | None = None

    def fingerprint(self, position_id: str) -> str:
        text = "|".join(
            str(v)
            for v in (
                "close",
                position_id,
                self.close_type,
                self.limit_price,
                self.partial_quantity,
            )
        )
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class _OpenLeg:
    """A leg of an open strategy position: its opening order and contracts per package."""

    order: Order
    contract: OptionContract
    ratio: int

    @property
    def closing_action(self) -> str:
        return "sell" if self.order.action == "buy" else "buy"

    def quoted(self) -> _QuotedLeg:
        right = "call" if self.contract.is_call else "put"
        return _QuotedLeg(self.closing_action, right, self.contract.strike)


def _open_legs(position: StrategyPosition) -> list[_OpenLeg]:
    entry = position.trade
    return [
        _OpenLeg(order=o, contract=parse_occ(o.symbol), ratio=package_ratio(o, entry))
        for o in entry.orders.order_by("leg")
    ]


def _closing_quotes(
    position: StrategyPosition, legs: list[_OpenLeg], fill: MarketTime
) -> tuple[list[_LegQuote], dt.datetime]:
    """The quotes a close of ``position`` filling at ``fill`` trades against
    (``_package_quotes``'s rules)."""
    quoted = [leg.quoted() for leg in legs]
    return _package_quotes(
        position.symbol, legs[0].contract.expiry, quoted, fill, field="position_id"
    )


#: How long an Idempotency-Key holds (API-CONVENTIONS, Idempotency: 24 hours).
IDEMPOTENCY_WINDOW = dt.timedelta(hours=24)


def _replayed(user: Any, key: str | None, fingerprint: str) -> Trade | None:
    """The trade an earlier request with this Idempotency-Key made within
    ``IDEMPOTENCY_WINDOW`` (``Conflict`` if that request differed), else None. A key older
    than the window is released from its trade (which keeps its fingerprint), so the
    request is a new one. Called under the account's row lock."""
    if key is None:
        return None
    earlier = Trade.objects.filter(user=user, idempotency_key=key).first()
    if earlier is None:
        return None
    if earlier.created_at < timezone.now() - IDEMPOTENCY_WINDOW:
        Trade.objects.filter(pk=earlier.pk).update(idempotency_key=None)
        return None
    if earlier.request_fingerprint != fingerprint:
        raise Conflict(
            "This Idempotency-Key was used for a different request",
            details={"idempotency_key": key, "trade_id": earlier.id},
        )
    return earlier


def _limit_reached(entry: Trade, close_value: float, limit: Decimal) -> bool:
    """Whether closing at ``close_value`` (cash per share received, − when paid) meets
    the limit: a debit package sells for at least ``limit``, a credit package is bought
    back for at most ``limit``."""
    value = Decimal(str(round(close_value, 6)))
    return value >= limit if entry.net_price > 0 else -value <= limit


def _fill_package(
    legs: list[_OpenLeg], quotes: list[_LegQuote], *, pessimistic: bool
) -> tuple[list[float], float]:
    """Closing prices of the legs and the package's net (+ paid, − received), per share."""
    return package_fill(
        [leg.closing_action for leg in legs],
        [float(q.bid) for q in quotes],
        [float(q.ask) for q in quotes],
        quantities=[leg.ratio for leg in legs],
        pessimistic=pessimistic,
    )


def _entry_fee_share(position: StrategyPosition, quantity: int) -> Decimal:
    """The entry fees attributed to closing ``quantity`` more packages: cumulative shares
    rounded to the cent, so that the closes of a position add up to its entry fees."""
    entry = position.trade
    closed_before = entry.quantity - position.quantity

    def share(packages: int) -> Decimal:
        return (entry.fees * packages / entry.quantity).quantize(CENT)

    return share(closed_before + quantity) - share(closed_before)


def _close_fill(
    trade: Trade,
    position: StrategyPosition,
    legs: list[_OpenLeg],
    prices: list[float],
    net: float,
    quotes: list[_LegQuote],
    quote_time: dt.datetime,
    at: MarketTime,
) -> None:
    """Fill a close trade's legs at ``prices``, as many packages as the displayed sizes
    take (the rest of the order is cancelled): each order and fill with its fees, each
    leg closed in the paper portfolio (realized P&L and cash there), and the strategy
    position's open quantity, realized P&L (net of the exit's and its share of the
    entry's fees) and state."""
    packages = _capped(
        trade.quantity,
        [leg.closing_action for leg in legs],
        [leg.ratio for leg in legs],
        quotes,
        field="position_id",
    )
    trade.quantity = packages
    schedule = fee_schedule()
    gross = Decimal("0")
    fees = Decimal("0.00")
    orders = list(trade.orders.order_by("leg"))
    for leg, order, price, quote in zip(legs, orders, prices, quotes, strict=True):
        contracts = packages * leg.ratio
        fill_price = Decimal(str(price)).quantize(PRICE)
        leg_fees = fill_fees(schedule, side=order.action, contracts=contracts, premium=fill_price)
        book = position_for_user(user=trade.user, position_id=order.book_position_id)
        portfolio_services.position_close(
            position=book,
            exit_price=fill_price,
            exit_date=at.session,
            quantity=Decimal(contracts),
            fees=leg_fees.total,
            today=at.session,
        )
        order.status = OrderStatus.FILLED if contracts == order.quantity else OrderStatus.CANCELLED
        order.filled_quantity = contracts
        order.average_fill_price = fill_price
        order.save(update_fields=["status", "filled_quantity", "average_fill_price", "updated_at"])
        _fill_new(order, contracts, fill_price, quote, quote_time, leg_fees, at).save()
        opened = leg.order
        sign = 1 if opened.action == "buy" else -1
        assert opened.average_fill_price is not None
        gross += sign * (fill_price - opened.average_fill_price) * contracts * MULTIPLIER
        fees += leg_fees.total
    entry_fees = _entry_fee_share(position, trade.quantity)
    trade.status = TradeStatus.FILLED
    trade.fees = fees
    trade.net_price = Decimal(str(net)).quantize(PRICE)
    trade.executed_at = at.now
    trade.total_cost = (position.trade.total_cost * packages / position.trade.quantity).quantize(
        CENT
    )
    trade.save(
        update_fields=["status", "fees", "net_price", "executed_at", "quantity", "total_cost"]
    )
    position.quantity -= trade.quantity
    position.realized_pnl += (gross - fees - entry_fees).quantize(CENT)
    position.fees += fees
    if position.quantity == 0:
        position.status = PositionStatus.CLOSED
        position.closed_at = at.now
        position.exit_reason = trade.reason
    position.save()
    if position.status == PositionStatus.CLOSED:
        _protections_after_close(position, at)
    _announce_trade(trade, position.id, at)


def _close_submit(
    position: StrategyPosition,
    request: CloseRequest,
    at: MarketTime,
    fill: MarketTime,
    *,
    reason: str,
    idempotency_key: str | None,
    fingerprint: str,
) -> Trade:
    """Submit a close of the locked ``position`` at ``at``: it fills at the fill moment
    ``fill`` at the fill rule off the quotes in force then, unless it is a limit the fill
    price does not meet, which rests (``submitted``) until the opposite side of the quote
    reaches it (:func:`working_closes_fill`)."""
    if position.status != PositionStatus.OPEN:
        raise Conflict(
            "The position is already closed",
            details={"position_id": position.id, "exit_reason": position.exit_reason},
        )
    working = position.exits.filter(status=TradeStatus.SUBMITTED).first()
    if working is not None:
        raise Conflict(
            "A close order is already working on this position",
            details={"position_id": position.id, "trade_id": working.id},
        )
    _market_open(at, fill, field="position_id")
    quantity = request.partial_quantity or position.quantity
    if quantity > position.quantity:
        raise ValidationFailed(
            {"partial_quantity": [f"At most {position.quantity} packages are open"]}
        )
    legs = _open_legs(position)
    quotes, quote_time = _closing_quotes(position, legs, fill)
    prices, net = _fill_package(legs, quotes, pessimistic=settings.FILL_PESSIMISTIC)
    entry = position.trade
    if entry.status == TradeStatus.PARTIALLY_FILLED:
        # A trader closing wants no more of the position: its entry's remainder stops.
        _remainder_cancel(entry, RemainderCancel.CLOSING, at)
    resting = request.close_type == "limit" and not _limit_reached(
        entry, -net, _required(request.limit_price)
    )
    trade = Trade.objects.create(
        user=position.user,
        kind=TradeKind.CLOSE,
        closes=position,
        reason=reason,
        order_type=request.close_type,
        limit_price=request.limit_price,
        signal_id=entry.signal_id,
        symbol=position.symbol,
        strategy=position.strategy,
        clock=at.clock,
        session=at.session,
        quantity=quantity,
        requested_quantity=quantity,
        status=TradeStatus.SUBMITTED,
        # A resting limit's net is its limit, signed from the close's side.
        net_price=_limit_net(entry, _required(request.limit_price)) if resting else Decimal(0),
        total_cost=(entry.total_cost * quantity / entry.quantity).quantize(CENT),
        fees=Decimal("0.00"),
        profit_target=entry.profit_target,
        stop_loss=entry.stop_loss,
        idempotency_key=idempotency_key,
        request_fingerprint=fingerprint,
    )
    for index, leg in enumerate(legs):
        Order.objects.create(
            trade=trade,
            leg=index,
            symbol=leg.order.symbol,
            action=leg.closing_action,
            quantity=quantity * leg.ratio,
            order_type=request.close_type,
            limit_price=None,
            status=OrderStatus.SUBMITTED,
            book_position_id=leg.order.book_position_id,
        )
    if resting:
        _announce(trade.user_id, [order_update(o) for o in trade.orders.order_by("leg")])
    else:
        _close_fill(trade, position, legs, prices, net, quotes, quote_time, fill)
    return trade


def _required(limit: Decimal | None) -> Decimal:
    if limit is None:
        raise ValidationFailed({"limit_price": ["A limit close needs a limit_price"]})
    return limit


def _limit_net(entry: Trade, limit: Decimal) -> Decimal:
    """A resting limit's net from the close's side: − received selling a debit package,
    + paid buying back a credit one."""
    return -limit if entry.net_price > 0 else limit


def _locked_position(user: Any, position_id: str) -> StrategyPosition:
    position = (
        StrategyPosition.objects.select_for_update(of=("self",))
        .select_related("trade")
        .filter(user=user, pk=position_id)
        .first()
    )
    if position is None:
        raise StrategyPositionNotFound()
    return position


def strategy_position_close(
    *,
    user: Any,
    position_id: str,
    request: CloseRequest,
    idempotency_key: str | None = None,
    reason: str = "manual",  # ExitReason.MANUAL
    at: MarketTime | None = None,
) -> tuple[Trade, bool]:
    """Close ``user``'s strategy position (or ``partial_quantity`` packages of it) as one
    package: returns (the close trade, created). Under the account's row lock, like an
    execution, so that concurrent closes of one position close it once (the others
    answer ``Conflict``); an Idempotency-Key seen before returns its trade. Closing is
    allowed in REDUCING; in HALTED only the risk engine's own exits run (the user's
    answer ``EmergencyHaltActive``). The close
    arrives at ``at`` (the clock's reading by default) and fills
    ``TRADING_FILL_LATENCY_MS`` later, waited for before the lock
    (:func:`_await_fill_moment`)."""
    fill = _await_fill_moment(at or market_time())
    with transaction.atomic():
        return _position_close(
            user,
            position_id,
            request,
            at,
            fill,
            reason=reason,
            idempotency_key=idempotency_key,
        )


def _position_close(
    user: Any,
    position_id: str,
    request: CloseRequest,
    at: MarketTime | None,
    fill: MarketTime,
    *,
    reason: str,
    idempotency_key: str | None,
) -> tuple[Trade, bool]:
    """:func:`strategy_position_close` inside the caller's transaction, the fill moment
    ``fill`` already reached; the checks at ``at``, or at the clock's reading once the
    locks are held."""
    fingerprint = request.fingerprint(position_id)
    account = TradingAccount.objects.select_for_update().filter(user=user).first()
    if account is None:
        raise StrategyPositionNotFound()
    earlier = _replayed(user, idempotency_key, fingerprint)
    if earlier is not None:
        return earlier, False
    position = _locked_position(user, position_id)
    if account.state == AccountState.HALTED and reason == ExitReason.MANUAL:
        # HALTED takes no order from the user; the risk engine's own reduce-only exits
        # (the emergency flattening, the monitor's stop, target and time exits) still run:
        # a halt must never leave a 0DTE book without its stop or its way out before the
        # close.
        raise EmergencyHaltActive(details={"field": "position_id", "account_state": account.state})
    trade = _close_submit(
        position,
        request,
        at or market_time(),
        fill,
        reason=reason,
        idempotency_key=idempotency_key,
        fingerprint=fingerprint,
    )
    return trade, True


def _working_close_cancel(trade: Trade, *, status: str = "cancelled") -> None:
    trade.status = status
    trade.save(update_fields=["status"])
    trade.orders.update(status=status, updated_at=timezone.now())
    _announce(trade.user_id, [order_update(o) for o in trade.orders.order_by("leg")])


def _working_close_try(trade: Trade, at: MarketTime) -> bool:
    """Fill a resting limit close if the opposite side of the quote reaches its limit
    (each leg at its natural side: a sell at the bid, a buy at the ask). A leg without a
    fillable quote now leaves it resting."""
    position = _locked_position(trade.user, str(trade.closes_id))
    legs = _open_legs(position)
    try:
        # At the monitor's minute, with no fill latency: a limit resting since an earlier
        # minute is already later than any latency.
        quotes, quote_time = _closing_quotes(position, legs, at)
    except OrderRejected:
        return False
    prices, net = _fill_package(legs, quotes, pessimistic=True)
    if not _limit_reached(position.trade, -net, _required(trade.limit_price)):
        return False
    _close_fill(trade, position, legs, prices, net, quotes, quote_time, at)
    return True


def working_closes_fill(*, at: MarketTime) -> int:
    """Fill the resting limit closes of ``at``'s session the quote now reaches: how many
    filled. Each under its account's lock, in its own transaction."""
    if not at.is_open:
        return 0
    working = Trade.objects.filter(
        kind=TradeKind.CLOSE, status=TradeStatus.SUBMITTED, clock=at.clock, session=at.session
    ).values_list("pk", "user_id")
    filled = 0
    for pk, user_id in working:
        with transaction.atomic():
            TradingAccount.objects.select_for_update().filter(user_id=user_id).first()
            trade = (
                Trade.objects.select_for_update()
                .filter(pk=pk, status=TradeStatus.SUBMITTED)
                .first()
            )
            if trade is not None and _working_close_try(trade, at):
                filled += 1
    return filled


# --------------------------------------------------------------------------- resting remainders


def _remainder_cancel(
    entry: Trade, reason: str, at: MarketTime, *, status: str = str(OrderStatus.CANCELLED)
) -> None:
    """Stop an entry's resting remainder (the packages asked for beyond those filled),
    recording ``reason`` and the market time: the trade stays filled at what it filled, its
    orders turn ``status`` (``cancelled``; ``expired`` at the session's close) with their
    filled contracts, and each order's update goes to the owner."""
    entry.status = TradeStatus.FILLED
    entry.remainder_cancelled = reason
    entry.remainder_cancelled_at = at.now
    entry.save(update_fields=["status", "remainder_cancelled", "remainder_cancelled_at"])
    entry.orders.update(status=status, updated_at=timezone.now())
    _announce(entry.user_id, [order_update(o) for o in entry.orders.order_by("leg")])


def _remainder_stop_reason(
    entry: Trade, signal: Any, account: TradingAccount, at: MarketTime
) -> str | None:
    """Why an entry's remainder may no longer fill at ``at`` (None: it works on)."""
    if account.state != AccountState.ACTIVE:
        return str(RemainderCancel.HALTED)
    if at.now >= time_exit(at.session):
        return str(RemainderCancel.TIME_EXIT)
    if signal.status != "active" or signal.expires_at <= at.now:
        return str(RemainderCancel.SIGNAL_EXPIRED)
    return None


def _remainder_try(entry: Trade, account: TradingAccount, at: MarketTime) -> bool:
    """Fill what the displayed sizes take of the locked ``entry``'s resting remainder if
    the opposite side of every leg's quote reaches the entry's net limit (a buy at the
    ask, a sell at the bid: the package's net paid at most ``limit_price``, a credit's
    received at least its size), under the checks of an execution that still apply: the
    account ACTIVE, before the time exit, the signal active and unexpired (else the
    remainder is cancelled with the reason), and the paper cash covering the new capital
    at risk and fees (else cancelled: ``insufficient_funds``). A leg without a fillable
    quote, or no displayed size, leaves it resting. The fills join the entry's orders and
    strategy position (the legs' average prices, the trade's net, cost and fees
    re-weighted; the paper portfolio's positions added to). True if anything filled."""
    position = StrategyPosition.objects.select_for_update().get(trade=entry)
    signal = signal_get(entry.signal_id, with_features=False)
    reason = _remainder_stop_reason(entry, signal, account, at)
    if position.status != PositionStatus.OPEN:
        reason = str(RemainderCancel.CLOSING)
    if reason is not None:
        _remainder_cancel(entry, reason, at)
        return False
    snapshot = chain_snapshot_at(entry.symbol, at.now)
    legs = [
        Leg(leg["action"], leg["option_type"], float(leg["strike"]), int(leg["quantity"]))
        for leg in signal.legs
    ]
    actions, ratios = [leg.action for leg in legs], [leg.quantity for leg in legs]
    try:
        quotes, quote_time = _leg_quotes(signal, at, snapshot)
        assert entry.requested_quantity is not None and entry.limit_price is not None
        packages = _capped(
            entry.requested_quantity - entry.quantity, actions, ratios, quotes, field="signal_id"
        )
    except OrderRejected:
        return False
    prices, net = package_fill(
        actions,
        [float(q.bid) for q in quotes],
        [float(q.ask) for q in quotes],
        quantities=ratios,
        pessimistic=True,  # at the natural side, as a resting limit fills
    )
    if Decimal(str(round(net, 6))) > entry.limit_price:
        return False
    max_loss = Decimal(str(risk_metrics(legs, prices).max_loss)).quantize(CENT)
    fill_prices = [Decimal(str(price)).quantize(PRICE) for price in prices]
    schedule = fee_schedule()
    leg_fees = [
        fill_fees(schedule, side=action, contracts=packages * ratio, premium=price)
        for action, ratio, price in zip(actions, ratios, fill_prices, strict=True)
    ]
    fees = sum((f.total for f in leg_fees), Decimal("0.00"))
    orders = list(entry.orders.order_by("leg"))
    reserved = open_book(user=entry.user_id, at=at).reserved
    try:
        _book_package(
            account,
            entry,
            [
                (order.symbol, packages * ratio * (1 if action == "buy" else -1), price, f.total)
                for order, action, ratio, price, f in zip(
                    orders, actions, ratios, fill_prices, leg_fees, strict=True
                )
            ],
            spot=snapshot.underlying_price,
            cash_required=max_loss * packages + fees + reserved,
        )
    except InsufficientFunds:
        _remainder_cancel(entry, RemainderCancel.INSUFFICIENT_FUNDS, at)
        return False
    filled = entry.quantity + packages
    done = filled == entry.requested_quantity
    now = timezone.now()
    for order, ratio, price in zip(orders, ratios, fill_prices, strict=True):
        assert order.average_fill_price is not None
        contracts = packages * ratio
        order.average_fill_price = (
            (order.average_fill_price * order.filled_quantity + price * contracts)
            / (order.filled_quantity + contracts)
        ).quantize(PRICE)
        order.filled_quantity += contracts
        order.status = OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED
        order.updated_at = now
    Order.objects.bulk_update(
        orders, ["average_fill_price", "filled_quantity", "status", "updated_at"]
    )
    created = Fill.objects.bulk_create(
        _fill_new(order, packages * ratio, price, quote, quote_time, f, at)
        for order, ratio, price, quote, f in zip(
            orders, ratios, fill_prices, quotes, leg_fees, strict=True
        )
    )
    net_now = Decimal(str(net))
    entry.net_price = ((entry.net_price * entry.quantity + net_now * packages) / filled).quantize(
        Decimal("0.0001")
    )
    entry.quantity = filled
    entry.total_cost += max_loss * packages
    entry.fees += fees
    entry.status = TradeStatus.FILLED if done else TradeStatus.PARTIALLY_FILLED
    entry.save(update_fields=["net_price", "quantity", "total_cost", "fees", "status"])
    position.quantity += packages
    position.fees += fees
    position.save(update_fields=["quantity", "fees"])
    _announce_trade(entry, position.id, at, fill_ids={f.pk for f in created})
    return True


def working_entries_fill(*, at: MarketTime) -> int:
    """Work the resting entry remainders of ``at``'s session and clock
    (:func:`_remainder_try`): how many filled. Each under its account's lock, in its own
    transaction, like an execution."""
    if not at.is_open:
        return 0
    working = Trade.objects.filter(
        kind=TradeKind.OPEN,
        status=TradeStatus.PARTIALLY_FILLED,
        clock=at.clock,
        session=at.session,
    ).values_list("pk", "user_id")
    filled = 0
    for pk, user_id in working:
        with transaction.atomic():
            account = TradingAccount.objects.select_for_update().filter(user_id=user_id).first()
            entry = (
                Trade.objects.select_for_update()
                .filter(pk=pk, status=TradeStatus.PARTIALLY_FILLED)
                .first()
            )
            if account is not None and entry is not None and _remainder_try(entry, account, at):
                filled += 1
    return filled


# --------------------------------------------------------------------------- exits


def time_exit(session: dt.date) -> dt.datetime:
    """When the monitor closes every open position of ``session``:
    ``TRADING_TIME_EXIT_MINUTES_BEFORE_CLOSE`` before the close (15:45 ET, 12:45 on early
    closes)."""
    return calendar.session_close_utc(session) - dt.timedelta(
        minutes=settings.TRADING_TIME_EXIT_MINUTES_BEFORE_CLOSE
    )


def _stop_tightening(at: MarketTime) -> float:
    """The regime's stop tightening at ``at`` (1: unchanged; 0.8 in high volatility
    multiplies the stop distance), from the VIX level; 1 without a VIX level."""
    vix, _ = vix_level(at)
    regime = classify_regime(vix, regime_rule()) if vix is not None else None
    return float(regime["stop_loss_tightening"]) if regime else 1.0


@dataclass(frozen=True)
class ExitDecision:
    """Why the monitor closes a position now (or None), and the figures it decided on:
    the package's net mark (per share, what holding it is worth at the legs' marks), the
    P&L per share at that mark against the target and the (regime-tightened) stop, and
    what a market close would get now at the fill rule (None where it cannot fill)."""

    reason: str | None
    mark_value: float | None
    pnl: float | None
    target: float
    stop: float
    close_value: float | None = None


def _mark_value(position: StrategyPosition, legs: list[_OpenLeg], at: MarketTime) -> float | None:
    """The package's net mark per share from the latest fresh chain snapshot: the legs'
    marks (the mid of a two-sided quote, else the last), + for a long leg, − for a short
    one, times its contracts a package. None without a fresh snapshot or a leg's mark."""
    snapshot = chain_snapshot_at(position.symbol, at.now)
    if snapshot is None:
        return None
    if (at.now - snapshot.timestamp).total_seconds() > settings.TRADING_QUOTE_MAX_AGE_SECONDS:
        return None
    value = Decimal(0)
    for leg in legs:
        side = snapshot.calls if leg.contract.is_call else snapshot.puts
        row = next((r for r in side if Decimal(str(r["strike"])) == leg.contract.strike), None)
        mark = leg_mark(row)
        if mark is None:
            return None
        value += mark * leg.ratio if leg.order.action == "buy" else -mark * leg.ratio
    return float(value)


def exit_decision(
    position: StrategyPosition, at: MarketTime, *, tightening: float = 1.0
) -> ExitDecision:
    """The exit rule of one open position at ``at``: the time exit from
    :func:`time_exit` on (unless the trade holds to expiry); before it, the profit target
    and the stop loss on the P&L per share at the package's net mark (the spread's value
    as ``GET /trading/positions`` shows it; the exit itself then fills at market, at the
    fill rule). A trigger on the fill price instead would stop out every package whose
    round-trip spread cost exceeds its stop at the first minute. The stop distance is
    multiplied by the regime's ``tightening``; the stop wins a tie
    (``signals.engine.fills.first_exit``). Both thresholds are fractions of the capital
    at risk per package (``Trade.total_cost / quantity``)."""
    entry = position.trade
    at_risk = float(entry.total_cost) / entry.quantity / MULTIPLIER
    target = float(entry.profit_target) * at_risk
    stop = float(entry.stop_loss) * tightening * at_risk
    past_time_exit = at.now >= time_exit(at.session) and not entry.hold_to_expiry
    if past_time_exit or position.trade.session != at.session:
        return ExitDecision(str(ExitReason.TIME_EXIT), None, None, target, stop)
    legs = _open_legs(position)
    value = _mark_value(position, legs, at)
    if value is None:
        return ExitDecision(None, None, None, target, stop)
    close_value: float | None = None
    try:
        quotes, _ = _closing_quotes(position, legs, at)
        _, net = _fill_package(legs, quotes, pessimistic=settings.FILL_PESSIMISTIC)
        close_value = -net
    except OrderRejected:
        pass
    outcome = first_exit(
        float(entry.net_price), [value], target_profit=target, stop_loss=stop, time_exit_index=0
    )
    reasons = {"target": str(ExitReason.PROFIT_TARGET), "stop": str(ExitReason.STOP_LOSS)}
    return ExitDecision(
        reasons.get(outcome.reason), value, outcome.pnl, target, stop, close_value=close_value
    )


def _close_at_market(user: Any, position_id: str, *, reason: str, at: MarketTime) -> Trade:
    """An automatic exit decided at ``at``: cancel the position's resting limit close, if
    any, and close it at market with ``reason``, in one transaction, filled
    ``TRADING_FILL_LATENCY_MS`` after ``at`` (waited for before the transaction; the
    later exits of one pass find that moment passed)."""
    fill = _await_fill_moment(at)
    with transaction.atomic():
        for working in Trade.objects.select_for_update().filter(
            closes_id=position_id, status=TradeStatus.SUBMITTED
        ):
            _working_close_cancel(working)
        trade, _ = _position_close(
            user, position_id, CloseRequest(), at, fill, reason=reason, idempotency_key=None
        )
    return trade


@dataclass
class MonitorPass:
    """What one pass of the exit monitor did."""

    limits_filled: int = 0
    remainders_filled: int = 0  # resting entry remainders that filled (some or all)
    exits: dict[str, str] | None = None  # position id → exit reason
    deferred: dict[str, str] | None = None  # position id → why it could not close now
    marks_sent: int = 0  # position_update messages sent for changed marks
    state_changes: dict[Any, str] | None = None  # user id → the state a trigger moved to


def positions_monitor(*, at: MarketTime) -> MonitorPass:
    """One pass of the exit monitor at market time ``at``: fill the resting limit closes
    the quote reaches, then close every open position of ``at``'s clock whose exit rule
    (:func:`exit_decision`) fires, at market, recording the reason. A position whose
    close cannot fill now (no fresh two-sided quote) is retried on the next pass. Each
    close runs in its own transaction under its account's lock, so the monitor and the
    user closing at the same time close a position once."""
    result = MonitorPass(exits={}, deferred={})
    if not at.is_open:
        return result
    result.limits_filled = working_closes_fill(at=at)
    result.remainders_filled = working_entries_fill(at=at)
    tightening = _stop_tightening(at)
    positions = StrategyPosition.objects.filter(
        status=PositionStatus.OPEN, trade__clock=at.clock, trade__session__lte=at.session
    ).select_related("trade", "user")
    for position in positions:
        decision = exit_decision(position, at, tightening=tightening)
        if decision.reason is None:
            continue
        try:
            _close_at_market(position.user, position.id, reason=decision.reason, at=at)
        except (OrderRejected, Conflict, MarketClosed) as exc:
            assert result.deferred is not None
            result.deferred[position.id] = str(exc)
            continue
        assert result.exits is not None
        result.exits[position.id] = decision.reason
    result.marks_sent = marks_publish(at=at)
    result.state_changes = {**market_triggers(at=at), **daily_loss_triggers(at=at)}
    return result


# --------------------------------------------------------------------------- halts


@dataclass(frozen=True)
class HaltResult:
    account: TradingAccount
    closed: list[Trade]
    warnings: list[str]


def _cancel_event(transition: RiskEvent, trade: Trade, order: Order) -> RiskEvent:
    return RiskEvent(
        user_id=transition.user_id,
        kind=RiskEventKind.ORDER_CANCELLED,
        state_from=transition.state_from,
        state_to=transition.state_to,
        reason=transition.reason,
        trigger=transition.trigger,
        actor_id=transition.actor_id,
        trade_id=trade.id,
        order_id=order.id,
        details={"working": "entry_remainder" if trade.kind == TradeKind.OPEN else "close"},
        market_time=transition.market_time,
    )


def _working_orders_cancel(transition: RiskEvent, at: MarketTime) -> int:
    """Cancel the user's working orders a move to ``transition.state_to`` leaves no room
    for (REDUCING: the entry remainders, which would add to the book; HALTED: those and
    the resting closes), each order with an audit entry: how many orders."""
    events: list[RiskEvent] = []
    for entry in Trade.objects.select_for_update().filter(
        user_id=transition.user_id, kind=TradeKind.OPEN, status=TradeStatus.PARTIALLY_FILLED
    ):
        _remainder_cancel(entry, RemainderCancel.HALTED, at)
        events.extend(_cancel_event(transition, entry, o) for o in entry.orders.all())
    if transition.state_to == AccountState.HALTED:
        for working in Trade.objects.select_for_update().filter(
            user_id=transition.user_id, kind=TradeKind.CLOSE, status=TradeStatus.SUBMITTED
        ):
            _working_close_cancel(working)
            events.extend(_cancel_event(transition, working, o) for o in working.orders.all())
    RiskEvent.objects.bulk_create(events)
    return len(events)


def account_transition(
    account: TradingAccount,
    to_state: str,
    *,
    reason: str,
    trigger: str,
    at: MarketTime,
    actor: Any = None,
    details: dict[str, Any] | None = None,
) -> RiskEvent | None:
    """Move the locked ``account`` to ``to_state`` inside the caller's transaction: the
    audit entry (from, to, reason, the ``actor`` or the ``trigger``, the market time and
    the trigger's ``details``), the working orders the new state leaves no room for
    cancelled (:func:`_working_orders_cancel`, an entry each), and a ``risk_state``
    message to the owner's ``/ws/positions`` and to the admins' ``/ws/jobs`` once the
    transaction commits. None if the account is in that state already."""
    if account.state == to_state:
        return None
    event = RiskEvent.objects.create(
        user_id=account.user_id,
        kind=RiskEventKind.TRANSITION,
        state_from=account.state,
        state_to=to_state,
        reason=reason,
        trigger=trigger,
        actor=actor,
        details=details or {},
        market_time=at.now,
    )
    account.state = to_state
    account.state_reason = reason
    account.state_changed_at = event.created_at
    account.save(update_fields=["state", "state_reason", "state_changed_at"])
    cancelled = _working_orders_cancel(event, at) if to_state != AccountState.ACTIVE else 0
    _risk_event_announce(event, cancelled_orders=cancelled)
    return event


def _locked_account(user: Any) -> TradingAccount:
    opened = trading_account_ensure(user=user)
    return TradingAccount.objects.select_for_update().get(pk=opened.pk)


def account_halt(*, user: Any, reason: str, close_positions: bool, actor: Any = None) -> HaltResult:
    """``POST /risk/emergency``: put ``user``'s account in HALTED with ``reason``, by
    ``actor`` (the owner or an admin; :func:`account_transition`: its working orders are
    cancelled, each recorded). With ``close_positions``, every open position is then
    flattened as whole packages by reduce-only market closes (reason ``emergency``); a
    position that cannot close now (market closed, no fresh quote) stays open and is
    named in the warnings; the halt holds."""
    with transaction.atomic():
        account = _locked_account(user)
        account_transition(
            account,
            AccountState.HALTED,
            reason=reason,
            trigger=RiskTrigger.MANUAL,
            at=market_time(),
            actor=actor or user,
        )
    closed: list[Trade] = []
    warnings: list[str] = []
    if close_positions:
        at = market_time()
        open_ids = StrategyPosition.objects.filter(
            user=user, status=PositionStatus.OPEN
        ).values_list("pk", flat=True)
        for position_id in open_ids:
            try:
                trade = _close_at_market(user, position_id, reason=str(ExitReason.EMERGENCY), at=at)
                closed.append(trade)
            except (OrderRejected, Conflict, MarketClosed) as exc:
                warnings.append(f"{position_id} stays open: {exc}")
    account.refresh_from_db()
    return HaltResult(account=account, closed=closed, warnings=warnings)


def account_resume(*, user: Any, reason: str, actor: Any = None) -> TradingAccount:
    """``POST /risk/resume``: leave REDUCING or HALTED for ACTIVE, by ``actor`` (the owner
    or an admin), recorded in the audit log; ``Conflict`` if already active. Never
    automatic."""
    with transaction.atomic():
        account = _locked_account(user)
        if account.state == AccountState.ACTIVE:
            raise Conflict("The account is already active", details={"account_state": "ACTIVE"})
        account_transition(
            account,
            AccountState.ACTIVE,
            reason=reason,
            trigger=RiskTrigger.MANUAL,
            at=market_time(),
            actor=actor or user,
        )
    return account


def _risk_event_announce(event: RiskEvent, *, cancelled_orders: int = 0) -> None:
    """``risk_state`` to the owner's ``/ws/positions`` and the admins' ``/ws/jobs`` once
    the transaction commits."""
    message = risk_state_message(event, cancelled_orders=cancelled_orders)
    _announce(event.user_id, [message])
    transaction.on_commit(lambda: publish_later(JOBS_GROUP, [message]))


def _protections_after_close(position: StrategyPosition, at: MarketTime) -> None:
    """The protections a position closing whole at ``at`` may set off, each an audit
    entry whose ``lock_until`` pauses the user's new entries (``active_protection``) and a
    ``risk_state`` message: a stop-loss exit starts a cooldown of
    ``RISK_STOP_LOSS_COOLDOWN_MINUTES``; the ``RISK_LOSS_STREAK``-th losing position in a
    row (``losing_streak``) a pause of ``RISK_LOSS_STREAK_PAUSE_MINUTES``. The account's
    state does not change."""
    locks: list[tuple[str, int, str, dict[str, Any]]] = []
    cooldown = settings.RISK_STOP_LOSS_COOLDOWN_MINUTES
    if position.exit_reason == ExitReason.STOP_LOSS and cooldown > 0:
        locks.append(
            (
                RiskTrigger.STOP_LOSS_COOLDOWN,
                cooldown,
                f"stop-loss exit of {position.id}: no new entry for {cooldown} min",
                {"position_id": position.id, "realized_pnl": str(position.realized_pnl)},
            )
        )
    pause, streak_length = settings.RISK_LOSS_STREAK_PAUSE_MINUTES, settings.RISK_LOSS_STREAK
    if position.realized_pnl < 0 and pause > 0 and streak_length > 0:
        streak = losing_streak(user=position.user_id, at=at)
        if len(streak) >= streak_length:
            locks.append(
                (
                    RiskTrigger.LOSS_STREAK,
                    pause,
                    f"{len(streak)} losing positions in a row: no new entry for {pause} min",
                    {
                        "positions": [p.id for p in streak],
                        "realized_pnl": [str(p.realized_pnl) for p in streak],
                    },
                )
            )
    if not locks:
        return
    state = (
        TradingAccount.objects.filter(user_id=position.user_id)
        .values_list("state", flat=True)
        .first()
    ) or AccountState.ACTIVE
    for trigger, minutes, reason, details in locks:
        event = RiskEvent.objects.create(
            user_id=position.user_id,
            kind=RiskEventKind.PROTECTION,
            state_from=state,
            state_to=state,
            reason=reason,
            trigger=trigger,
            details=details,
            market_time=at.now,
            lock_until=at.now + dt.timedelta(minutes=minutes),
        )
        _risk_event_announce(event)


def market_triggers(*, at: MarketTime) -> dict[Any, str]:
    """The market's emergency rungs of the ladder (``trading.selectors.market_emergency``):
    while the VIX is at or above its emergency level, the 20-bar SPY_QQQ correlation has
    broken down or a ticker's minute volume spikes, every ACTIVE account moves to
    REDUCING (new entries refused, closes accepted), each under its lock in its own
    transaction, with the readings in the audit entry. Returns user id → REDUCING."""
    active = TradingAccount.objects.filter(state=AccountState.ACTIVE)
    if not active.exists():
        return {}  # nothing to move: the readings (three correlations, volumes) wait
    reading = market_emergency(at=at)
    if not reading.fired:
        return {}
    moved: dict[Any, str] = {}
    for pk in active.values_list("pk", flat=True):
        with transaction.atomic():
            account = (
                TradingAccount.objects.select_for_update()
                .filter(pk=pk, state=AccountState.ACTIVE)
                .first()
            )
            if account is None:
                continue
            account_transition(
                account,
                AccountState.REDUCING,
                reason="market emergency: " + ", ".join(reading.fired),
                trigger=reading.fired[0],
                at=at,
                details={"fired": reading.fired, **reading.details()},
            )
            moved[account.user_id] = AccountState.REDUCING
    return moved


def daily_loss_triggers(*, at: MarketTime) -> dict[Any, str]:
    """The daily-loss rungs of the ladder, checked for every user trading in ``at``'s
    session, whose P&L point of the minute is stored on the way (``PnlPoint``): a loss (realized + unrealized, ``session_pnl``) of
    ``RISK_DAILY_LOSS_REDUCING_SHARE`` of the user's ``daily_loss_limit`` or more moves an
    ACTIVE account to REDUCING, the whole limit moves an ACTIVE or REDUCING one to HALTED.
    A gain never triggers, and no trigger moves an account down the ladder. Each check
    under the account's lock, in its own transaction. Returns user id → the new state."""
    moved: dict[Any, str] = {}
    share = Decimal(str(settings.RISK_DAILY_LOSS_REDUCING_SHARE))
    for user_id in users_trading_in_session(at=at):
        with transaction.atomic():
            account = TradingAccount.objects.select_for_update().filter(user_id=user_id).first()
            if account is None:
                continue
            day = session_pnl(user=user_id, at=at)
            # The intraday P&L curve GET /risk/metrics draws its drawdown from.
            PnlPoint.objects.update_or_create(
                user_id=user_id,
                clock=at.clock,
                market_time=at.now,
                defaults={
                    "session": at.session,
                    "realized": day.realized,
                    "unrealized": day.unrealized,
                },
            )
            if account.state == AccountState.HALTED:
                continue
            limit = trading_settings(user_id=user_id).daily_loss_limit
            loss = -day.total
            if loss >= limit:
                to_state, trigger = AccountState.HALTED, RiskTrigger.DAILY_LOSS_LIMIT
            elif loss >= share * limit:
                to_state, trigger = AccountState.REDUCING, RiskTrigger.DAILY_LOSS_WARNING
            else:
                continue
            if STATE_SEVERITY[to_state] <= STATE_SEVERITY[AccountState(account.state)]:
                continue
            account_transition(
                account,
                to_state,
                reason=f"daily loss {loss:.2f} of the {limit:.2f} limit",
                trigger=trigger,
                at=at,
                details={
                    "daily_pnl": str(day.total),
                    "realized_pnl": str(day.realized),
                    "unrealized_pnl": str(day.unrealized),
                    "unmarked_positions": day.unmarked,
                    "daily_loss_limit": str(limit),
                    "reducing_share": str(share),
                },
            )
            moved[user_id] = to_state
    return moved


# --------------------------------------------------------------------------- settlement


def session_settle(*, at: MarketTime) -> dict[str, Any]:
    """At the close of ``at``'s session (the producer's ``market_close``): the positions of
    that session and clock still open are settled by the option-lifecycle job
    (``portfolios.settlement.options_settle`` at the session's close, on the paper
    portfolios that hold them). SPY, QQQ and IWM options are American and physically
    settled: a leg in the money by at least $0.01 at the official close is exercised
    (long) or assigned (short) into 100 shares a contract at the strike, which stay in the
    paper portfolio; the rest expire worthless. Each strategy position closes with the
    reason ``settlement``, its realized P&L the legs' intrinsic values against their fill
    prices less its remaining share of the entry fees, and the outcome of each leg in
    ``settlement``. Resting limit closes expire. Idempotent: a settled position is closed.
    Returns ``{"settled": [position ids], "warnings": [...]}``."""
    close_time = calendar.session_close_utc(at.session)
    for entry in Trade.objects.filter(
        status=TradeStatus.PARTIALLY_FILLED, clock=at.clock, session=at.session
    ):
        with transaction.atomic():
            _remainder_cancel(
                entry, RemainderCancel.SESSION_CLOSE, at, status=str(OrderStatus.EXPIRED)
            )
    positions = list(
        StrategyPosition.objects.filter(
            status=PositionStatus.OPEN, trade__clock=at.clock, trade__session=at.session
        ).select_related("trade")
    )
    if not positions:
        return {"settled": [], "warnings": []}
    for working in Trade.objects.filter(
        closes__in=positions, status=TradeStatus.SUBMITTED
    ).select_related("user"):
        with transaction.atomic():
            _working_close_cancel(working, status=str(TradeStatus.EXPIRED))
    portfolio_ids = list(
        TradingAccount.objects.filter(user_id__in={p.user_id for p in positions}).values_list(
            "paper_portfolio_id", flat=True
        )
    )
    book = options_settle(now=close_time, portfolio_ids=portfolio_ids)
    warnings: list[str] = list(book["warnings"])
    closes = session_opens_closes(pairs={(p.symbol, at.session) for p in positions})
    settled: list[str] = []
    for position in positions:
        bar = closes.get((position.symbol, at.session))
        if bar is None:
            warnings.append(f"{position.id}: no {position.symbol} close for {at.session} yet")
            continue
        with transaction.atomic():
            locked = _locked_position(position.user_id, position.id)
            if locked.status != PositionStatus.OPEN:
                continue
            _position_settle(locked, price=bar[1], at=close_time)
        settled.append(position.id)
    return {"settled": settled, "warnings": warnings}


def _position_settle(position: StrategyPosition, *, price: Decimal, at: dt.datetime) -> None:
    gross = Decimal("0")
    legs: list[dict[str, Any]] = []
    for leg in _open_legs(position):
        contract, opened = leg.contract, leg.order
        intrinsic = max(
            Decimal(0), price - contract.strike if contract.is_call else contract.strike - price
        )
        contracts = leg.ratio * position.quantity
        sign = 1 if opened.action == "buy" else -1
        assert opened.average_fill_price is not None
        gross += sign * (intrinsic - opened.average_fill_price) * contracts * MULTIPLIER
        exercised = intrinsic >= CENT
        shares = contracts * MULTIPLIER * (1 if contract.is_call else -1) * sign
        legs.append(
            {
                "symbol": opened.symbol,
                "contracts": sign * contracts,
                "intrinsic": str(intrinsic),
                "outcome": ("exercised" if sign > 0 else "assigned")
                if exercised
                else "expired_worthless",
                "shares": shares if exercised else 0,
            }
        )
    entry_fees = _entry_fee_share(position, position.quantity)
    position.realized_pnl += (gross - entry_fees).quantize(CENT)
    position.settlement = {"price": str(price), "legs": legs}
    position.quantity = 0
    position.status = PositionStatus.CLOSED
    position.closed_at = at
    position.exit_reason = ExitReason.SETTLEMENT
    position.save()


def replay_loop_begin(*, at: MarketTime) -> None:
    """A repeating replay closed its session and begins it again: from now on the
    session's P&L (the daily loss limit) and its report count the new loop's trades only
    (``trading.selectors.loop_start``). Kept for two days, past any session."""
    cache.set(f"trading:loop-start:{at.clock}:{at.session}", timezone.now(), timeout=172_800)
