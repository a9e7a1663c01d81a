"""Emails and usernames are one case-insensitive namespace: no account can be squatted."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from rest_framework.test import APIClient

from accounts import services
from accounts.admin import UserEditForm
from accounts.models import LoginIdentifier, User
from portfolios.models import Portfolio
from sigmasight.errors import Conflict
from tests.contract import assert_error_envelope

pytestmark = pytest.mark.django_db
PASSWORD = "pass-w0rd-123"
VICTIM = "demo_hedgefundstyle@sigmasight.com"


def _register(**body: Any) -> Any:
    return APIClient().post("/api/v1/auth/register", body, format="json")


def _login(**body: Any) -> Any:
    return APIClient().post("/api/v1/auth/login", body, format="json")


def _counts() -> tuple[int, int, int]:
    return User.objects.count(), Portfolio.objects.count(), LoginIdentifier.objects.count()


def test_registering_someone_elses_email_as_a_username_is_refused(make_user: Any) -> None:
    victim = make_user(email=VICTIM)
    before = _counts()
    response = _register(email="a@example.com", password="squat-ter-pass-1", username=VICTIM)
    # An email-shaped username is a format problem (422) unless it is one's own email: the
    # answer is the same whether or not VICTIM has an account, so it reveals nothing.
    assert response.status_code == 422
    assert_error_envelope(response.json(), status=422, code="VALIDATION_ERROR")
    assert ["body", "username"] in [item["loc"] for item in response.json()["detail"]]
    assert _counts() == before
    # The victim's own credentials still log the victim in, and the squatter's don't.
    mine = _login(email=VICTIM, password=PASSWORD)
    assert mine.status_code == 200 and mine.json()["user_id"] == str(victim.id)
    assert _login(email=VICTIM, password="squat-ter-pass-1").status_code == 401
    assert _login(username=VICTIM.upper(), password=PASSWORD).json()["user_id"] == str(victim.id)


@pytest.mark.parametrize("variant", ["trader_joe", "Trader_Joe", "TRADER_JOE"])
def test_a_username_taken_in_any_case_is_409_naming_the_field(make_user: Any, variant: str) -> None:
    make_user(username="Trader_Joe")
    before = _counts()
    response = _register(email="joe2@example.com", password="a-long-passphrase", username=variant)
    assert response.status_code == 409
    assert_error_envelope(response.json(), code="CONFLICT")
    assert response.json()["error"]["details"] == {"field": "username"}
    assert _counts() == before


def test_an_email_that_is_an_existing_username_is_409(make_user: Any) -> None:
    # A legacy account whose username is an (unregistered) email address.
    owner = make_user(username="Joe@Legacy.example")
    before = _counts()
    response = _register(email="joe@legacy.EXAMPLE", password="a-long-passphrase")
    assert response.status_code == 409
    assert response.json()["error"]["details"] == {"field": "email"}
    assert _counts() == before
    token = _login(username="joe@legacy.example", password=PASSWORD)
    assert token.json()["user_id"] == str(owner.id)


def test_an_email_taken_in_another_case_is_409(make_user: Any) -> None:
    make_user(email="victim@example.com")
    response = _register(email="Victim@Example.COM", password="a-long-passphrase")
    assert response.status_code == 409
    assert response.json()["error"]["details"] == {"field": "email"}


def test_ones_own_email_may_be_ones_username() -> None:
    response = _register(
        email="self@example.com", password="a-long-passphrase", username="Self@Example.com"
    )
    assert response.status_code == 201, response.content
    user = User.objects.get(email="self@example.com")
    assert set(user.login_identifiers.values_list("value", flat=True)) == {"self@example.com"}
    assert _login(username="SELF@example.com", password="a-long-passphrase").status_code == 200


def test_login_by_username_is_case_insensitive(make_user: Any) -> None:
    user = make_user(username="Trader_Joe")
    response = _login(username="trader_JOE", password=PASSWORD)
    assert response.status_code == 200 and response.json()["user_id"] == str(user.id)


def test_usernames_are_unique_case_insensitively_in_the_database(make_user: Any) -> None:
    make_user(username="Alpha")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=make_user().pk).update(username="ALPHA")


def test_a_username_equal_to_another_accounts_email_cannot_be_saved(make_user: Any) -> None:
    victim = make_user(email="victim@example.com")
    squatter = make_user()
    squatter.username = "Victim@Example.com"
    with pytest.raises(IntegrityError), transaction.atomic():
        squatter.save()
    squatter.refresh_from_db()
    assert squatter.username is None
    assert LoginIdentifier.objects.get(value="victim@example.com").user_id == victim.id


def test_changing_an_email_moves_its_identifier(make_user: Any) -> None:
    user = make_user(email="old@example.com", username="keeper")
    user.email = "new@example.com"
    user.save()
    assert set(user.login_identifiers.values_list("value", flat=True)) == {
        "new@example.com",
        "keeper",
    }
    assert _register(email="old@example.com", password="a-long-passphrase").status_code == 201


def test_an_identifier_naming_two_accounts_logs_nobody_in(
    make_user: Any, caplog: pytest.LogCaptureFixture
) -> None:
    victim = make_user(email="victim@example.com")
    squatter = make_user()
    # A write that bypasses User.save (and so the namespace), as a raw UPDATE would.
    User.objects.filter(pk=squatter.pk).update(username="victim@example.com")
    with caplog.at_level(logging.ERROR, logger="accounts.services"):
        for password in (PASSWORD, "anything-else-1"):
            response = _login(email="victim@example.com", password=password)
            assert response.status_code == 401
            assert_error_envelope(response.json(), code="AUTHENTICATION_FAILED")
    assert any(
        str(victim.pk) in record.getMessage() and str(squatter.pk) in record.getMessage()
        for record in caplog.records
    )


def test_the_admin_form_refuses_another_accounts_email_as_username(make_user: Any) -> None:
    make_user(email="victim@example.com")
    squatter = make_user()
    data = {
        "email": squatter.email,
        "username": "VICTIM@example.com",
        "full_name": squatter.full_name,
        "role": squatter.role,
        "is_active": True,
        "created_at": "2026-01-01 00:00:00",
        "password": squatter.password,
    }
    form = UserEditForm(data=data, instance=squatter)
    assert not form.is_valid()
    assert "username" in form.errors


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short1", "This password is too short. It must contain at least 8 characters."),
        ("password123", "This password is too common."),
        ("8302917465", "This password is entirely numeric."),
        ("demo12345", "This password is the published demo password."),
        ("DEMO12345", "This password is the published demo password."),
    ],
)
def test_register_applies_the_password_validators(password: str, message: str) -> None:
    before = _counts()
    response = _register(email="new@example.com", password=password)
    assert response.status_code == 422
    body = response.json()
    assert_error_envelope(body, status=422, code="VALIDATION_ERROR")
    assert {"loc": ["body", "password"], "msg": message, "type": "value_error.invalid"} in body[
        "detail"
    ]
    assert "password" in body["error"]["details"]["fields"]
    assert _counts() == before


# ---- Concurrent registrations -------------------------------------------------------------


def _race(first: dict[str, Any], second: dict[str, Any]) -> list[Any]:
    """Register both at once, each in its own thread (own connection, own transaction),
    with both past the availability check before either inserts: the worst interleaving."""
    barrier = threading.Barrier(2, timeout=10)
    checked = threading.local()
    original = services._refuse_taken_identifiers

    def check_then_wait(**kwargs: Any) -> None:
        original(**kwargs)
        if not getattr(checked, "done", False):  # the re-check after a lost race must not wait
            checked.done = True
            barrier.wait()

    outcomes: list[Any] = [None, None]

    def register(index: int, body: dict[str, Any]) -> None:
        try:
            outcomes[index] = services.user_register(password="a-long-passphrase", **body)
        except Exception as exc:
            outcomes[index] = exc
        finally:
            connection.close()

    services._refuse_taken_identifiers = check_then_wait  # type: ignore[assignment]
    try:
        threads = [
            threading.Thread(target=register, args=(i, body))
            for i, body in enumerate((first, second))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        services._refuse_taken_identifiers = original  # type: ignore[assignment]
    return outcomes


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("first", "second", "name"),
    [
        (
            {"email": "x@example.com"},
            {"email": "squatter@example.com", "username": "X@example.com"},
            "x@example.com",
        ),
        (
            {"email": "one@example.com", "username": "Racer"},
            {"email": "two@example.com", "username": "racer"},
            "racer",
        ),
    ],
)
def test_concurrent_registrations_of_one_name_create_one_account(
    first: dict[str, Any], second: dict[str, Any], name: str
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the race needs concurrent write transactions (make test runs PostgreSQL)")
    outcomes = _race(first, second)
    winners = [o for o in outcomes if isinstance(o, User)]
    losers = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    assert losers[0].details.get("field") in {"email", "username"}
    claim = LoginIdentifier.objects.get(value=name)
    assert claim.user_id == winners[0].pk
    assert User.objects.count() == 1 and Portfolio.objects.count() == 1
