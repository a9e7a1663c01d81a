"""Risk endpoints: thin views over ``risk.selectors``."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portfolios.api.serializers import PositionOneQuerySerializer, PositionOneSerializer
from portfolios.selectors import portfolio_for_admin
from risk import quality, reports, services
from risk.api import serializers as s
from sigmasight import versions
from sigmasight.api.inputs import parse_query
from sigmasight.api.permissions import IsAdmin
from sigmasight.api.response_cache import cached_response
from sigmasight.api.throttling import AnalyticsRateThrottle, throttles

PORTFOLIO_ID = OpenApiParameter("portfolio_id", UUID, OpenApiParameter.PATH)
POSITION_ID = OpenApiParameter("position_id", UUID, OpenApiParameter.PATH)


class PositionOneView(APIView):
    """Served here because it joins the book (portfolios) with the stored risk results."""

    @extend_schema(
        tags=["data"],
        summary="One position in depth: P&L, market data, fundamentals, history, transactions",
        parameters=[POSITION_ID, PositionOneQuerySerializer],
        responses={200: PositionOneSerializer},
    )
    def get(self, request: Request, position_id: UUID) -> Response:
        query = parse_query(PositionOneQuerySerializer, request)
        body = reports.position_detail_report(
            user=request.user, position_id=position_id, include_history=query["include_history"]
        )
        return Response(PositionOneSerializer(body).data)


class GreeksView(APIView):
    throttle_classes = throttles(AnalyticsRateThrottle)

    @extend_schema(
        tags=["data"],
        summary="Greeks of the portfolio's option positions and portfolio totals",
        parameters=[PORTFOLIO_ID, s.GreeksQuerySerializer],
        responses={200: s.GreeksReportSerializer},
    )
    def get(self, request: Request, portfolio_id: UUID) -> Response:
        query = parse_query(s.GreeksQuerySerializer, request)
        body = reports.greeks_report(
            user=request.user, portfolio_id=portfolio_id, position_id=query.get("position_id")
        )
        return Response(s.GreeksReportSerializer(body).data)


def _portfolio_view(
    summary: str,
    response: type[serializers.Serializer],
    query: type[serializers.Serializer] | None,
    build: Any,
    tag: str = "data",
    cached: bool = True,
) -> type[APIView]:
    """A GET view over one portfolio-scoped report function (they differ only in data).
    ``cached``: the body is kept until the portfolio, the market or its results change
    (``sigmasight.api.response_cache``); off for reports that read the clock."""

    class View(APIView):
        throttle_classes = throttles(AnalyticsRateThrottle)

        @extend_schema(
            tags=[tag],
            summary=summary,
            parameters=[PORTFOLIO_ID, *([query] if query else [])],
            responses={200: response},
        )
        def get(self, request: Request, portfolio_id: UUID) -> HttpResponse:
            def body() -> Response:
                params = parse_query(query, request) if query else {}
                return Response(
                    response(build(user=request.user, portfolio_id=portfolio_id, **params)).data
                )

            if not cached:
                return body()
            return cached_response(
                self, request, counters=versions.portfolio_reads(portfolio_id), build=body
            )

    View.__name__ = View.__qualname__ = f"{build.__name__.title().replace('_', '')}View"
    return View


FactorsView = _portfolio_view(
    "Factor exposures of each position and the portfolio",
    s.FactorsReportSerializer,
    s.PositionFilterSerializer,
    reports.factors_report,
)
AggregationsView = _portfolio_view(
    "Portfolio aggregates: totals, breakdowns, concentration, Greeks, factors, performance",
    s.AggregationsSerializer,
    s.AggregationsQuerySerializer,
    reports.aggregations_report,
)
DataQualityView = _portfolio_view(
    "Data quality of the portfolio's prices, Greeks, factors and history",
    s.DataQualitySerializer,
    None,
    reports.data_quality_report_for_user,
    cached=False,  # ages of prices and results, from the clock
)
OverviewView = _portfolio_view(
    "A1: exposures, P&L and counts for the dashboard",
    s.OverviewSerializer,
    None,
    reports.overview_report,
    tag="analytics",
)
MetricsView = _portfolio_view(
    "A2: VaR, ES and performance ratios",
    s.MetricsSerializer,
    s.MethodQuerySerializer,
    reports.metrics_report,
    tag="analytics",
)
FactorAnalyticsView = _portfolio_view(
    "Factor exposures and attribution",
    s.FactorAnalyticsSerializer,
    None,
    reports.factor_exposures_analytics,
    tag="analytics",
)
ScenariosView = _portfolio_view(
    "A3: every stress scenario, direct and correlated",
    s.ScenariosSerializer,
    None,
    reports.scenarios_report,
    tag="analytics",
)


class RiskSummaryView(APIView):
    throttle_classes = throttles(AnalyticsRateThrottle)

    @extend_schema(
        tags=["data"],
        summary="VaR/ES, risk ratios, component VaR, stress scenarios and Greek risk",
        parameters=[PORTFOLIO_ID, s.RiskSummaryQuerySerializer],
        responses={200: s.RiskSummarySerializer},
    )
    def get(self, request: Request, portfolio_id: UUID) -> HttpResponse:
        def body() -> Response:
            query = parse_query(s.RiskSummaryQuerySerializer, request)
            report = reports.risk_summary_report(
                user=request.user,
                portfolio_id=portfolio_id,
                confidence=int(query["confidence_level"]),
                method=query["method"],
                components_limit=query["components_limit"],
            )
            return Response(s.RiskSummarySerializer(report).data)

        return cached_response(
            self, request, counters=versions.portfolio_reads(portfolio_id), build=body
        )


# ---- /admin/batch/data-quality (admins) ------------------------------------------------------

ADMIN_ERRORS = {
    401: OpenApiResponse(description="Missing or invalid token"),
    403: OpenApiResponse(description="INSUFFICIENT_PERMISSIONS: the admin permission is required"),
    422: OpenApiResponse(description="Invalid query parameter (loc: ['query', name])"),
    429: OpenApiResponse(description="Rate limit exceeded"),
}


class AdminDataQualityView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        tags=["admin"],
        summary="Get data quality status and metrics for portfolios",
        description="Coverage and freshness per portfolio (percent), provider and database "
        "health, and the scores recorded by jobs over 7 days. Figures the service cannot "
        "measure are null, with the reason in warnings.",
        parameters=[s.PortfolioQuerySerializer],
        responses={
            200: s.DataQualityStatusSerializer,
            404: OpenApiResponse(description="Portfolio not found"),
            **ADMIN_ERRORS,
        },
    )
    def get(self, request: Request) -> Response:
        query = parse_query(s.PortfolioQuerySerializer, request)
        report = quality.data_quality_status(
            portfolio=portfolio_for_admin(portfolio_id=query.get("portfolio_id"))
        )
        return Response(s.DataQualityStatusSerializer(report).data)


class AdminDataQualityRefreshView(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        tags=["admin"],
        summary="Refresh market data to improve data quality scores",
        description="Starts a data_quality_refresh job (for one portfolio, or all) and answers "
        "202 with its id; follow it at /api/v1/system/jobs/{job_id} or on /ws/jobs. In the "
        "embedded default the job runs in a background thread of the server.",
        parameters=[s.PortfolioQuerySerializer],
        request=None,
        responses={
            202: s.RefreshReportSerializer,
            404: OpenApiResponse(description="Portfolio not found"),
            **ADMIN_ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        query = parse_query(s.PortfolioQuerySerializer, request)
        report = services.data_quality_refresh_start(
            portfolio=portfolio_for_admin(portfolio_id=query.get("portfolio_id")),
            requested_by=request.user,
        )
        return Response(s.RefreshReportSerializer(report).data, status=status.HTTP_202_ACCEPTED)
