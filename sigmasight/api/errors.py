"""One error envelope for every 4xx/5xx.

Each error body carries both specifications' shapes so that clients of either can
read it: SigmaSight's ``detail`` and Smart-0DTE's ``error`` object. Services raise the
domain errors of ``sigmasight.errors`` (which know no HTTP); :func:`exception_handler`
maps their codes to statuses (:data:`STATUS_FOR_CODE`) and turns them, and DRF's and
Django's own exceptions, into the envelope. Views never build error dicts.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, JsonResponse
from django.utils import timezone
from rest_framework import exceptions, status
from rest_framework.response import Response

from sigmasight.api.request_id import current_request_id
from sigmasight.errors import DomainError, ValidationFailed
from sigmasight.timefmt import utc_stamp

logger = logging.getLogger(__name__)


#: HTTP status of each domain error code (``sigmasight.errors``); 400 for any other.
STATUS_FOR_CODE: dict[str, int] = {
    "NOT_FOUND": status.HTTP_404_NOT_FOUND,
    "CONFLICT": status.HTTP_409_CONFLICT,
    "GONE": status.HTTP_410_GONE,
    "VALIDATION_ERROR": status.HTTP_422_UNPROCESSABLE_ENTITY,
    "INVALID_SYMBOL": status.HTTP_422_UNPROCESSABLE_ENTITY,
    "INSUFFICIENT_FUNDS": status.HTTP_422_UNPROCESSABLE_ENTITY,
    "INVALID_STRATEGY": status.HTTP_422_UNPROCESSABLE_ENTITY,
    "LIVE_TRADING_UNAVAILABLE": status.HTTP_422_UNPROCESSABLE_ENTITY,
    "SIGNAL_EXPIRED": status.HTTP_422_UNPROCESSABLE_ENTITY,
    "MARKET_CLOSED": status.HTTP_422_UNPROCESSABLE_ENTITY,
    "POSITION_LIMIT_EXCEEDED": status.HTTP_422_UNPROCESSABLE_ENTITY,
    "DAILY_LOSS_LIMIT_EXCEEDED": status.HTTP_422_UNPROCESSABLE_ENTITY,
    "EMERGENCY_HALT_ACTIVE": status.HTTP_422_UNPROCESSABLE_ENTITY,
    "ORDER_REJECTED": status.HTTP_422_UNPROCESSABLE_ENTITY,
    "DATA_UNAVAILABLE": status.HTTP_503_SERVICE_UNAVAILABLE,
}


def status_for(error: DomainError) -> int:
    return STATUS_FOR_CODE.get(error.code, status.HTTP_400_BAD_REQUEST)


class QueryValidationError(exceptions.ValidationError):
    """A serializer error on query parameters: reported with ``loc: ["query", ...]``."""


_STATUS_CODES: dict[int, tuple[str, str]] = {
    400: ("VALIDATION_ERROR", "Bad request"),
    401: ("AUTHENTICATION_FAILED", "Could not validate credentials"),
    403: ("INSUFFICIENT_PERMISSIONS", "You do not have permission to perform this action"),
    404: ("NOT_FOUND", "Not found"),
    405: ("METHOD_NOT_ALLOWED", "Method not allowed"),
    406: ("NOT_ACCEPTABLE", "Not acceptable"),
    409: ("CONFLICT", "Conflict"),
    410: ("GONE", "Gone"),
    413: ("PAYLOAD_TOO_LARGE", "Request body too large"),
    415: ("UNSUPPORTED_MEDIA_TYPE", "Unsupported media type"),
    422: ("VALIDATION_ERROR", "Validation error"),
    429: ("RATE_LIMIT_EXCEEDED", "Too many requests"),
    431: ("HEADERS_TOO_LARGE", "Request header fields too large"),
    500: ("INTERNAL_ERROR", "Internal server error"),
    503: ("DATA_UNAVAILABLE", "Service temporarily unavailable"),
}


def error_body(
    status_code: int,
    *,
    message: str | None = None,
    code: str | None = None,
    details: dict[str, Any] | None = None,
    detail: Any = None,
) -> dict[str, Any]:
    """The envelope. ``detail`` defaults to the message (SigmaSight's string form)."""
    default_code, default_message = _STATUS_CODES.get(
        status_code, ("INTERNAL_ERROR" if status_code >= 500 else "BAD_REQUEST", "Error")
    )
    message = message or default_message
    return {
        "detail": message if detail is None else detail,
        "error": {
            "code": code or default_code,
            "message": message,
            "details": details or {},
            "timestamp": utc_stamp(timezone.now()),
            "request_id": current_request_id(),
        },
    }


def error_response(status_code: int, **kwargs: Any) -> JsonResponse:
    """A plain Django JSON error response, for code outside DRF views."""
    return JsonResponse(error_body(status_code, **kwargs), status=status_code)


def rate_limited_body(retry_after: int) -> dict[str, Any]:
    """The 429 envelope; ``retry_after`` in whole seconds, as in ``Retry-After``."""
    return error_body(
        429,
        message=f"Rate limit exceeded; retry in {retry_after} s",
        details={"retry_after": retry_after},
    )


def _flatten(errors: Any, prefix: list[str | int]) -> Iterable[dict[str, Any]]:
    """DRF's nested error dicts → SigmaSight's ``[{loc, msg, type}]`` list."""
    if isinstance(errors, dict):
        for key, value in errors.items():
            loc = prefix if key in ("non_field_errors", "__all__") else [*prefix, key]
            yield from _flatten(value, loc)
    elif isinstance(errors, list):
        if errors and all(isinstance(e, (str, exceptions.ErrorDetail)) for e in errors):
            for message in errors:
                kind = getattr(message, "code", "invalid")
                yield {"loc": prefix, "msg": str(message), "type": f"value_error.{kind}"}
        else:
            for index, value in enumerate(errors):
                if value:
                    yield from _flatten(value, [*prefix, index])
    else:
        kind = getattr(errors, "code", "invalid")
        yield {"loc": prefix, "msg": str(errors), "type": f"value_error.{kind}"}


def validation_body(errors: Any, location: str) -> dict[str, Any]:
    items = list(_flatten(errors, [location]))
    fields = {".".join(str(p) for p in item["loc"][1:]) or location: item["msg"] for item in items}
    first = items[0]["msg"] if items else "Validation error"
    return error_body(
        422,
        message=f"Validation error: {first}" if items else "Validation error",
        details={"fields": fields},
        detail=items,
    )


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's exception handler: every error becomes the envelope."""
    headers: dict[str, str] = {}
    if isinstance(exc, DomainError):
        if isinstance(exc, ValidationFailed):
            return Response(validation_body(exc.errors, exc.location), status=422)
        status_code = status_for(exc)
        detail = None
        if status_code == 422:  # every 422 carries SigmaSight's [{loc, msg, type}] list
            detail = [
                {
                    "loc": _parameter_loc(exc, context),
                    "msg": exc.message,
                    "type": f"value_error.{exc.code.lower()}",
                }
            ]
        return Response(
            error_body(
                status_code,
                message=exc.message,
                code=exc.code,
                details=exc.details,
                detail=detail,
            ),
            status=status_code,
        )
    if isinstance(exc, Http404):
        return Response(error_body(404, message=_http404_message(exc)), status=404)
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, RequestDataTooBig):  # Django's DATA_UPLOAD_MAX_MEMORY_SIZE
        return Response(error_body(413), status=413)
    if isinstance(exc, SuspiciousOperation):  # Django answers these 400, and so do we
        return Response(error_body(400, message="Bad request"), status=400)
    if isinstance(exc, (exceptions.ValidationError, exceptions.ParseError)):
        location = "query" if isinstance(exc, QueryValidationError) else "body"
        if isinstance(exc, exceptions.ParseError):
            errors: Any = {"non_field_errors": [f"Malformed request body: {exc.detail}"]}
        else:
            errors = exc.detail
        return Response(validation_body(errors, location), status=422)
    if isinstance(exc, exceptions.APIException):
        code: str | None = None
        message: str | None
        if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
            status_code = 401
            headers["WWW-Authenticate"] = 'Bearer realm="api"'
            message = "Could not validate credentials"
            if isinstance(exc, exceptions.AuthenticationFailed) and _is_credentials_error(exc):
                message = str(exc.detail)
        elif isinstance(exc, exceptions.Throttled):
            wait = max(int(exc.wait or 1), 1)
            headers["Retry-After"] = str(wait)
            return Response(rate_limited_body(wait), status=429, headers=headers)
        else:
            status_code = exc.status_code
            message = str(exc.detail) if isinstance(exc.detail, str) else None
            code = getattr(exc, "error_code", None)
        return Response(
            error_body(status_code, message=message, code=code), status=status_code, headers=headers
        )
    logger.exception("Unhandled error in %s", context.get("view").__class__.__name__)
    return Response(error_body(500), status=500)


