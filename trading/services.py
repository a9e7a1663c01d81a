"""Writes of the trading app."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from marketdata.clock import MarketTime, market_time
from marketdata.occ import OptionContract
from marketdata.selectors import chain_snapshot_at
from portfolios import services as portfolio_services
from portfolios.models import TransactionKind
from portfolios.selectors import cash_balance, portfolio_for_user
from sigmasight.errors import (
    Conflict,
    EmergencyHaltActive,
    InsufficientFunds,
    MarketClosed,
    OrderRejected,
    PositionLimitExceeded,
    SignalExpired,
    ValidationFailed,
)
from signals.engine.fills import package_fill
from signals.engine.payoff import Leg, risk_metrics
from signals.selectors import signal_get
from trading.brokers import broker_for
from trading.engine.fees import CENT, fill_fees
from trading.models import (
    AccountState,
    Fill,
    Order,
    OrderStatus,
    PositionStatus,
    StrategyPosition,
    Trade,
    TradeStatus,
    TradingAccount,
    TradingConfig,
)
from trading.selectors import (
    TradingSettings,
    default_trading_settings,
    fee_schedule,
    trading_settings,
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

    def fingerprint(self) -> str:
        """What a retry with the same idempotency key must repeat."""
        text = "|".join(
            str(v) for v in (self.signal_id, self.position_size, self.profit_target, self.stop_loss)
        )
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


@dataclass(frozen=True)
class _LegQuote:
    bid: Decimal
    ask: Decimal


def _leg_quotes(signal: Any, at: MarketTime) -> tuple[list[_LegQuote], dt.datetime]:
    """The current quotes of the signal's legs: the latest stored chain snapshot, which
    must be fresh (``TRADING_QUOTE_MAX_AGE_SECONDS`` of market time) and quote every leg
    two-sided (bid > 0 for a sell, ask > bid). Otherwise the whole package is rejected."""
    snapshot = chain_snapshot_at(signal.symbol, at.now)
    if snapshot is None or snapshot.expiration != signal.expiration:
        raise OrderRejected(
            "No chain quote for the signal's expiry",
            details={"field": "signal_id", "reason": "no_quote"},
        )
    age = (at.now - snapshot.timestamp).total_seconds()
    if age > settings.TRADING_QUOTE_MAX_AGE_SECONDS:
        raise OrderRejected(
            f"The chain quote is {age:.0f} s old",
            details={
                "field": "signal_id",
                "reason": "stale_quote",
                "quote_time": snapshot.timestamp.isoformat(),
            },
        )
    quotes: list[_LegQuote] = []
    for index, leg in enumerate(signal.legs):
        side = snapshot.calls if leg["option_type"] == "call" else snapshot.puts
        row = next((r for r in side if abs(float(r["strike"]) - float(leg["strike"])) < 1e-9), None)
        bid = None if row is None or row.get("bid") is None else Decimal(str(row["bid"]))
        ask = None if row is None or row.get("ask") is None else Decimal(str(row["ask"]))
        reason = None
        if bid is None or ask is None:
            reason = "missing_quote"
        elif ask < bid:
            reason = "crossed_quote"
        elif ask == bid:
            reason = "locked_quote"
        elif leg["action"] == "sell" and bid <= 0:
            reason = "one_sided_quote"
        if reason is not None:
            raise OrderRejected(
                f"Leg {index} ({leg['action']} {leg['option_type']} {leg['strike']}) cannot fill",
                details={"field": "signal_id", "reason": reason, "leg": index},
            )
        assert bid is not None and ask is not None
        quotes.append(_LegQuote(bid=bid, ask=ask))
    return quotes, snapshot.timestamp


def _occ(signal: Any, leg: dict[str, Any]) -> str:
    contract = OptionContract(
        underlying=signal.symbol,
        expiry=signal.expiration,
        right="C" if leg["option_type"] == "call" else "P",
        strike=Decimal(str(leg["strike"])),
    )
    return contract.occ_symbol


def _open_positions(user: Any) -> int:
    return StrategyPosition.objects.filter(user=user, status=PositionStatus.OPEN).count()


def trade_execute(
    *, user: Any, request: ExecuteRequest, idempotency_key: str | None = None
) -> tuple[Trade, bool]:
    """Execute a signal as one package on the paper broker: returns (trade, created).

    In one transaction under the account's row lock (a user's executions serialize):
    an idempotency key seen before returns its trade (``Conflict`` if the request
    differs); then the account must be ACTIVE, the market open, the signal active on
    this clock and session and before its expiry, the open positions below
    ``max_positions``; every leg needs a fresh two-sided quote; the quantity is whole
    packages, floor(position_size / max loss per package at the fill prices); the paper
    cash must cover the capital at risk and the fees. The legs fill together at the fill
    rule (``signals.engine.fills``), each fill books its fees (``trading.engine.fees``),
    and each leg becomes a Position of the paper portfolio with its cash flow."""
    config = trading_settings(user_id=user.pk)
    fingerprint = request.fingerprint()
    with transaction.atomic():
        # Inside the transaction: a refused first execution opens no account either.
        account = trading_account_ensure(user=user)
        account = TradingAccount.objects.select_for_update().get(pk=account.pk)
        if idempotency_key is not None:
            earlier = Trade.objects.filter(user=user, idempotency_key=idempotency_key).first()
            if earlier is not None:
                if earlier.request_fingerprint != fingerprint:
                    raise Conflict(
                        "This Idempotency-Key was used for a different request",
                        details={"idempotency_key": idempotency_key, "trade_id": earlier.id},
                    )
                return earlier, False
        if account.state != AccountState.ACTIVE:
            raise EmergencyHaltActive(
                details={"field": "signal_id", "account_state": account.state}
            )
        at = market_time()
        if not at.is_open:
            raise MarketClosed(
                details={"field": "signal_id", "market_status": at.status, "clock": at.clock}
            )
        signal = signal_get(request.signal_id)
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
                    "expires_at": signal.expires_at.isoformat(),
                }
            )
        open_count = _open_positions(user)
        if open_count >= config.max_positions:
            raise PositionLimitExceeded(
                details={
                    "field": "signal_id",
                    "open_positions": open_count,
                    "max_positions": config.max_positions,
                }
            )
        quotes, quote_time = _leg_quotes(signal, at)
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
        quantity = int(position_size // max_loss)
        if quantity < 1:
            raise ValidationFailed(
                {
                    "position_size": [
                        f"{position_size} does not cover one package (max loss {max_loss})"
                    ]
                }
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
        portfolio = portfolio_for_user(user=user, portfolio_id=account.paper_portfolio_id)
        cash = cash_balance(portfolio=portfolio)
        if cash < total_cost + fees:
            raise InsufficientFunds(
                details={
                    "field": "position_size",
                    "required": str(total_cost + fees),
                    "available": str(cash),
                    "quantity": quantity,
                }
            )
        trade = Trade.objects.create(
            user=user,
            signal_id=signal.id,
            symbol=signal.symbol,
            strategy=signal.strategy,
            clock=at.clock,
            session=at.session,
            quantity=quantity,
            status=TradeStatus.FILLED,
            net_price=Decimal(str(net)).quantize(Decimal("0.0001")),
            total_cost=total_cost,
            fees=fees,
            profit_target=request.profit_target or config.profit_target,
            stop_loss=request.stop_loss or config.stop_loss,
            idempotency_key=idempotency_key,
            request_fingerprint=fingerprint,
            executed_at=at.now,
        )
        for index, (leg, raw, price, quote, leg_fees) in enumerate(
            zip(legs, signal.legs, prices, quotes, fills, strict=True)
        ):
            contracts = quantity * leg.quantity
            fill_price = Decimal(str(price)).quantize(Decimal("0.0001"))
            symbol = _occ(signal, raw)
            order = Order.objects.create(
                trade=trade,
                leg=index,
                symbol=symbol,
                action=leg.action,
                quantity=contracts,
                limit_price=fill_price,
                status=OrderStatus.FILLED,
                filled_quantity=contracts,
                average_fill_price=fill_price,
            )
            Fill.objects.create(
                order=order,
                quantity=contracts,
                price=fill_price,
                bid=quote.bid,
                ask=quote.ask,
                quote_time=quote_time,
                commission=leg_fees.commission,
                regulatory_fees=leg_fees.regulatory,
                filled_at=at.now,
            )
            signed = Decimal(contracts if leg.action == "buy" else -contracts)
            portfolio_services.position_open(
                portfolio=portfolio,
                symbol=symbol,
                quantity=signed,
                entry_price=fill_price,
                entry_date=at.session,
                tags=["0dte", trade.id],
                fees=leg_fees.total,
                today=at.session,
            )
        StrategyPosition.objects.create(
            user=user,
            trade=trade,
            symbol=signal.symbol,
            strategy=signal.strategy,
            quantity=quantity,
            opened_at=at.now,
        )
    return trade, True
