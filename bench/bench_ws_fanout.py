"""WebSocket fan-out on a running server: delivery latency of ``market_update`` messages
to N clients of ``/ws/market/SPY`` through daphne and the Redis channel layer.

    make serve SEED_DEMO=1 &
    REDIS_URL=redis://127.0.0.1:6379/0 SECRET_KEY=x DEBUG=false \\
        .venv/bin/python bench/bench_ws_fanout.py --clients 100 500 1000 [--seconds 20]

For each client count it opens the sockets (the demo hedge-fund user's token, in batches),
waits for each one's first snapshot, then publishes ``--rate`` messages a second for
``--seconds`` to the ticker's group through the channel layer, as the market producer
does, each stamped with its send time. Every client records when each message arrives;
the report gives the p50, p99 and maximum delivery latency over all (client, message)
pairs, the share delivered, and the client's own CPU share (it runs on the same cores as
the server; once its sockets are open it freezes them out of its garbage collector, whose
full collections would stall every client at once). ``REDIS_URL`` must be the server's.
127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sigmasight.settings")

import django

django.setup()

from channels.layers import get_channel_layer  # noqa: E402

from marketdata.messages import market_group  # noqa: E402
from sigmasight.ws import broadcast_event  # noqa: E402

LOGIN = {"email": "demo_hedgefundstyle@sigmasight.com", "password": "demo12345"}


async def _token(base: str) -> str:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        response = await client.post("/api/v1/auth/login", json=LOGIN)
        response.raise_for_status()
        return str(response.json()["access_token"])


async def _open(url: str) -> ClientConnection:
    socket = await connect(url, max_queue=None, open_timeout=60)
    # "connected", then the latest market_update: the socket has joined its group.
    for _ in range(2):
        await asyncio.wait_for(socket.recv(), timeout=60)
    return socket


async def _listen(socket: ClientConnection, latencies: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            frame = await asyncio.wait_for(socket.recv(), timeout=0.5)
        except TimeoutError:
            continue
        except ConnectionClosed:
            return
        message = json.loads(frame)
        sent = message.get("data", {}).get("bench_sent_at")
        if sent is not None:
            latencies.append(time.time() - sent)


async def _cell(
    url: str, clients: int, seconds: float, rate: float, batch: int
) -> dict[str, float]:
    sockets: list[ClientConnection] = []
    for start in range(0, clients, batch):
        sockets += await asyncio.gather(*(_open(url) for _ in range(min(batch, clients - start))))
    # Out of the garbage collector's reach: Django and the open sockets. A full collection
    # walking them paused this one process, and so all its clients, for about 100 ms every
    # few seconds: a pause no real client (a process of its own) would see.
    gc.collect()
    gc.freeze()
    latencies: list[float] = []
    stop = asyncio.Event()
    listeners = [asyncio.create_task(_listen(s, latencies, stop)) for s in sockets]
    layer = get_channel_layer()
    group = market_group("SPY")
    sent = 0
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    wall0 = time.monotonic()
    next_at = wall0
    while time.monotonic() - wall0 < seconds:
        message = {
            "type": "market_update",
            "symbol": "SPY",
            "data": {"price": 500.0 + sent * 0.01, "bench_seq": sent, "bench_sent_at": time.time()},
        }
        await layer.group_send(group, broadcast_event(message))  # as the producer sends
        sent += 1
        next_at += 1.0 / rate
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
    await asyncio.sleep(2.0)  # the last messages in flight
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    wall = time.monotonic() - wall0
    stop.set()
    await asyncio.gather(*listeners)
    await asyncio.gather(*(s.close() for s in sockets), return_exceptions=True)
    gc.unfreeze()
    ordered = sorted(latencies) or [float("nan")]

    def pct(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
    return {
        "clients": clients,
        "messages": sent,
        "delivered": len(latencies) / max(1, sent * clients),
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": ordered[-1] * 1000,
        "mean_ms": statistics.fmean(ordered) * 1000,
        "client_cpu": cpu / wall / (os.cpu_count() or 1),
    }


async def _main(base: str, counts: list[int], seconds: float, rate: float, batch: int) -> None:
    host = urlparse(base).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("bench_ws_fanout runs against 127.0.0.1 only")
    token = await _token(base)
    url = base.replace("http", "ws", 1) + f"/ws/market/SPY?token={token}"
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, python "
        f"{platform.python_version()}; {rate:g} messages/s for {seconds:g} s per cell"
    )
    for clients in counts:
        r = await _cell(url, clients, seconds, rate, batch)
        print(
            f"{clients:>5} clients: delivered {r['delivered']:.1%} of {r['messages']} x "
            f"{clients}; latency p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, max "
            f"{r['max_ms']:.1f} ms; client CPU {r['client_cpu']:.0%} of the machine"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--clients", type=int, nargs="+", default=[100, 500, 1000])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rate", type=float, default=2.0, help="messages per second")
    parser.add_argument("--batch", type=int, default=100, help="sockets connecting at once")
    args = parser.parse_args()
    asyncio.run(_main(args.base, args.clients, args.seconds, args.rate, args.batch))


if __name__ == "__main__":
    main()
