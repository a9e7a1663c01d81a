"""Cross-cutting HTTP behaviour: request ids, input limits, path normalisation, rate
limits, per-request Secure cookies, and the JSON error envelope for responses produced
outside DRF views."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParser
from django.utils.http import parse_header_parameters
from rest_framework.views import APIView
from whitenoise.middleware import WhiteNoiseFileResponse

from sigmasight.api.errors import error_response, validation_body
from sigmasight.api.request_id import (
    new_request_id,
    reset_request_id,
    set_request_id,
)
from sigmasight.api.throttling import (
    RATE_LIMIT_ATTR,
    RateLimitState,
    client_ip,
    hit,
    remember,
    request_ident,
    too_many_requests,
    username_ident,
)

logger = logging.getLogger(__name__)

Handler = Callable[[HttpRequest], HttpResponse]
JSON_PREFIXES = ("/api/", "/health", "/ws/")


class RequestIdMiddleware:
    """Every response carries ``X-Request-ID``; a client-sent id is echoed back."""

    def __init__(self, get_response: Handler):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = new_request_id(request.headers.get("X-Request-ID"))
        request.request_id = request_id  # type: ignore[attr-defined]
        token = set_request_id(request_id)
        try:
            response = self.get_response(request)
        finally:
            reset_request_id(token)
        response["X-Request-ID"] = request_id
        return response


class TrailingSlashMiddleware:
    """API paths answer with and without a trailing slash, without redirects."""

    def __init__(self, get_response: Handler):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if (path.startswith("/api/") or path.startswith("/health")) and len(path) > 1:
            stripped = path.rstrip("/")
            if stripped != path:
                request.path_info = stripped
        return self.get_response(request)


class RequestLimitsMiddleware:
    """Input no view should see answers a 4xx envelope here, on every path.

    * request line and headers over ``MAX_REQUEST_HEADER_BYTES`` → 431;
    * a declared body over ``MAX_REQUEST_BODY_BYTES`` → 413, before anything reads it
      (Django would raise ``RequestDataTooBig`` at the first ``request.body``);
    * a ``Content-Length`` that is not a number → 400;
    * a multipart body without a valid boundary → 422, as a malformed JSON body is.

    The server launcher (:mod:`sigmasight.serve`) lets headers up to four times the
    limit reach Django, so that this answer (with the echoed ``X-Request-ID`` and the
    rate-limit headers) is the one clients see.
    """

    def __init__(self, get_response: Handler):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        header_limit: int = settings.MAX_REQUEST_HEADER_BYTES
        if header_bytes(request.META) > header_limit:
            return error_response(
                431,
                message=f"Request header fields too large: at most {header_limit} bytes",
                details={"max_bytes": header_limit},
            )
        declared = request.META.get("CONTENT_LENGTH") or "0"
        if not declared.isdigit():
            return error_response(400, message="Content-Length is not a number")
        body_limit: int = settings.MAX_REQUEST_BODY_BYTES
        if int(declared) > body_limit:
            return error_response(
                413,
                message=f"Request body too large: at most {body_limit} bytes",
                details={"max_bytes": body_limit},
            )
        content_type, params = parse_header_parameters(request.META.get("CONTENT_TYPE", ""))
        if content_type.startswith("multipart/"):
            boundary = params.get("boundary", "")
            if not MultiPartParser.boundary_re.fullmatch(boundary):
                return JsonResponse(
                    validation_body(
                        {
                            "non_field_errors": [
                                "Malformed request body: no valid multipart boundary"
                            ]
                        },
                        "body",
                    ),
                    status=422,
                )
        return self.get_response(request)


def header_bytes(meta: Mapping[str, Any]) -> int:
    """The size of the request line and headers as sent, in bytes (names, values and
    the ``": "``/CRLF separators; the method and protocol are not counted)."""
    size = len(meta.get("PATH_INFO", "")) + len(meta.get("QUERY_STRING", ""))
    for key, value in meta.items():
        if key.startswith("HTTP_"):
            size += len(key) - 5 + len(str(value)) + 4
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            size += len(key) + len(str(value)) + 4
    return size


class RateLimitMiddleware:
    """The global limit on every path, the admin login limit, and ``X-RateLimit-*``.

    DRF views count themselves, per user or IP, with their throttles (global plus their
    scope). Here the rest is counted once, against the same ``global`` limit:

    * other views (the Django admin): before the view runs, so a flood is refused
      without doing the work; a POST to the admin login also counts against the
      ``auth`` limit, per IP and per submitted username (a guess at one account from
      many addresses is limited too);
    * requests no view counted (unknown paths, answers from earlier middleware, DRF
      requests refused before their throttles, e.g. a bad token): after the response,
      which is then replaced by the 429 if the limit is exceeded. Nothing had side
      effects on those paths, so refusing afterwards is the same as refusing before.

    Static files served by whitenoise are not counted (a missing one is: it is a 404).
    """

    def __init__(self, get_response: Handler):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        state: RateLimitState | None = getattr(request, RATE_LIMIT_ATTR, None)
        if state is None:
            if isinstance(response, WhiteNoiseFileResponse):
                return response
            state = hit("global", request_ident(request))
            remember(request, state)
            if state.exceeded:
                response = too_many_requests(state)
        response["X-RateLimit-Limit"] = str(state.limit)
        response["X-RateLimit-Remaining"] = str(max(state.remaining, 0))
        response["X-RateLimit-Reset"] = str(state.reset)
        if response.status_code == 429 and not response.has_header("Retry-After"):
            response["Retry-After"] = str(state.retry_after or 1)
        return response

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        view_class = getattr(view_func, "cls", None)
        if isinstance(view_class, type) and issubclass(view_class, APIView):
            return None  # its throttles count it, per user when the token names one
        checks = [("global", request_ident(request))]
        match = request.resolver_match
        if request.method == "POST" and match is not None and match.view_name == "admin:login":
            checks.append(("auth", f"ip:{client_ip(request)}"))
            if username := request.POST.get("username", ""):
                checks.append(("auth", username_ident(username)))
        for scope, ident in checks:
            state = hit(scope, ident)
            remember(request, state)
            if state.exceeded:
                # The later limits are not charged: an address that is already refused
                # must not use up the username's allowance of its rightful owner.
                return too_many_requests(state)
        return None


class SecureCookieMiddleware:
    """Cookies are ``Secure`` exactly when the request came over HTTPS.

    HTTPS is ``request.is_secure()``: a TLS connection to this server, or the header
    ``SECURE_PROXY_SSL_HEADER`` names from a TLS proxy. A Secure cookie set over plain
    HTTP is dropped by browsers (except on localhost), which broke the admin's CSRF
    check on every real host; a cookie set over HTTPS must never travel in clear.
    ``AUTH_COOKIE_SECURE=true`` forces Secure on plain HTTP too. ``__Secure-`` and
    ``__Host-`` cookies are always Secure, as their prefix demands.

    It wraps the session, CSRF and message middleware and the views, so it sees every
    cookie they set: the session, ``csrftoken`` and the API's ``access_token``.
    """

    def __init__(self, get_response: Handler):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        secure = request.is_secure() or settings.AUTH_COOKIE_SECURE
        for name, morsel in response.cookies.items():
            morsel["secure"] = secure or name.startswith(("__Secure-", "__Host-"))
        return response


class JsonErrorMiddleware:
    """API errors raised outside DRF (unknown paths, crashes) get the envelope, never HTML."""

    def __init__(self, get_response: Handler):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and request.path_info.startswith(JSON_PREFIXES)
            and "json" not in response.get("Content-Type", "")
        ):
            return error_response(response.status_code)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if request.path_info.startswith(JSON_PREFIXES):
            logger.exception("Unhandled error on %s %s", request.method, request.path_info)
            return error_response(500)
        return None
