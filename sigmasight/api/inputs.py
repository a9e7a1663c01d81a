"""The one way views validate input: query parameters (422 with ``loc: ["query", ...]``)
and JSON bodies (422 with ``loc: ["body", ...]``)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.request import Request

from sigmasight.api.errors import QueryValidationError


def parse_query(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.query_params)
    if not serializer.is_valid():
        raise QueryValidationError(serializer.errors)
    return dict(serializer.validated_data)


def parse_body(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class Warnings(serializers.ListField):
    """The top-level ``warnings`` list of every analytics response."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", "Why a figure is null or partial")
        super().__init__(child=serializers.CharField(), **kwargs)
