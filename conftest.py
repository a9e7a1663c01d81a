"""Fixtures shared by every app's tests."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient


def pytest_report_header(config: pytest.Config) -> list[str]:
    database = settings.DATABASES["default"]
    layer = settings.CHANNEL_LAYERS["default"]["BACKEND"]
    return [
        f"sigmasight database: {database['ENGINE']} {database.get('HOST') or ''}"
        f":{database.get('PORT') or ''}/{database.get('NAME')}",
        f"sigmasight channel layer: {layer}; cache: {settings.CACHES['default']['BACKEND']}",
        f"sigmasight celery broker: {settings.CELERY_BROKER_URL} "
        f"(eager={settings.CELERY_TASK_ALWAYS_EAGER})",
    ]


def pytest_configure(config: pytest.Config) -> None:
    """``make test`` must run on PostgreSQL and Redis: never fall back silently."""
    import os

    if os.environ.get("SIGMASIGHT_REQUIRE_SERVICES") == "1":
        engine = settings.DATABASES["default"]["ENGINE"]
        layer = settings.CHANNEL_LAYERS["default"]["BACKEND"]
        if "postgresql" not in engine or "Redis" not in layer:
            raise pytest.UsageError(
                f"SIGMASIGHT_REQUIRE_SERVICES=1 but the database is {engine} and the channel "
                f"layer {layer}: refusing to test against the embedded default."
            )


@pytest.fixture(autouse=True)
def _static_files_from_the_apps(settings: Any) -> None:
    """Whitenoise serves the apps' static files straight from their finders, so tests of
    the admin and docs pages see their CSS and scripts in a fresh clone, where nobody ran
    ``collectstatic`` (``make run`` and production do)."""
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True


@pytest.fixture(autouse=True)
def _isolated_rate_limits(settings: Any) -> None:
    """Each test counts requests under its own key prefix, so test order doesn't matter."""
    settings.RATE_LIMIT_KEY_PREFIX = f"rl-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def eager_celery(settings: Any) -> Iterator[None]:
    """Run dispatched tasks inline, whatever the environment's broker (as the embedded
    default does)."""
    from sigmasight.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    settings.CELERY_TASK_ALWAYS_EAGER = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def make_user(db: None) -> Callable[..., Any]:
    from accounts.tests.factories import UserFactory

    def make(**kwargs: Any) -> Any:
        return UserFactory(**kwargs)

    return make


@pytest.fixture
def login(api_client: APIClient) -> Callable[..., dict[str, Any]]:
    """Log a user in through the API and return the token response body."""

    def do_login(email: str, password: str = "pass-w0rd-123") -> dict[str, Any]:
        response = api_client.post(
            "/api/v1/auth/login", {"email": email, "password": password}, format="json"
        )
        assert response.status_code == 200, response.content
        return response.json()

    return do_login


@pytest.fixture
def trader(make_user: Callable[..., Any]) -> Any:
    return make_user(role="trader")


@pytest.fixture
def auth_client(trader: Any) -> APIClient:
    """An API client carrying a real access token for ``trader``."""
    from accounts.tokens import issue_for_new_session

    client = APIClient()
    issued = issue_for_new_session(trader)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.access_token}")
    client.user = trader  # type: ignore[attr-defined]
    return client
