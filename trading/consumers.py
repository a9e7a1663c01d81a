from __future__ import annotations

from typing import Any

from sigmasight.ws import AuthenticatedConsumer, group_name


def positions_group(user_id: object) -> str:
    return group_name("positions", user_id)


class PositionsConsumer(AuthenticatedConsumer):
    """``/ws/positions``: ``position_update`` messages for the user's own positions."""

    async def groups_for(self, user: Any) -> list[str]:
        return [positions_group(user.pk)]
