"""Report jobs (E1): request one, build it in the ``portfolio_report`` job, serve it, and
delete files past their retention.

A request creates the ``BatchJob`` and its :class:`~risk.models.PortfolioReport` in one
transaction and queues the job once it commits. The job builds the document section by
section (its progress is the sections done), renders the format, stores the file in the
``reports`` storage and sets ``expires_at`` = completion + ``REPORT_RETENTION_HOURS``.
The hourly cleanup (``risk.tasks.cleanup_expired_reports``) deletes expired files; a
download after expiry is 410 whether or not the cleanup has run yet.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages
from django.db import transaction
from django.utils import timezone

from batch import services as batch_services
from batch.models import JobSource
from batch.services import JobContext, StepFailed
from marketdata import calendar
from portfolios.selectors import portfolio_for_user
from risk.exports import pdf
from risk.exports.report import (
    SECTIONS,
    render_csv,
    render_json,
    render_markdown,
    report_document,
)
from risk.models import PortfolioReport, ReportFormat
from sigmasight.errors import Conflict, Gone, ReportNotFound, ValidationFailed

if TYPE_CHECKING:  # types only: the user model is the accounts app's
    from accounts.models import User

logger = logging.getLogger(__name__)

#: The batch job that builds a report (registered by ``risk.jobs``).
REPORT_JOB = "portfolio_report"

CONTENT_TYPES: dict[str, str] = {
    ReportFormat.MD: "text/markdown; charset=utf-8",
    ReportFormat.JSON: "application/json",
    ReportFormat.CSV: "text/csv; charset=utf-8",
    ReportFormat.PDF: "application/pdf",
}


def reports_storage() -> Storage:
    """The ``reports`` storage of ``settings.STORAGES``: a folder by default, any Django
    storage (S3, say) by configuration. Looked up per use, so a settings change applies."""
    return storages["reports"]


def _today() -> dt.date:
    return timezone.now().astimezone(calendar.EASTERN).date()


def report_request(
    *, user: User, portfolio_id: Any, report_format: str, as_of_date: dt.date | None = None
) -> PortfolioReport:
    """Start a report job for the user's portfolio (404 for anyone else's).

    The report holds the current figures: the latest stored batch results and today's
    marks. ``as_of_date`` may therefore only be today (New York); a past date is a 422
    rather than a report whose figures belong to another day.
    """
    portfolio = portfolio_for_user(user=user, portfolio_id=portfolio_id)
    if report_format not in ReportFormat.values:
        raise ValidationFailed({"format": [f"Use one of {ReportFormat.values}."]})
    today = _today()
    if as_of_date is not None and as_of_date != today:
        raise ValidationFailed(
            {
                "as_of_date": [
                    f"Reports hold the current figures: as_of_date may only be {today.isoformat()}."
                ]
            }
        )
    with transaction.atomic():
        job = batch_services.job_create(
            job_name=REPORT_JOB,
            portfolio=portfolio,
            source=JobSource.API_TRIGGER,
            requested_by=user,
            metadata={"report": {"format": report_format, "as_of_date": today.isoformat()}},
        )
        report = PortfolioReport.objects.create(
            job=job, owner=user, portfolio=portfolio, format=report_format, as_of_date=today
        )
        batch_services.job_dispatch(job)
    return report


def _render(report_format: str, document: dict[str, Any]) -> tuple[bytes, list[str]]:
    if report_format == ReportFormat.PDF:
        rendered = pdf.render_pdf(document)
        return rendered.content, rendered.charts
    if report_format == ReportFormat.MD:
        return render_markdown(document), []
    if report_format == ReportFormat.CSV:
        return render_csv(document), []
    return render_json(document), []


def portfolio_report_step(ctx: JobContext, *, portfolio_ids: Any = None) -> dict[str, Any]:
    """The ``portfolio_report`` job: build, render and store the report of its request."""
    report = (
        PortfolioReport.objects.select_related("owner", "portfolio")
        .filter(job_id=ctx.job_id)
        .first()
    )
    if report is None:
        raise StepFailed(
            "a portfolio_report job is started by POST /export/reports/portfolio/{id}, "
            "which records what to build"
        )
    document = report_document(
        user=report.owner,
        portfolio_id=report.portfolio_id,
        generated_at=timezone.now(),
        job_id=ctx.job_id,
        sections=ctx.items(SECTIONS),
    )
    ctx.check_cancelled()
    content, charts = _render(report.format, document)
    name = f"{timezone.now():%Y/%m/%d}/{report.portfolio_id}_{ctx.job_id}.{report.format}"
    now = timezone.now()
    with transaction.atomic():
        report.file_name = reports_storage().save(name, ContentFile(content))
        report.content_type = CONTENT_TYPES[report.format]
        report.size_bytes = len(content)
        report.sha256 = hashlib.sha256(content).hexdigest()
        report.completed_at = now
        report.expires_at = now + dt.timedelta(hours=settings.REPORT_RETENTION_HOURS)
        report.save()
    for warning in document["warnings"]:
        ctx.warn(warning)
    return {
        "format": report.format,
        "size_bytes": report.size_bytes,
        "sha256": report.sha256,
        "charts": charts,
        "sections": [sec.key for sec in SECTIONS],
    }


# --------------------------------------------------------------------------- reads


def report_for_user(*, user: User, job_id: str) -> PortfolioReport:
    """The user's report of job ``job_id`` (with its job); 404 for anyone else's."""
    report = (
        PortfolioReport.objects.select_related("job")
        .filter(job_id=job_id, owner=user, portfolio__deleted_at__isnull=True)
        .first()
    )
    if report is None:
        raise ReportNotFound()
    return report


def is_expired(report: PortfolioReport, *, now: dt.datetime | None = None) -> bool:
    now = now or timezone.now()
    return report.deleted_at is not None or (
        report.expires_at is not None and report.expires_at <= now
    )


@dataclass(frozen=True)
class ReportFile:
    handle: Any
    content_type: str
    filename: str
    size_bytes: int | None


def report_file(*, user: User, job_id: str) -> ReportFile:
    """The stored file of the user's finished report: 409 while the job has not
    completed, 410 once the file has expired."""
    report = report_for_user(user=user, job_id=job_id)
    if is_expired(report):
        raise Gone(
            f"The report expired at {report.expires_at:%Y-%m-%dT%H:%M:%SZ}: request a new one"
            if report.expires_at
            else "The report file is no longer available"
        )
    if not report.file_name:
        raise Conflict(f"The report is not ready: its job is {report.job.status}")
    filename = (
        f"sigmasight_report_{report.portfolio_id}_{report.as_of_date.isoformat()}.{report.format}"
    )
    return ReportFile(
        reports_storage().open(report.file_name, "rb"),
        report.content_type,
        filename,
        report.size_bytes,
    )


# --------------------------------------------------------------------------- retention


def reports_expired_delete(*, now: dt.datetime | None = None) -> int:
    """Delete the files of reports past ``expires_at`` and mark them deleted. Idempotent:
    a second run finds nothing; a file already missing from the storage still counts."""
    now = now or timezone.now()
    deleted = 0
    expired = PortfolioReport.objects.filter(deleted_at__isnull=True, expires_at__lte=now)
    for report in expired.iterator(chunk_size=200):
        if report.file_name:
            try:
                reports_storage().delete(report.file_name)
            except OSError:  # the row is marked anyway; a retry finds no file to delete
                logger.warning("reports: could not delete %s", report.file_name, exc_info=True)
        PortfolioReport.objects.filter(pk=report.pk, deleted_at__isnull=True).update(deleted_at=now)
        deleted += 1
    return deleted
