"""The one way views validate input: query parameters (422 with ``loc: ["query", ...]``)
and JSON bodies (422 with ``loc: ["body", ...]``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers
from rest_framework.request import Request

from sigmasight.api.errors import QueryValidationError


def parse_query(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.query_params)
    if not serializer.is_valid():
        raise QueryValidationError(serializer.errors)
    return dict(serializer.validated_data)


def unknown_field_errors(serializer: serializers.Serializer, data: Any) -> dict[str, list[str]]:
    """``{name: [message]}`` for each key of ``data`` the serializer does not accept."""
    if not isinstance(data, Mapping):
        return {}
    accepted = {name for name, field in serializer.fields.items() if not field.read_only}
    return {
        str(key)[:64]: [f"Unknown field; accepted fields: {', '.join(sorted(accepted))}"]
        for key in data
        if key not in accepted
    }


class StrictBodyMixin:
    """Unknown keys in a body are field errors (422), not silently dropped: a client
    that misspells ``entry_price`` or sends ``symbol`` to M5 learns it did nothing.
    Nested serializers that use it are strict at their level too."""

    def to_internal_value(self, data: Any) -> Any:
        unknown = unknown_field_errors(self, data)  # type: ignore[arg-type]
        try:
            value = super().to_internal_value(data)  # type: ignore[misc]
        except serializers.ValidationError as exc:
            if unknown and isinstance(exc.detail, dict):
                raise serializers.ValidationError({**exc.detail, **unknown}) from exc
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


class StrictBodySerializer(StrictBodyMixin, serializers.Serializer):
    """The base of every request-body serializer."""


def parse_body(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    """Validate a JSON body; unknown top-level keys are 422 whatever the serializer's base."""
    serializer = serializer_class(data=request.data)
    valid = serializer.is_valid()
    unknown = (
        {}
        if isinstance(serializer, StrictBodyMixin)
        else unknown_field_errors(serializer, request.data)
    )
    if not valid or unknown:
        errors = dict(serializer.errors) if not valid else {}
        raise serializers.ValidationError({**errors, **unknown})
    return dict(serializer.validated_data)


class Warnings(serializers.ListField):
    """The top-level ``warnings`` list of every analytics response."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", "Why a figure is null or partial")
        super().__init__(child=serializers.CharField(), **kwargs)
