from __future__ import annotations

import re
from typing import Any

from sigmasight.ws import CLOSE_NOT_FOUND, AuthenticatedConsumer, group_name

SYMBOL_PATTERN = re.compile(r"^[A-Z0-9^.\-_]{1,24}$")


def market_group(symbol: str) -> str:
    return group_name("market", symbol.upper())


class MarketConsumer(AuthenticatedConsumer):
    """``/ws/market/{symbol}``: ``market_update`` messages for one symbol."""

    async def groups_for(self, user: Any) -> list[str]:
        symbol = str(self.scope["url_route"]["kwargs"]["symbol"]).upper()
        if not SYMBOL_PATTERN.match(symbol):
            raise self.SocketRefused(CLOSE_NOT_FOUND, "Unknown symbol")
        return [market_group(symbol)]
