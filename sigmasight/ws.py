"""The base consumer, its close codes, and the login-session groups.

Authentication happens before the consumer, in a middleware that the wiring
(``sigmasight/asgi.py``) puts in front of the router: it sets ``scope["user"]``,
``scope["auth_source"]``, ``scope["auth_session_id"]`` (the login session) and
``scope["auth_session_revoked"]`` (an async check of that session). This module is the
shared layer and imports no app.

A socket without a valid token is accepted and then closed at once with 4401: closing
before accepting becomes an HTTP 403 in daphne and the client never sees the code. A
socket joins its login session's group; :func:`end_session_sockets` (called at logout)
closes every socket of that session with 4401, in every process, through the channel
layer.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings

from sigmasight.api.throttling import hit
from sigmasight.timefmt import utc_stamp_now

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_RATE_LIMITED = 4429
#: Inbound messages longer than this are refused unread (clients only ever send pings).
MAX_INBOUND_CHARS = 4096


class AuthenticatedConsumer(AsyncJsonWebsocketConsumer):
    """Accepts, authenticates, joins groups, forwards group events; computes nothing.

    Subclasses implement :meth:`groups_for` (raising :class:`SocketRefused` to close
    with a code) and may override :meth:`snapshot` to send a first message.
    """

    required_permission = "viewer"

    class SocketRefused(Exception):
        def __init__(self, code: int, reason: str):
            self.code, self.reason = code, reason
            super().__init__(reason)

    async def connect(self) -> None:
        _remember_server_loop()
        subprotocol = "bearer" if self.scope.get("auth_source") == "subprotocol" else None
        await self.accept(subprotocol=subprotocol)
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not await self._join_session():
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if not user.has_role(self.required_permission):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        try:
            self.joined = await self.groups_for(user)
        except self.SocketRefused as refused:
            await self.close(code=refused.code)
            return
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.send_json({"type": "connected", "groups": self.joined})
        self._heartbeat = asyncio.ensure_future(self._beat())
        first = await self.snapshot(user)
        if first is not None:
            await self.send_json(first)

    async def _join_session(self) -> bool:
        """Join the login session's group, so that logging out closes this socket.

        False when there is no session to join, or it ended before the join took effect:
        logout revokes first and then signals the group, so a check after joining sees
        every logout that the group's event would miss.
        """
        sid = self.scope.get("auth_session_id")
        if not sid:
            return False
        self.session_group = session_group(str(sid))
        await self.channel_layer.group_add(self.session_group, self.channel_name)
        revoked: Callable[[], Awaitable[bool]] | None = self.scope.get("auth_session_revoked")
        return not (revoked is not None and await revoked())

    async def _beat(self) -> None:
        """``{"type": "heartbeat", "timestamp"}`` every ``WEBSOCKET_HEARTBEAT_SECONDS``
        (API-CONVENTIONS, Live messages): clients and proxies see a live socket."""
        interval = settings.WEBSOCKET_HEARTBEAT_SECONDS
        while True:
            await asyncio.sleep(interval)
            await self.send_json({"type": "heartbeat", "timestamp": utc_stamp_now()})

    async def disconnect(self, code: int) -> None:
        beat = getattr(self, "_heartbeat", None)
        if beat is not None:
            beat.cancel()
        for group in [*getattr(self, "joined", []), getattr(self, "session_group", None)]:
            if group:
                await self.channel_layer.group_discard(group, self.channel_name)

    async def session_ended(self, event: dict[str, Any]) -> None:
        """The login session was logged out (in any process): the socket ends with it."""
        await self.close(code=CLOSE_UNAUTHENTICATED)

    async def groups_for(self, user: Any) -> list[str]:
        raise NotImplementedError

    async def snapshot(self, user: Any) -> dict[str, Any] | None:
        return None

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Every inbound frame counts against the WebSocket limit first, whatever it holds
        (so junk cannot flood past it); a frame that is not a JSON text message gets an
        error message rather than closing the socket (the framework's default is 1011)."""
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            return
        state = await database_sync_to_async(hit)("websocket", f"user:{user.pk}")
        if state.exceeded:
            await self.close(code=CLOSE_RATE_LIMITED)
            return
        if text_data is None:
            await self._reject("Binary frames are not accepted; send JSON text")
            return
        if len(text_data) > MAX_INBOUND_CHARS:
            await self._reject(f"Messages are at most {MAX_INBOUND_CHARS} characters")
            return
        try:
            content = json.loads(text_data)
        except (ValueError, RecursionError):
            await self._reject("The message is not valid JSON")
            return
        await self.receive_json(content)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Clients may only ping."""
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self._reject('Only {"type": "ping"} is accepted')

    async def _reject(self, message: str) -> None:
        await self.send_json(
            {"type": "error", "error": {"code": "VALIDATION_ERROR", "message": message}}
        )

    async def dispatch(self, message: dict[str, Any]) -> None:
        """A ``broadcast`` group event goes straight to :meth:`broadcast`.

        The framework's dispatch first awaits ``close_old_connections`` in the single
        thread of ``sync_to_async`` for every event of every socket: a message to a
        thousand sockets became a thousand hops through that one thread, most of the
        fan-out's latency (bench/bench_ws_fanout.py). A broadcast touches no database;
        everything else here that does goes through ``database_sync_to_async``, which
        closes stale connections around its own call."""
        if message.get("type") == "broadcast":
            await self.broadcast(message)
        else:
            await super().dispatch(message)

    async def broadcast(self, event: dict[str, Any]) -> None:
        """Group events of type ``broadcast`` carry the client message in ``message``, or
        already encoded in ``text`` (:func:`broadcast_event`: encoded once per send, not
        once per socket)."""
        text = event.get("text")
        if isinstance(text, str):
            await self.send(text_data=text)
        else:
            await self.send_json(event["message"])


def group_name(*parts: object) -> str:
    """A channel-layer group name from parts (letters, digits, hyphens, dots only)."""
    cleaned = [str(p).replace("^", "idx-").replace("_", "-") for p in parts]
    return ".".join(cleaned)[:99]


#: The group event that closes a login session's sockets (handled by ``session_ended``).
SESSION_ENDED_EVENT = "session.ended"


def session_group(session_id: str) -> str:
    """The group of every socket opened with a token of login session ``session_id``."""
    return group_name("session", session_id)


_server_loop: dict[str, asyncio.AbstractEventLoop] = {}


def _remember_server_loop() -> None:
    """The event loop this process serves sockets on (see :func:`publish`)."""
    _server_loop["loop"] = asyncio.get_running_loop()


def publish(group: str, message: dict[str, Any]) -> bool:
    """Send the client ``message`` to every socket of ``group``, in every process, from
    synchronous code (a producer loop, a task). False (and a warning) if the channel layer
    failed: a live message is a convenience, the database is the record.

    With the in-memory layer of the embedded default the socket's queue lives in the
    server's event loop, so a producer thread hands the send to that loop (a plain
    ``async_to_sync`` from another thread would not wake it)."""
    layer = get_channel_layer()
    if layer is None:
        return False
    event = broadcast_event(message)
    loop = _server_loop.get("loop")
    try:
        if loop is not None and loop.is_running() and not _in_loop(loop):
            asyncio.run_coroutine_threadsafe(layer.group_send(group, event), loop).result(5)
        else:
            async_to_sync(layer.group_send)(group, event)
    except Exception as exc:  # noqa: BLE001 - see docstring
        logger.warning("ws: message to %s not sent: %s", group, exc)
        return False
    return True


_publisher = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="ws-publish")


def publish_later(
    group: str, messages: list[dict[str, Any]] | Callable[[], list[dict[str, Any]]]
) -> concurrent.futures.Future[None]:
    """:func:`publish` ``messages`` to ``group`` in order from this process's one publisher
    thread, so that a request does not wait on the channel layer (a few milliseconds a
    message). ``messages`` may be a function that builds them there (reads the request
    need not wait on). Messages of one caller keep their order; the future says when they
    are sent (and raises what building them raised)."""

    def send() -> None:
        try:
            batch = messages() if callable(messages) else messages
        except Exception:
            logger.exception("ws: could not build the messages for %s", group)
            raise
        for message in batch:
            publish(group, message)

    return _publisher.submit(send)


def publisher_drain(timeout: float = 60.0) -> None:
    """Wait until the publisher thread has sent everything submitted before this call
    (a bench or a test that deletes what the messages read)."""
    _publisher.submit(lambda: None).result(timeout)


def broadcast_event(message: dict[str, Any]) -> dict[str, Any]:
    """The group event that sends ``message`` to every socket of a group: encoded to JSON
    text once here, so a send to a thousand sockets encodes it once, not a thousand times."""
    return {"type": "broadcast", "text": json.dumps(message, separators=(",", ":"))}


def _in_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def end_session_sockets(session_id: str) -> None:
    """Close every socket of the login session, in every process, with 4401.

    A channel-layer failure is logged, not raised: the session's tokens are already
    revoked, so a logout still succeeds (an open socket then stays until it reconnects,
    when its token is refused).
    """
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(session_group(session_id), {"type": SESSION_ENDED_EVENT})
    except Exception as exc:  # noqa: BLE001 - see docstring
        logger.warning("ws: could not close the sockets of session %s: %s", session_id, exc)


class UnknownPathConsumer(AsyncJsonWebsocketConsumer):
    """Any ``/ws/`` path no consumer serves: accepted and closed with 4404 (a plain
    refusal, not the router's HTTP 500 on the upgrade)."""

    async def connect(self) -> None:
        await self.accept()
        await self.close(code=CLOSE_NOT_FOUND)
