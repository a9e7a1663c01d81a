"""Trading endpoints of the 0DTE spec. Thin: parse, call one selector or service,
serialize."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sigmasight.api.inputs import parse_body
from sigmasight.api.permissions import IsTrader
from sigmasight.api.throttling import TradingRateThrottle, throttles
from trading import selectors, services
from trading.api.serializers import TradingConfigSerializer, TradingConfigUpdateSerializer


def _config_body(config: selectors.TradingSettings) -> dict[str, Any]:
    return {**asdict(config), "broker": config.broker}


class TradingConfigView(APIView):
    throttle_classes = throttles(TradingRateThrottle)

    def get_permissions(self) -> list[Any]:
        if self.request.method == "PUT":
            return [IsAuthenticated(), IsTrader()]
        return [IsAuthenticated()]

    @extend_schema(
        tags=["0dte-trading"],
        summary="The user's trading configuration",
        description=(
            "The spec's defaults (TRADING_DEFAULT_* settings) until the user saves a change. "
            "position_size and daily_loss_limit in dollars; profit_target, stop_loss and "
            "confidence_threshold are fractions."
        ),
        responses={
            200: TradingConfigSerializer,
            401: OpenApiResponse(description="Missing or invalid token"),
        },
    )
    def get(self, request: Request) -> Response:
        config = selectors.trading_settings(user_id=request.user.pk)
        return Response(TradingConfigSerializer(_config_body(config)).data)

    @extend_schema(
        tags=["0dte-trading"],
        summary="Change the trading configuration",
        description=(
            "The fields given change, the rest stay. Out-of-range values answer 422 with "
            "field errors and change nothing; live mode answers 422 "
            "LIVE_TRADING_UNAVAILABLE unless a live broker is configured. Traders and admins."
        ),
        request=TradingConfigUpdateSerializer,
        responses={
            200: TradingConfigSerializer,
            401: OpenApiResponse(description="Missing or invalid token"),
            403: OpenApiResponse(description="Not a trader"),
            422: OpenApiResponse(description="Invalid input or LIVE_TRADING_UNAVAILABLE"),
        },
    )
    def put(self, request: Request) -> Response:
        changes = parse_body(TradingConfigUpdateSerializer, request)
        config = services.trading_config_update(user_id=request.user.pk, changes=changes)
        return Response(TradingConfigSerializer(_config_body(config)).data)
