"""JWT authentication from the Bearer header or the access-token cookie.

A cookie alone authenticates safe methods only: writes need the Bearer header,
so a cross-site form cannot act for the user. Tokens of a logged-out session are
refused. The ``Bearer`` scheme is case-insensitive (RFC 9110 §11.1), which
simplejwt's ``AUTH_HEADER_TYPES`` is not, so the header is parsed here.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken, TokenError
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import User
from accounts.tokens import SESSION_CLAIM, is_revoked

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
BEARER_SCHEME = "bearer"


def bearer_token(header: str | bytes | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, any case of ``Bearer``.

    ``None`` when there is no header or it names another scheme (not ours to judge);
    a Bearer header that is not exactly two values is refused, as simplejwt does.
    """
    if isinstance(header, bytes):
        header = header.decode("latin-1")
    parts = (header or "").split()
    if not parts or parts[0].lower() != BEARER_SCHEME:
        return None
    if len(parts) != 2:
        raise AuthenticationFailed(
            "Authorization header must contain two space-delimited values",
            code="bad_authorization_header",
        )
    return parts[1]


def user_for_access_token(raw: str) -> tuple[User, AccessToken]:
    """Validate a raw access token and return its user; raises ``AuthenticationFailed``."""
    try:
        token = AccessToken(raw)  # type: ignore[arg-type]
    except TokenError as exc:
        raise InvalidToken("Could not validate credentials") from exc
    sid = token.get(SESSION_CLAIM)
    if not sid or is_revoked(str(sid)):
        raise InvalidToken("Could not validate credentials")
    try:
        user = User.objects.get(pk=token["user_id"])
    except (User.DoesNotExist, KeyError, ValueError) as exc:
        raise AuthenticationFailed("Could not validate credentials") from exc
    if not user.is_active:
        raise AuthenticationFailed("Could not validate credentials")
    return user, token


class SessionJWTAuthentication(JWTAuthentication):
    def authenticate(self, request: Request) -> tuple[User, AccessToken] | None:  # type: ignore[override]
        raw: Any = bearer_token(self.get_header(request))
        from_cookie = False
        if raw is None:
            cookie = request.COOKIES.get(settings.AUTH_COOKIE_NAME)
            if not cookie:
                return None
            if request.method not in SAFE_METHODS:
                return None
            raw, from_cookie = cookie, True
        user, token = user_for_access_token(raw)
        request._request.auth_via_cookie = from_cookie  # type: ignore[attr-defined]
        return user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'
