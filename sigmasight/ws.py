"""The base consumer and its close codes.

Authentication happens before the consumer, in a middleware that the wiring
(``sigmasight/asgi.py``) puts in front of the router and that sets ``scope["user"]``
and ``scope["auth_source"]``. This module is the shared layer and imports no app.

A socket without a valid token is accepted and then closed at once with 4401: closing
before accepting becomes an HTTP 403 in daphne and the client never sees the code.
"""

from __future__ import annotations

import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from sigmasight.api.throttling import hit

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_RATE_LIMITED = 4429


class AuthenticatedConsumer(AsyncJsonWebsocketConsumer):
    """Accepts, authenticates, joins groups, forwards group events; computes nothing.

    Subclasses implement :meth:`groups_for` (raising :class:`SocketRefused` to close
    with a code) and may override :meth:`snapshot` to send a first message.
    """

    required_permission = "viewer"

    class SocketRefused(Exception):
        def __init__(self, code: int, reason: str):
            self.code, self.reason = code, reason
            super().__init__(reason)

    async def connect(self) -> None:
        subprotocol = "bearer" if self.scope.get("auth_source") == "subprotocol" else None
        await self.accept(subprotocol=subprotocol)
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if not user.has_role(self.required_permission):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        try:
            self.joined = await self.groups_for(user)
        except self.SocketRefused as refused:
            await self.close(code=refused.code)
            return
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.send_json({"type": "connected", "groups": self.joined})
        first = await self.snapshot(user)
        if first is not None:
            await self.send_json(first)

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def groups_for(self, user: Any) -> list[str]:
        raise NotImplementedError

    async def snapshot(self, user: Any) -> dict[str, Any] | None:
        return None

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Clients may only ping; inbound messages count against the WebSocket limit."""
        user = self.scope["user"]
        state = await database_sync_to_async(hit)("websocket", f"user:{user.pk}")
        if state.exceeded:
            await self.close(code=CLOSE_RATE_LIMITED)
            return
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self.send_json(
                {
                    "type": "error",
                    "error": {
                        "code": "VALIDATION_ERROR",
                        "message": 'Only {"type": "ping"} is accepted',
                    },
                }
            )

    async def broadcast(self, event: dict[str, Any]) -> None:
        """Group events of type ``broadcast`` carry the client message in ``message``."""
        await self.send_json(event["message"])


def group_name(*parts: object) -> str:
    """A channel-layer group name from parts (letters, digits, hyphens, dots only)."""
    cleaned = [str(p).replace("^", "idx-").replace("_", "-") for p in parts]
    return ".".join(cleaned)[:99]
