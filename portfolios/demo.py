"""The SigmaSight demo users and their portfolios. Idempotent: running it twice
leaves the same state as running it once."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from accounts.models import Role, User
from portfolios.models import Portfolio, PortfolioType

DEMO_PASSWORD = "demo12345"


@dataclass(frozen=True)
class DemoUser:
    email: str
    full_name: str
    role: str
    portfolio_name: str
    portfolio_type: str
    description: str


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser(
        "demo_individual@sigmasight.com",
        "Demo Individual Investor",
        Role.TRADER,
        "Demo Individual Investor Portfolio",
        PortfolioType.INDIVIDUAL,
        "Stocks, mutual funds and ETFs for a long-term individual investor",
    ),
    DemoUser(
        "demo_hnw@sigmasight.com",
        "Demo HNW User",
        Role.TRADER,
        "Demo High Net Worth Investor Portfolio",
        PortfolioType.HNW,
        "Large diversified positions in index ETFs, mega caps, gold and commodities",
    ),
    DemoUser(
        "demo_hedgefundstyle@sigmasight.com",
        "Demo Hedge Fund Style User",
        Role.TRADER,
        "Demo Hedge Fund Style Investor Portfolio",
        PortfolioType.HEDGE_FUND,
        "Long/short equity with options overlays",
    ),
)

DEMO_ADMIN = DemoUser(
    "demo_admin@sigmasight.com",
    "Demo Admin",
    Role.ADMIN,
    "Demo Admin Portfolio",
    PortfolioType.OTHER,
    "The demo admin's own portfolio",
)


def _upsert_user(spec: DemoUser, *, superuser: bool) -> User:
    user, created = User.objects.get_or_create(
        email=spec.email,
        defaults={"full_name": spec.full_name, "role": spec.role, "is_superuser": superuser},
    )
    changed = created
    if not user.check_password(DEMO_PASSWORD):
        user.set_password(DEMO_PASSWORD)
        changed = True
    for field, value in (
        ("full_name", spec.full_name),
        ("role", spec.role),
        ("is_active", True),
        ("is_superuser", superuser),
    ):
        if getattr(user, field) != value:
            setattr(user, field, value)
            changed = True
    if changed:
        user.save()
    return user


def _upsert_portfolio(user: User, spec: DemoUser) -> Portfolio:
    portfolio, _ = Portfolio.objects.update_or_create(
        owner=user,
        name=spec.portfolio_name,
        deleted_at=None,
        defaults={
            "description": spec.description,
            "portfolio_type": spec.portfolio_type,
            "currency": "USD",
            "is_default": True,
        },
    )
    return portfolio


@transaction.atomic
def seed_demo(*, include_admin: bool) -> list[Portfolio]:
    """Create or update the demo users (and the admin when asked) with one portfolio each."""
    specs = [*DEMO_USERS, *([DEMO_ADMIN] if include_admin else [])]
    portfolios = []
    for spec in specs:
        user = _upsert_user(spec, superuser=spec.role == Role.ADMIN)
        portfolios.append(_upsert_portfolio(user, spec))
    return portfolios
