"""Run daphne with HTTP limits that answer in the error envelope.

    python -m sigmasight.serve -b 0.0.0.0 -p 8000 sigmasight.asgi:application

takes daphne's own arguments. Daphne parses HTTP/1.1 with twisted's ``HTTPChannel``,
whose limits answer badly:

* a header line over ``LineReceiver.MAX_LENGTH`` (16,384 bytes) closes the connection
  without a word: a 20 KB ``Authorization`` header got no answer at all;
* request line and headers over ``totalHeadersSize`` (16,384 bytes), more than
  ``maxHeaders`` (500) headers, or a malformed request get a bare
  ``400 Bad Request``: no body, no ``X-Request-ID``;
* twisted parses multipart bodies into ``request.args``, which daphne never reads,
  and answers that bare 400 to one without a boundary before Django sees it.

Here the channel buffers the request line and headers up to
``SERVER_HEADER_FACTOR`` × ``MAX_REQUEST_HEADER_BYTES``, so that a request somewhat
over the limit reaches Django, whose ``RequestLimitsMiddleware`` answers 431 in the
envelope with the echoed request id and the rate-limit headers. Beyond that bound
(which caps the memory one connection may hold) the channel itself answers 431 (or
400 for a malformed request) in the envelope, with a fresh ``X-Request-ID``, and
closes. Twisted's form parsing is off (``parsePOSTFormSubmission``), so bodies reach
Django as sent.

Twisted is pinned in requirements.txt: the channel relies on its documented limit
attributes and on two of its hooks (``lineLengthExceeded``, and the private
``_respondToBadRequestAndDisconnect``), and ``tests/test_http_hardening.py`` runs a
real server through every case so that an upgrade which changes them fails a test.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import sys
from http import HTTPStatus
from typing import Any

from daphne import server as daphne_server
from daphne.cli import CommandLineInterface
from daphne.http_protocol import HTTPFactory, WebRequest
from twisted.web import http

from sigmasight.serving import SERVING_ENV

SERVER_HEADER_FACTOR = 4  # the server's header buffer, in multiples of the app's limit
REFUSED_DRAIN_SECONDS = 5  # how long a refused connection may keep sending before it is cut
#: gc.set_threshold of a web process (Python's default: 700, 10, 10); see freeze_startup_objects.
GC_THRESHOLDS = (50_000, 20, 10)


class EnvelopeRequest(WebRequest):  # type: ignore[misc]
    """Daphne's request, without twisted's parsing of form bodies (Django parses them),
    and with the standard reason phrase on every status line."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["parsePOSTFormSubmission"] = False
        super().__init__(*args, **kwargs)

    def setResponseCode(self, code: int, message: bytes | None = None) -> None:
        # Daphne passes no reason phrase, and twisted's table lacks 422 and 431
        # ("HTTP/1.1 422 Unknown Status"); the standard phrase is better.
        if message is None and code not in http.RESPONSES:
            with contextlib.suppress(ValueError):  # a status Python doesn't know: keep twisted's
                message = HTTPStatus(code).phrase.encode("ascii")
        super().setResponseCode(code, message)


class EnvelopeHTTPChannel(http.HTTPChannel):
    """Twisted's HTTP/1.1 channel with a header bound in bytes, answering refusals
    in the error envelope instead of a bare 400 or a dropped connection."""

    def __init__(self, header_limit: int) -> None:
        super().__init__()
        self.MAX_LENGTH = header_limit  # one header line
        self.totalHeadersSize = header_limit  # request line and all headers
        self._refused = False

    def dataReceived(self, data: bytes) -> None:
        if self._refused:
            return  # drained and dropped: no more parsing, no more answers
        super().dataReceived(data)

    def lineLengthExceeded(self, line: bytes) -> None:
        self._refuse(431)

    def _respondToBadRequestAndDisconnect(self) -> None:
        too_large = (
            self._receivedHeaderSize > self.totalHeadersSize
            or self._receivedHeaderCount > self.maxHeaders
        )
        self._refuse(431 if too_large else 400)

    def _refuse(self, status: int) -> None:
        if self._refused:
            return
        self._refused = True
        transport: Any = self.transport
        transport.write(refusal(status))
        # Half-close: the answer goes out with a FIN while the rest of the request is
        # read and dropped. Closing outright with unread input makes the kernel send a
        # reset, and the client may lose the answer.
        lose_write = getattr(transport, "loseWriteConnection", None)
        if lose_write is None:
            self.loseConnection()
            return
        lose_write()
        self.setTimeout(REFUSED_DRAIN_SECONDS)


def refusal(status: int) -> bytes:
    """A whole HTTP/1.1 response: the envelope for ``status``, closing the connection."""
    from sigmasight.api.errors import error_body
    from sigmasight.api.request_id import new_request_id, reset_request_id, set_request_id

    request_id = new_request_id()
    token = set_request_id(request_id)
    try:
        message = "Request header fields too large" if status == 431 else "Malformed HTTP request"
        body = json.dumps(error_body(status, message=message)).encode()
    finally:
        reset_request_id(token)
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"X-Request-ID: {request_id}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class EnvelopeHTTPFactory(HTTPFactory):  # type: ignore[misc]
    """Daphne's HTTP factory, building :class:`EnvelopeHTTPChannel` and
    :class:`EnvelopeRequest`."""

    def __init__(self, server: Any) -> None:
        from django.conf import settings

        super().__init__(server)
        self.header_limit = SERVER_HEADER_FACTOR * int(settings.MAX_REQUEST_HEADER_BYTES)

    def protocol(self) -> Any:
        # What twisted's _genericHTTPChannelProtocolFactory builds, around our channel
        # (the generic wrapper switches to HTTP/2 when TLS negotiates it).
        return http._GenericHTTPChannelProtocol(EnvelopeHTTPChannel(self.header_limit))

    def buildProtocol(self, addr: Any) -> Any:
        protocol = super().buildProtocol(addr)
        protocol.requestFactory = EnvelopeRequest
        return protocol


def freeze_startup_objects() -> None:
    """Move everything alive once the server runs (Django, the app, its modules) out of
    the garbage collector's reach.

    A web process holds some hundreds of thousands of long-lived objects, and each full
    collection walks them all: with a thousand sockets' messages allocating quickly, that
    was a pause of about 100 ms every few seconds, taken by whichever message was being
    fanned out (the p99 of bench/bench_ws_fanout.py). Frozen, a full collection walks only
    what was made since: the sockets and their messages.

    That is still some 150,000 objects at 500 sockets (20-45 ms), and the default
    thresholds ran one every few seconds: the fan-out leaves cyclic garbage behind
    (asyncio's wait callbacks), one young collection per 700 surviving allocations. With
    :data:`GC_THRESHOLDS` a young collection comes every 50,000, a full one about every
    ten million; reference counting still frees everything else at once."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sigmasight.settings")
    os.environ[SERVING_ENV] = "1"  # the embedded default's producer starts with the server
    daphne_server.HTTPFactory = EnvelopeHTTPFactory  # Server.run builds its factory by this name
    from twisted.internet import reactor  # daphne.server installed the asyncio reactor

    reactor.callWhenRunning(freeze_startup_objects)  # once the application is loaded
    CommandLineInterface().run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main()
