"""GET /export/data/historical (SigmaSight Part II E2): the portfolio's stored history,
streamed as CSV, JSON or Parquet. A thin view over ``risk.exports.historical``; the file
is streamed by ``sigmasight.streaming`` (chunk by chunk under ASGI too)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from portfolios.selectors import portfolio_for_user
from risk.exports import historical
from sigmasight.api.inputs import parse_query
from sigmasight.api.throttling import AnalyticsRateThrottle, throttles
from sigmasight.streaming import streaming_file_response

MIN_DATE = dt.date(1900, 1, 1)
MAX_DATE = dt.date(2100, 12, 31)


def _check_date(value: dt.date) -> dt.date:
    if not MIN_DATE <= value <= MAX_DATE:
        raise serializers.ValidationError(f"Dates must lie between {MIN_DATE} and {MAX_DATE}.")
    return value


class _TrueByDefault(serializers.BooleanField):
    """A query flag whose absence means true (DRF reads a missing boolean of a query
    string as false, whatever its ``default``)."""

    default_empty_html = serializers.empty


class HistoricalExportQuerySerializer(serializers.Serializer):
    portfolio_id = serializers.UUIDField(help_text="The portfolio (yours) to export.")
    start_date = serializers.DateField(
        required=False,
        input_formats=["%Y-%m-%d"],
        validators=[_check_date],
        help_text="First date, YYYY-MM-DD (default: the first stored figure: the first "
        "entry date, snapshot or metrics row).",
    )
    end_date = serializers.DateField(
        required=False,
        input_formats=["%Y-%m-%d"],
        validators=[_check_date],
        help_text="Last date, YYYY-MM-DD (default, and at most: today in New York).",
    )
    format = serializers.ChoiceField(
        choices=historical.FORMATS,
        default="csv",
        help_text="csv (header first), json (one document) or parquet.",
    )
    include_calculated = _TrueByDefault(
        required=False,
        default=True,
        help_text="Add the stored calculated figures: option Greeks on the price rows, and "
        "the metrics rows (1-day VaR/ES at 95/99%).",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("start_date"), attrs.get("end_date")
        if start is not None and end is not None and end < start:
            raise serializers.ValidationError(
                {"end_date": ["end_date must be on or after start_date."]}
            )
        return attrs


class _IgnoreFormatOverride(DefaultContentNegotiation):
    """``format`` names the export's file format here, not a DRF renderer (DRF would
    answer ``?format=csv`` with a 404): errors are JSON, and the file is not rendered."""

    def select_renderer(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        return renderers[0], renderers[0].media_type


class HistoricalExportView(APIView):
    throttle_classes = throttles(AnalyticsRateThrottle)
    content_negotiation_class = _IgnoreFormatOverride

    @extend_schema(
        tags=["export"],
        summary="E2: the portfolio's stored history as a streamed CSV, JSON or Parquet file",
        description="One tidy, long table: per NYSE session, a `price` row per position "
        "held at the close (stored quantity, close and adj_close, market value and, with "
        "include_calculated, the option's stored Greeks), the `snapshot` row where one is "
        "stored and, with include_calculated, a `metrics` row per stored VaR method (1-day "
        "VaR/ES at 95/99%, dollars). A figure not stored is empty or null, never 0. "
        "Columns and units: docs/exports.md. The file is streamed as it is read; the "
        "Content-Disposition names the portfolio and range.",
        parameters=[HistoricalExportQuerySerializer],
        responses={
            (200, "text/csv"): OpenApiTypes.STR,
            (200, "application/json"): OpenApiTypes.OBJECT,
            (200, "application/vnd.apache.parquet"): OpenApiTypes.BINARY,
            404: OpenApiResponse(description="NOT_FOUND: no such portfolio of yours"),
            422: OpenApiResponse(
                description="VALIDATION_ERROR: a bad date, start after end, unknown format"
            ),
        },
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        query = parse_query(HistoricalExportQuerySerializer, request)
        portfolio = portfolio_for_user(user=request.user, portfolio_id=query["portfolio_id"])
        export = historical.historical_export(
            portfolio=portfolio,
            start=query.get("start_date"),
            end=query.get("end_date"),
            include_calculated=query["include_calculated"],
        )
        file_format = query["format"]
        return streaming_file_response(
            request,
            historical.export_chunks(export, file_format),
            content_type=historical.CONTENT_TYPES[file_format],
            filename=f"{export.filename_stem}.{file_format}",
        )
