from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.contract import assert_error_envelope

pytestmark = pytest.mark.django_db


@pytest.fixture
def frozen_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Counters are per fixed minute: pin the clock mid-window so a test never straddles two."""
    import sigmasight.api.throttling as throttling

    moment = (int(throttling.time.time()) // 60) * 60 + 20.0
    monkeypatch.setattr(throttling.time, "time", lambda: moment)


def test_eleventh_login_in_a_minute_is_429_with_retry_after(
    api_client: APIClient, frozen_window: None
) -> None:
    statuses = []
    for _ in range(11):
        response = api_client.post(
            "/api/v1/auth/login",
            {"email": "x@example.com", "password": "whatever-1"},
            format="json",
        )
        statuses.append(response.status_code)
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429
    assert_error_envelope(response.json(), code="RATE_LIMIT_EXCEEDED")
    assert int(response["Retry-After"]) == 40  # the window ends 40 s after the pinned clock
    assert response["X-RateLimit-Limit"] == "10"
    assert response["X-RateLimit-Remaining"] == "0"


def test_every_response_carries_rate_limit_headers(
    api_client: APIClient, frozen_window: None
) -> None:
    first = api_client.get("/health")
    second = api_client.get("/health")
    for response in (first, second):
        assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(
            response.headers
        )
    assert int(second["X-RateLimit-Remaining"]) == int(first["X-RateLimit-Remaining"]) - 1
    unknown = api_client.get("/api/v1/no/such/path")
    assert "X-RateLimit-Limit" in unknown.headers


def test_limits_are_settings(api_client: APIClient, settings: object, frozen_window: None) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "auth": 2}  # type: ignore[attr-defined]
    codes = [
        api_client.post(
            "/api/v1/auth/login",
            {"email": "x@example.com", "password": "p-12345678"},
            format="json",
        ).status_code
        for _ in range(3)
    ]
    assert codes == [401, 401, 429]


def test_limits_are_per_user_when_known(
    make_user: object, settings: object, frozen_window: None
) -> None:
    from accounts.tokens import issue_for_new_session

    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "global": 3}  # type: ignore[attr-defined]
    clients = []
    for _ in range(2):
        client = APIClient()
        token = issue_for_new_session(make_user()).access_token  # type: ignore[operator]
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        clients.append(client)
    assert [clients[0].get("/api/v1/auth/me").status_code for _ in range(4)] == [200, 200, 200, 429]
    assert clients[1].get("/api/v1/auth/me").status_code == 200
