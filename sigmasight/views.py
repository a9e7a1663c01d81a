from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from sigmasight.health import health_report


class HealthView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["system"],
        summary="Liveness and dependencies: database, cache, channel layer, broker",
        responses={
            200: inline_serializer(
                "Health",
                {
                    "status": serializers.ChoiceField(choices=["ok", "degraded"]),
                    "checks": inline_serializer(
                        "HealthChecks",
                        {
                            "database": serializers.CharField(),
                            "cache": serializers.CharField(),
                            "channel_layer": serializers.CharField(),
                            "broker": serializers.CharField(),
                        },
                    ),
                    "database_pool": inline_serializer(
                        "HealthDatabasePool",
                        {
                            "max_size": serializers.IntegerField(),
                            "size": serializers.IntegerField(help_text="Connections open"),
                            "available": serializers.IntegerField(help_text="Idle connections"),
                            "requests_waiting": serializers.IntegerField(),
                            "connections_opened": serializers.IntegerField(),
                            "requests_queued_total": serializers.IntegerField(),
                        },
                        required=False,
                        help_text="This process's connection pool (PostgreSQL with a pool)",
                    ),
                },
            )
        },
    )
    def get(self, request: Request) -> Response:
        return Response(health_report())
