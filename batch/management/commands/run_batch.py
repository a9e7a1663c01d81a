"""``manage.py run_batch [JOB_NAME] [--portfolio UUID]``: run one batch job here and now.

In-process and synchronous (no broker, no worker), with a progress bar; the job is
recorded like any other (source ``management_command``). Exits non-zero unless the job
completes. Ctrl-C cancels it.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from batch import registry
from batch.models import JobSource, JobStatus
from batch.services import JobContext, job_create, job_run
from sigmasight.errors import DomainError


class Command(BaseCommand):
    help = "Run a batch job synchronously (default: full_portfolio_calculation)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "job_name",
            nargs="?",
            default="full_portfolio_calculation",
            choices=registry.startable_job_names(),
            help="The job to run.",
        )
        parser.add_argument("--portfolio", help="Run for this portfolio UUID only.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        portfolio_ids = None
        if options["portfolio"]:
            try:
                portfolio_ids = [uuid.UUID(options["portfolio"])]
            except ValueError as exc:
                raise CommandError(f"portfolio {options['portfolio']}: not a UUID") from exc
        try:
            job = job_create(
                job_name=options["job_name"],
                portfolio_ids=portfolio_ids,
                source=JobSource.MANAGEMENT_COMMAND,
            )
        except DomainError as exc:
            raise CommandError(f"portfolio {options['portfolio']}: not found") from exc
        self.stdout.write(
            f"{job.pk}: running {job.job_name} for "
            f"{'portfolio ' + options['portfolio'] if portfolio_ids else 'all portfolios'}"
        )
        bar = tqdm(
            desc=job.job_name, unit="item", disable=options["no_progress"], file=self.stderr._out
        )

        def on_progress(ctx: JobContext) -> None:
            counts = ctx.job_counts
            bar.total = counts["total_items"]
            bar.n = counts["processed_items"]
            bar.set_postfix_str(ctx.step_name or ctx.message or "", refresh=False)
            bar.refresh()

        try:
            job = job_run(job.pk, on_progress=on_progress)
        finally:
            bar.close()
        self.stdout.write(
            f"{job.pk}: {job.status} in {job.duration_seconds or 0:.1f} s — "
            f"{job.processed_items} processed, {job.successful_items} successful, "
            f"{job.failed_items} failed"
        )
        for step in job.metadata.get("steps") or []:
            detail = step.get("error") or step.get("warning") or ""
            self.stdout.write(f"  {step.get('name')}: {step.get('status')} {detail}".rstrip())
        for warning in [] if job.metadata.get("steps") else job.metadata.get("warnings") or []:
            self.stdout.write(f"  warning: {warning}")
        if job.status != JobStatus.COMPLETED:
            raise CommandError(f"{job.pk} {job.status}: {job.error_message or ''}".rstrip(": "))
