"""Market-data endpoints of SigmaSight (spec 2.5, 2.6, 2.7). Thin: parse the query, call one
selector, serialize."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketdata import selectors
from marketdata.api.serializers import (
    FactorETFPricesSerializer,
    FactorETFQuerySerializer,
    HistoricalPricesSerializer,
    HistoricalQuerySerializer,
    QuotesQuerySerializer,
    QuotesSerializer,
)
from sigmasight.api.inputs import parse_query
from sigmasight.api.throttling import MarketRateThrottle, throttles

_ERRORS = {
    401: OpenApiResponse(description="Missing or invalid token"),
    422: OpenApiResponse(description="Invalid query, or INVALID_SYMBOL"),
    429: OpenApiResponse(description="Rate limit exceeded"),
}


class HistoricalPricesView(APIView):
    throttle_classes = throttles(MarketRateThrottle)

    @extend_schema(
        tags=["data"],
        summary="Get historical price data for symbol or position",
        description=(
            "Daily bars, newest first, with period statistics (fractions). The path names a "
            "symbol (OCC for options) or one of the caller's position ids."
        ),
        parameters=[
            OpenApiParameter(
                "symbol_or_position_id",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                description="A symbol, or the UUID of one of your positions.",
            ),
            HistoricalQuerySerializer,
        ],
        responses={
            200: HistoricalPricesSerializer,
            404: OpenApiResponse(description="Position not found"),
            **_ERRORS,
        },
    )
    def get(self, request: Request, symbol_or_position_id: str) -> Response:
        params = parse_query(HistoricalQuerySerializer, request)
        result = selectors.historical_prices(
            user=request.user,
            subject=symbol_or_position_id,
            start=params["start"],
            end=params["end"],
        )
        return Response(HistoricalPricesSerializer(result).data)


class QuotesView(APIView):
    throttle_classes = throttles(MarketRateThrottle)

    @extend_schema(
        tags=["data"],
        summary="Get real-time market quotes for symbols",
        description=(
            "Latest quote per symbol with the change against the previous close "
            "(change_percent in percent), 52-week range and market cap."
        ),
        parameters=[QuotesQuerySerializer],
        responses={200: QuotesSerializer, **_ERRORS},
    )
    def get(self, request: Request) -> Response:
        params = parse_query(QuotesQuerySerializer, request)
        return Response(QuotesSerializer(selectors.quote_board(symbols=params["symbols"])).data)


class FactorETFPricesView(APIView):
    throttle_classes = throttles(MarketRateThrottle)

    @extend_schema(
        tags=["data"],
        summary="Get current and historical prices for factor ETFs",
        parameters=[FactorETFQuerySerializer],
        responses={200: FactorETFPricesSerializer, **_ERRORS},
    )
    def get(self, request: Request) -> Response:
        params = parse_query(FactorETFQuerySerializer, request)
        result = selectors.factor_etf_prices(symbols=params.get("symbols"), days=params["days"])
        return Response(FactorETFPricesSerializer(result).data)
