"""Risk endpoints: thin views over ``risk.selectors``."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from risk import selectors
from risk.api import serializers as s
from sigmasight.api.errors import QueryValidationError
from sigmasight.api.throttling import AnalyticsRateThrottle, throttles

PORTFOLIO_ID = OpenApiParameter("portfolio_id", UUID, OpenApiParameter.PATH)


def _query(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.query_params)
    if not serializer.is_valid():
        raise QueryValidationError(serializer.errors)
    return dict(serializer.validated_data)


class GreeksView(APIView):
    throttle_classes = throttles(AnalyticsRateThrottle)

    @extend_schema(
        tags=["data"],
        summary="Greeks of the portfolio's option positions and portfolio totals",
        parameters=[PORTFOLIO_ID, s.GreeksQuerySerializer],
        responses={200: s.GreeksReportSerializer},
    )
    def get(self, request: Request, portfolio_id: UUID) -> Response:
        query = _query(s.GreeksQuerySerializer, request)
        body = selectors.greeks_report(
            user=request.user, portfolio_id=portfolio_id, position_id=query.get("position_id")
        )
        return Response(s.GreeksReportSerializer(body).data)
