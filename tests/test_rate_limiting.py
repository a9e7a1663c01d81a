"""Rate limits on every path: the sliding window, the global limit outside DRF views,
and the Django admin's login limit."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from sigmasight.api import throttling
from tests.contract import assert_error_envelope

pytestmark = pytest.mark.django_db

MINUTE_START = 1_800_000_000.0  # a window boundary: a multiple of 60 s


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The limiter's clock, set by the test (epoch seconds)."""
    clock = Clock(MINUTE_START + 20)
    monkeypatch.setattr(throttling.time, "time", clock)
    return clock


@pytest.fixture
def limits(settings: Any) -> Callable[..., None]:
    def set_limits(**scopes: int) -> None:
        settings.RATE_LIMITS = {**settings.RATE_LIMITS, **scopes}

    return set_limits


def _admitted(scope: str, ident: str, count: int, clock: Clock, *, spread: float = 0.0) -> int:
    """Send ``count`` hits over ``spread`` seconds; how many were admitted."""
    start = clock.now
    admitted = 0
    for i in range(count):
        clock.now = start + spread * i / max(count - 1, 1)
        admitted += not throttling.hit(scope, ident).exceeded
    return admitted


# --- the sliding window -------------------------------------------------------------------


def test_a_burst_across_a_window_boundary_is_limited(clock: Clock, limits: Any) -> None:
    """The fixed window let 20 logins through in 9.7 s; the sliding one lets 11."""
    limits(auth=10)
    clock.now = MINUTE_START + 55
    assert _admitted("auth", "ip:198.51.100.7", 10, clock, spread=4.5) == 10
    clock.now = MINUTE_START + 60.2  # just past the boundary
    assert _admitted("auth", "ip:198.51.100.7", 10, clock, spread=4.5) == 1


def test_the_previous_window_fades_out_linearly(clock: Clock, limits: Any) -> None:
    limits(auth=10)
    clock.now = MINUTE_START + 1
    assert _admitted("auth", "ip:a", 10, clock) == 10
    clock.now = MINUTE_START + 60 + 30  # half-way: the previous 10 weigh 5
    assert _admitted("auth", "ip:a", 10, clock) == 5
    clock.now = MINUTE_START + 120 + 59  # the previous window now holds 5, weighing 0
    assert _admitted("auth", "ip:a", 10, clock) == 10


def test_a_refused_request_is_not_counted_and_retry_after_is_honest(
    clock: Clock, limits: Any
) -> None:
    limits(auth=10)
    scenarios = [(MINUTE_START + 50, 10, MINUTE_START + 65), (MINUTE_START + 5, 10, 0.0)]
    for first_at, first_count, burst_at in scenarios:
        ident = f"ip:scenario-{first_at}"
        clock.now = first_at
        _admitted("auth", ident, first_count, clock)
        clock.now = burst_at or first_at
        while not (state := throttling.hit("auth", ident)).exceeded:
            pass
        refused_at = clock.now
        assert state.retry_after >= 1
        for _ in range(5):  # knocking again while refused changes nothing
            assert throttling.hit("auth", ident).retry_after == state.retry_after
        clock.now = refused_at + state.retry_after - 1
        assert throttling.hit("auth", ident).exceeded
        clock.now = refused_at + state.retry_after + 0.01
        assert not throttling.hit("auth", ident).exceeded


def test_counting_is_atomic_across_concurrent_workers(limits: Any) -> None:
    """Threads with their own cache connections (Redis under ``make test``) share one
    counter: no increment is lost, so no more than the limit is ever admitted."""
    limits(trading=100)
    admitted: list[int] = []

    def worker() -> None:
        admitted.append(
            sum(not throttling.hit("trading", "user:shared").exceeded for _ in range(50))
        )

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Refused hits are taken back: while one is pending another may be refused too, so
    # a few fewer than the limit may pass, never more.
    assert 100 - len(threads) <= sum(admitted) <= 100


# --- the global limit on every path ------------------------------------------------------


