"""Risk endpoints: thin views over ``risk.selectors``."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from risk import reports, selectors
from risk.api import serializers as s
from sigmasight.api.inputs import parse_query
from sigmasight.api.throttling import AnalyticsRateThrottle, throttles

PORTFOLIO_ID = OpenApiParameter("portfolio_id", UUID, OpenApiParameter.PATH)


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
        body = selectors.greeks_report(
            user=request.user, portfolio_id=portfolio_id, position_id=query.get("position_id")
        )
        return Response(s.GreeksReportSerializer(body).data)


def _portfolio_view(
    summary: str,
    response: type[serializers.Serializer],
    query: type[serializers.Serializer] | None,
    build: Any,
    tag: str = "data",
) -> type[APIView]:
    """A GET view over one portfolio-scoped report function (they differ only in data)."""

    class View(APIView):
        throttle_classes = throttles(AnalyticsRateThrottle)

        @extend_schema(
            tags=[tag],
            summary=summary,
            parameters=[PORTFOLIO_ID, *([query] if query else [])],
            responses={200: response},
        )
        def get(self, request: Request, portfolio_id: UUID) -> Response:
            params = parse_query(query, request) if query else {}
            return Response(
                response(build(user=request.user, portfolio_id=portfolio_id, **params)).data
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
    def get(self, request: Request, portfolio_id: UUID) -> Response:
        query = parse_query(s.RiskSummaryQuerySerializer, request)
        body = reports.risk_summary_report(
            user=request.user,
            portfolio_id=portfolio_id,
            confidence=int(query["confidence_level"]),
            method=query["method"],
        )
        return Response(s.RiskSummarySerializer(body).data)
