"""Portfolio endpoints: /data/ reads (SigmaSight Part I) and /management/ writes (M1–M6)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketdata.api.serializers import HistoricalPricesSerializer, HistoricalQuerySerializer
from portfolios import reports, services
from portfolios.api import serializers as s
from portfolios.selectors import (
    LEDGER_SORTS,
    ledger,
    ledger_entry,
    portfolio_for_user,
    position_for_user,
)
from sigmasight import versions
from sigmasight.api.inputs import parse_body, parse_query
from sigmasight.api.pagination import page_params, paginate, sort_parameters, sort_rows
from sigmasight.api.permissions import IsTrader
from sigmasight.api.response_cache import cached_response
from sigmasight.api.throttling import MarketRateThrottle, throttles

PORTFOLIO_ID = OpenApiParameter("portfolio_id", UUID, OpenApiParameter.PATH)
POSITION_ID = OpenApiParameter("position_id", UUID, OpenApiParameter.PATH)
#: The documented columns each list sorts on (``sort``; ``order`` asc or desc, nulls last).
PORTFOLIO_SORT = (
    "name",
    "created_at",
    "updated_at",
    "total_value",
    "cash_balance",
    "positions_count",
)
DETAILS_SORT = (
    "symbol",
    "position_type",
    "quantity",
    "cost_basis",
    "current_price",
    "market_value",
    "unrealized_pnl",
    "unrealized_pnl_percent",
    "realized_pnl",
    "day_change",
    "day_change_percent",
    "created_at",
    "updated_at",
)
SUMMARY_SORT = (
    "symbol",
    "position_type",
    "quantity",
    "market_value",
    "weight",
    "unrealized_pnl",
    "unrealized_pnl_percent",
    "day_change",
    "day_change_percent",
)


class PortfolioListView(APIView):
    @extend_schema(
        tags=["data"],
        summary="All portfolios of the user, with value and open-position count",
        parameters=sort_parameters(PORTFOLIO_SORT, default="the default portfolio, then oldest"),
        responses={200: s.PortfolioListSerializer},
    )
    def get(self, request: Request) -> HttpResponse:
        def build() -> Response:
            params = page_params(request, sortable=PORTFOLIO_SORT)
            rows, pagination = paginate(
                sort_rows(
                    reports.portfolio_list(user=request.user),
                    sort=params.get("sort"),
                    order=params["order"],
                ),
                page=params["page"],
                limit=params["limit"],
            )
            body = {
                "data": rows,
                "pagination": pagination,
                "warnings": reports.portfolio_list_warnings(rows),
            }
            return Response(s.PortfolioListSerializer(body).data)

        return cached_response(
            self, request, counters=versions.user_reads(request.user.pk), build=build
        )


class PortfolioCompleteView(APIView):
    @extend_schema(
        tags=["data"],
        summary="Complete portfolio: header, positions, summary and market data",
        parameters=[PORTFOLIO_ID, s.CompleteQuerySerializer],
        responses={200: s.CompletePortfolioSerializer},
    )
    def get(self, request: Request, portfolio_id: UUID) -> HttpResponse:
        def build() -> Response:
            query = parse_query(s.CompleteQuerySerializer, request)
            body = reports.portfolio_complete(
                user=request.user,
                portfolio_id=portfolio_id,
                sections=query.get("sections"),
                as_of=query.get("as_of_date"),
            )
            # The position rows come JSON-ready (a serializer per row would cost more than the
            # whole read); the other sections are single objects.
            positions = body.pop("positions", None)
            data = s.CompletePortfolioSerializer(body).data
            if positions is not None:
                data["positions"] = positions
                body["positions"] = positions
            return Response({key: data[key] for key in s.COMPLETE_KEYS if key in body})

        return cached_response(
            self, request, counters=versions.portfolio_reads(portfolio_id), build=build
        )


class PositionDetailsView(APIView):
    @extend_schema(
        tags=["data"],
        summary="Positions of a portfolio with P&L and day change",
        parameters=[
            s.PositionDetailsQuerySerializer,
            *sort_parameters(DETAILS_SORT, default="booking order"),
        ],
        responses={200: s.PositionDetailsSerializer},
    )
    def get(self, request: Request) -> Response:
        query = parse_query(s.PositionDetailsQuerySerializer, request)
        params = page_params(request, sortable=DETAILS_SORT)
        body = reports.positions_details(
            user=request.user,
            portfolio_id=query.get("portfolio_id"),
            position_type=query.get("position_type"),
            include_inactive=query["include_inactive"],
        )
        body["data"], body["pagination"] = paginate(
            sort_rows(body["data"], sort=params.get("sort"), order=params["order"]),
            page=params["page"],
            limit=params["limit"],
        )
        return Response(s.PositionDetailsSerializer(body).data)


class PositionSummaryView(APIView):
    @extend_schema(
        tags=["data"],
        summary="Position summary: statistics, weights, groupings, winners and losers",
        parameters=[
            PORTFOLIO_ID,
            s.PositionSummaryQuerySerializer,
            *sort_parameters(SUMMARY_SORT, default="active positions in booking order"),
        ],
        responses={200: s.PositionSummarySerializer},
    )
    def get(self, request: Request, portfolio_id: UUID) -> Response:
        query = parse_query(s.PositionSummaryQuerySerializer, request)
        params = page_params(request, sortable=SUMMARY_SORT)
        body = reports.positions_summary(
            user=request.user,
            portfolio_id=portfolio_id,
            group_by=query.get("group_by"),
            include_closed=query["include_closed"],
        )
        # Statistics and groupings cover every position; the page is of position_summary.
        body["position_summary"], body["pagination"] = paginate(
            sort_rows(body["position_summary"], sort=params.get("sort"), order=params["order"]),
            page=params["page"],
            limit=params["limit"],
        )
        data = s.PositionSummarySerializer(body).data
        if "by_tag" in body["groupings"]:
            data["groupings"]["by_tag"] = s.GroupSerializer(
                body["groupings"]["by_tag"].values(), many=True
            ).data
            data["groupings"]["by_tag"] = dict(
                zip(body["groupings"]["by_tag"], data["groupings"]["by_tag"], strict=True)
            )
        return Response(data)


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
            401: OpenApiResponse(description="Missing or invalid token"),
            422: OpenApiResponse(description="Invalid query, or INVALID_SYMBOL"),
            429: OpenApiResponse(description="Rate limit exceeded"),
        },
    )
    def get(self, request: Request, symbol_or_position_id: str) -> Response:
        params = parse_query(HistoricalQuerySerializer, request)
        result = reports.symbol_history(
            user=request.user,
            subject=symbol_or_position_id,
            start=params["start"],
            end=params["end"],
        )
        return Response(HistoricalPricesSerializer(result).data)


# ---- /management/ ----------------------------------------------------------------------------


def _portfolio_resource(user: Any, portfolio_id: Any) -> dict[str, Any]:
    return s.PortfolioListItemSerializer(
        reports.portfolio_item(user=user, portfolio_id=portfolio_id)
    ).data


def _position_resource(user: Any, position_id: Any) -> dict[str, Any]:
    return s.PositionResourceSerializer(
        reports.position_row(user=user, position_id=position_id)
    ).data


class ManagementPortfoliosView(APIView):
    permission_classes = [IsTrader]

    @extend_schema(
        tags=["management"],
        summary="M1: create a portfolio",
        request=s.PortfolioInputSerializer,
        responses={201: s.PortfolioListItemSerializer},
    )
    def post(self, request: Request) -> Response:
        data = parse_body(s.PortfolioInputSerializer, request)
        portfolio = services.portfolio_create(
            owner=request.user,
            name=data["name"],
            description=data["description"],
            currency=data["currency"],
            portfolio_type=data["type"],
        )
        return Response(
            _portfolio_resource(request.user, portfolio.id), status=status.HTTP_201_CREATED
        )


class ManagementPortfolioView(APIView):
    permission_classes = [IsTrader]

    @extend_schema(
        tags=["management"],
        summary="M2: update a portfolio (partial)",
        parameters=[PORTFOLIO_ID],
        request=s.PortfolioUpdateSerializer,
        responses={200: s.PortfolioListItemSerializer},
    )
    def put(self, request: Request, portfolio_id: UUID) -> Response:
        portfolio = portfolio_for_user(user=request.user, portfolio_id=portfolio_id)
        data = parse_body(s.PortfolioUpdateSerializer, request)
        if "type" in data:
            data["portfolio_type"] = data.pop("type")
        services.portfolio_update(portfolio=portfolio, **data)
        return Response(_portfolio_resource(request.user, portfolio.id))

    patch = put

    @extend_schema(
        tags=["management"],
        summary="M3: soft-delete a portfolio",
        description=(
            "The default portfolio is never deleted (409). A portfolio with positions or "
            "ledger history needs ?confirm=true (409 otherwise)."
        ),
        parameters=[PORTFOLIO_ID, s.DeleteQuerySerializer],
        responses={
            204: None,
            404: OpenApiResponse(description="Portfolio not found"),
            409: OpenApiResponse(description="Default portfolio, or not empty without confirm"),
        },
    )
    def delete(self, request: Request, portfolio_id: UUID) -> Response:
        portfolio = portfolio_for_user(user=request.user, portfolio_id=portfolio_id)
        query = parse_query(s.DeleteQuerySerializer, request)
        services.portfolio_delete(portfolio=portfolio, confirm=query["confirm"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class ManagementPositionsView(APIView):
    permission_classes = [IsTrader]

    @extend_schema(
        tags=["management"],
        summary="M4: add a position (stock, ETF, fund, or option by OCC symbol)",
        parameters=[PORTFOLIO_ID],
        description=(
            "A position without a price is quoted through the provider at once; when that "
            "fails it is still booked, and `warnings` says it is unpriced."
        ),
        request=s.PositionOpenSerializer,
        responses={201: s.BookedPositionSerializer},
    )
    def post(self, request: Request, portfolio_id: UUID) -> Response:
        portfolio = portfolio_for_user(user=request.user, portfolio_id=portfolio_id)
        data = parse_body(s.PositionOpenSerializer, request)
        position = services.position_open(portfolio=portfolio, **data)
        warnings = services.position_price_on_booking(position=position)
        row = reports.position_row(user=request.user, position_id=position.id)
        return Response(
            s.BookedPositionSerializer({**row, "warnings": warnings}).data,
            status=status.HTTP_201_CREATED,
        )


class ManagementPositionView(APIView):
    permission_classes = [IsTrader]

    @extend_schema(
        tags=["management"],
        summary="M5: correct a position's quantity, entry price, entry date or tags",
        parameters=[POSITION_ID],
        request=s.PositionUpdateSerializer,
        responses={200: s.PositionResourceSerializer},
    )
    def put(self, request: Request, position_id: UUID) -> Response:
        position = position_for_user(user=request.user, position_id=position_id)
        data = parse_body(s.PositionUpdateSerializer, request)
        services.position_update(position=position, **data)
        return Response(_position_resource(request.user, position.id))

    patch = put


class ManagementPositionCloseView(APIView):
    permission_classes = [IsTrader]

    @extend_schema(
        tags=["management"],
        summary="M6: close a position (or part of it); books realized P&L and cash",
        parameters=[POSITION_ID],
        request=s.PositionCloseSerializer,
        responses={200: s.CloseResultSerializer},
    )
    def post(self, request: Request, position_id: UUID) -> Response:
        position = position_for_user(user=request.user, position_id=position_id)
        data = parse_body(s.PositionCloseSerializer, request)
        trade = services.position_close(position=position, **data)
        position.refresh_from_db()
        return Response(
            s.CloseResultSerializer(
                {
                    "position_id": position.id,
                    "symbol": position.security_id,
                    "closed_quantity": float(-trade.quantity),
                    "exit_price": trade.price,
                    "exit_date": trade.trade_date,
                    "realized_pnl": trade.realized_pnl,
                    "cash_flow": trade.amount,
                    "remaining_quantity": 0.0
                    if not position.is_active
                    else float(position.quantity),
                    "is_active": position.is_active,
                }
            ).data
        )


class ManagementCashView(APIView):
    permission_classes = [IsTrader]

    @extend_schema(
        tags=["management"],
        summary="Book a cash deposit or withdrawal",
        description="A withdrawal beyond the cash balance is 422 INSUFFICIENT_FUNDS.",
        parameters=[PORTFOLIO_ID],
        request=s.CashInputSerializer,
        responses={
            201: s.LedgerEntrySerializer,
            404: OpenApiResponse(description="Portfolio not found"),
            422: OpenApiResponse(description="Invalid body, or INSUFFICIENT_FUNDS"),
        },
    )
    def post(self, request: Request, portfolio_id: UUID) -> Response:
        portfolio = portfolio_for_user(user=request.user, portfolio_id=portfolio_id)
        data = parse_body(s.CashInputSerializer, request)
        today = timezone.localdate()
        entry = services.cash_transaction(
            portfolio=portfolio,
            today=today,
            kind=data["type"],
            amount=data["amount"],
            trade_date=data.get("date") or today,
            note=data["description"],
        )
        row = ledger_entry(portfolio=portfolio, transaction_id=entry.id)
        return Response(s.LedgerEntrySerializer(row).data, status=status.HTTP_201_CREATED)


class ManagementTransactionsView(APIView):
    @extend_schema(
        tags=["management"],
        summary="The portfolio's cash ledger, with the balance after each entry",
        parameters=[
            PORTFOLIO_ID,
            OpenApiParameter("page", int),
            OpenApiParameter("limit", int),
            OpenApiParameter("sort", str, enum=list(LEDGER_SORTS)),
            OpenApiParameter("order", str, enum=["asc", "desc"]),
        ],
        responses={200: s.LedgerSerializer, 404: OpenApiResponse(description="Not found")},
    )
    def get(self, request: Request, portfolio_id: UUID) -> Response:
        portfolio = portfolio_for_user(user=request.user, portfolio_id=portfolio_id)
        params = page_params(request, sortable=list(LEDGER_SORTS))
        rows, pagination = paginate(
            ledger(portfolio=portfolio, sort=params.get("sort") or "date", order=params["order"]),
            page=params["page"],
            limit=params["limit"],
        )
        return Response(s.LedgerSerializer({"data": list(rows), "pagination": pagination}).data)
