"""Trading endpoints of the 0DTE spec. Thin: parse, call one selector or service,
serialize."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sigmasight.api.inputs import parse_body
from sigmasight.api.permissions import IsTrader
from sigmasight.api.throttling import TradingRateThrottle, throttles
from sigmasight.errors import ValidationFailed
from trading import selectors, services
from trading.api.serializers import (
    ExecuteSerializer,
    TradeSerializer,
    TradingConfigSerializer,
    TradingConfigUpdateSerializer,
)


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


#: The longest Idempotency-Key accepted (the column's width).
_KEY_MAX = 200


class ExecuteView(APIView):
    permission_classes = [IsAuthenticated, IsTrader]
    throttle_classes = throttles(TradingRateThrottle)

    @extend_schema(
        tags=["0dte-trading"],
        summary="Execute a signal on the paper broker",
        description=(
            "Fills the signal's legs together as one package at the fill rule off the "
            "current chain quote, sized in whole packages from position_size (dollars), "
            "books each fill's fees and the legs into the user's 0DTE paper portfolio. "
            "An Idempotency-Key header makes a retry return the first trade (409 if the "
            "body differs). 422: SIGNAL_EXPIRED, MARKET_CLOSED, INSUFFICIENT_FUNDS, "
            "POSITION_LIMIT_EXCEEDED, EMERGENCY_HALT_ACTIVE, ORDER_REJECTED (a leg without "
            "a fresh two-sided quote), field errors. Traders and admins."
        ),
        request=ExecuteSerializer,
        responses={
            201: TradeSerializer,
            401: OpenApiResponse(description="Missing or invalid token"),
            403: OpenApiResponse(description="Not a trader"),
            404: OpenApiResponse(description="No such signal"),
            409: OpenApiResponse(description="Idempotency-Key reused for another request"),
            422: OpenApiResponse(description="Refused (see the description)"),
        },
    )
    def post(self, request: Request) -> Response:
        params = parse_body(ExecuteSerializer, request)
        key = request.headers.get("Idempotency-Key")
        if key is not None and not 0 < len(key.strip()) <= _KEY_MAX:
            raise ValidationFailed(
                {"Idempotency-Key": [f"1 to {_KEY_MAX} characters"]}, location="header"
            )
        overrides = params.get("override_params") or {}
        trade, created = services.trade_execute(
            user=request.user,
            request=services.ExecuteRequest(
                signal_id=params["signal_id"],
                position_size=params.get("position_size"),
                profit_target=overrides.get("profit_target"),
                stop_loss=overrides.get("stop_loss"),
            ),
            idempotency_key=key.strip() if key else None,
        )
        response = Response(
            TradeSerializer(selectors.trade_body(trade)).data, status=status.HTTP_201_CREATED
        )
        if not created:
            response["Idempotent-Replayed"] = "true"
        return response
