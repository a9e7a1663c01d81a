"""The live messages of the market (``/ws/market/{symbol}``): their group and envelope,
shared by the producer that sends them and the consumer that sends the first one."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sigmasight.timefmt import utc_stamp
from sigmasight.ws import group_name


def market_group(symbol: str) -> str:
    return group_name("market", symbol.upper())


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def market_update(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The spec's ``market_update`` envelope of one ``selectors.intraday_snapshot``:
    ``price`` and ``change`` in dollars, ``change_percent`` in percent, ``timestamp`` the end
    of the minute the price is from (UTC), plus the clock's ``market_status`` and ``clock``."""
    stamp = snapshot["last_updated"]
    return {
        "type": "market_update",
        "symbol": snapshot["symbol"],
        "data": {
            "price": _number(snapshot["price"]),
            "change": _number(snapshot["change"]),
            "change_percent": _number(snapshot["change_percent"]),
            "volume": snapshot["volume"],
            "bid": _number(snapshot["bid"]),
            "ask": _number(snapshot["ask"]),
            "timestamp": utc_stamp(stamp) if stamp else None,
            "market_status": snapshot["market_status"],
            "clock": snapshot["clock"],
        },
    }
