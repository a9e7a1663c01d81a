"""The request id of the request being served, for error bodies and log lines."""

from __future__ import annotations

import contextvars
import re
import uuid

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_VALID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def new_request_id(client_value: str | None = None) -> str:
    """Echo a sane client-sent id; otherwise make one (``req_<hex>``)."""
    if client_value and _VALID.match(client_value):
        return client_value
    return f"req_{uuid.uuid4().hex[:16]}"


def set_request_id(value: str) -> contextvars.Token[str]:
    return _request_id.set(value)


def reset_request_id(token: contextvars.Token[str]) -> None:
    _request_id.reset(token)


def current_request_id() -> str:
    return _request_id.get()


class RequestIdLogFilter:
    """Adds ``request_id`` to every log record, so a 500 can be traced from its body."""

    def filter(self, record: object) -> bool:
        record.request_id = current_request_id()  # type: ignore[attr-defined]
        return True
