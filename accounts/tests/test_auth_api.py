from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from accounts.models import User
from portfolios.models import Portfolio
from tests.contract import (
    SIGMASIGHT,
    ZERO_DTE,
    assert_error_envelope,
    assert_matches_example,
    spec_example,
)

pytestmark = pytest.mark.django_db
PASSWORD = "pass-w0rd-123"


def _login(client: APIClient, **body: str) -> Any:
    return client.post("/api/v1/auth/login", body, format="json")


def test_login_with_email_returns_every_key_of_both_specs(
    api_client: APIClient, trader: User
) -> None:
    response = _login(api_client, email=trader.email, password=PASSWORD)
    assert response.status_code == 200
    body = response.json()
    assert_matches_example(body, spec_example(SIGMASIGHT, "1.1 Login"))
    assert_matches_example(body, spec_example(ZERO_DTE, "POST /auth/login"))
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["user_id"] == str(trader.id)
    assert body["permissions"] == ["viewer", "trader"]


def test_login_sets_an_httponly_lax_cookie(api_client: APIClient, trader: User) -> None:
    response = api_client.post(  # over HTTPS: the cookie is Secure exactly then
        "/api/v1/auth/login",
        {"email": trader.email, "password": PASSWORD},
        format="json",
        secure=True,
    )
    cookie = response.cookies[settings.AUTH_COOKIE_NAME]
    assert cookie.value == response.json()["access_token"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["secure"] is True


def test_login_with_username_or_email_in_username(api_client: APIClient, make_user: Any) -> None:
    user = make_user(username="trader_joe")
    assert _login(api_client, username="trader_joe", password=PASSWORD).status_code == 200
    assert _login(api_client, username=user.email, password=PASSWORD).status_code == 200
    assert _login(api_client, email=user.email.upper(), password=PASSWORD).status_code == 200


def test_wrong_password_is_401_with_envelope(api_client: APIClient, trader: User) -> None:
    response = _login(api_client, email=trader.email, password="wrong-password")
    assert response.status_code == 401
    assert_error_envelope(response.json(), code="AUTHENTICATION_FAILED")
    assert response.json()["detail"] == "Incorrect email or password"


def test_unknown_user_and_inactive_user_are_401(api_client: APIClient, make_user: Any) -> None:
    assert _login(api_client, email="nobody@example.com", password=PASSWORD).status_code == 401
    inactive = make_user(is_active=False)
    assert _login(api_client, email=inactive.email, password=PASSWORD).status_code == 401


def test_login_without_identifier_is_422(api_client: APIClient) -> None:
    response = _login(api_client, password=PASSWORD)
    assert response.status_code == 422
    assert_error_envelope(response.json(), status=422, code="VALIDATION_ERROR")
    assert response.json()["detail"][0]["loc"] == ["body", "email"]


def test_malformed_json_is_422(api_client: APIClient) -> None:
    response = api_client.post(
        "/api/v1/auth/login", data="{not json", content_type="application/json"
    )
    assert response.status_code == 422
    assert_error_envelope(response.json(), status=422, code="VALIDATION_ERROR")


def test_me_with_token(api_client: APIClient, trader: User) -> None:
    token = _login(api_client, email=trader.email, password=PASSWORD).json()["access_token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = client.get("/api/v1/auth/me")
    assert response.status_code == 200
    body = response.json()
    assert_matches_example(body, spec_example(SIGMASIGHT, "1.3 Get Current User"))
    assert body["email"] == trader.email
    assert body["permissions"] == ["viewer", "trader"]
    default = Portfolio.objects.get(owner=trader, is_default=True)
    assert body["portfolio_id"] == str(default.id)


def test_me_without_token_is_401_with_envelope(api_client: APIClient) -> None:
    response = api_client.get("/api/v1/auth/me")
    assert response.status_code == 401
    assert_error_envelope(response.json(), code="AUTHENTICATION_FAILED")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_me_with_garbage_token_is_401(api_client: APIClient) -> None:
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-jwt")
    response = api_client.get("/api/v1/auth/me")
    assert response.status_code == 401
    assert_error_envelope(response.json(), code="AUTHENTICATION_FAILED")


def test_cookie_authenticates_reads(api_client: APIClient, trader: User) -> None:
    _login(api_client, email=trader.email, password=PASSWORD)  # the client keeps the cookie
    assert api_client.get("/api/v1/auth/me").status_code == 200


def test_cookie_alone_does_not_authenticate_writes(rf: Any, trader: User) -> None:
    from rest_framework.request import Request

    from accounts.authentication import SessionJWTAuthentication
    from accounts.tokens import issue_for_new_session

    token = issue_for_new_session(trader).access_token
    auth = SessionJWTAuthentication()
    get = rf.get("/api/v1/auth/me")
    get.COOKIES[settings.AUTH_COOKIE_NAME] = token
    assert auth.authenticate(Request(get))[0] == trader
    post = rf.post("/api/v1/anything")
    post.COOKIES[settings.AUTH_COOKIE_NAME] = token
    assert auth.authenticate(Request(post)) is None


def test_refresh_token_rotates_and_a_used_one_is_rejected(
    api_client: APIClient, trader: User
) -> None:
    first = _login(api_client, email=trader.email, password=PASSWORD).json()
    response = api_client.post(
        "/api/v1/auth/refresh", {"refresh_token": first["refresh_token"]}, format="json"
    )
    assert response.status_code == 200
    second = response.json()
    assert_matches_example(second, spec_example(SIGMASIGHT, "1.4 Refresh Token"))
    assert second["refresh_token"] and second["refresh_token"] != first["refresh_token"]
    assert response.cookies[settings.AUTH_COOKIE_NAME].value == second["access_token"]
    reused = api_client.post(
        "/api/v1/auth/refresh", {"refresh_token": first["refresh_token"]}, format="json"
    )
    assert reused.status_code == 401
    assert_error_envelope(reused.json(), code="AUTHENTICATION_FAILED")
    again = api_client.post(
        "/api/v1/auth/refresh", {"refresh_token": second["refresh_token"]}, format="json"
    )
    assert again.status_code == 200


def test_bearer_refresh_gives_a_new_access_token_only(trader: User) -> None:
    client = APIClient()
    tokens = _login(client, email=trader.email, password=PASSWORD).json()
    fresh = APIClient()
    fresh.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    response = fresh.post("/api/v1/auth/refresh")
    assert response.status_code == 200
    body = response.json()
    assert body["refresh_token"] is None
    assert body["access_token"] != tokens["access_token"] or body["expires_in"] > 0
    me = APIClient()
    me.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert me.get("/api/v1/auth/me").status_code == 200


def test_cookie_refresh(api_client: APIClient, trader: User) -> None:
    _login(api_client, email=trader.email, password=PASSWORD)
    response = api_client.post("/api/v1/auth/refresh")
    assert response.status_code == 200
    assert response.json()["refresh_token"] is None


def test_refresh_without_any_credential_is_401(api_client: APIClient) -> None:
    response = api_client.post("/api/v1/auth/refresh")
    assert response.status_code == 401
    assert_error_envelope(response.json(), code="AUTHENTICATION_FAILED")


def test_access_token_never_outlives_the_session(trader: User) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import AuthSession
    from accounts.tokens import issue_for_new_session, reissue_access

    issued = issue_for_new_session(trader)
    session = AuthSession.objects.get(pk=issued.session.pk)
    session.expires_at = timezone.now() + timedelta(minutes=5)
    session.save()
    assert reissue_access(session).expires_in <= 300
    session.expires_at = timezone.now() - timedelta(seconds=1)
    session.save()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.access_token}")
    assert client.post("/api/v1/auth/refresh").status_code == 401


def test_logout_revokes_the_session(api_client: APIClient, trader: User) -> None:
    tokens = _login(api_client, email=trader.email, password=PASSWORD).json()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    response = client.post("/api/v1/auth/logout")
    assert response.status_code == 200
    assert response.cookies[settings.AUTH_COOKIE_NAME].value == ""
    assert client.get("/api/v1/auth/me").status_code == 401
    assert client.post("/api/v1/auth/refresh").status_code == 401
    rotated = APIClient().post(
        "/api/v1/auth/refresh", {"refresh_token": tokens["refresh_token"]}, format="json"
    )
    assert rotated.status_code == 401


def test_logout_of_one_session_leaves_others(trader: User) -> None:
    first = _login(APIClient(), email=trader.email, password=PASSWORD).json()
    second = _login(APIClient(), email=trader.email, password=PASSWORD).json()
    one = APIClient()
    one.credentials(HTTP_AUTHORIZATION=f"Bearer {first['access_token']}")
    one.post("/api/v1/auth/logout")
    two = APIClient()
    two.credentials(HTTP_AUTHORIZATION=f"Bearer {second['access_token']}")
    assert two.get("/api/v1/auth/me").status_code == 200


def test_register_creates_a_trader_with_a_default_portfolio(api_client: APIClient) -> None:
    body = {
        "email": "New.User@Example.com",
        "password": "a-long-passphrase",
        "full_name": "New User",
    }
    response = api_client.post("/api/v1/auth/register", body, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert_matches_example(data, spec_example(SIGMASIGHT, "1.2 Register"))
    assert data["email"] == "new.user@example.com"
    user = User.objects.get(email="new.user@example.com")
    assert user.role == "trader" and user.permissions == ["viewer", "trader"]
    portfolio = Portfolio.objects.get(owner=user)
    assert portfolio.is_default and data["portfolio_id"] == str(portfolio.id)
    assert (
        _login(APIClient(), email="new.user@example.com", password="a-long-passphrase").status_code
        == 200
    )


def test_register_duplicate_email_is_409_and_writes_nothing(
    api_client: APIClient, trader: User
) -> None:
    before = (User.objects.count(), Portfolio.objects.count())
    response = api_client.post(
        "/api/v1/auth/register",
        {"email": trader.email.upper(), "password": "a-long-passphrase"},
        format="json",
    )
    assert response.status_code == 409
    assert_error_envelope(response.json(), code="CONFLICT")
    assert (User.objects.count(), Portfolio.objects.count()) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email", "password": "a-long-passphrase"}, "email"),
        ({"email": "a@example.com", "password": "short"}, "password"),
        ({"email": "a@example.com", "password": "password123"}, "password"),  # too common
        ({"password": "a-long-passphrase"}, "email"),
    ],
)
def test_register_bad_input_is_422(api_client: APIClient, body: dict[str, str], field: str) -> None:
    response = api_client.post("/api/v1/auth/register", body, format="json")
    assert response.status_code == 422
    payload = response.json()
    assert_error_envelope(payload, status=422, code="VALIDATION_ERROR")
    assert ["body", field] in [item["loc"] for item in payload["detail"]]
    assert not User.objects.filter(email="a@example.com").exists()


