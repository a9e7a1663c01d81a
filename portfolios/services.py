"""Writes to portfolios."""

from __future__ import annotations

from django.db import transaction

from accounts.models import User
from portfolios.models import Portfolio, PortfolioType


@transaction.atomic
def portfolio_create(
    *,
    owner: User,
    name: str,
    description: str = "",
    currency: str = "USD",
    portfolio_type: str = PortfolioType.INDIVIDUAL,
    is_default: bool | None = None,
) -> Portfolio:
    """Create a portfolio; the owner's first one becomes their default."""
    if is_default is None:
        is_default = not Portfolio.objects.owned_by(owner).filter(is_default=True).exists()
    return Portfolio.objects.create(
        owner=owner,
        name=name,
        description=description,
        currency=currency.upper(),
        portfolio_type=portfolio_type,
        is_default=is_default,
    )
