"""Transport headers (HSTS, CSP) and cookies that are Secure exactly on HTTPS requests,
so that the Django admin works on a real host over plain HTTP too."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client

pytestmark = pytest.mark.django_db
HOST = "sigmasight.example"
PROXY_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")


@pytest.fixture
def real_host(settings: Any) -> None:
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, HOST]


class Browser(Client):
    """A test client that keeps cookies as a browser does: a cookie marked Secure is
    refused when it arrives over plain HTTP (Django's client keeps every cookie)."""

    def request(self, **request: Any) -> Any:
        response = super().request(**request)
        over_https = request.get("wsgi.url_scheme") == "https" or (
            request.get(PROXY_HEADER[0]) == PROXY_HEADER[1]
            and django_settings.SECURE_PROXY_SSL_HEADER == PROXY_HEADER
        )
        if not over_https:
            for name, morsel in response.cookies.items():
                if morsel["secure"] and name in self.cookies:
                    del self.cookies[name]
        return response


def _csrf_token(page: Any) -> str:
    match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content)
    assert match, page.content[:500]
    return match.group(1).decode()


def test_admin_login_works_over_plain_http_on_a_real_host(real_host: None, make_user: Any) -> None:
    staff = make_user(role="admin")
    browser = Browser(enforce_csrf_checks=True, HTTP_HOST=HOST)
    page = browser.get("/admin/login/?next=/admin/")
    assert page.status_code == 200
    assert not page.cookies["csrftoken"]["secure"]
    response = browser.post(
        "/admin/login/?next=/admin/",
        {
            "csrfmiddlewaretoken": _csrf_token(page),
            "username": staff.email,
            "password": "pass-w0rd-123",
            "next": "/admin/",
        },
        HTTP_ORIGIN=f"http://{HOST}",
    )
    assert response.status_code == 302, response.content[:500]
    assert response["Location"] == "/admin/"
    assert not response.cookies["sessionid"]["secure"]
    assert browser.get("/admin/").status_code == 200


@pytest.mark.parametrize("via", ["tls", "proxy"])
def test_cookies_are_secure_over_https(
    real_host: None, make_user: Any, settings: Any, via: str
) -> None:
    settings.SECURE_PROXY_SSL_HEADER = PROXY_HEADER
    https: dict[str, Any] = {"secure": True} if via == "tls" else {PROXY_HEADER[0]: "https"}
    staff = make_user(role="admin")
    browser = Browser(enforce_csrf_checks=True, HTTP_HOST=HOST)
    page = browser.get("/admin/login/", **https)
    assert page.cookies["csrftoken"]["secure"] is True
    response = browser.post(
        "/admin/login/?next=/admin/",
        {
            "csrfmiddlewaretoken": _csrf_token(page),
            "username": staff.email,
            "password": "pass-w0rd-123",
        },
        HTTP_ORIGIN=f"https://{HOST}",
        **https,
    )
    assert response.status_code == 302, response.content[:500]
    assert response.cookies["sessionid"]["secure"] is True
    assert response.cookies["csrftoken"]["secure"] is True


@pytest.mark.parametrize("https", [False, True])
def test_the_access_token_cookie_is_secure_exactly_over_https(
    client: Client, make_user: Any, https: bool
) -> None:
    user = make_user()
    response = client.post(
        "/api/v1/auth/login",
        {"email": user.email, "password": "pass-w0rd-123"},
        content_type="application/json",
        secure=https,
    )
    assert response.status_code == 200
    assert bool(response.cookies["access_token"]["secure"]) is https


def test_auth_cookie_secure_forces_secure_cookies_on_plain_http(
    client: Client, settings: Any
) -> None:
    settings.AUTH_COOKIE_SECURE = True
    assert client.get("/admin/login/").cookies["csrftoken"]["secure"] is True


def test_the_proxy_header_is_ignored_unless_configured(client: Client, settings: Any) -> None:
    settings.SECURE_PROXY_SSL_HEADER = None
    response = client.get("/admin/login/", HTTP_X_FORWARDED_PROTO="https")
    assert not response.cookies["csrftoken"]["secure"]
    assert "Strict-Transport-Security" not in response.headers


# --- HSTS ---------------------------------------------------------------------------------


def test_hsts_on_https_responses_only(client: Client, settings: Any) -> None:
    assert client.get("/health", secure=True)["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in client.get("/health").headers
    settings.SECURE_PROXY_SSL_HEADER = PROXY_HEADER
    behind_proxy = client.get("/health", HTTP_X_FORWARDED_PROTO="https")
    assert behind_proxy["Strict-Transport-Security"] == "max-age=31536000"


def test_hsts_options_are_settings(client: Client, settings: Any) -> None:
    settings.SECURE_HSTS_SECONDS = 600
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    header = client.get("/health", secure=True)["Strict-Transport-Security"]
    assert header == "max-age=600; includeSubDomains; preload"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", None),
        ("X-Forwarded-Proto", ("HTTP_X_FORWARDED_PROTO", "https")),
        ("X-Forwarded-Ssl=on", ("HTTP_X_FORWARDED_SSL", "on")),
    ],
)
def test_the_proxy_ssl_header_setting_is_read_from_a_header_name(
    value: str, expected: tuple[str, str] | None
) -> None:
    from sigmasight.settings import _proxy_ssl_header

    assert _proxy_ssl_header(value) == expected


# --- Content-Security-Policy ----------------------------------------------------------------


class _Resources(HTMLParser):
    """What a page loads, and any inline script or style (which the policy forbids)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if "style" in found:
            self.inline.append(f"style attribute on <{tag}>")
        if any(name.startswith("on") for name in found):
            self.inline.append(f"event handler on <{tag}>")
        if tag == "style":
            self.inline.append("<style> element")
        if tag == "script":
            if found.get("src"):
                self.urls.append(str(found["src"]))
            elif found.get("type") not in ("application/json",):
                self._in_inline_script = True
        if tag == "link" and found.get("href"):
            self.urls.append(str(found["href"]))

    def handle_data(self, data: str) -> None:
        if self._in_inline_script and data.strip():
            self.inline.append("inline <script>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_inline_script = False


def _policy(response: Any) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = [part.split() for part in header.split(";") if part.strip()]
    return {name: values for name, *values in directives}


def _assert_loads_under_the_policy(client: Client, path: str) -> None:
    page = client.get(path)
    assert page.status_code == 200
    policy = _policy(page)
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    resources = _Resources()
    resources.feed(page.content.decode())
    assert resources.inline == [], f"{path} needs inline code the policy blocks"
    assert resources.urls, path
    for url in resources.urls:
        assert url.startswith("/"), f"{url} is not from this origin"
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("path", ["/api/v1/docs/", "/admin/login/"])
def test_pages_load_under_the_content_security_policy(client: Client, path: str) -> None:
    _assert_loads_under_the_policy(client, path)


def test_admin_pages_load_under_the_content_security_policy(client: Client, make_user: Any) -> None:
    admin = make_user(role="admin")
    client.force_login(admin)
    for path in ("/admin/", "/admin/accounts/user/", f"/admin/accounts/user/{admin.pk}/change/"):
        _assert_loads_under_the_policy(client, path)


def test_the_docs_script_comes_from_the_split_view(client: Client) -> None:
    script = client.get("/api/v1/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.content
    assert b'"validatorUrl": null' in script.content  # no call to validator.swagger.io