def test_closed_registration_is_admin_only(settings: Any, make_user: Any) -> None:
    settings.REGISTRATION_OPEN = False
    body = {"email": "closed@example.com", "password": "a-long-passphrase"}
    anonymous = APIClient().post("/api/v1/auth/register", body, format="json")
    assert anonymous.status_code == 401
    trader_client = APIClient()
    trader_token = _login(trader_client, email=make_user().email, password=PASSWORD).json()[
        "access_token"
    ]
    trader_client.credentials(HTTP_AUTHORIZATION=f"Bearer {trader_token}")
    forbidden = trader_client.post("/api/v1/auth/register", body, format="json")
    assert forbidden.status_code == 403
    assert_error_envelope(forbidden.json(), code="INSUFFICIENT_PERMISSIONS")
    admin_client = APIClient()
    admin = make_user(role="admin")
    admin_token = _login(admin_client, email=admin.email, password=PASSWORD).json()["access_token"]
    admin_client.credentials(HTTP_AUTHORIZATION=f"Bearer {admin_token}")
    assert admin_client.post("/api/v1/auth/register", body, format="json").status_code == 201


def test_superuser_and_admin_have_all_permissions(make_user: Any) -> None:
    assert make_user(role="viewer").permissions == ["viewer"]
    assert make_user(role="admin").permissions == ["viewer", "trader", "admin"]
    assert make_user(role="viewer", is_superuser=True).permissions == ["viewer", "trader", "admin"]
    assert make_user(role="admin").is_staff is True
