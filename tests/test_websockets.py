"""WebSocket auth and fan-out through the configured channel layer (Redis under make test)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings
from rest_framework.test import APIClient

from accounts.services import session_logout
from accounts.tokens import issue_for_new_session
from accounts.websocket import JWTAuthMiddleware
from sigmasight.asgi import application
from sigmasight.routing import websocket_urlpatterns

pytestmark = pytest.mark.django_db(transaction=True)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _connect(path: str, **kwargs: Any) -> tuple[WebsocketCommunicator, bool, Any]:
    communicator = WebsocketCommunicator(application, path, **kwargs)
    connected, subprotocol = await communicator.connect(timeout=5)
    return communicator, connected, subprotocol


def test_signals_socket_accepts_a_valid_token_and_forwards_group_events(
    trader: Any, settings: Any
) -> None:
    token = issue_for_new_session(trader).access_token

    async def scenario() -> None:
        communicator, connected, _ = await _connect(f"/ws/signals?token={token}")
        assert connected
        hello = await communicator.receive_json_from(timeout=5)
        assert hello == {"type": "connected", "groups": ["signals"]}
        message = {"type": "new_signal", "data": {"id": "sig_1", "symbol": "SPY"}}
        await get_channel_layer().group_send("signals", {"type": "broadcast", "message": message})
        assert await communicator.receive_json_from(timeout=5) == message
        await communicator.send_json_to({"type": "ping"})
        assert await communicator.receive_json_from(timeout=5) == {"type": "pong"}
        await communicator.disconnect()

    run(scenario())
    assert "Redis" in settings.CHANNEL_LAYERS["default"]["BACKEND"] or settings.EMBEDDED


@pytest.mark.parametrize("path", ["/ws/signals", "/ws/signals?token=garbage", "/ws/positions"])
def test_socket_without_a_valid_token_is_closed_with_4401(path: str) -> None:
    async def scenario() -> None:
        communicator, connected, _ = await _connect(path)
        assert connected  # accepted first, so the client sees the close code
        closed = await communicator.receive_output(timeout=5)
        assert closed == {"type": "websocket.close", "code": 4401}
        # The client's half of the close: the application ends here instead of being left
        # pending for asyncio.run to cancel (which once hung a slow full run for 300 s).
        await communicator.disconnect()

    run(scenario())


def test_bearer_subprotocol_authenticates(trader: Any) -> None:
    token = issue_for_new_session(trader).access_token

    async def scenario() -> None:
        communicator, connected, subprotocol = await _connect(
            "/ws/signals", subprotocols=["bearer", token]
        )
        assert connected and subprotocol == "bearer"
        assert (await communicator.receive_json_from(timeout=5))["type"] == "connected"
        await communicator.disconnect()

    run(scenario())


def test_cookie_needs_an_allowed_origin(trader: Any) -> None:
    token = issue_for_new_session(trader).access_token
    cookie = (b"cookie", f"access_token={token}".encode())

    async def scenario() -> None:
        ok, connected, _ = await _connect(
            "/ws/signals", headers=[cookie, (b"origin", b"http://localhost:8000")]
        )
        assert connected and (await ok.receive_json_from(timeout=5))["type"] == "connected"
        await ok.disconnect()
        evil, connected, _ = await _connect(
            "/ws/signals", headers=[cookie, (b"origin", b"https://evil.example")]
        )
        assert (await evil.receive_output(timeout=5))["code"] == 4401

    run(scenario())


def test_logged_out_token_is_refused(trader: Any) -> None:
    token = issue_for_new_session(trader).access_token
    session_logout(access_token=token)

    async def scenario() -> None:
        communicator, _, _ = await _connect(f"/ws/signals?token={token}")
        assert (await communicator.receive_output(timeout=5))["code"] == 4401

    run(scenario())


def test_another_users_portfolio_socket_is_closed_with_4404(make_user: Any) -> None:
    from portfolios.models import Portfolio

    owner, other = make_user(), make_user()
    portfolio = Portfolio.objects.get(owner=owner)
    own_token = issue_for_new_session(owner).access_token
    other_token = issue_for_new_session(other).access_token

    async def scenario() -> None:
        mine, _, _ = await _connect(f"/ws/portfolio/{portfolio.id}?token={own_token}")
        assert (await mine.receive_json_from(timeout=5))["type"] == "connected"
        await mine.disconnect()
        theirs, _, _ = await _connect(f"/ws/portfolio/{portfolio.id}?token={other_token}")
        assert (await theirs.receive_output(timeout=5))["code"] == 4404

    run(scenario())


def test_jobs_socket_is_for_admins_only(make_user: Any) -> None:
    trader_token = issue_for_new_session(make_user(role="trader")).access_token
    admin_token = issue_for_new_session(make_user(role="admin")).access_token

    async def scenario() -> None:
        denied, _, _ = await _connect(f"/ws/jobs?token={trader_token}")
        assert (await denied.receive_output(timeout=5))["code"] == 4403
        allowed, _, _ = await _connect(f"/ws/jobs?token={admin_token}")
        assert (await allowed.receive_json_from(timeout=5))["groups"] == ["jobs"]
        await allowed.disconnect()

    run(scenario())


def _logout(**credentials: str) -> Any:
    """POST /auth/logout through the API, from the test's event loop (Django is sync)."""
    client = APIClient()
    if "bearer" in credentials:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {credentials['bearer']}")
    if "cookie" in credentials:
        client.cookies[settings.AUTH_COOKIE_NAME] = credentials["cookie"]
    return database_sync_to_async(client.post)("/api/v1/auth/logout")


