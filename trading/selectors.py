"""Reads of the trading app for its views and for other apps."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings

from trading.brokers import PAPER, live_broker_name
from trading.engine.fees import FeeSchedule
from trading.models import StrategyPosition, Trade, TradingConfig

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


def trade_body(trade: Trade) -> dict[str, Any]:
    """The execute answer: the spec's keys (trade_id, status, orders) and the fill's
    figures (added). Two queries: the trade's orders with their fills, its position."""
    orders = list(trade.orders.prefetch_related("fills").order_by("leg"))
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
                "fees": sum((f.commission + f.regulatory_fees for f in o.fills.all()), Decimal(0)),
            }
            for o in orders
        ],
        "signal_id": trade.signal_id,
        "symbol": trade.symbol,
        "strategy": trade.strategy,
        "quantity": trade.quantity,
        "net_price": trade.net_price,
        "total_cost": trade.total_cost,
        "fees": trade.fees,
        "position_id": position,
        "executed_at": trade.executed_at,
        "clock": trade.clock,
    }