def test_an_unknown_path_gets_429_after_the_global_limit(
    api_client: APIClient, clock: Clock
) -> None:
    statuses = [api_client.get("/api/v1/no/such/path").status_code for _ in range(1000)]
    assert statuses == [404] * 1000
    refused = api_client.get("/api/v1/no/such/path")
    assert refused.status_code == 429
    assert_error_envelope(refused.json(), code="RATE_LIMIT_EXCEEDED")
    assert int(refused["Retry-After"]) == 40  # the count starts fading at the window's end
    assert refused["X-RateLimit-Limit"] == "1000"
    assert refused["X-RateLimit-Remaining"] == "0"
    assert refused["X-RateLimit-Reset"] == str(int(MINUTE_START + 60))
    assert refused["X-Request-ID"].startswith("req_")


@pytest.mark.parametrize(
    "path", ["/no/such/path", "/health", "/admin/login/", "/api/v1/docs/", "/api/v1/schema/"]
)
def test_every_path_counts_against_the_global_limit(
    client: Client, clock: Clock, limits: Any, path: str
) -> None:
    limits(**{"global": 3})
    remaining = [client.get(path)["X-RateLimit-Remaining"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]  # each request counted once, not twice
    refused = client.get(path)
    assert refused.status_code == 429
    assert_error_envelope(refused.json(), code="RATE_LIMIT_EXCEEDED")
    assert int(refused["Retry-After"]) == 40


def test_static_files_are_not_counted(client: Client, clock: Clock, limits: Any) -> None:
    limits(**{"global": 1})
    for _ in range(3):
        assert client.get("/static/admin/css/base.css").status_code == 200
    assert client.get("/static/no/such/file.css").status_code == 404  # counted: a 404
    assert client.get("/static/no/such/file.css").status_code == 429


def test_a_drf_request_with_a_bad_token_counts_per_ip(
    api_client: APIClient, clock: Clock, limits: Any
) -> None:
    limits(**{"global": 2})
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert [api_client.get("/api/v1/auth/me").status_code for _ in range(2)] == [401, 401]
    assert api_client.get("/api/v1/auth/me").status_code == 429


def test_a_logged_in_admin_counts_per_user(
    client: Client, make_user: Any, clock: Clock, limits: Any
) -> None:
    limits(**{"global": 2})
    client.force_login(make_user(role="admin"))
    assert [client.get("/admin/").status_code for _ in range(2)] == [200, 200]
    assert client.get("/admin/").status_code == 429
    assert Client().get("/admin/login/").status_code == 200  # same IP, no user: its own count


# --- the Django admin's login -------------------------------------------------------------


def _admin_login(client: Client, username: str, password: str, ip: str = "203.0.113.9") -> Any:
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password},
        REMOTE_ADDR=ip,
    )


def test_admin_login_is_limited_per_ip(
    client: Client, make_user: Any, clock: Clock, limits: Any
) -> None:
    limits(auth=10)
    admin = make_user(role="admin")
    statuses = [
        _admin_login(client, f"guess{i}@example.com", "wrong-password").status_code
        for i in range(10)
    ]
    assert statuses == [200] * 10  # the form again, with an error
    refused = _admin_login(client, admin.email, "pass-w0rd-123")  # even the right password
    assert refused.status_code == 429
    assert_error_envelope(refused.json(), code="RATE_LIMIT_EXCEEDED")
    assert int(refused["Retry-After"]) == 40
    assert refused["X-RateLimit-Limit"] == "10"
    assert "_auth_user_id" not in client.session
    assert _admin_login(client, admin.email, "pass-w0rd-123", ip="203.0.113.10").status_code == 302


def test_admin_login_is_limited_per_username_across_ips(
    client: Client, make_user: Any, clock: Clock, limits: Any
) -> None:
    limits(auth=10)
    admin = make_user(role="admin")
    for i in range(10):
        assert _admin_login(client, admin.email, "wrong", ip=f"198.51.100.{i}").status_code == 200
    assert _admin_login(client, admin.email.upper(), "wrong", ip="198.51.100.99").status_code == 429
    assert _admin_login(client, "other@example.com", "wrong", ip="198.51.100.99").status_code == 200


def test_viewing_the_admin_login_page_does_not_use_the_login_limit(
    client: Client, clock: Clock, limits: Any
) -> None:
    limits(auth=2)
    for _ in range(5):
        assert client.get("/admin/login/").status_code == 200
    assert _admin_login(client, "x@example.com", "wrong").status_code == 200
