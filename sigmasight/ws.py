"""WebSocket authentication and the base consumer.

The access token comes from the cookie, a ``?token=`` query parameter, or a
``bearer, <token>`` subprotocol. A socket without a valid token is accepted and then
closed at once with 4401: closing before accepting becomes an HTTP 403 in daphne and
the client never sees the code. A cookie-only socket must come from an allowed origin.
"""

from __future__ import annotations

import logging
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlparse

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http.request import validate_host
from rest_framework import exceptions

from sigmasight.api.throttling import hit

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_RATE_LIMITED = 4429


def _headers(scope: dict[str, Any]) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def token_from_scope(scope: dict[str, Any]) -> tuple[str | None, str]:
    """The raw token and where it came from: "subprotocol", "query", "cookie" or ""."""
    protocols = scope.get("subprotocols") or []
    if len(protocols) >= 2 and protocols[0].lower() == "bearer":
        return protocols[1], "subprotocol"
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    if query.get("token"):
        return query["token"][0], "query"
    cookie_header = _headers(scope).get("cookie", "")
    if cookie_header:
        jar = SimpleCookie()
        try:
            jar.load(cookie_header)
        except Exception:  # noqa: BLE001 - a malformed cookie is no credential
            return None, ""
        if settings.AUTH_COOKIE_NAME in jar:
            return jar[settings.AUTH_COOKIE_NAME].value, "cookie"
    return None, ""


def origin_allowed(scope: dict[str, Any]) -> bool:
    origin = _headers(scope).get("origin")
    if not origin:
        return False
    host = urlparse(origin).hostname or ""
    return validate_host(host, settings.ALLOWED_HOSTS)


@database_sync_to_async
def _user_for_token(raw: str) -> Any:
    from accounts.authentication import user_for_access_token

    try:
        user, _ = user_for_access_token(raw)
    except exceptions.APIException:
        return AnonymousUser()
    return user


class JWTAuthMiddleware:
    """Puts ``scope["user"]`` from the access token (AnonymousUser when absent or bad)."""

    def __init__(self, inner: Any):
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        scope = dict(scope)
        raw, source = token_from_scope(scope)
        user: Any = AnonymousUser()
        if raw and (source != "cookie" or origin_allowed(scope)):
            user = await _user_for_token(raw)
        scope["user"] = user
        scope["auth_source"] = source
        return await self.inner(scope, receive, send)


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
