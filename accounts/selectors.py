"""Reads about users."""

from __future__ import annotations

from typing import Any

from accounts.models import User
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
