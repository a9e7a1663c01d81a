"""Cross-cutting behaviour: health, request ids, errors, paths, docs, admin, settings."""

from __future__ import annotations

import importlib
import inspect
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rest_framework import serializers
from rest_framework.test import APIClient

from tests.contract import assert_error_envelope

pytestmark = pytest.mark.django_db
REPO = Path(__file__).resolve().parent.parent


def test_health_checks_real_services(api_client: APIClient, settings: Any) -> None:
    response = api_client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "channel_layer", "broker"}
    if "postgresql" in settings.DATABASES["default"]["ENGINE"]:
        # make test runs on PostgreSQL and Redis: every check is a real round trip.
        assert body["checks"] == {
            "database": "ok",
            "cache": "ok",
            "channel_layer": "ok",
            "broker": "ok",
        }


def test_health_reports_a_broken_dependency(api_client: APIClient, settings: Any) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        }
    }
    from django.core.cache import caches

    caches._settings = None  # type: ignore[attr-defined]
    try:
        from sigmasight.health import check_cache

        assert check_cache().startswith("error: ")
    finally:
        caches._settings = None  # type: ignore[attr-defined]


def test_request_id_is_generated_and_echoed(api_client: APIClient) -> None:
    generated = api_client.get("/health")
    assert generated["X-Request-ID"].startswith("req_")
    echoed = api_client.get("/health", HTTP_X_REQUEST_ID="client-abc-123")
    assert echoed["X-Request-ID"] == "client-abc-123"
    error = api_client.get("/api/v1/auth/me", HTTP_X_REQUEST_ID="trace-42")
    assert error.json()["error"]["request_id"] == "trace-42"


def test_unknown_api_path_is_404_with_envelope(api_client: APIClient) -> None:
    response = api_client.get("/api/v1/does-not-exist")
    assert response.status_code == 404
    assert_error_envelope(response.json(), code="NOT_FOUND")


def test_wrong_method_is_405_with_envelope(api_client: APIClient) -> None:
    response = api_client.get("/api/v1/auth/login")
    assert response.status_code == 405
    assert_error_envelope(response.json(), code="METHOD_NOT_ALLOWED")


def test_both_slash_forms_answer_without_redirect(api_client: APIClient) -> None:
    assert api_client.get("/health").status_code == 200
    assert api_client.get("/health/").status_code == 200
    assert api_client.get("/api/v1/auth/me").status_code == 401
    assert api_client.get("/api/v1/auth/me/").status_code == 401


def test_unexpected_failure_is_a_500_envelope_without_trace(rf: Any) -> None:
    from sigmasight.api.errors import exception_handler

    response = exception_handler(RuntimeError("boom at line 3"), {"view": None})
    assert response.status_code == 500
    assert_error_envelope(response.data, code="INTERNAL_ERROR")
    assert "boom" not in str(response.data)


def test_openapi_schema_and_docs(api_client: APIClient) -> None:
    schema = api_client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    document = schema.json()
    assert document["openapi"].startswith("3.")
    for path in (
        "/api/v1/auth/login",
        "/api/v1/auth/me",
        "/api/v1/auth/refresh",
        "/api/v1/auth/register",
        "/api/v1/auth/logout",
        "/health",
    ):
        assert path in document["paths"], path
    login = document["paths"]["/api/v1/auth/login"]["post"]
    assert "requestBody" in login and "200" in login["responses"]
    docs = api_client.get("/api/v1/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()


def test_django_admin_manages_users(client: Any, make_user: Any) -> None:
    admin = make_user(role="admin", is_superuser=True)
    client.force_login(admin)
    assert client.get("/admin/accounts/user/").status_code == 200
    assert client.get(f"/admin/accounts/user/{admin.pk}/change/").status_code == 200
    trader = make_user(role="trader")
    client.force_login(trader)
    assert client.get("/admin/accounts/user/").status_code == 302  # not staff: to the login page


def _settings_import(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "SECRET_KEY_FILE", "DEBUG"}
    }
    clean.update(env)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'sigmasight.settings'); django.setup()",
        ],
        cwd=REPO,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_the_default_secret_key() -> None:
    # Production explicitly: the embedded default may find the key `make run` generated.
    refused = _settings_import(
        {"DEBUG": "false", "DATABASE_URL": "postgres://nobody@127.0.0.1:1/x"}
    )
    assert refused.returncode != 0
    assert "Refusing to start" in refused.stderr
    assert _settings_import({"DEBUG": "false", "SECRET_KEY": "x" * 50}).returncode == 0
    assert _settings_import({"DEBUG": "true"}).returncode == 0


def test_admin_role_manages_the_django_admin(client: Any, make_user: Any) -> None:
    client.force_login(make_user(role="admin"))  # not a superuser
    assert client.get("/admin/accounts/user/").status_code == 200
    assert client.get("/admin/batch/batchjob/").status_code == 200


def test_every_api_serializer_has_a_name_of_its_own() -> None:
    """The OpenAPI components are named after the serializers: two apps' serializers of
    one name would share one component, and one app's responses would be documented with
    the other's fields (trading's ``PerformanceSerializer`` once took the portfolio's)."""
    owners: dict[str, list[str]] = {}
    for app in ("accounts", "portfolios", "marketdata", "risk", "signals", "trading", "batch"):
        try:
            module = importlib.import_module(f"{app}.api.serializers")
        except ModuleNotFoundError:
            continue
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, serializers.BaseSerializer)
                and value.__module__ == module.__name__
            ):
                owners.setdefault(name.removesuffix("Serializer"), []).append(module.__name__)
    shared = {name: where for name, where in owners.items() if len(where) > 1}
    assert shared == {}