def test_logout_closes_the_sessions_socket_and_spares_another_session(trader: Any) -> None:
    doomed_token = issue_for_new_session(trader).access_token
    spared_token = issue_for_new_session(trader).access_token  # same user, another login

    async def scenario() -> None:
        doomed, _, _ = await _connect(f"/ws/signals?token={doomed_token}")
        spared, _, _ = await _connect("/ws/signals", subprotocols=["bearer", spared_token])
        for socket in (doomed, spared):
            assert (await socket.receive_json_from(timeout=5))["type"] == "connected"
        response = await _logout(bearer=doomed_token)
        assert response.status_code == 200
        assert await doomed.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}
        # The other session's socket stays open and keeps receiving events.
        assert await spared.receive_nothing(timeout=0.5)
        message = {"type": "new_signal", "data": {"id": "sig_2", "symbol": "QQQ"}}
        await get_channel_layer().group_send("signals", {"type": "broadcast", "message": message})
        assert await spared.receive_json_from(timeout=5) == message
        await spared.disconnect()

    run(scenario())


def test_cookie_logout_closes_a_cookie_socket(trader: Any) -> None:
    token = issue_for_new_session(trader).access_token
    headers = [(b"cookie", f"access_token={token}".encode()), (b"origin", b"http://localhost")]

    async def scenario() -> None:
        socket, _, _ = await _connect("/ws/positions", headers=headers)
        assert (await socket.receive_json_from(timeout=5))["type"] == "connected"
        response = await _logout(cookie=token)  # a browser has the cookie only
        assert response.status_code == 200
        while (output := await socket.receive_output(timeout=5))["type"] != "websocket.close":
            pass  # a snapshot may precede the close
        assert output["code"] == 4401

    run(scenario())


