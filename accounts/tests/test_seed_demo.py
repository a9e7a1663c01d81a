"""seed_demo is no back door: it creates missing demo accounts only where allowed, and never
changes an existing one."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.demo import DEMO_ADMIN, DEMO_PASSWORD, DEMO_USERS
from accounts.models import Role, User
from marketdata.models import PriceBar
from portfolios.demo import DEMO_PORTFOLIOS
from portfolios.models import Portfolio

pytestmark = pytest.mark.django_db
TRADERS = sorted(spec.email for spec in DEMO_USERS)
HNW, INDIVIDUAL, HEDGE = (
    "demo_hnw@sigmasight.com",
    "demo_individual@sigmasight.com",
    "demo_hedgefundstyle@sigmasight.com",
)


def _seed(*flags: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", "--users-only", *flags, stdout=out)
    return out.getvalue()


def _emails() -> list[str]:
    return sorted(User.objects.values_list("email", flat=True))


def _logs_in(email: str, password: str) -> bool:
    response = APIClient().post(
        "/api/v1/auth/login", {"email": email, "password": password}, format="json"
    )
    return response.status_code == 200


@pytest.fixture
def production(settings: Any) -> None:
    """What the tests run under anyway (a DATABASE_URL): stated, so the tests don't depend on it."""
    settings.EMBEDDED = False


@pytest.fixture
def embedded(settings: Any) -> None:
    settings.EMBEDDED = True


def test_every_demo_user_has_a_demo_portfolio() -> None:
    assert {spec.email for spec in (*DEMO_USERS, DEMO_ADMIN)} == set(DEMO_PORTFOLIOS)


def test_production_without_demo_users_creates_no_user(production: None) -> None:
    output = _seed()
    assert User.objects.count() == 0
    assert Portfolio.objects.count() == 0
    assert "--demo-users" in output


def test_production_with_admin_alone_creates_no_admin(production: None) -> None:
    with pytest.raises(CommandError, match="--demo-users"):
        _seed("--with-admin")
    assert User.objects.count() == 0


def test_production_demo_users_creates_the_traders_but_not_the_admin(production: None) -> None:
    _seed("--demo-users")
    assert _emails() == TRADERS
    assert all(user.role == Role.TRADER for user in User.objects.all())
    assert not User.objects.filter(is_superuser=True).exists()
    assert _logs_in(HNW, DEMO_PASSWORD)


def test_production_demo_users_with_admin_creates_the_admin_too(production: None) -> None:
    _seed("--demo-users", "--with-admin")
    admin = User.objects.get(email=DEMO_ADMIN.email)
    assert admin.is_superuser and admin.role == Role.ADMIN
    assert _emails() == sorted([*TRADERS, DEMO_ADMIN.email])


def test_embedded_default_creates_the_traders_and_the_admin(embedded: None) -> None:
    _seed()
    assert _emails() == sorted([*TRADERS, DEMO_ADMIN.email])
    assert _logs_in(DEMO_ADMIN.email, DEMO_PASSWORD)
    for email in TRADERS:
        portfolio = Portfolio.objects.get(owner__email=email)
        assert portfolio.is_default


def test_embedded_no_admin_skips_the_admin(embedded: None) -> None:
    _seed("--no-admin")
    assert _emails() == TRADERS


@pytest.mark.parametrize("mode", ["production", "embedded"])
def test_seeding_twice_never_changes_an_existing_account(mode: str, settings: Any) -> None:
    settings.EMBEDDED = mode == "embedded"
    flags = () if settings.EMBEDDED else ("--demo-users", "--with-admin")
    _seed(*flags)
    hnw = User.objects.get(email=HNW)
    hnw.set_password("my-own-new-secret-1")
    hnw.save()
    User.objects.filter(email=INDIVIDUAL).update(is_active=False)
    User.objects.filter(email=HEDGE).update(role=Role.VIEWER)
    User.objects.filter(email=DEMO_ADMIN.email).update(is_superuser=False, role=Role.VIEWER)
    before = {user.email: user for user in User.objects.all()}

    _seed(*flags)

    after = {user.email: user for user in User.objects.all()}
    assert after.keys() == before.keys()
    for email, user in after.items():
        old = before[email]
        assert (user.password, user.role, user.is_active, user.is_superuser) == (
            old.password,
            old.role,
            old.is_active,
            old.is_superuser,
        ), email
    assert not after[HNW].check_password(DEMO_PASSWORD)
    assert not _logs_in(HNW, DEMO_PASSWORD) and _logs_in(HNW, "my-own-new-secret-1")
    assert not after[INDIVIDUAL].is_active and not _logs_in(INDIVIDUAL, DEMO_PASSWORD)
    assert after[HEDGE].role == Role.VIEWER
    assert after[DEMO_ADMIN.email].permissions == ["viewer"]


def test_existing_demo_users_get_their_books_without_the_flag(production: None) -> None:
    _seed("--demo-users")
    Portfolio.objects.filter(owner__email=HNW).delete()
    _seed()  # no flag: creates no user, but completes the data of those that exist
    assert _emails() == TRADERS
    assert Portfolio.objects.filter(owner__email=HNW).count() == 1


def test_a_demo_email_held_as_someone_elses_username_is_skipped(
    production: None, make_user: Any
) -> None:
    holder = make_user(email="holder@example.com", username=HNW)
    output = _seed("--demo-users")
    assert _emails() == sorted(["holder@example.com", INDIVIDUAL, HEDGE])
    assert "another account's username" in output
    assert User.objects.get(pk=holder.pk).username == HNW


def test_an_existing_user_with_a_default_portfolio_keeps_it(
    production: None, make_user: Any
) -> None:
    owner = make_user(email=HNW)  # e.g. registered before the demo was seeded
    own = Portfolio.objects.get(owner=owner)
    _seed("--demo-users")
    assert Portfolio.objects.get(pk=own.pk).is_default
    demo = Portfolio.objects.get(owner=owner, name=DEMO_PORTFOLIOS[HNW].name)
    assert not demo.is_default


def test_production_without_demo_users_still_loads_the_market_data(
    production: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = timezone.make_aware(dt.datetime(2026, 11, 25, 12, 0), dt.UTC)
    monkeypatch.setattr(timezone, "now", lambda: now)
    call_command("seed_demo", stdout=io.StringIO())
    assert PriceBar.objects.filter(security_id="SPY").exists()
    assert User.objects.count() == 0 and Portfolio.objects.count() == 0
