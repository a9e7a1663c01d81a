"""No input gives a 500: oversized, deeply nested and malformed requests answer a 4xx
in the error envelope, with ``X-Request-ID``, on every path. Checked through Django's
test client and through a real daphne process started by ``sigmasight.serve``."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tests.contract import assert_error_envelope

pytestmark = pytest.mark.django_db
REPO = Path(__file__).resolve().parent.parent

# Unauthenticated endpoints, a DRF one that reads the body, the admin, unknown paths.
PATHS = ["/api/v1/auth/login", "/health", "/admin/login/", "/api/v1/no/such/path", "/nope"]
THREE_MB = b"a" * 3_000_000
NESTED = b"[" * 50_000 + b"]" * 50_000
LONG_AUTHORIZATION = "Bearer " + "x" * 20_000


def _assert_envelope(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.content[:300]
    assert_error_envelope(response.json(), code=code)
    assert response.json()["error"]["request_id"] == response["X-Request-ID"]


@pytest.mark.parametrize("path", PATHS)
def test_a_3_mb_body_is_413(client: Client, path: str) -> None:
    response = client.generic("POST", path, THREE_MB, content_type="application/json")
    _assert_envelope(response, 413, "PAYLOAD_TOO_LARGE")
    assert response.json()["error"]["details"] == {"max_bytes": 2_621_440}


def test_the_body_limit_is_a_setting(client: Client, settings: Any) -> None:
    settings.MAX_REQUEST_BODY_BYTES = 100
    body = json.dumps({"email": "x@example.com", "password": "p" * 100})
    response = client.post("/api/v1/auth/login", body, content_type="application/json")
    _assert_envelope(response, 413, "PAYLOAD_TOO_LARGE")


def test_deeply_nested_json_is_a_422(client: Client) -> None:
    response = client.generic("POST", "/api/v1/auth/login", NESTED, content_type="application/json")
    _assert_envelope(response, 422, "VALIDATION_ERROR")
    assert response.json()["detail"][0]["loc"] == ["body"]


def test_deeply_nested_json_is_a_422_on_an_authenticated_endpoint(auth_client: Any) -> None:
    response = auth_client.generic(
        "POST", "/api/v1/management/portfolios", NESTED, content_type="application/json"
    )
    _assert_envelope(response, 422, "VALIDATION_ERROR")


@pytest.mark.parametrize("path", PATHS[1:])
def test_deeply_nested_json_never_gives_a_500(client: Client, path: str) -> None:
    response = client.generic("POST", path, NESTED, content_type="application/json")
    assert response.status_code < 500
    if path != "/admin/login/" and path != "/nope":  # HTML pages: the form again, a 404 page
        assert_error_envelope(response.json())


@pytest.mark.parametrize("path", PATHS)
def test_multipart_without_a_boundary_is_a_422(client: Client, path: str) -> None:
    response = client.generic("POST", path, b"abc", content_type="multipart/form-data")
    _assert_envelope(response, 422, "VALIDATION_ERROR")


@pytest.mark.parametrize("path", PATHS)
def test_a_20_kb_authorization_header_is_431(client: Client, path: str) -> None:
    response = client.get(path, HTTP_AUTHORIZATION=LONG_AUTHORIZATION)
    _assert_envelope(response, 431, "HEADERS_TOO_LARGE")
    assert "X-RateLimit-Limit" in response.headers  # it still counted against the limit


def test_a_content_length_that_is_not_a_number_is_400(client: Client) -> None:
    response = client.generic(
        "POST", "/api/v1/auth/login", b"{}", content_type="application/json", CONTENT_LENGTH="2x"
    )
    _assert_envelope(response, 400, "VALIDATION_ERROR")


def test_a_request_id_of_an_oversized_request_is_still_echoed(client: Client) -> None:
    response = client.get(
        "/health", HTTP_AUTHORIZATION=LONG_AUTHORIZATION, HTTP_X_REQUEST_ID="trace-431"
    )
    assert response["X-Request-ID"] == "trace-431"


# --- a real daphne process --------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def daphne_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """``python -m sigmasight.serve`` on the embedded default, as ``make run`` starts it.
    The requests below never reach the (unmigrated) database."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        SECRET_KEY="test-only-daphne-key-" + "x" * 40,
        DEBUG="false",
        SQLITE_PATH=str(tmp_path_factory.mktemp("daphne") / "db.sqlite3"),
    )
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "sigmasight.serve"),
            *("-b", "127.0.0.1", "-p", str(port), "sigmasight.asgi:application"),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    error = server.stderr.read().decode() if server.stderr else ""
                    pytest.fail(f"daphne did not start: {error[-2000:]}")
                time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def _request(
    port: int, method: str, path: str, *, body: bytes | None = None, headers: dict[str, str]
) -> tuple[int, dict[str, str], Any]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        payload = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, payload
    finally:
        connection.close()


def _assert_live_envelope(answer: tuple[int, dict[str, str], Any], status: int, code: str) -> None:
    got, headers, payload = answer
    assert got == status, payload[:300]
    assert headers["content-type"] == "application/json"
    body = json.loads(payload)
    assert_error_envelope(body, code=code)
    assert body["error"]["request_id"] == headers["x-request-id"]


def test_daphne_answers_a_20_kb_authorization_header_with_431_from_django(daphne_port: int) -> None:
    answer = _request(daphne_port, "GET", "/health", headers={"Authorization": LONG_AUTHORIZATION})
    _assert_live_envelope(answer, 431, "HEADERS_TOO_LARGE")
    assert "x-ratelimit-limit" in answer[1]  # Django's answer, not the server's


def test_daphne_answers_headers_beyond_its_buffer_with_431(daphne_port: int) -> None:
    answer = _request(
        daphne_port, "GET", "/health", headers={"Authorization": "Bearer " + "x" * 100_000}
    )
    _assert_live_envelope(answer, 431, "HEADERS_TOO_LARGE")


def test_daphne_answers_too_many_headers_with_431(daphne_port: int) -> None:
    headers = {f"X-Filler-{i}": "1" for i in range(600)}
    _assert_live_envelope(
        _request(daphne_port, "GET", "/health", headers=headers), 431, "HEADERS_TOO_LARGE"
    )


def test_daphne_answers_a_malformed_request_with_a_400_envelope(daphne_port: int) -> None:
    with socket.create_connection(("127.0.0.1", daphne_port), timeout=30) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\nno colon here\r\n\r\n")
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, payload = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 Bad Request")
    assert_error_envelope(json.loads(payload))


def test_daphne_passes_multipart_without_a_boundary_to_django(daphne_port: int) -> None:
    answer = _request(
        daphne_port,
        "POST",
        "/api/v1/auth/login",
        body=b"abc",
        headers={"Content-Type": "multipart/form-data"},
    )
    _assert_live_envelope(answer, 422, "VALIDATION_ERROR")


def test_daphne_answers_a_3_mb_body_with_413(daphne_port: int) -> None:
    answer = _request(
        daphne_port,
        "POST",
        "/api/v1/auth/login",
        body=THREE_MB,
        headers={"Content-Type": "application/json"},
    )
    _assert_live_envelope(answer, 413, "PAYLOAD_TOO_LARGE")


def test_daphne_answers_deeply_nested_json_with_422(daphne_port: int) -> None:
    answer = _request(
        daphne_port,
        "POST",
        "/api/v1/auth/login",
        body=NESTED,
        headers={"Content-Type": "application/json"},
    )
    _assert_live_envelope(answer, 422, "VALIDATION_ERROR")