def test_a_logout_during_the_handshake_still_closes_the_socket(trader: Any) -> None:
    """The token is checked, then logged out before the socket joins its session's group:
    the check after joining catches what the group event could not reach."""
    token = issue_for_new_session(trader).access_token

    def logout_after_authentication(inner: Any) -> Any:
        async def app(scope: dict[str, Any], receive: Any, send: Any) -> Any:
            assert scope["user"].is_authenticated  # the middleware accepted the token
            await database_sync_to_async(session_logout)(access_token=token)
            return await inner(scope, receive, send)

        return app

    racing = JWTAuthMiddleware(logout_after_authentication(URLRouter(websocket_urlpatterns)))

    async def scenario() -> None:
        communicator = WebsocketCommunicator(racing, f"/ws/signals?token={token}")
        connected, _ = await communicator.connect(timeout=5)
        assert connected
        assert await communicator.receive_output(timeout=5) == {
            "type": "websocket.close",
            "code": 4401,
        }

    run(scenario())


def test_malformed_frames_get_an_error_and_count_against_the_limit(
    trader: Any, settings: Any
) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "websocket": 4}
    token = issue_for_new_session(trader).access_token

    async def scenario() -> None:
        communicator, connected, _ = await _connect(f"/ws/signals?token={token}")
        assert connected
        await communicator.receive_json_from(timeout=5)  # connected
        for frame in (
            {"text_data": "not json {"},
            {"bytes_data": b"\x00\x01"},
            {"text_data": "[" * 50_000},
        ):
            await communicator.send_to(**frame)
            reply = await communicator.receive_json_from(timeout=5)
            assert reply["type"] == "error" and reply["error"]["code"] == "VALIDATION_ERROR"
        await communicator.send_json_to({"type": "ping"})
        assert await communicator.receive_json_from(timeout=5) == {"type": "pong"}  # still open
        await communicator.send_to(text_data="junk")  # the 5th frame: over the limit of 4
        assert await communicator.receive_output(timeout=5) == {
            "type": "websocket.close",
            "code": 4429,
        }

    run(scenario())


@pytest.mark.parametrize("path", ["/ws/nowhere", "/ws/market/SPY/extra", "/elsewhere"])
def test_an_unknown_path_is_refused_with_4404_not_a_500(path: str) -> None:
    async def scenario() -> None:
        communicator, connected, _ = await _connect(path)
        assert connected
        assert await communicator.receive_output(timeout=5) == {
            "type": "websocket.close",
            "code": 4404,
        }

    run(scenario())


def test_every_socket_gets_a_heartbeat(trader: Any, settings: Any) -> None:
    settings.WEBSOCKET_HEARTBEAT_SECONDS = 0.2
    token = issue_for_new_session(trader).access_token

    async def scenario() -> None:
        communicator, _, _ = await _connect(f"/ws/signals?token={token}")
        await communicator.receive_json_from(timeout=5)  # connected
        beat = await communicator.receive_json_from(timeout=5)
        assert beat["type"] == "heartbeat" and beat["timestamp"].endswith("Z")
        await communicator.disconnect()

    run(scenario())


def test_a_broadcast_skips_the_per_event_database_cleanup(
    trader: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A group send reaches the socket without the framework's per-event hop through the
    sync thread (close_old_connections), the fan-out's cost at a thousand sockets; other
    events still take it."""
    import channels.consumer

    from sigmasight.ws import broadcast_event

    hops: list[None] = []
    original = channels.consumer.aclose_old_connections

    async def counted() -> None:
        hops.append(None)
        await original()

    monkeypatch.setattr(channels.consumer, "aclose_old_connections", counted)
    token = issue_for_new_session(trader).access_token

    async def scenario() -> None:
        communicator, _, _ = await _connect(f"/ws/signals?token={token}")
        await communicator.receive_json_from(timeout=5)  # connected
        before = len(hops)
        message = {"type": "new_signal", "data": {"id": "sig_2", "symbol": "QQQ"}}
        await get_channel_layer().group_send("signals", broadcast_event(message))
        assert await communicator.receive_json_from(timeout=5) == message
        assert len(hops) == before
        await communicator.send_json_to({"type": "ping"})
        assert await communicator.receive_json_from(timeout=5) == {"type": "pong"}
        assert len(hops) == before + 1
        await communicator.disconnect()

    run(scenario())
