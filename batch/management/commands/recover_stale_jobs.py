"""``manage.py recover_stale_jobs [--all]``: settle running jobs whose worker died.

Beat runs the same service every minute in production. ``make run`` calls it with
``--all`` before serving: in the embedded default the job threads die with the server, so
a job still marked running at start-up has no worker left.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from batch.services import jobs_recover_stale


class Command(BaseCommand):
    help = "Re-queue or fail running jobs whose worker stopped (no heartbeat)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--all",
            action="store_true",
            help="Treat every running job as lost (no worker can be running: a restart).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        outcome = jobs_recover_stale(
            stale_after=dt.timedelta(seconds=-1) if options["all"] else None
        )
        for label, ids in (
            ("re-queued", outcome.requeued),
            ("failed", outcome.failed),
            ("cancelled", outcome.cancelled),
        ):
            if ids:
                self.stdout.write(f"{label}: {', '.join(ids)}")
