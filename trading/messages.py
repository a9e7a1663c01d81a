"""The live messages of ``/ws/positions``: the per-user group and the envelopes
(``position_update`` with the spec's keys, ``order_update``, ``fill`` and ``pin_risk``),
shared by the services that publish them and the consumer. A user's group is theirs alone, so no user
receives another's messages."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from rest_framework.utils.encoders import JSONEncoder

from sigmasight.timefmt import utc_stamp
from sigmasight.ws import group_name
from trading.models import Fill, Order, RiskEvent

#: The keys of a position body that a ``position_update`` carries: the spec's four, then
#: added ones.
POSITION_UPDATE_KEYS = (
    "position_id",
    "unrealized_pnl",
    "unrealized_pnl_percent",
    "current_value",
    "symbol",
    "strategy",
    "status",
    "quantity",
    "total_cost",
    "realized_pnl",
    "close_value",
    "exit_reason",
    "mark_time",
    "pin_risk",
    "pin_risk_strikes",
    "warnings",
)


def positions_group(user_id: object) -> str:
    return group_name("positions", user_id)


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    """JSON-ready: Decimals as numbers, datetimes and dates as ISO strings."""
    loaded: dict[str, Any] = json.loads(json.dumps(data, cls=JSONEncoder))
    return loaded


def position_update(body: dict[str, Any]) -> dict[str, Any]:
    """``{"type": "position_update", "data": {position_id, unrealized_pnl,
    unrealized_pnl_percent, current_value, ...}}`` from a ``GET /trading/positions`` body."""
    return {
        "type": "position_update",
        "data": _plain({key: body[key] for key in POSITION_UPDATE_KEYS}),
    }


def order_update(order: Order) -> dict[str, Any]:
    return {
        "type": "order_update",
        "data": _plain(
            {
                "order_id": order.id,
                "trade_id": order.trade_id,
                "symbol": order.symbol,
                "action": order.action,
                "quantity": order.quantity,
                "order_type": order.order_type,
                "status": order.status,
                "filled_quantity": order.filled_quantity,
                "average_fill_price": order.average_fill_price,
            }
        ),
    }


def fill_message(fill: Fill, order: Order) -> dict[str, Any]:
    return {
        "type": "fill",
        "data": _plain(
            {
                "order_id": order.id,
                "trade_id": order.trade_id,
                "symbol": order.symbol,
                "action": order.action,
                "quantity": fill.quantity,
                "price": fill.price,
                "bid": fill.bid,
                "ask": fill.ask,
                "fees": fill.commission + fill.regulatory_fees,
                "filled_at": utc_stamp(fill.filled_at),
            }
        ),
    }


def pin_risk_message(body: dict[str, Any]) -> dict[str, Any]:
    """``{"type": "pin_risk", "data": {position_id, symbol, strategy, spot, strikes,
    distance, time}}`` from a ``GET /trading/positions`` body whose flag is on: the short
    strikes within ``distance`` (``TRADING_PIN_RISK_DISTANCE``, a fraction of spot) of
    ``spot``, at ``time``, the time of the chain quote they were found in."""
    return {
        "type": "pin_risk",
        "data": _plain(
            {
                "position_id": body["position_id"],
                "symbol": body["symbol"],
                "strategy": body["strategy"],
                "spot": body["spot"],
                "strikes": body["pin_risk_strikes"],
                "distance": settings.TRADING_PIN_RISK_DISTANCE,
                "time": body["mark_time"],
            }
        ),
    }


def risk_event_body(event: RiskEvent) -> dict[str, Any]:
    """One audit entry as ``GET /risk/audit`` lists it and ``risk_state`` sends it."""
    return {
        "event_id": event.id,
        "kind": event.kind,
        "state_from": event.state_from,
        "state_to": event.state_to,
        "reason": event.reason,
        "trigger": event.trigger,
        "actor_id": str(event.actor_id) if event.actor_id else None,
        "trade_id": event.trade_id or None,
        "order_id": event.order_id or None,
        "details": event.details,
        "market_time": utc_stamp(event.market_time) if event.market_time else None,
        "lock_until": utc_stamp(event.lock_until) if event.lock_until else None,
        "created_at": utc_stamp(event.created_at),
    }


def risk_state_message(event: RiskEvent, *, cancelled_orders: int = 0) -> dict[str, Any]:
    """``{"type": "risk_state", "data": {account_state, emergency_status, previous_state,
    reason, trigger, ...}}``: an account's transition, to its owner and to admins."""
    return {
        "type": "risk_state",
        "data": _plain(
            {
                "user_id": str(event.user_id),
                "account_state": event.state_to,
                "emergency_status": event.state_to != "ACTIVE",
                "previous_state": event.state_from,
                "cancelled_orders": cancelled_orders,
                **risk_event_body(event),
            }
        ),
    }
