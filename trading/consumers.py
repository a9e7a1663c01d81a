from __future__ import annotations

from typing import Any

from sigmasight.ws import AuthenticatedConsumer
from trading.messages import positions_group


class PositionsConsumer(AuthenticatedConsumer):
    """``/ws/positions``: the user's own ``position_update``, ``order_update`` and ``fill``
    messages (``trading.messages``)."""

    async def groups_for(self, user: Any) -> list[str]:
        return [positions_group(user.pk)]
