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
from trading.models import Fill, Order

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
