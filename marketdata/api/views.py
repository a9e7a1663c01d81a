"""Market-data endpoints of SigmaSight (spec 2.6, 2.7). Thin: parse the query, call one
selector, serialize. (2.5, the history of a symbol *or a position*, is served by the
portfolios app, which owns positions.)"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketdata import selectors
from marketdata.api.serializers import (
    FactorETFPricesSerializer,
    FactorETFQuerySerializer,
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
