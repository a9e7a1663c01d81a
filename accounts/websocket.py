"""WebSocket authentication: who a socket is, and which login session it belongs to.

The access token comes from the cookie, a ``?token=`` query parameter, or a
``bearer, <token>`` subprotocol (any case). A cookie-only socket must come from an
allowed origin: a cookie is sent cross-site on a WebSocket handshake, and no CORS check
stops a hostile page from opening one.

:class:`JWTAuthMiddleware` fills the scope keys that
:class:`sigmasight.ws.AuthenticatedConsumer` reads (``sigmasight`` imports no app, so
this is how the two meet; ``sigmasight/asgi.py`` wires them):

- ``user``: the user, or ``AnonymousUser`` when the token is absent or bad;
- ``auth_source``: where the token came from ("subprotocol", "query", "cookie" or "");
- ``auth_session_id``: the login session (the token's ``sid``), whose group the socket
  joins so that logging out closes it;
- ``auth_session_revoked``: an async check, run once the socket has joined that group,
  for a logout that happened between the handshake and the join.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlparse

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http.request import validate_host
from rest_framework import exceptions

from accounts.authentication import BEARER_SCHEME, user_for_access_token
from accounts.tokens import SESSION_CLAIM, is_revoked


def _headers(scope: dict[str, Any]) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def token_from_scope(scope: dict[str, Any]) -> tuple[str | None, str]:
    """The raw token and where it came from: "subprotocol", "query", "cookie" or ""."""
    protocols = scope.get("subprotocols") or []
    if len(protocols) >= 2 and protocols[0].lower() == BEARER_SCHEME:
        return protocols[1], "subprotocol"
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    if query.get("token"):
        return query["token"][0], "query"
    cookie_header = _headers(scope).get("cookie", "")
    if cookie_header:
        jar: SimpleCookie = SimpleCookie()
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
def _authenticate(raw: str) -> tuple[Any, str | None]:
    """The token's user and login session id, or ``AnonymousUser`` and ``None``."""
    try:
        user, token = user_for_access_token(raw)
    except exceptions.APIException:
        return AnonymousUser(), None
    return user, str(token[SESSION_CLAIM])


def _revocation_check(sid: str) -> Callable[[], Awaitable[bool]]:
    return lambda: sync_to_async(is_revoked)(sid)


class JWTAuthMiddleware:
    """Puts the user and the login session of the access token into the scope."""

    def __init__(self, inner: Any):
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        scope = dict(scope)
        raw, source = token_from_scope(scope)
        user: Any = AnonymousUser()
        sid: str | None = None
        if raw and (source != "cookie" or origin_allowed(scope)):
            user, sid = await _authenticate(raw)
        scope["user"] = user
        scope["auth_source"] = source
        scope["auth_session_id"] = sid
        scope["auth_session_revoked"] = _revocation_check(sid) if sid else None
        return await self.inner(scope, receive, send)
