"""Reads about users."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from accounts.models import LoginIdentifier, User, normalize_identifier
from portfolios.selectors import default_portfolio_id


def user_profile(*, user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "username": user.username,
        "full_name": user.full_name,
        "is_active": user.is_active,
        "created_at": user.created_at,
        "portfolio_id": default_portfolio_id(user=user),
        "permissions": user.permissions,
    }


def users_for_identifier(*, identifier: str) -> list[User]:
    """The accounts an email or username names, case-insensitively: at most two are read.

    One account is the rule (the namespace is unique); two mean the invariant was broken
    by a write that bypassed ``User.save``, and callers must refuse rather than pick one.
    """
    value = normalize_identifier(identifier)
    return list(User.objects.filter(Q(email__iexact=value) | Q(username__iexact=value))[:2])


def identifier_is_taken(*, identifier: str, exclude_user: User | None = None) -> bool:
    """Whether an email or username already names an account (``exclude_user`` aside)."""
    value = normalize_identifier(identifier)
    users = User.objects.filter(Q(email__iexact=value) | Q(username__iexact=value))
    claims = LoginIdentifier.objects.filter(value=value)
    if exclude_user is not None and exclude_user.pk is not None:
        users = users.exclude(pk=exclude_user.pk)
        claims = claims.exclude(user_id=exclude_user.pk)
    return users.exists() or claims.exists()


def user_with_email(*, email: str) -> User | None:
    return User.objects.filter(email__iexact=normalize_identifier(email)).first()
