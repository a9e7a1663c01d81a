"""Idle WebSockets on a running server: do N sockets stay open for D seconds?

    make serve SEED_DEMO=1 &
    .venv/bin/python bench/bench_websockets.py --sockets 1000 --seconds 600

Opens ``--sockets`` sockets on ``/ws/signals`` (the demo hedge-fund user's token), in
batches so the connects are a burst the server must absorb, then holds them idle. The
server sends a heartbeat every WEBSOCKET_HEARTBEAT_SECONDS; the client answers nothing.
At the end it reports how many are still open, every close code seen while holding
(1011 is the failure this checks for), heartbeats received, and the time to close them
all at once. 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import platform
import sys
import time
from urllib.parse import urlparse

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

LOGIN = {"email": "demo_hedgefundstyle@sigmasight.com", "password": "demo12345"}


async def _token(base: str) -> str:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        response = await client.post("/api/v1/auth/login", json=LOGIN)
        response.raise_for_status()
        return str(response.json()["access_token"])


class Tally:
    def __init__(self) -> None:
        self.closes: collections.Counter[str] = collections.Counter()
        self.heartbeats = 0
        self.connect_failures: collections.Counter[str] = collections.Counter()


async def _hold(socket: ClientConnection, tally: Tally, until: float) -> bool:
    """Read until ``until``; True if the socket was still open then."""
    while True:
        remaining = until - time.monotonic()
        if remaining <= 0:
            return True
        try:
            frame = await asyncio.wait_for(socket.recv(), timeout=remaining)
        except TimeoutError:
            return True
        except ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd else "no close frame"
            tally.closes[str(code)] += 1
            return False
        if json.loads(frame).get("type") == "heartbeat":
            tally.heartbeats += 1


async def _main(base: str, sockets: int, seconds: float, batch: int) -> None:
    token = await _token(base)
    url = base.replace("http", "ws", 1) + f"/ws/signals?token={token}"
    tally = Tally()
    opened: list[ClientConnection] = []
    began = time.monotonic()
    for start in range(0, sockets, batch):
        results = await asyncio.gather(
            *(
                connect(url, open_timeout=60, ping_interval=None)
                for _ in range(start, min(start + batch, sockets))
            ),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                tally.connect_failures[type(result).__name__] += 1
            else:
                opened.append(result)
    connect_seconds = time.monotonic() - began
    print(
        f"opened {len(opened)}/{sockets} in {connect_seconds:.1f} s; failures {dict(tally.connect_failures)}"
    )
    until = time.monotonic() + seconds
    still_open = await asyncio.gather(*(_hold(s, tally, until) for s in opened))
    print(
        f"after {seconds:.0f} s idle: {sum(still_open)} open; closes while holding "
        f"{dict(tally.closes) or 'none'}; heartbeats received {tally.heartbeats}"
    )
    began = time.monotonic()
    await asyncio.gather(*(s.close() for s in opened), return_exceptions=True)
    print(f"closed all at once in {time.monotonic() - began:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--batch", type=int, default=100, help="sockets connecting at once")
    args = parser.parse_args()
    if urlparse(args.base).hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("bench_websockets: 127.0.0.1 only")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}"
    )
    asyncio.run(_main(args.base, args.sockets, args.seconds, args.batch))


if __name__ == "__main__":
    main()
