"""``/ws/positions`` over the configured channel layer (Redis under make test): the owner
gets the ``order_update``, ``fill`` and ``position_update`` messages of their fills and
mark changes; another user's socket gets nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.db import database_sync_to_async

from accounts.tokens import issue_for_new_session
from marketdata.clock import use_clock
from trading import services
from trading.tests.helpers import set_quotes
from trading.tests.sockets import positions_socket, receive_messages

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_owner_alone_gets_order_fill_and_position_messages(
    bull_call: Any, make_user: Any
) -> None:
    signal, clock, low, high = bull_call
    owner, other = make_user(role="trader"), make_user(role="trader")

    def execute() -> Any:
        with use_clock(clock):
            trade, _ = services.trade_execute(
                user=owner,
                request=services.ExecuteRequest(signal_id=signal.id, position_size=1000),
            )
        return trade

    def new_marks() -> Any:
        clock.minute += 1
        set_quotes(clock, {("call", low): ("2.60", "2.70"), ("call", high): ("0.80", "0.86")})
        return services.marks_publish(at=clock.read())

    tokens = [issue_for_new_session(u).access_token for u in (owner, other)]

    async def scenario() -> None:
        mine, theirs = await positions_socket(tokens[0]), await positions_socket(tokens[1])
        trade = await database_sync_to_async(execute)()
        received = await receive_messages(mine, 5)
        assert await mine.receive_nothing(0.5)
        kinds = [m["type"] for m in received]
        assert kinds == ["order_update", "fill", "order_update", "fill", "position_update"]
        orders = [m["data"] for m in received if m["type"] == "order_update"]
        assert {o["trade_id"] for o in orders} == {trade.id}
        assert [o["status"] for o in orders] == ["filled", "filled"]
        fills = [m["data"] for m in received if m["type"] == "fill"]
        assert [f["price"] for f in fills] == [2.07, 0.52] and fills[0]["fees"] == 4.17
        update = received[-1]["data"]
        assert set(update) >= {
            "position_id",
            "unrealized_pnl",
            "unrealized_pnl_percent",
            "current_value",
        }
        assert update["total_cost"] == 930
        # A new chain minute moves the mark: one update (as GET /trading/positions marks it).
        assert await database_sync_to_async(new_marks)() == 1
        [moved] = await receive_messages(mine, 1)
        assert moved["type"] == "position_update"
        assert moved["data"]["unrealized_pnl"] == 162 and moved["data"]["current_value"] == 1092
        # The same mark again sends nothing.
        assert await database_sync_to_async(services.marks_publish)(at=clock.read()) == 0
        assert await mine.receive_nothing(0.5)
        assert await theirs.receive_nothing(0.5)
        await mine.disconnect()
        await theirs.disconnect()

    asyncio.run(scenario())
