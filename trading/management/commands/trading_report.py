"""``manage.py trading_report``: the day's 0DTE paper trading per user: each trade with
its kind, strategy, quantity, net price, fees and exit reason; the fills, the fees and the
realized P&L (net of fees) of the positions opened that session; how each closed."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from rest_framework.utils.encoders import JSONEncoder

from marketdata import calendar
from marketdata.clock import market_time
from trading.selectors import session_report


class Command(BaseCommand):
    help = "Print a session's 0DTE trades, fills, fees and P&L per user."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--session", type=dt.date.fromisoformat, help="Default: the clock's.")
        parser.add_argument("--clock", choices=["live", "replay"], help="Default: MARKET_CLOCK.")
        parser.add_argument("--user", help="One user's email.")
        parser.add_argument(
            "--all-loops", action="store_true", help="A repeating replay: every loop's trades."
        )
        parser.add_argument("--json", action="store_true", help="Print the figures as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        at = market_time()
        session, clock = options["session"] or at.session, options["clock"] or at.clock
        user_id = None
        if options["user"]:
            # The framework's user model: accounts sits above trading in the layers.
            user = get_user_model().objects.filter(email__iexact=options["user"]).first()
            if user is None:
                raise CommandError(f"no user {options['user']}")
            user_id = user.pk
        report = session_report(
            session=session, clock=clock, user_id=user_id, all_loops=options["all_loops"]
        )
        if options["json"]:
            body = {"session": session, "clock": clock, "users": report}
            self.stdout.write(json.dumps(body, cls=JSONEncoder, indent=2))
            return
        self.stdout.write(f"0DTE paper trading, {session} ({clock} clock; times ET)")
        if not report:
            self.stdout.write("no trades")
        for entry in report:
            self.stdout.write("")
            self.stdout.write(
                f"{entry['user']}: {len(entry['trades'])} trades, {entry['fills']} fills, "
                f"fees ${entry['fees']:,.2f}, realized P&L ${entry['realized_pnl']:,.2f} "
                f"(net of fees), {entry['open_positions']} positions open"
            )
            exits = ", ".join(f"{k} {v}" for k, v in sorted(entry["exits"].items()))
            self.stdout.write(f"  exits: {exits or 'none'}")
            for t in entry["trades"]:
                moment = t["time"]
                time = (
                    moment.astimezone(calendar.EASTERN).strftime("%H:%M") if moment else "resting"
                )
                self.stdout.write(
                    f"  {time} {t['trade_id']} {t['kind']:<5} {t['strategy']:<16} "
                    f"{t['symbol']:<4} x{t['quantity']:<4} net {t['net_price']:>8} "
                    f"fees {t['fees']:>7} {t['status']:<9} {t['reason'] or ''}"
                )
