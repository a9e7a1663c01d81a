"""``/ws/positions`` test clients: a connected socket, and its next messages."""

from __future__ import annotations

from typing import Any

from channels.testing import WebsocketCommunicator

from sigmasight.asgi import application


async def positions_socket(token: str) -> WebsocketCommunicator:
    """A ``/ws/positions`` socket of ``token``'s user, past its ``connected`` message."""
    communicator = WebsocketCommunicator(application, f"/ws/positions?token={token}")
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    hello = await communicator.receive_json_from(timeout=5)
    assert hello["type"] == "connected"
    return communicator


async def receive_messages(communicator: WebsocketCommunicator, count: int) -> list[Any]:
    """The next ``count`` messages other than heartbeats. (A receive that times out ends
    the test application, so a test reads what it expects, then checks for silence with
    ``receive_nothing``.)"""
    messages: list[Any] = []
    while len(messages) < count:
        message = await communicator.receive_json_from(timeout=5)
        if message.get("type") != "heartbeat":
            messages.append(message)
    return messages
