"""``POST /trading/execute`` on the paper broker, on PostgreSQL: execute-to-fill latency
(median and p95) and throughput under concurrent clients.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sigmasight_bench SECRET_KEY=x DEBUG=false \\
        .venv/bin/python bench/bench_execute.py [--clients 50] [--per-client 4]

It stores a session's market as the producer does up to 11:30 ET (bars and a chain
snapshot a minute, with daily history), generates that minute's signals, and makes
``--clients`` trader accounts (their configs allow 100 positions of $1,000). Then:

1. **Latency, one client:** ``--sequential`` executions through the whole HTTP stack
   (authentication, throttling, validation, the execution, the answer), one at a time,
   each for a fresh account, so the first-use path (opening the account and its paper
   portfolio) is in the figures, and again for accounts that have traded; then a third
   for each through ``trading.services.trade_execute`` alone (the execution and its
   fill, without the request's authentication and answer).
2. **Throughput, ``--clients`` concurrent clients:** each client a thread with its own
   account and database connection, executing ``--per-client`` times back to back through
   the service (``trading.services.trade_execute``; the HTTP throttle of 50 a minute per
   user would otherwise stop a bench), each execution taking a connection from the
   process's pool (``DB_POOL_MAX_SIZE``, 4 by default) and giving it back, as a request
   does. The executions of one account serialize on its row
   lock; different accounts run in parallel in PostgreSQL. Python threads share one
   interpreter, so on this machine the figure is a floor for a server of several processes.

Each execution fills a package, books its fees, writes its trade, orders, fills and
strategy position, and books its legs in the paper portfolio. Prints the medians, p95s
and the executions per second, and the ratio to the 50 ms target. What it writes is
deleted at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sigmasight.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from accounts.models import User  # noqa: E402
from accounts.tokens import issue_for_new_session  # noqa: E402
from marketdata.clock import VirtualClock, use_clock  # noqa: E402
from marketdata.producer import MarketProducer  # noqa: E402
from marketdata.services import get_provider, history_ingest  # noqa: E402
from portfolios.models import Portfolio  # noqa: E402
from sigmasight.ws import publisher_drain  # noqa: E402
from signals.models import Signal  # noqa: E402
from signals.services import signals_generate  # noqa: E402
from trading import services  # noqa: E402

TARGET_MS = 50.0
CLOCK = "bench"
EMAIL = "bench-execute-{}@example.com"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _users(count: int, offset: int) -> list[User]:
    users = []
    for i in range(offset, offset + count):
        user = User.objects.create_user(EMAIL.format(i), "bench-password-1", role="trader")
        services.trading_config_update(
            user_id=user.pk, changes={"max_positions": 100, "position_size": Decimal(1000)}
        )
        users.append(user)
    return users


def _cleanup() -> None:
    Portfolio.objects.filter(owner__email__startswith="bench-execute-").delete()
    User.objects.filter(email__startswith="bench-execute-").delete()
    Signal.objects.filter(clock=CLOCK).delete()
    cache.delete(f"market-producer:{CLOCK}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--session", type=dt.date.fromisoformat, default=dt.date(2026, 11, 30))
    parser.add_argument("--minute", type=int, default=120)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--per-client", type=int, default=4)
    parser.add_argument("--sequential", type=int, default=30)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    _cleanup()
    history_ingest(
        provider=get_provider(),
        symbols=["SPY", "QQQ", "IWM", "^VIX"],
        start=args.session - dt.timedelta(days=120),
        end=args.session,
    )
    settings.MARKET_MINUTE_HISTORY_SESSIONS = 1
    settings.RATE_LIMIT_ENABLED = False
    clock = VirtualClock(args.session, 0, name=CLOCK)
    producer = MarketProducer()
    with use_clock(clock):
        for minute in range(args.minute - 31, args.minute + 1):
            clock.minute = minute
            producer.tick()
        producer.release()
        signals, warnings = signals_generate(at=clock.read(), trigger="bench")
    if not signals:
        raise SystemExit(f"no signal to execute: {warnings}")
    signal_ids = [s.id for s in signals]
    print(f"signals: {', '.join(f'{s.symbol} {s.strategy}' for s in signals)}")

    try:
        # 1. One client through the HTTP stack: first executions, then repeat ones; and
        #    the service alone (the execution without authentication and the answer).
        first, repeat, service = [], [], []
        for n, user in enumerate(_users(args.sequential, 0)):
            client = APIClient()
            client.credentials(
                HTTP_AUTHORIZATION=f"Bearer {issue_for_new_session(user).access_token}"
            )
            body = {"signal_id": signal_ids[n % len(signal_ids)], "position_size": 1000}
            for timings in (first, repeat):
                with use_clock(clock):
                    t0 = time.perf_counter()
                    response = client.post("/api/v1/trading/execute", body, format="json")
                    timings.append((time.perf_counter() - t0) * 1000)
                if response.status_code != 201:
                    raise SystemExit(
                        f"execute answered {response.status_code}: {response.content!r}"
                    )
            request = services.ExecuteRequest(
                signal_id=signal_ids[n % len(signal_ids)], position_size=Decimal(1000)
            )
            with use_clock(clock):
                t0 = time.perf_counter()
                services.trade_execute(user=user, request=request)
                service.append((time.perf_counter() - t0) * 1000)

        # 2. Concurrent clients through the service.
        users = _users(args.clients, args.sequential)
        for user in users:  # accounts open outside the timing, as they would be in use
            services.trading_account_ensure(user=user)
        latencies: list[float] = []
        failures: list[str] = []
        barrier = threading.Barrier(len(users))
        lock = threading.Lock()

        def client(index: int, user: User) -> None:
            barrier.wait()
            try:
                if True:  # the clock is the process's: installed around the threads
                    for k in range(args.per_client):
                        request = services.ExecuteRequest(
                            signal_id=signal_ids[(index + k) % len(signal_ids)],
                            position_size=Decimal(1000),
                        )
                        t0 = time.perf_counter()
                        try:
                            services.trade_execute(user=user, request=request)
                        except Exception as exc:  # noqa: BLE001 - counted, not fatal
                            with lock:
                                failures.append(repr(exc))
                            continue
                        finally:
                            connection.close()  # back to the process's pool, as a request does
                        with lock:
                            latencies.append((time.perf_counter() - t0) * 1000)
            finally:
                connection.close()

        threads = [threading.Thread(target=client, args=(i, u)) for i, u in enumerate(users)]
        with use_clock(clock):
            started = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - started
    finally:
        publisher_drain()  # the messages read the trades: send them before the deletes
        _cleanup()

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"{settings.DATABASES['default']['ENGINE']}"
    )
    for name, timings in (
        ("HTTP, first execution", first),
        ("HTTP, later execution", repeat),
        ("service alone, later execution", service),
    ):
        print(
            f"execute-to-fill, one client, {name} ({len(timings)}): "
            f"median {statistics.median(timings):.1f} ms   p95 {_percentile(timings, 0.95):.1f} ms"
            f"   slowest {', '.join(f'{t:.0f}' for t in sorted(timings)[-3:][::-1])} ms"
        )
    print(
        f"{args.clients} concurrent clients × {args.per_client}: {len(latencies)} filled, "
        f"{len(failures)} failed, {len(latencies) / elapsed:.1f} executions/s; latency median "
        f"{statistics.median(latencies):.1f} ms   p95 {_percentile(latencies, 0.95):.1f} ms"
    )
    if failures:
        print(f"  first failure: {failures[0]}")
    median = statistics.median(repeat)
    print(
        f"target {TARGET_MS:.0f} ms (one client, median): median / target = {median / TARGET_MS:.2f}"
    )


if __name__ == "__main__":
    main()