def _parameter_loc(exc: DomainError, context: dict[str, Any]) -> list[str]:
    """Where the offending value came from: the path parameter, query parameter or body
    field that carried it (a symbol in ``/prices/historical/{symbol}`` is the path's)."""
    request = context.get("request")
    kwargs = {k: str(v) for k, v in (context.get("kwargs") or {}).items()}
    query = getattr(request, "query_params", {}) or {}
    named = exc.details.get("field")
    candidates = [str(named)] if named else ["symbol", "symbols"]
    for field in candidates:
        if field in kwargs:
            return ["path", field]
        if field in query:
            return ["query", field]
    offending = {str(v).upper() for v in exc.details.get("symbols") or []}
    if exc.details.get("symbol"):
        offending.add(str(exc.details["symbol"]).upper())
    for name, value in kwargs.items():
        if value.upper() in offending:
            return ["path", name]
    for name in query:
        if any(part.strip().upper() in offending for part in str(query.get(name)).split(",")):
            return ["query", name]
    return ["body", candidates[0]]


def _is_credentials_error(exc: exceptions.AuthenticationFailed) -> bool:
    return getattr(exc, "show_message", False)


def _http404_message(exc: Http404) -> str:
    text = str(exc)
    # Django's generic "No X matches the given query." leaks model names; keep domain text only.
    return text if text and "matches the given query" not in text else "Not found"
