from __future__ import annotations

import pytest
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from sigmasight.api.errors import QueryValidationError
from sigmasight.api.pagination import page_params, paginate


def test_paginate_describes_the_page() -> None:
    window, meta = paginate(list(range(101)), page=3, limit=50)
    assert window == [100]
    assert meta == {
        "page": 3,
        "limit": 50,
        "total_pages": 3,
        "total_items": 101,
        "has_next": False,
        "has_prev": True,
    }
    _, empty = paginate([], page=1, limit=50)
    assert empty["total_pages"] == 1 and not empty["has_next"]


def test_page_params_defaults_and_limits() -> None:
    factory = APIRequestFactory()
    params = page_params(Request(factory.get("/x")))
    assert params == {"page": 1, "limit": 50, "order": "asc"}
    with pytest.raises(QueryValidationError):
        page_params(Request(factory.get("/x", {"limit": 201})))
    with pytest.raises(QueryValidationError):
        page_params(Request(factory.get("/x", {"sort": "password"})), sortable=("name",))
    assert (
        page_params(
            Request(factory.get("/x", {"sort": "name", "order": "desc"})), sortable=("name",)
        )["sort"]
        == "name"
    )
