from __future__ import annotations

from typing import Any

from sigmasight.ws import AuthenticatedConsumer
from signals.messages import SIGNALS_GROUP


class SignalsConsumer(AuthenticatedConsumer):
    """``/ws/signals``: every new 0DTE signal, as ``{"type": "new_signal", "data": ...}``."""

    async def groups_for(self, user: Any) -> list[str]:
        return [SIGNALS_GROUP]
