"""The ``Bearer`` scheme is case-insensitive on every path (RFC 9110 §11.1)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tokens import issue_for_new_session
from portfolios.models import Portfolio
from tests.contract import assert_error_envelope

pytestmark = pytest.mark.django_db
SCHEMES = ["Bearer", "bearer", "BEARER", "bEaReR"]


def _client(scheme: str, token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{scheme} {token}")
    return client


@pytest.mark.parametrize("scheme", SCHEMES)
def test_any_case_of_bearer_authenticates_a_read(scheme: str, trader: User) -> None:
    token = issue_for_new_session(trader).access_token
    response = _client(scheme, token).get("/api/v1/auth/me")
    assert response.status_code == 200, response.content
    assert response.json()["email"] == trader.email


@pytest.mark.parametrize("scheme", SCHEMES)
def test_any_case_of_bearer_authenticates_a_write(scheme: str, trader: User) -> None:
    token = issue_for_new_session(trader).access_token
    response = _client(scheme, token).post(
        "/api/v1/management/portfolios", {"name": f"Book {scheme}"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert Portfolio.objects.filter(owner=trader, name=f"Book {scheme}").exists()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_any_case_of_bearer_refreshes_and_logs_out(scheme: str, trader: User) -> None:
    token = issue_for_new_session(trader).access_token
    client = _client(scheme, token)
    refreshed = client.post("/api/v1/auth/refresh")
    assert refreshed.status_code == 200, refreshed.content
    assert client.post("/api/v1/auth/logout").status_code == 200
    assert _client("Bearer", token).get("/api/v1/auth/me").status_code == 401


def test_a_bearer_header_with_extra_values_is_401(trader: User) -> None:
    token = issue_for_new_session(trader).access_token
    response = _client("bearer", f"{token} extra").get("/api/v1/auth/me")
    assert response.status_code == 401
    assert_error_envelope(response.json(), code="AUTHENTICATION_FAILED")


def test_another_scheme_is_not_a_credential(trader: User) -> None:
    token = issue_for_new_session(trader).access_token
    response = _client("Token", token).get("/api/v1/auth/me")
    assert response.status_code == 401
