"""JWT authentication from the Bearer header or the access-token cookie.

A cookie alone authenticates safe methods only: writes need the Bearer header,
so a cross-site form cannot act for the user. Tokens of a logged-out session are
refused.
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
        header = self.get_header(request)
        raw: Any = None
        from_cookie = False
        if header is not None:
            raw = self.get_raw_token(header)
        if raw is None:
            cookie = request.COOKIES.get(settings.AUTH_COOKIE_NAME)
            if not cookie:
                return None
            if request.method not in SAFE_METHODS:
                return None
            raw, from_cookie = cookie, True
        if isinstance(raw, bytes):
            raw = raw.decode("latin-1")
        user, token = user_for_access_token(raw)
        request._request.auth_via_cookie = from_cookie  # type: ignore[attr-defined]
        return user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'
