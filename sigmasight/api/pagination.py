"""The one pagination style of both specs: ``page``/``limit``/``sort``/``order`` in, a
``pagination`` object out. Lists keep the key the spec names (``data``, ``jobs``...)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.pagination import BasePagination
from rest_framework.request import Request

from sigmasight.api.errors import QueryValidationError

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class PaginationSerializer(serializers.Serializer):
    """The ``pagination`` object of every list response."""

    page = serializers.IntegerField()
    limit = serializers.IntegerField()
    total_pages = serializers.IntegerField()
    total_items = serializers.IntegerField()
    has_next = serializers.BooleanField()
    has_prev = serializers.BooleanField()


class PageQuerySerializer(serializers.Serializer):
    page = serializers.IntegerField(min_value=1, default=1)
    limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, default=DEFAULT_LIMIT)
    sort = serializers.CharField(required=False, max_length=64)
    order = serializers.ChoiceField(choices=["asc", "desc"], default="asc")


def page_params(request: Request, *, sortable: Sequence[str] = ()) -> dict[str, Any]:
    """Validated paging parameters; an unknown sort field is a 422."""
    serializer = PageQuerySerializer(data=request.query_params)
    if not serializer.is_valid():
        raise QueryValidationError(serializer.errors)
    params = dict(serializer.validated_data)
    sort = params.get("sort")
    if sort is not None and sort not in sortable:
        raise QueryValidationError({"sort": [f"Unknown sort field; use one of {list(sortable)}"]})
    return params


def sort_rows(
    rows: Sequence[dict[str, Any]], *, sort: str | None, order: str = "asc"
) -> list[dict[str, Any]]:
    """``rows`` (report dicts) sorted on the column ``sort`` (unchanged when None); nulls
    come last in either order, ties keep their order."""
    if sort is None:
        return list(rows)
    known = [r for r in rows if r.get(sort) is not None]
    unknown = [r for r in rows if r.get(sort) is None]
    return sorted(known, key=lambda r: r[sort], reverse=order == "desc") + unknown


def sort_parameters(sortable: Sequence[str], *, default: str) -> list[OpenApiParameter]:
    """The ``page``/``limit``/``sort``/``order`` query parameters as the schema shows them."""
    return [
        OpenApiParameter("page", int, description="1-based, default 1"),
        OpenApiParameter("limit", int, description=f"Default {DEFAULT_LIMIT}, at most {MAX_LIMIT}"),
        OpenApiParameter("sort", str, enum=list(sortable), description=f"Default {default}"),
        OpenApiParameter("order", str, enum=["asc", "desc"], description="Default asc"),
    ]


def paginate(
    items: QuerySet | Sequence[Any], *, page: int, limit: int
) -> tuple[Any, dict[str, Any]]:
    """Slice ``items`` and describe the page."""
    total = items.count() if isinstance(items, QuerySet) else len(items)
    total_pages = max(1, math.ceil(total / limit))
    start = (page - 1) * limit
    window = items[start : start + limit]
    return window, {
        "page": page,
        "limit": limit,
        "total_pages": total_pages,
        "total_items": total,
        "has_next": page < total_pages,
        "has_prev": page > 1,
    }


class PagePagination(BasePagination):
    """DRF hook for generic list views; explicit views call :func:`paginate`."""

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> Any:
        params = page_params(request, sortable=getattr(view, "sortable_fields", ()))
        self._page, self._meta = paginate(queryset, page=params["page"], limit=params["limit"])
        return list(self._page)

    def get_paginated_response(self, data: Any) -> Any:
        from rest_framework.response import Response

        return Response({"data": data, "pagination": self._meta})
