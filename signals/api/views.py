"""Signal endpoints of the 0DTE spec. Thin: parse, call one selector or service,
serialize. Signals are market-wide: every authenticated user reads the same ones."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketdata.clock import MarketTime, market_time
from marketdata.selectors import zero_dte_symbol
from marketdata.tickers import ZERO_DTE_TICKERS
from sigmasight.api.inputs import parse_body, parse_query
from sigmasight.api.pagination import paginate
from sigmasight.api.permissions import IsTrader
from sigmasight.api.throttling import MarketRateThrottle, TradingRateThrottle, throttles
from signals import selectors, services
from signals.api.serializers import (
    ActiveSignalsQuerySerializer,
    ActiveSignalsSerializer,
    GeneratedSignalsSerializer,
    GenerateSignalsSerializer,
    SignalDetailSerializer,
)

_ERRORS = {
    401: OpenApiResponse(description="Missing or invalid token"),
    422: OpenApiResponse(description="Invalid input, INVALID_SYMBOL or INVALID_STRATEGY"),
    429: OpenApiResponse(description="Rate limit exceeded"),
}


def _clock_keys(at: MarketTime) -> dict[str, Any]:
    return {"market_status": at.status, "clock": at.clock, "session": at.session}


class ActiveSignalsView(APIView):
    throttle_classes = throttles(MarketRateThrottle)

    @extend_schema(
        tags=["0dte-signals"],
        summary="Currently active trading signals",
        description=(
            "The market clock's signals that are neither expired nor superseded by a newer "
            "signal of the ticker, newest first; filters symbol, confidence_min (0-1) and "
            "strategy_type; paginated. Money per API-CONVENTIONS: max_cost, target_profit "
            "and stop_loss in option price units per package, max_loss and max_profit in "
            "dollars per package."
        ),
        parameters=[ActiveSignalsQuerySerializer],
        responses={200: ActiveSignalsSerializer, **_ERRORS},
    )
    def get(self, request: Request) -> Response:
        params = parse_query(ActiveSignalsQuerySerializer, request)
        at = market_time()
        rows = selectors.active_signals(
            at,
            symbol=zero_dte_symbol(params["symbol"]) if "symbol" in params else None,
            confidence_min=params.get("confidence_min"),
            strategy_type=selectors.strategy_name(params["strategy_type"])
            if "strategy_type" in params
            else None,
        )
        page, pagination = paginate(rows, page=params["page"], limit=params["limit"])
        warnings = (
            []
            if at.is_open
            else [f"market closed: no signal is active after the session of {at.session}"]
        )
        body = {
            "signals": [selectors.signal_summary(s) for s in page],
            "pagination": pagination,
            "warnings": warnings,
            **_clock_keys(at),
        }
        return Response(ActiveSignalsSerializer(body).data)


class GenerateSignalsView(APIView):
    permission_classes = [IsAuthenticated, IsTrader]
    throttle_classes = throttles(TradingRateThrottle)

    @extend_schema(
        tags=["0dte-signals"],
        summary="Generate signals now",
        description=(
            "Generates the tickers' signals at the market clock's minute (one per ticker and "
            "minute: a second call in the same minute returns the stored ones) and answers "
            "201 with those at or above min_confidence. A closed market generates nothing "
            "and says so (200). Traders and admins."
        ),
        request=GenerateSignalsSerializer,
        responses={201: GeneratedSignalsSerializer, 200: GeneratedSignalsSerializer, **_ERRORS},
    )
    def post(self, request: Request) -> Response:
        params = parse_body(GenerateSignalsSerializer, request)
        symbols = list(
            dict.fromkeys(zero_dte_symbol(s) for s in params.get("symbols", ZERO_DTE_TICKERS))
        )
        at = market_time()
        signals, warnings = services.signals_generate(at=at, symbols=symbols, trigger="manual")
        floor = params.get("min_confidence")
        shown = [
            s
            for s in signals
            if floor is None or (s.confidence is not None and s.confidence >= floor)
        ]
        body = {
            "signals": [selectors.signal_summary(s) for s in shown],
            "generated": len(shown),
            "warnings": warnings,
            **_clock_keys(at),
        }
        code = status.HTTP_201_CREATED if at.is_open else status.HTTP_200_OK
        return Response(GeneratedSignalsSerializer(body).data, status=code)


class SignalDetailView(APIView):
    throttle_classes = throttles(MarketRateThrottle)

    @extend_schema(
        tags=["0dte-signals"],
        summary="One signal in detail",
        description=(
            "The analysis block from the stored features (each category's mean aligned model "
            "input), every feature with its model weight, the model version and outcome "
            "definition the confidence predicts, the execution plan's legs (estimated prices "
            "at the ask for buys, the bid for sells) and the outcome once known."
        ),
        responses={
            200: SignalDetailSerializer,
            404: OpenApiResponse(description="No such signal"),
            **_ERRORS,
        },
    )
    def get(self, request: Request, signal_id: str) -> Response:
        signal = selectors.signal_get(signal_id)
        return Response(SignalDetailSerializer(selectors.signal_detail(signal)).data)
