"""``manage.py run_market``: the market producer as its own process (production).

It ticks every MARKET_TICK_SECONDS along the market clock (MARKET_CLOCK), storing the
completed minutes of SPY, QQQ, IWM and the VIX and publishing ``market_update`` messages
through the channel layer. A second producer of the same clock waits: the first holds the
lease. SIGTERM or Ctrl-C stops it cleanly (the lease is released).
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from marketdata.clock import market_time
from marketdata.producer import MarketProducer


class Command(BaseCommand):
    help = "Run the market producer (ticks of the 0DTE market along the market clock)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--ticks",
            type=int,
            default=0,
            help="Stop after this many ticks (0: run until stopped).",
        )
        parser.add_argument("--tick-seconds", type=float, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        producer = MarketProducer()
        at = market_time()
        self.stdout.write(
            f"market producer: clock {at.clock}, session {at.session}, market {at.status}"
        )
        if options["ticks"]:
            for _ in range(options["ticks"]):
                messages = producer.tick()
                self.stdout.write(f"tick: {len(messages)} market_update messages")
            producer.release()
            return
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        producer.run(stop, tick_seconds=options["tick_seconds"])
