"""Logout ends the login session: by Bearer header or by the cookie alone (a browser)."""

from __future__ import annotations

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from accounts.models import AuthSession, User
from accounts.tokens import issue_for_new_session

pytestmark = pytest.mark.django_db
PASSWORD = "pass-w0rd-123"


def _bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_logout_with_the_cookie_alone(trader: User) -> None:
    browser = APIClient()  # keeps the cookie that login sets, sends no Authorization header
    tokens = browser.post(
        "/api/v1/auth/login", {"email": trader.email, "password": PASSWORD}, format="json"
    ).json()
    response = browser.post("/api/v1/auth/logout")
    assert response.status_code == 200
    cleared = response.cookies[settings.AUTH_COOKIE_NAME]
    assert cleared.value == "" and cleared["max-age"] == 0
    assert _bearer(tokens["access_token"]).get("/api/v1/auth/me").status_code == 401
    rotated = APIClient().post(
        "/api/v1/auth/refresh", {"refresh_token": tokens["refresh_token"]}, format="json"
    )
    assert rotated.status_code == 401
    assert AuthSession.objects.get(user=trader).revoked_at is not None


def test_logout_without_any_token_is_401(api_client: APIClient) -> None:
    assert api_client.post("/api/v1/auth/logout").status_code == 401


def test_logout_revokes_the_token_even_when_its_session_row_is_gone(trader: User) -> None:
    issued = issue_for_new_session(trader)
    AuthSession.objects.filter(pk=issued.session.pk).delete()  # e.g. removed in the admin
    client = _bearer(issued.access_token)
    assert client.post("/api/v1/auth/logout").status_code == 200
    assert client.get("/api/v1/auth/me").status_code == 401
