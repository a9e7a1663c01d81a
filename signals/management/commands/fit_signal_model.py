"""``manage.py fit_signal_model``: fit the logistic confidence model on replayed sessions
and store it as a new version (active unless ``--no-activate``)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from marketdata import calendar
from signals.replay import session_replay, sessions_ending
from signals.services import confidence_model_fit, confidence_model_load


class Command(BaseCommand):
    help = "Fit the signal confidence model on replayed sessions and store it with a version."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sessions", type=int, default=20, help="Sessions to replay.")
        parser.add_argument(
            "--end",
            type=dt.date.fromisoformat,
            help="The last session (default: the latest completed one).",
        )
        parser.add_argument("--l2", type=float, default=1.0, help="L2 penalty on the weights.")
        parser.add_argument("--no-activate", action="store_true", help="Store, do not activate.")
        parser.add_argument(
            "--export", type=Path, help="Also write the fitted version to this JSON file."
        )
        parser.add_argument(
            "--load",
            type=Path,
            help="Store (and activate) a version exported before, instead of fitting.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["load"]:
            model = confidence_model_load(
                json.loads(options["load"].read_text()), activate=not options["no_activate"]
            )
            self.stdout.write(f"loaded {model.version} (active: {model.is_active})")
            return
        if options["sessions"] < 1:
            raise CommandError("--sessions must be at least 1")
        end = options["end"] or calendar.last_completed_session(timezone.now())
        sessions = sessions_ending(end, options["sessions"])
        signals = []
        for session in sessions:
            replayed = list(session_replay(session))
            signals.extend(replayed)
            hits = sum(1 for s in replayed if s.outcome_hit)
            self.stdout.write(f"{session}: {len(replayed)} signals, {hits} reached the target")
        model = confidence_model_fit(
            signals=signals,
            sessions=sessions,
            l2=options["l2"],
            activate=not options["no_activate"],
        )
        self.stdout.write(f"fitted {model.version} (active: {model.is_active})")
        for family, figures in model.training["families"].items():
            self.stdout.write(
                f"  {family:<11} samples {figures['samples']:>5}  hits {figures['hits']:>5}  "
                f"base rate {figures['base_rate'] if figures['base_rate'] is None else round(figures['base_rate'], 3)}  "
                f"in-sample Brier {figures.get('brier')}  base-rate Brier {figures.get('brier_base_rate')}"
            )
        if options["export"]:
            options["export"].write_text(
                json.dumps(_export(model), indent=2, sort_keys=True) + "\n"
            )
            self.stdout.write(f"wrote {options['export']}")


def _export(model: Any) -> dict[str, Any]:
    return {
        "version": model.version,
        "families": model.families,
        "feature_names": model.feature_names,
        "outcome_definition": model.outcome_definition,
        "training": model.training,
        "fitted_at": model.fitted_at.isoformat(),
    }
