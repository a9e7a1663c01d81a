"""Market-data endpoints of SigmaSight (spec 2.6, 2.7). Thin: parse the query, call one
selector, serialize. (2.5, the history of a symbol *or a position*, is served by the
portfolios app, which owns positions.)"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketdata import chains, selectors
from marketdata.api.serializers import (
    FactorETFPricesSerializer,
    FactorETFQuerySerializer,
    MarketCorrelationSerializer,
    MarketDataQuerySerializer,
    MarketDataSerializer,
    MarketTickersSerializer,
    OptionChainQuerySerializer,
    OptionChainSerializer,
    QuotesQuerySerializer,
    QuotesSerializer,
)
from marketdata.clock import market_time
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


class MarketTickersView(APIView):
    throttle_classes = throttles(MarketRateThrottle)

    @extend_schema(
        tags=["0dte-market"],
        summary="Supported 0DTE tickers",
        description="SPY, QQQ and IWM with their reference data and the market clock's state.",
        responses={200: MarketTickersSerializer, **_ERRORS},
    )
    def get(self, request: Request) -> Response:
        return Response(MarketTickersSerializer(selectors.market_tickers()).data)


class MarketDataView(APIView):
    throttle_classes = throttles(MarketRateThrottle)

    @extend_schema(
        tags=["0dte-market"],
        summary="Live market data for a 0DTE ticker",
        description=(
            "The close of the last completed minute on the market clock (live or replay), "
            "its change against the previous close (change_percent in percent), the "
            "session's volume so far and a bid/ask. Closed: the last session's close, "
            "market_status closed. An unsupported symbol is 422 INVALID_SYMBOL with "
            "supported_symbols in error.details."
        ),
        parameters=[MarketDataQuerySerializer],
        responses={200: MarketDataSerializer, **_ERRORS},
    )
    def get(self, request: Request, symbol: str) -> Response:
        params = parse_query(MarketDataQuerySerializer, request)
        data = chains.market_data(symbol, include_options=params["include_options"])
        return Response(MarketDataSerializer(data).data)


class MarketCorrelationView(APIView):
    throttle_classes = throttles(MarketRateThrottle)

    @extend_schema(
        tags=["0dte-market"],
        summary="Rolling correlations of SPY, QQQ and IWM and the VIX regime",
        description=(
            "Correlations of one-minute log returns over 60 bars (correlations), 20 and 180 "
            "(added), each pair's divergence z-score, the VIX level and its regime with the "
            "regime's risk adjustments. Null where too few minutes are stored, with warnings."
        ),
        responses={200: MarketCorrelationSerializer, **_ERRORS},
    )
    def get(self, request: Request) -> Response:
        return Response(MarketCorrelationSerializer(selectors.market_correlation()).data)


class OptionChainView(APIView):
    throttle_classes = throttles(MarketRateThrottle)

    @extend_schema(
        tags=["0dte-market"],
        summary="0DTE option chain of a ticker",
        description=(
            "Calls and puts of `strikes` $1 strikes on each side of the money at the market "
            "clock's minute: bid, ask, last, sizes, volume and open interest, the VIX-tied "
            "smile's IV and BSM Greeks with T in minutes to the expiry's close (theta per "
            "calendar day, vega per volatility point). The expiry is today's where the "
            "ticker lists one, else the nearest (said in warnings)."
        ),
        parameters=[OptionChainQuerySerializer],
        responses={200: OptionChainSerializer, **_ERRORS},
    )
    def get(self, request: Request, symbol: str) -> Response:
        params = parse_query(OptionChainQuerySerializer, request)
        chain = chains.option_chain(
            symbol,
            market_time(),
            expiration=params.get("expiration"),
            strikes=params["strikes"],
        )
        return Response(OptionChainSerializer(chain).data)
