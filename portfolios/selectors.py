"""Reads of portfolios."""

from __future__ import annotations

from uuid import UUID

from accounts.models import User
from portfolios.models import Portfolio


def default_portfolio_id(*, user: User) -> UUID | None:
    """The user's default portfolio, else their oldest live one."""
    row = (
        Portfolio.objects.owned_by(user)
        .order_by("-is_default", "created_at")
        .values_list("id", flat=True)
        .first()
    )
    return row
