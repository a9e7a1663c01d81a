from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async

from marketdata.clock import market_time
from marketdata.messages import market_group, market_update
from marketdata.selectors import intraday_snapshot
from marketdata.tickers import ZERO_DTE_TICKERS
from sigmasight.ws import CLOSE_NOT_FOUND, AuthenticatedConsumer

__all__ = ["MarketConsumer", "market_group"]


def _latest(symbol: str) -> dict[str, Any]:
    return market_update(intraday_snapshot(symbol, market_time()))


class MarketConsumer(AuthenticatedConsumer):
    """``/ws/market/{symbol}`` (SPY, QQQ, IWM): ``market_update`` messages for one ticker,
    the latest one first, then one per producer tick; another symbol is closed with 4404."""

    async def groups_for(self, user: Any) -> list[str]:
        symbol = str(self.scope["url_route"]["kwargs"]["symbol"]).upper()
        if symbol not in ZERO_DTE_TICKERS:
            raise self.SocketRefused(CLOSE_NOT_FOUND, "Unsupported symbol")
        self.symbol = symbol
        return [market_group(symbol)]

    async def snapshot(self, user: Any) -> dict[str, Any] | None:
        return await database_sync_to_async(_latest)(self.symbol)
