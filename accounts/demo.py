"""The SigmaSight demo users (API-CONVENTIONS "Demo users"), with their portfolios.

Seeding only creates what is missing: it never changes an existing account (password,
role, active flag, anything), so a demo password changed or a demo user disabled by an
operator stays that way. Whether demo accounts may be created at all is the caller's
call (the ``seed_demo`` command: yes in the embedded default, only with ``--demo-users``
in production). The accounts app composes the demo because it is the top layer: it may
use portfolios (the books, ``portfolios/demo.py``), which may not use it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import transaction

from accounts.models import Role, User
from accounts.password_validation import DEMO_PASSWORD
from accounts.selectors import identifier_is_taken, user_with_email
from accounts.services import seeded_user_create
from portfolios.demo import demo_market_data_seed, demo_portfolio_seed

if TYPE_CHECKING:  # types only
    from portfolios.models import Portfolio


@dataclass(frozen=True)
class DemoUser:
    email: str
    full_name: str
    role: str


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("demo_individual@sigmasight.com", "Demo Individual Investor", Role.TRADER),
    DemoUser("demo_hnw@sigmasight.com", "Demo HNW User", Role.TRADER),
    DemoUser("demo_hedgefundstyle@sigmasight.com", "Demo Hedge Fund Style User", Role.TRADER),
)

#: A superuser too: the demo's Django admin.
DEMO_ADMIN = DemoUser("demo_admin@sigmasight.com", "Demo Admin", Role.ADMIN)


@dataclass(frozen=True)
class SeededUser:
    email: str
    outcome: str  # "created", "existing", or why there is no such account
    portfolio: Portfolio | None


def _demo_user(spec: DemoUser, *, may_create: bool) -> tuple[User | None, str]:
    """The demo account for ``spec`` and what happened to it: "created", "existing", or
    the reason it is absent. An existing account is returned exactly as it is."""
    user = user_with_email(email=spec.email)
    if user is not None:
        return user, "existing"
    if not may_create:
        return None, "not created"
    if identifier_is_taken(identifier=spec.email):
        return None, "not created: the email is another account's username"
    user = seeded_user_create(
        email=spec.email,
        password=DEMO_PASSWORD,
        full_name=spec.full_name,
        role=spec.role,
        is_superuser=spec.role == Role.ADMIN,
    )
    return user, "created"


def seed_demo(
    *,
    create_users: bool,
    include_admin: bool,
    with_market_data: bool = True,
    now: dt.datetime | None = None,
) -> list[SeededUser]:
    """Load the demo's market data, create the missing demo users when ``create_users``
    (the admin too when ``include_admin``), and book each demo portfolio once.

    Existing accounts are never changed. A demo portfolio is created and booked only for
    a demo user that exists (created now or on an earlier run); without one there is
    nothing to book, but the market data is loaded all the same.
    """
    market = demo_market_data_seed(now=now) if with_market_data else None
    specs = [*DEMO_USERS, *([DEMO_ADMIN] if include_admin else [])]
    seeded = []
    with transaction.atomic():
        for spec in specs:
            user, outcome = _demo_user(spec, may_create=create_users)
            portfolio = demo_portfolio_seed(owner=user, market=market) if user else None
            seeded.append(SeededUser(spec.email, outcome, portfolio))
    return seeded
