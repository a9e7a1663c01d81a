"""Streamed file downloads that stay streamed under ASGI (daphne) as well as WSGI.

Why a helper: Django 5.2's ``StreamingHttpResponse.__aiter__`` serves a *sync* iterator to
an ASGI server by ``await sync_to_async(list)(self.streaming_content)`` (see
``django/http/response.py``), i.e. it builds the whole file in memory before the first
byte leaves. Under ASGI the helper hands Django an *async* generator instead, which pulls
one chunk at a time from the sync iterator with ``sync_to_async(next,
thread_sensitive=True)``: every chunk runs on the request's one sync thread, so the
iterator's database cursors stay on the connection (and the transaction) that opened
them. Under WSGI (and Django's sync test client) the sync iterator is passed as it is.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, StreamingHttpResponse
from rest_framework.request import Request

_END = object()


def _next_chunk(chunks: Iterator[bytes]) -> object:
    """The next chunk, or ``_END`` (StopIteration cannot cross ``sync_to_async``)."""
    return next(chunks, _END)


async def _pull(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """Each chunk of ``chunks``, read on the request's sync thread, one at a time."""
    step = sync_to_async(_next_chunk, thread_sensitive=True)
    try:
        while True:
            chunk = await step(chunks)
            if chunk is _END:
                return
            yield chunk  # type: ignore[misc]
    finally:
        # The client went away or the file is complete: close the generator (and the
        # server-side cursors it holds) on the thread that opened them.
        close = getattr(chunks, "close", None)
        if close is not None:
            await sync_to_async(close, thread_sensitive=True)()


def streaming_file_response(
    request: HttpRequest | Request,
    chunks: Iterator[bytes],
    *,
    content_type: str,
    filename: str,
) -> StreamingHttpResponse:
    """A download of ``chunks`` as ``filename`` (``Content-Disposition: attachment``),
    streamed chunk by chunk whatever the server interface. ``filename`` should be plain
    ASCII (letters, digits, ``._-``): it is quoted as it is. ``request`` may be Django's
    or DRF's."""
    # A DRF Request wraps Django's: the interface is the wrapped one's class.
    django_request = getattr(request, "_request", request)
    content: Iterator[bytes] | AsyncIterator[bytes]
    content = _pull(chunks) if isinstance(django_request, ASGIRequest) else chunks
    response = StreamingHttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # No proxy (nginx) buffering of a file that is meant to flow.
    response["X-Accel-Buffering"] = "no"
    return response
