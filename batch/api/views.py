"""Batch administration (spec 3.1–3.3) and system endpoints (Part II S1–S3), admins only.
(3.4–3.5, data quality, are served by the risk app, which owns those figures.)

Thin: each view validates its query, calls one selector or service and serializes.
A trader or viewer gets 403 ``INSUFFICIENT_PERMISSIONS``; an unknown job id 404.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from batch import selectors, services
from batch.api import serializers as s
from sigmasight.api.inputs import parse_body, parse_query
from sigmasight.api.pagination import page_params, paginate
from sigmasight.api.permissions import IsAdmin

SORTABLE = ("created_at", "started_at", "completed_at", "duration_seconds", "job_name", "status")

_ERRORS = {
    401: OpenApiResponse(description="Missing or invalid token"),
    403: OpenApiResponse(description="INSUFFICIENT_PERMISSIONS: the admin permission is required"),
    422: OpenApiResponse(description="Invalid query parameter (loc: ['query', name])"),
    429: OpenApiResponse(description="Rate limit exceeded"),
}
_NOT_FOUND = {404: OpenApiResponse(description="Batch job not found")}
_CONFLICT = {409: OpenApiResponse(description="CONFLICT: the job has already finished")}
JOB_ID = OpenApiParameter(
    "job_id",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="Batch job id, job_YYYYMMDD_HHMMSS_<name>_<4 hex>",
)


class AdminView(APIView):
    permission_classes = [IsAdmin]


# --------------------------------------------------------------------------- 3.1–3.3


class JobStatusView(AdminView):
    @extend_schema(
        tags=["admin"],
        summary="Get status of recent batch jobs",
        description="Jobs created in the last days_back × 24 h, newest first (or by sort), "
        "one page of limit jobs at a time, with counts per status over all of them (every "
        "status, zeros included).",
        parameters=[
            s.JobStatusQuerySerializer,
            OpenApiParameter("page", int, description="1-based, default 1"),
            OpenApiParameter("sort", str, enum=SORTABLE, description="Default created_at"),
            OpenApiParameter("order", str, enum=["asc", "desc"], description="Default desc"),
        ],
        responses={200: s.JobStatusReportSerializer, **_ERRORS},
    )
    def get(self, request: Request) -> Response:
        query = parse_query(s.JobStatusQuerySerializer, request)
        paging = parse_query(s.JobStatusPageSerializer, request)
        now = timezone.now()
        filters = {
            "job_name": query.get("job_name"),
            "status": query.get("status"),
            "portfolio_id": query.get("portfolio_id"),
        }
        # The report's summary and filters count every job; its list is replaced by a page.
        report = selectors.job_status_report(
            **filters, days_back=query["days_back"], limit=1, now=now
        )
        jobs = selectors.jobs_query(**filters, since=now - dt.timedelta(days=query["days_back"]))
        if paging.get("sort"):
            descending = paging["order"] == "desc"
            jobs = jobs.order_by(("-" if descending else "") + paging["sort"], "-id")
        window, pagination = paginate(jobs, page=paging["page"], limit=query["limit"])
        report["jobs"] = [selectors.job_payload(job) for job in window]
        report["pagination"] = pagination
        report["warnings"] = [w for w in report["warnings"] if not w.startswith("Showing")]
        if pagination["has_next"]:
            report["warnings"].append(
                f"Showing page {pagination['page']} of {pagination['total_pages']} "
                f"({len(report['jobs'])} of {pagination['total_items']} jobs); "
                "ask for the next page or raise limit to see more."
            )
        return Response(s.JobStatusReportSerializer(report).data)


class JobSummaryView(AdminView):
    @extend_schema(
        tags=["admin"],
        summary="Get summary statistics of batch jobs",
        description="Success rates (percent), mean durations of completed jobs (seconds), "
        "per job type, per day, week over week, and the most frequent errors.",
        parameters=[s.JobSummaryQuerySerializer],
        responses={200: s.JobSummaryReportSerializer, **_ERRORS},
    )
    def get(self, request: Request) -> Response:
        query = parse_query(s.JobSummaryQuerySerializer, request)
        report = selectors.job_summary_report(days_back=query["days_back"])
        return Response(s.JobSummaryReportSerializer(report).data)


def _cancel(job_id: str) -> Response:
    outcome = services.job_cancel(job_id=job_id)
    report = selectors.cancel_report(
        job=outcome.job,
        previous_status=outcome.previous_status,
        cancelled_at=outcome.cancelled_at,
        revoked_task_id=outcome.revoked_task_id,
    )
    return Response(s.CancelReportSerializer(report).data)


_CANCEL_DOC = (
    "A pending job is cancelled at once. A running job stops at its next checkpoint "
    "(between items; the item in progress completes, so no item is half written): "
    "new_status is then 'cancelling' and the job's status becomes 'cancelled' when it "
    "stops. A finished job answers 409."
)


class JobCancelView(AdminView):
    @extend_schema(
        tags=["admin"],
        summary="Cancel a running batch job",
        description=_CANCEL_DOC,
        parameters=[JOB_ID],
        responses={200: s.CancelReportSerializer, **_NOT_FOUND, **_CONFLICT, **_ERRORS},
    )
    def delete(self, request: Request, job_id: str) -> Response:
        return _cancel(job_id)


# --------------------------------------------------------------------------- S1–S3


class SystemJobListView(AdminView):
    @extend_schema(
        tags=["system"],
        operation_id="system_jobs_list",
        summary="List background jobs",
        parameters=[
            s.JobFilterQuerySerializer,
            OpenApiParameter("page", int),
            OpenApiParameter("limit", int, description="Default 50, at most 200"),
            OpenApiParameter("sort", str, enum=SORTABLE, description="Default created_at"),
            OpenApiParameter("order", str, enum=["asc", "desc"], description="Default desc"),
        ],
        responses={200: s.JobListSerializer, **_ERRORS},
    )
    def get(self, request: Request) -> Response:
        query = parse_query(s.JobFilterQuerySerializer, request)
        paging = page_params(request, sortable=SORTABLE)
        jobs = selectors.jobs_query(
            job_name=query.get("job_name"),
            status=query.get("status"),
            portfolio_id=query.get("portfolio_id"),
        )
        if paging.get("sort"):
            descending = request.query_params.get("order", "desc") == "desc"
            jobs = jobs.order_by(("-" if descending else "") + paging["sort"], "-id")
        window, pagination = paginate(jobs, page=paging["page"], limit=paging["limit"])
        body = {"jobs": [selectors.job_payload(job) for job in window], "pagination": pagination}
        return Response(s.JobListSerializer(body).data)

    @extend_schema(
        tags=["system"],
        operation_id="system_jobs_start",
        summary="Start a job",
        description="Starts any registered job (see the job_name values of GET /system/jobs) "
        "for every live portfolio, or for portfolio_ids, and answers at once: the job runs on "
        "a Celery worker (in the embedded default, in a background thread of the server). "
        "Follow it at status_url or on /ws/jobs; cancel it with DELETE status_url.",
        request=s.JobStartSerializer,
        responses={
            202: s.JobStartedSerializer,
            **_ERRORS,
            422: OpenApiResponse(description="Unknown job_name or portfolio id (field errors)"),
        },
    )
    def post(self, request: Request) -> Response:
        data = parse_body(s.JobStartSerializer, request)
        job = services.job_start(
            job_name=data["job_name"],
            portfolio_ids=data.get("portfolio_ids"),
            requested_by=request.user,
        )
        body = {
            "job_id": job.pk,
            "status": job.status,
            "status_url": f"/api/v1/system/jobs/{job.pk}",
        }
        return Response(s.JobStartedSerializer(body).data, status=status.HTTP_202_ACCEPTED)


class SystemJobDetailView(AdminView):
    @extend_schema(
        tags=["system"],
        operation_id="system_jobs_retrieve",
        summary="Job details",
        description="The job row, with its metadata (per-step results of a chain).",
        parameters=[JOB_ID],
        responses={200: s.JobSerializer, **_NOT_FOUND, **_ERRORS},
    )
    def get(self, request: Request, job_id: str) -> Response:
        job = selectors.job_get(job_id=job_id)
        return Response(s.JobSerializer(selectors.job_payload(job)).data)

    @extend_schema(
        tags=["system"],
        operation_id="system_jobs_cancel",
        summary="Cancel a job",
        description=_CANCEL_DOC,
        parameters=[JOB_ID],
        responses={200: s.CancelReportSerializer, **_NOT_FOUND, **_CONFLICT, **_ERRORS},
    )
    def delete(self, request: Request, job_id: str) -> Response:
        return _cancel(job_id)


class SystemStatusView(AdminView):
    @extend_schema(
        tags=["system"],
        summary="System status",
        description="The /health checks, Celery mode, the exchange, the batch (last run per "
        "job, running jobs, failures in 24 h) and the celery beat schedule.",
        responses={200: s.SystemStatusSerializer, **_ERRORS},
    )
    def get(self, request: Request) -> Response:
        return Response(s.SystemStatusSerializer(selectors.system_status()).data)
