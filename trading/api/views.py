"""Trading endpoints of the 0DTE spec. Thin: parse, call one selector or service,
serialize."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketdata.clock import market_time
from sigmasight.api.inputs import parse_body, parse_query
from sigmasight.api.pagination import paginate
from sigmasight.api.permissions import IsTrader
from sigmasight.api.throttling import TradingRateThrottle, throttles
from sigmasight.errors import ValidationFailed
from trading import analytics, selectors, services
from trading.api.serializers import (
    AccountRiskMetricsSerializer,
    AccountStateSerializer,
    AnalyticsQuerySerializer,
    CloseSerializer,
    EmergencySerializer,
    ExecuteSerializer,
    PositionsQuerySerializer,
    PositionsSerializer,
    ResumeSerializer,
    RiskAuditQuerySerializer,
    RiskAuditSerializer,
    RiskRegimeSerializer,
    SignalAnalyticsSerializer,
    TradeSerializer,
    TradingConfigSerializer,
    TradingConfigUpdateSerializer,
    TradingPerformanceSerializer,
)
from trading.messages import risk_event_body


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
            "POSITION_LIMIT_EXCEEDED, DAILY_LOSS_LIMIT_EXCEEDED, EMERGENCY_HALT_ACTIVE, "
            "ORDER_REJECTED (a leg without a fresh two-sided quote), field errors. Traders "
            "and admins."
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
        key = _idempotency_key(request)
        overrides = params.get("override_params") or {}
        trade, created = services.trade_execute(
            user=request.user,
            request=services.ExecuteRequest(
                signal_id=params["signal_id"],
                position_size=params.get("position_size"),
                profit_target=overrides.get("profit_target"),
                stop_loss=overrides.get("stop_loss"),
                hold_to_expiry=overrides.get("hold_to_expiry", False),
            ),
            idempotency_key=key,
        )
        return _trade_response(trade, created)


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 0 < len(key.strip()) <= _KEY_MAX:
        raise ValidationFailed(
            {"Idempotency-Key": [f"1 to {_KEY_MAX} characters"]}, location="header"
        )
    return key.strip() if key else None


def _trade_response(
    trade: Any, created: bool, *, status_code: int = status.HTTP_201_CREATED
) -> Response:
    response = Response(TradeSerializer(selectors.trade_body(trade)).data, status=status_code)
    if not created:
        response["Idempotent-Replayed"] = "true"
    return response


class PositionsView(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = throttles(TradingRateThrottle)

    @extend_schema(
        tags=["0dte-trading"],
        summary="The user's 0DTE strategy positions, marked",
        description=(
            "Open positions by default (status=closed or all for the rest), newest first. "
            "Each leg is marked at the latest stored chain quote (the mid of a two-sided "
            "quote, else the last); total_cost is the open packages' capital at risk, "
            "current_value = total_cost + unrealized_pnl, target_profit and stop_loss are "
            "dollars (fractions of total_cost). close_value is what a market close would "
            "get now per share, at the fill rule. A leg without a quote leaves the P&L null "
            "with a warning."
        ),
        parameters=[PositionsQuerySerializer],
        responses={
            200: PositionsSerializer,
            401: OpenApiResponse(description="Missing or invalid token"),
            422: OpenApiResponse(description="Invalid status"),
        },
    )
    def get(self, request: Request) -> Response:
        params = parse_query(PositionsQuerySerializer, request)
        body = selectors.strategy_positions(
            user=request.user, at=market_time(), status=params["status"]
        )
        return Response(PositionsSerializer(body).data)


class CloseView(APIView):
    permission_classes = [IsAuthenticated, IsTrader]
    throttle_classes = throttles(TradingRateThrottle)

    @extend_schema(
        tags=["0dte-trading"],
        summary="Close a strategy position as one package",
        description=(
            "close_type market fills now at the fill rule off the current chain quote; "
            "limit takes limit_price, the package's price per share (at least this received "
            "closing a debit package, at most this paid buying back a credit one): it fills "
            "now if the fill price meets it, else it rests (status submitted) and fills on a "
            "later minute once the opposite side of the quote reaches it. partial_quantity "
            "closes that many packages. An Idempotency-Key header makes a retry return the "
            "first trade. 409: already closed, or a close already working; 422: "
            "MARKET_CLOSED, ORDER_REJECTED (a leg without a fresh two-sided quote), field "
            "errors. Traders and admins; allowed while the account is halted."
        ),
        request=CloseSerializer,
        responses={
            201: TradeSerializer,
            401: OpenApiResponse(description="Missing or invalid token"),
            403: OpenApiResponse(description="Not a trader"),
            404: OpenApiResponse(description="No such position of this user"),
            409: OpenApiResponse(description="Closed, a close working, or a reused key"),
            422: OpenApiResponse(description="Refused (see the description)"),
        },
    )
    def post(self, request: Request, position_id: str) -> Response:
        params = parse_body(CloseSerializer, request)
        key = _idempotency_key(request)
        trade, created = services.strategy_position_close(
            user=request.user,
            position_id=position_id,
            request=services.CloseRequest(
                close_type=params["close_type"],
                limit_price=params.get("limit_price"),
                partial_quantity=params.get("partial_quantity"),
            ),
            idempotency_key=key,
        )
        return _trade_response(trade, created)


def _account_body(account: Any, closed: list[Any], warnings: list[str]) -> dict[str, Any]:
    return {
        "account_state": account.state,
        "emergency_status": account.state != "ACTIVE",
        "reason": account.state_reason,
        "state_changed_at": account.state_changed_at,
        "closed_positions": [t.closes_id for t in closed],
        "close_trades": [t.id for t in closed],
        "warnings": warnings,
    }


class EmergencyView(APIView):
    permission_classes = [IsAuthenticated, IsTrader]
    throttle_classes = throttles(TradingRateThrottle)

    @extend_schema(
        tags=["0dte-risk"],
        summary="Emergency halt of the user's 0DTE account",
        description=(
            "The account goes HALTED: every order of the user answers 422 "
            "EMERGENCY_HALT_ACTIVE until POST /risk/resume, and every working order (a "
            "resting close, an entry's resting remainder) is cancelled, each recorded in "
            "GET /risk/audit. With close_positions, every open position is then flattened "
            "by a reduce-only market close (exit reason emergency); one that "
            "cannot close now stays open and is named in warnings. An admin may name "
            "another user's account with user_id (404 for anyone else)."
        ),
        request=EmergencySerializer,
        responses={
            200: AccountStateSerializer,
            401: OpenApiResponse(description="Missing or invalid token"),
            403: OpenApiResponse(description="Not a trader"),
            404: OpenApiResponse(description="user_id names no account you may act on"),
            422: OpenApiResponse(description="Invalid input"),
        },
    )
    def post(self, request: Request) -> Response:
        params = parse_body(EmergencySerializer, request)
        holder = selectors.account_holder(requester=request.user, user_id=params.get("user_id"))
        result = services.account_halt(
            user=holder,
            reason=params["reason"],
            close_positions=params["close_positions"],
            actor=request.user,
        )
        body = _account_body(result.account, result.closed, result.warnings)
        return Response(AccountStateSerializer(body).data)


class ResumeView(APIView):
    permission_classes = [IsAuthenticated, IsTrader]
    throttle_classes = throttles(TradingRateThrottle)

    @extend_schema(
        tags=["0dte-risk"],
        summary="Leave the emergency halt",
        description=(
            "REDUCING or HALTED → ACTIVE, recorded in the audit log; 409 if the account is "
            "already active. An admin may name "
            "another user's account with user_id (404 for anyone else)."
        ),
        request=ResumeSerializer,
        responses={
            200: AccountStateSerializer,
            401: OpenApiResponse(description="Missing or invalid token"),
            403: OpenApiResponse(description="Not a trader"),
            404: OpenApiResponse(description="user_id names no account you may act on"),
            409: OpenApiResponse(description="Already active"),
        },
    )
    def post(self, request: Request) -> Response:
        params = parse_body(ResumeSerializer, request)
        holder = selectors.account_holder(requester=request.user, user_id=params.get("user_id"))
        account = services.account_resume(user=holder, reason=params["reason"], actor=request.user)
        return Response(AccountStateSerializer(_account_body(account, [], [])).data)


class RiskAuditView(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = throttles(TradingRateThrottle)

    @extend_schema(
        tags=["0dte-risk"],
        summary="The account's risk audit log",
        description=(
            "Newest first: each account-state transition (state_from, state_to, reason, "
            "the actor or the automatic trigger, when, the trigger's figures) and each "
            "working order a transition cancelled. Only your own; an admin may name another "
            "user with user_id (404 for anyone else)."
        ),
        parameters=[RiskAuditQuerySerializer],
        responses={
            200: RiskAuditSerializer,
            401: OpenApiResponse(description="Missing or invalid token"),
            404: OpenApiResponse(description="user_id names no account you may read"),
            422: OpenApiResponse(description="Invalid query"),
        },
    )
    def get(self, request: Request) -> Response:
        params = parse_query(RiskAuditQuerySerializer, request)
        holder = selectors.account_holder(requester=request.user, user_id=params.get("user_id"))
        events, pagination = paginate(
            selectors.risk_events(holder=holder, kind=params.get("kind")),
            page=params["page"],
            limit=params["limit"],
        )
        body = {"data": [risk_event_body(e) for e in events], "pagination": pagination}
        return Response(RiskAuditSerializer(body).data)


class RegimeView(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = throttles(TradingRateThrottle)

    @extend_schema(
        tags=["0dte-risk"],
        summary="The market regime and the emergency thresholds in force",
        description=(
            "The VIX regime at the market clock (thresholds REGIME_VIX_THRESHOLDS) with its "
            "adaptation factor and adjustments; the emergency thresholds that move ACTIVE "
            "accounts to REDUCING, and (added) today's readings against them and which fire. "
            "A figure without the data to compute it is null, with a warning."
        ),
        responses={
            200: RiskRegimeSerializer,
            401: OpenApiResponse(description="Missing or invalid token"),
        },
    )
    def get(self, request: Request) -> Response:
        return Response(RiskRegimeSerializer(selectors.risk_regime(at=market_time())).data)


class MetricsView(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = throttles(TradingRateThrottle)

    @extend_schema(
        tags=["0dte-risk"],
        summary="The account's risk metrics",
        description=(
            "Your 0DTE account now: portfolio value and the day's P&L from fills and marks, "
            "the P&L curve's max drawdown (dollars), the 95% VaR over the rest of the "
            "session by full revaluation of the open legs, concentration by underlying, the "
            "limits and the account state. A figure without its data is null, with a "
            "warning."
        ),
        responses={
            200: AccountRiskMetricsSerializer,
            401: OpenApiResponse(description="Missing or invalid token"),
        },
    )
    def get(self, request: Request) -> Response:
        body = selectors.risk_metrics(user=request.user, at=market_time())
        return Response(AccountRiskMetricsSerializer(body).data)


def _analytics_answer(
    request: Request, read: Any, serializer_class: type[serializers.Serializer]
) -> Response:
    """An analytics read of the requester's data over the query's period and symbol."""
    params = parse_query(AnalyticsQuerySerializer, request)
    body = read(
        user=request.user,
        at=market_time(),
        start=params.get("start_date"),
        end=params.get("end_date"),
        symbol=params.get("symbol"),
    )
    return Response(serializer_class(body).data)


class PerformanceView(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = throttles(TradingRateThrottle)

    @extend_schema(
        tags=["0dte-analytics"],
        summary="Your 0DTE trading performance",
        description=(
            "From your closed strategy positions opened between start_date and end_date "
            "(default: from your first session to today), net of every fee: total return of "
            "the equity, win rate, average win and loss (fractions of cost), profit factor, "
            "Sharpe and max drawdown of the daily equity, by symbol and by strategy."
        ),
        parameters=[AnalyticsQuerySerializer],
        responses={
            200: TradingPerformanceSerializer,
            401: OpenApiResponse(description="Missing or invalid token"),
            422: OpenApiResponse(description="Invalid dates or symbol"),
        },
    )
    def get(self, request: Request) -> Response:
        return _analytics_answer(request, analytics.performance, TradingPerformanceSerializer)


class SignalAnalyticsView(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = throttles(TradingRateThrottle)

    @extend_schema(
        tags=["0dte-analytics"],
        summary="How the signals did against their confidence",
        description=(
            "The signals generated between start_date and end_date (default: today's "
            "session): how many, how many you executed, their mean confidence; on the "
            "resolved ones, the hit rate of each confidence bucket with its count and Wilson "
            "95% interval, the Brier score and the expected calibration error; per strategy, "
            "the success rate and mean outcome return. An outcome is the event each signal "
            "stored: its target before its stop or the time exit."
        ),
        parameters=[AnalyticsQuerySerializer],
        responses={
            200: SignalAnalyticsSerializer,
            401: OpenApiResponse(description="Missing or invalid token"),
            422: OpenApiResponse(description="Invalid dates or symbol"),
        },
    )
    def get(self, request: Request) -> Response:
        return _analytics_answer(request, analytics.signal_analytics, SignalAnalyticsSerializer)
