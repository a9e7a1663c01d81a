"""``manage.py calibrate_signals``: replay N sessions and print how well the active
confidence model is calibrated on them: per confidence bucket the signal count, the hit
rate with its Wilson 95% interval, and overall the Brier score with its reliability /
resolution / uncertainty split and the expected calibration error."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from marketdata import calendar
from signals.replay import session_replay, sessions_ending
from signals.services import active_model, calibration_of


class Command(BaseCommand):
    help = "Replay sessions and print the calibration of the active signal confidence model."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sessions", type=int, default=10)
        parser.add_argument("--end", type=dt.date.fromisoformat)
        parser.add_argument("--json", action="store_true", help="Print the figures as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        model = active_model()
        if model is None:
            raise CommandError("no confidence model is active: run manage.py fit_signal_model")
        if options["sessions"] < 1:
            raise CommandError("--sessions must be at least 1")
        end = options["end"] or calendar.last_completed_session(timezone.now())
        sessions = sessions_ending(end, options["sessions"])
        signals = [s for session in sessions for s in session_replay(session)]
        report, notes = calibration_of(signals=signals, model=model, sessions=sessions)
        if options["json"]:
            self.stdout.write(
                json.dumps({**report.as_dict(), "model": model.version, "notes": notes}, indent=2)
            )
            return
        self.stdout.write(f"model {model.version}; sessions {sessions[0]} .. {sessions[-1]}")
        self.stdout.write(
            f"{'bucket':<10}{'count':>7}{'hits':>7}{'hit rate':>10}{'wilson 95%':>20}{'mean conf':>11}"
        )
        for b in report.buckets:
            rate = "-" if b.hit_rate is None else f"{b.hit_rate:.3f}"
            interval = "-" if b.wilson_low is None else f"[{b.wilson_low:.3f}, {b.wilson_high:.3f}]"
            mean = "-" if b.mean_confidence is None else f"{b.mean_confidence:.3f}"
            self.stdout.write(
                f"{b.label:<10}{b.count:>7}{b.hits:>7}{rate:>10}{interval:>20}{mean:>11}"
            )

        def fmt(x: float | None) -> str:
            return "-" if x is None else f"{x:.4f}"

        self.stdout.write(
            f"signals {report.count}, hits {report.hits}, base rate {fmt(report.base_rate)}\n"
            f"Brier {fmt(report.brier_score)} = reliability {fmt(report.reliability)} "
            f"- resolution {fmt(report.resolution)} + uncertainty {fmt(report.uncertainty)} "
            f"(exact when the forecasts are constant within buckets)\n"
            f"expected calibration error {fmt(report.expected_calibration_error)}"
        )
        for note in notes:
            self.stdout.write(f"note: {note}")
