"""WebSocket auth and fan-out through the configured channel layer (Redis under make test)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from accounts.tokens import issue_for_new_session
from sigmasight.asgi import application

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
    from accounts.services import session_logout

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
