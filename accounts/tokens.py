"""JWTs tied to login sessions.

Every token carries ``sid``, the :class:`~accounts.models.AuthSession` it came from.
Revoking a session (logout) puts its id in the cache until its access tokens would
have expired, so authentication needs no database read for the check.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.models import AuthSession, User

SESSION_CLAIM = "sid"


def _revocation_key(sid: str) -> str:
    return f"auth:revoked:{sid}"


def mark_revoked(sid: str) -> None:
    ttl = int(settings.ACCESS_TOKEN_LIFETIME.total_seconds()) + 60
    cache.set(_revocation_key(sid), 1, timeout=ttl)


def is_revoked(sid: str) -> bool:
    return cache.get(_revocation_key(sid)) is not None


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    refresh_token: str | None
    expires_in: int  # seconds until the access token expires
    user: User
    session: AuthSession


def _access_for(user: User, session: AuthSession, now: datetime) -> tuple[str, int]:
    """An access token that expires at the earlier of its lifetime and the session's end."""
    token = AccessToken.for_user(user)
    token[SESSION_CLAIM] = str(session.id)
    expires_at = min(now + settings.ACCESS_TOKEN_LIFETIME, session.expires_at)
    token.set_exp(from_time=now, lifetime=expires_at - now)
    return str(token), max(0, int((expires_at - now).total_seconds()))


def issue_for_new_session(
    user: User, *, user_agent: str = "", ip: str | None = None
) -> IssuedTokens:
    now = timezone.now()
    refresh = RefreshToken.for_user(user)
    session = AuthSession.objects.create(
        user=user,
        expires_at=now + settings.REFRESH_TOKEN_LIFETIME,
        refresh_jti=str(refresh["jti"]),
        user_agent=user_agent[:255],
        ip_address=ip,
    )
    refresh[SESSION_CLAIM] = str(session.id)
    access, expires_in = _access_for(user, session, now)
    return IssuedTokens(access, str(refresh), expires_in, user, session)


def reissue_access(session: AuthSession) -> IssuedTokens:
    now = timezone.now()
    access, expires_in = _access_for(session.user, session, now)
    return IssuedTokens(access, None, expires_in, session.user, session)


def rotated_session_expiry(now: datetime) -> datetime:
    return now + settings.REFRESH_TOKEN_LIFETIME


def access_lifetime() -> timedelta:
    return settings.ACCESS_TOKEN_LIFETIME
