"""Load on a running server: p50/p95/p99, requests/s and 5xx at 1, 10 and 50 clients.

    make serve SEED_DEMO=1 &        # or any running server with the demo users
    .venv/bin/python bench/bench_load.py --base http://127.0.0.1:8000 [--seconds 20]

A bounded asyncio client (httpx, HTTP/1.1 keep-alive, one connection per client) on
127.0.0.1 only. It logs in as the demo hedge-fund user and, for each endpoint and
concurrency, keeps ``clients`` requests in flight for ``--seconds``, after a 2-second
warm-up that is not counted (each cell opens its connections anew). It runs on the same
cores as the server, so it also reports its own CPU share: the server got the rest.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import resource
import statistics
import sys
import time
from urllib.parse import urlparse

import httpx

LOGIN = {"email": "demo_hedgefundstyle@sigmasight.com", "password": "demo12345"}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _login(base: str) -> tuple[str, str]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        response = await client.post("/api/v1/auth/login", json=LOGIN)
        response.raise_for_status()
        token = response.json()["access_token"]
        portfolios = await client.get(
            "/api/v1/data/portfolios", headers={"Authorization": f"Bearer {token}"}
        )
        portfolio_id = portfolios.json()["data"][0]["id"]
    return token, portfolio_id


async def _run(
    base: str, path: str, token: str, clients: int, seconds: float, warmup: float = 2.0
) -> dict[str, float]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    headers = {"Authorization": f"Bearer {token}"}
    # One AsyncClient (one keep-alive connection) per simulated client: a single client
    # with a 50-connection pool spends its CPU scanning the pool on every request, which
    # on these 2 shared cores is taken from the server.
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)

    warm_until = time.monotonic() + warmup
    deadline = warm_until + seconds

    async def worker() -> None:
        async with httpx.AsyncClient(
            base_url=base, timeout=60, limits=limits, headers=headers
        ) as http:
            while time.monotonic() < warm_until:  # new connections, not counted
                with contextlib.suppress(httpx.HTTPError):
                    await http.get(path)
            while time.monotonic() < deadline:
                started = time.perf_counter()
                try:
                    response = await http.get(path)
                    code = response.status_code
                except httpx.HTTPError:
                    code = 0
                latencies.append((time.perf_counter() - started) * 1000)
                statuses[code] = statuses.get(code, 0) + 1

    await asyncio.gather(*(worker() for _ in range(clients)))
    elapsed = time.monotonic() - warm_until
    errors = sum(n for code, n in statuses.items() if code >= 500 or code == 0)
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies),
        "p95": _percentile(latencies, 0.95),
        "p99": _percentile(latencies, 0.99),
        "errors": errors,
        "non_200": sum(n for code, n in statuses.items() if code != 200),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 10, 50])
    args = parser.parse_args()
    if urlparse(args.base).hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("bench_load: 127.0.0.1 only")
    token, portfolio_id = asyncio.run(_login(args.base))
    paths = [
        "/api/v1/data/portfolios",
        f"/api/v1/data/portfolio/{portfolio_id}/complete",
        f"/api/v1/data/portfolios/{portfolio_id}/risk-summary",
        f"/api/v1/analytics/risk/{portfolio_id}/metrics",
    ]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}"
    )
    print(f"server: {args.base}; {args.seconds:.0f} s per cell")
    for path in paths:
        for clients in args.clients:
            cpu0 = resource.getrusage(resource.RUSAGE_SELF)
            wall0 = time.monotonic()
            r = asyncio.run(_run(args.base, path, token, clients, args.seconds))
            cpu1 = resource.getrusage(resource.RUSAGE_SELF)
            cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
            share = cpu / ((time.monotonic() - wall0) * (os.cpu_count() or 1)) * 100
            short = path.replace(portfolio_id, "{id}")
            print(
                f"{short:48s} c={clients:>3}  {r['rps']:7.1f} req/s  p50 {r['p50']:7.1f}  "
                f"p95 {r['p95']:7.1f}  p99 {r['p99']:7.1f} ms  5xx/errors {r['errors']}  "
                f"non-200 {r['non_200']}  client CPU {share:4.1f}%"
            )


if __name__ == "__main__":
    main()
