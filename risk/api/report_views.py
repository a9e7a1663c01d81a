"""Report exports (E1): start a report job, follow it, download the file. Thin views over
``risk.exports.services``."""

from __future__ import annotations

from uuid import UUID

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from batch.models import JobStatus
from risk.api import serializers as s
from risk.exports import services
from sigmasight.api.inputs import parse_body
from sigmasight.api.throttling import AnalyticsRateThrottle, throttles

PORTFOLIO_ID = OpenApiParameter("portfolio_id", UUID, OpenApiParameter.PATH)
JOB_ID = OpenApiParameter(
    "job_id", str, OpenApiParameter.PATH, description="The report's job id (job_…)"
)
_NOT_FOUND = OpenApiResponse(description="NOT_FOUND: no such report of yours")


def _status_url(job_id: str) -> str:
    return f"/api/v1/export/reports/{job_id}"


class ReportStartView(APIView):
    throttle_classes = throttles(AnalyticsRateThrottle)

    @extend_schema(
        tags=["export"],
        summary="E1: start a report of the portfolio (MD, JSON, CSV or PDF)",
        description="The report is built by a job (positions, exposures, Greeks, factor "
        "betas, VaR/ES, stress results, performance, and the payoff of each option "
        "strategy). Follow it at status_url; once completed, download_url gives the file "
        "until expires_at (REPORT_RETENTION_HOURS).",
        parameters=[PORTFOLIO_ID],
        request=s.ReportRequestSerializer,
        responses={
            202: s.ReportStartedSerializer,
            404: OpenApiResponse(description="NOT_FOUND: no such portfolio of yours"),
            422: OpenApiResponse(description="VALIDATION_ERROR: unknown format or as_of_date"),
        },
    )
    def post(self, request: Request, portfolio_id: UUID) -> Response:
        body = parse_body(s.ReportRequestSerializer, request)
        report = services.report_request(
            user=request.user,
            portfolio_id=portfolio_id,
            report_format=body["format"],
            as_of_date=body.get("as_of_date"),
        )
        report.job.refresh_from_db(fields=["status"])
        started = {
            "job_id": report.job_id,
            "status": report.job.status,
            "status_url": _status_url(report.job_id),
        }
        return Response(s.ReportStartedSerializer(started).data, status=status.HTTP_202_ACCEPTED)


class ReportStatusView(APIView):
    throttle_classes = throttles(AnalyticsRateThrottle)

    @extend_schema(
        tags=["export"],
        summary="E1: a report job's status, progress and, once completed, its download link",
        parameters=[JOB_ID],
        responses={200: s.ReportStatusSerializer, 404: _NOT_FOUND},
    )
    def get(self, request: Request, job_id: str) -> Response:
        report = services.report_for_user(user=request.user, job_id=job_id)
        job = report.job
        expired = services.is_expired(report)
        ready = job.status == JobStatus.COMPLETED and bool(report.file_name) and not expired
        total = job.total_items
        body = {
            "job_id": job.pk,
            "status": job.status,
            "progress": round(100.0 * job.processed_items / total, 1) if total else None,
            "portfolio_id": report.portfolio_id,
            "format": report.format,
            "as_of_date": report.as_of_date,
            "created_at": job.created_at,
            "completed_at": job.completed_at,
            "download_url": request.build_absolute_uri(f"{_status_url(job.pk)}/download")
            if ready
            else None,
            "expires_at": report.expires_at,
            "expired": expired,
            "size_bytes": report.size_bytes,
            "sha256": report.sha256 or None,
            "error_message": job.error_message,
            "warnings": (job.metadata or {}).get("warnings", []),
        }
        return Response(s.ReportStatusSerializer(body).data)


class ReportDownloadView(APIView):
    throttle_classes = throttles(AnalyticsRateThrottle)

    @extend_schema(
        tags=["export"],
        summary="E1: the report file (text/markdown, application/json, text/csv or application/pdf)",
        parameters=[JOB_ID],
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            (200, "text/markdown"): OpenApiTypes.STR,
            (200, "text/csv"): OpenApiTypes.STR,
            (200, "application/json"): OpenApiTypes.OBJECT,
            404: _NOT_FOUND,
            409: OpenApiResponse(description="CONFLICT: the report's job has not completed"),
            410: OpenApiResponse(description="GONE: the file expired; request a new report"),
        },
    )
    def get(self, request: Request, job_id: str) -> HttpResponse:
        found = services.report_file(user=request.user, job_id=job_id)
        # Reports are a few hundred KB at most: one read, with a Content-Length.
        with found.handle as handle:
            content = handle.read()
        response = HttpResponse(content, content_type=found.content_type)
        response["Content-Disposition"] = f'attachment; filename="{found.filename}"'
        return response
