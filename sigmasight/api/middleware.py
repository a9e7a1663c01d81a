"""Cross-cutting HTTP behaviour: request ids, path normalisation, rate-limit headers,
and the JSON error envelope for responses produced outside DRF views."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from sigmasight.api.errors import error_response
from sigmasight.api.request_id import (
    new_request_id,
    reset_request_id,
    set_request_id,
)
from sigmasight.api.throttling import RATE_LIMIT_ATTR, RateLimitState, client_ip, hit

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


class RateLimitHeadersMiddleware:
    """Adds ``X-RateLimit-*`` to every response.

    DRF views record the tightest limit they checked; other responses (the admin, an
    unknown path) count against the global limit per client IP here.
    """

    def __init__(self, get_response: Handler):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        state: RateLimitState | None = getattr(request, RATE_LIMIT_ATTR, None)
        if state is None:
            if request.path_info.startswith("/static/"):
                return response
            state = hit("global", f"ip:{client_ip(request)}")
        response["X-RateLimit-Limit"] = str(state.limit)
        response["X-RateLimit-Remaining"] = str(max(state.remaining, 0))
        response["X-RateLimit-Reset"] = str(state.reset)
        if response.status_code == 429 and not response.has_header("Retry-After"):
            response["Retry-After"] = str(state.retry_after)
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
