"""Login, registration, refresh and logout."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import exceptions
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.authentication import user_for_access_token
from accounts.models import AuthSession, Role, User, normalize_identifier
from accounts.selectors import identifier_is_taken, users_for_identifier
from accounts.tokens import (
    SESSION_CLAIM,
    IssuedTokens,
    issue_for_new_session,
    mark_revoked,
    reissue_access,
)
from portfolios.services import portfolio_create
from sigmasight.errors import Conflict, ValidationFailed
from sigmasight.ws import end_session_sockets

logger = logging.getLogger(__name__)


class LoginFailed(exceptions.AuthenticationFailed):
    """Wrong identifier or password. The message does not say which."""

    show_message = True
    default_detail = "Incorrect email or password"


def user_login(
    *, identifier: str, password: str, user_agent: str = "", ip: str | None = None
) -> IssuedTokens:
    """Log in by email or username (the username may also be an email).

    The identifier must name exactly one account. Should two match (a write that
    bypassed the identifier namespace), the login is refused and logged: picking one
    would let whoever squatted the name log in with the victim's email.
    """
    matches = users_for_identifier(identifier=identifier)
    if len(matches) > 1:
        logger.error(
            "Login refused: one identifier names several accounts (%s); fix them in the admin",
            ", ".join(str(user.pk) for user in matches),
        )
    user = matches[0] if len(matches) == 1 else None
    if user is None or not user.is_active or not user.check_password(password):
        if user is None:
            User().set_password(password)  # spend the same hashing time either way
        raise LoginFailed()
    user.last_login = timezone.now()
    user.save(update_fields=["last_login"])
    return issue_for_new_session(user, user_agent=user_agent, ip=ip)


def _refuse_taken_identifiers(*, email: str, username: str | None) -> None:
    """409 naming the field whose value already names another account."""
    if identifier_is_taken(identifier=email):
        raise Conflict("A user with this email already exists", details={"field": "email"})
    if (
        username
        and normalize_identifier(username) != email
        and identifier_is_taken(identifier=username)
    ):
        raise Conflict("This username is already taken", details={"field": "username"})


@transaction.atomic
def user_register(
    *,
    email: str,
    password: str,
    full_name: str = "",
    username: str | None = None,
    role: str = Role.TRADER,
) -> User:
    """Create a trader and their default portfolio, or nothing at all.

    The password goes through Django's validators (settings.AUTH_PASSWORD_VALIDATORS)
    first: a 422 for bad input, before anything is read or written. Emails and
    usernames share one case-insensitive namespace: an email or username that already
    names an account is a 409. The check gives the clear answer; the unique index of
    :class:`~accounts.models.LoginIdentifier` makes it race-free, because a concurrent
    registration that claims the same name first makes our insert fail.
    """
    email = normalize_identifier(email)
    username = username.strip() if username and username.strip() else None
    candidate = User(email=email, full_name=full_name, username=username)
    try:
        validate_password(password, user=candidate)
    except DjangoValidationError as exc:
        raise ValidationFailed({"password": list(exc.messages)}) from exc
    _refuse_taken_identifiers(email=email, username=username)
    try:
        with transaction.atomic():  # a savepoint: the outer transaction survives a lost race
            user = User.objects.create_user(
                email=email,
                password=password,
                full_name=full_name,
                username=username,
                role=role,
            )
    except IntegrityError as exc:
        # A concurrent registration claimed one of the names after our check; it has
        # committed by now (the index made us wait for it), so the check names the field.
        _refuse_taken_identifiers(email=email, username=username)
        raise Conflict("This email or username is already taken") from exc
    portfolio_create(owner=user, name=f"{full_name or email}'s Portfolio", is_default=True)
    return user


def seeded_user_create(
    *, email: str, password: str, full_name: str, role: str, is_superuser: bool = False
) -> User:
    """Create an account for seed data (the demo), with a password that skips the validators.

    Only for a name that is free: the caller creates what is missing and never touches an
    existing account. A name another account holds (as email or username) is a 409.
    """
    email = normalize_identifier(email)
    if identifier_is_taken(identifier=email):
        raise Conflict("This email already names an account", details={"field": "email"})
    return User.objects.create_user(
        email=email,
        password=password,
        full_name=full_name,
        role=role,
        is_superuser=is_superuser,
    )


def _live_session(sid: str) -> AuthSession:
    session = AuthSession.objects.select_related("user").filter(pk=sid).first()
    if session is None or not session.is_live or not session.user.is_active:
        raise exceptions.AuthenticationFailed("Could not validate credentials")
    return session


@transaction.atomic
def refresh_with_refresh_token(*, refresh_token: str) -> IssuedTokens:
    """Rotate the refresh token: the used one is blacklisted and can't be used again."""
    try:
        old = RefreshToken(refresh_token)  # type: ignore[arg-type]
    except TokenError as exc:
        raise exceptions.AuthenticationFailed("Invalid or expired refresh token") from exc
    sid = old.get(SESSION_CLAIM)
    if not sid:
        raise exceptions.AuthenticationFailed("Invalid or expired refresh token")
    session = AuthSession.objects.select_for_update().filter(pk=sid).first()
    if session is None or session.revoked_at is not None or not session.user.is_active:
        raise exceptions.AuthenticationFailed("Invalid or expired refresh token")
    serializer = TokenRefreshSerializer(data={"refresh": refresh_token})
    try:
        serializer.is_valid(raise_exception=True)
    except (TokenError, exceptions.ValidationError) as exc:
        raise exceptions.AuthenticationFailed("Invalid or expired refresh token") from exc
    except exceptions.AuthenticationFailed as exc:
        raise exceptions.AuthenticationFailed("Invalid or expired refresh token") from exc
    new_refresh = RefreshToken(serializer.validated_data["refresh"])  # type: ignore[arg-type]
    session.refresh_jti = str(new_refresh["jti"])
    session.expires_at = timezone.now() + settings.REFRESH_TOKEN_LIFETIME
    session.save(update_fields=["refresh_jti", "expires_at"])
    issued = reissue_access(session)
    return IssuedTokens(
        issued.access_token, str(new_refresh), issued.expires_in, session.user, session
    )


def refresh_with_access_token(*, access_token: str) -> IssuedTokens:
    """A new access token for a still-valid one; the session (refresh token) must be live."""
    _, token = user_for_access_token(access_token)
    session = _live_session(str(token[SESSION_CLAIM]))
    return reissue_access(session)


@transaction.atomic
def session_logout(*, access_token: str) -> None:
    """End the login session everywhere: blacklist its refresh token, revoke every access
    token it issued, and close its open WebSockets (in every process)."""
    _, token = user_for_access_token(access_token)
    sid = str(token[SESSION_CLAIM])
    # Revoke first, then signal the sockets: a socket that joins its session group after
    # the signal still sees the revocation (AuthenticatedConsumer checks after joining).
    # Both happen even without a session row, so the token can't outlive a logout.
    mark_revoked(sid)
    end_session_sockets(sid)
    session = AuthSession.objects.select_for_update().filter(pk=sid).first()
    if session is None:
        return
    session.revoked_at = timezone.now()
    session.save(update_fields=["revoked_at"])
    outstanding = OutstandingToken.objects.filter(jti=session.refresh_jti).first()
    if outstanding is not None:
        BlacklistedToken.objects.get_or_create(token=outstanding)
