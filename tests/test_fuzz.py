"""Schema-driven fuzzing of every operation in the OpenAPI schema.

Schemathesis reads the schema the service generates, so endpoints added later are
fuzzed without touching this file. Each operation gets valid and invalid inputs,
with and without a real token; no answer may be a 5xx, and every error carries the
envelope.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from sigmasight.wsgi import application
from tests.contract import assert_error_envelope

schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application)

FUZZ_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture
def _keep_test_connection() -> Any:
    """Like Django's test client: don't let request signals close the test transaction's
    connection while schemathesis drives the WSGI app directly."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_token(db: None, settings: Any, _keep_test_connection: None) -> str:
    from accounts.tests.factories import UserFactory
    from accounts.tokens import issue_for_new_session

    settings.RATE_LIMITS = {key: 1_000_000 for key in settings.RATE_LIMITS}
    return issue_for_new_session(UserFactory(role="admin")).access_token


def _check(response: Any) -> None:
    assert response.status_code < 500, f"{response.status_code}: {response.text[:500]}"
    if response.status_code >= 400:
        assert_error_envelope(response.json())


@pytest.mark.django_db
@schema.parametrize()
@FUZZ_SETTINGS
def test_fuzz_authenticated(case: Any, fuzz_token: str) -> None:
    _check(case.call(headers={"Authorization": f"Bearer {fuzz_token}"}))


@pytest.mark.django_db
@schema.parametrize()
@FUZZ_SETTINGS
def test_fuzz_anonymous(case: Any, fuzz_token: str) -> None:
    _check(case.call())
