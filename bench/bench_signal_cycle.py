"""One signal cycle for SPY, QQQ and IWM with their chains: the time of
``signals.services.signals_generate`` at a market minute, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sigmasight_bench SECRET_KEY=x DEBUG=false \\
        .venv/bin/python bench/bench_signal_cycle.py [--session 2026-11-30] [--cycles 15]

It stores the session's market as the producer does (every minute's bars and a chain
snapshot a minute, 10 past sessions of minutes for relative volume) up to 10:30 ET, with a
year of daily history, then times ``--cycles`` cycles at successive minutes (each cycle
reads the minutes, the past sessions' volume by minute, three 0DTE chains of 31 strikes,
the snapshots 30 minutes back, the correlations and the regime, scores, prices and stores
three signals with their features). Prints the median, p90 and max, and the ratio to the
50 ms target. The signals it writes are deleted at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sigmasight.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402

from marketdata.clock import VirtualClock, use_clock  # noqa: E402
from marketdata.producer import MarketProducer  # noqa: E402
from marketdata.services import get_provider, history_ingest  # noqa: E402
from signals.models import Signal  # noqa: E402
from signals.services import signals_generate  # noqa: E402

TARGET_MS = 50.0
CLOCK = "bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--session", type=dt.date.fromisoformat, default=dt.date(2026, 11, 30))
    parser.add_argument("--cycles", type=int, default=15)
    parser.add_argument("--start-minute", type=int, default=60)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    history_ingest(
        provider=get_provider(),
        symbols=["SPY", "QQQ", "IWM", "^VIX"],
        start=args.session - dt.timedelta(days=400),
        end=args.session,
    )
    settings.MARKET_MINUTE_HISTORY_SESSIONS = 10
    clock = VirtualClock(args.session, 0, name=CLOCK)
    producer = MarketProducer()
    started = time.perf_counter()
    with use_clock(clock):
        for minute in range(1, args.start_minute + args.cycles + 1):
            clock.minute = minute
            producer.tick()
        producer.release()
    print(f"market stored through minute {clock.minute} in {time.perf_counter() - started:.1f} s")
    Signal.objects.filter(clock=CLOCK).delete()
    timings = []
    for minute in range(args.start_minute, args.start_minute + args.cycles):
        at = VirtualClock(args.session, minute, name=CLOCK).read()
        t0 = time.perf_counter()
        signals, warnings = signals_generate(at=at, trigger="bench")
        timings.append((time.perf_counter() - t0) * 1000)
        if len(signals) != 3:
            print(f"minute {minute}: {len(signals)} signals; {warnings}")
    Signal.objects.filter(clock=CLOCK).delete()
    cache.delete(f"market-producer:{CLOCK}")
    ordered = sorted(timings)
    median = statistics.median(ordered)
    p90 = ordered[int(0.9 * (len(ordered) - 1))]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {settings.DATABASES['default']['ENGINE']}"
    )
    print(f"signal cycle (3 tickers with chains), {len(ordered)} cycles:")
    print(f"  median {median:.1f} ms   p90 {p90:.1f} ms   max {ordered[-1]:.1f} ms")
    print(f"  target {TARGET_MS:.0f} ms: median / target = {median / TARGET_MS:.2f}")


if __name__ == "__main__":
    main()
