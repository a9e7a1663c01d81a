"""Query helpers shared by the apps' selectors."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import BooleanField, F, Func


class AnyOf(Func):
    """``column = ANY(%s)`` with the values as one array parameter (PostgreSQL); ``column IN
    (...)`` elsewhere. A read of 1,000 symbols through ``__in`` spends more time building and
    binding 1,000 placeholders than the database spends answering."""

    output_field = BooleanField()

    def __init__(self, column: str, values: Iterable[Any]) -> None:
        super().__init__(F(column))
        self.values = list(values)

    def as_sql(  # type: ignore[override]
        self, compiler: Any, connection: Any, **extra_context: Any
    ) -> tuple[str, tuple[Any, ...]]:
        if not self.values:
            return "1 = 0", ()
        column, params = compiler.compile(self.source_expressions[0])
        placeholders = ", ".join(["%s"] * len(self.values))
        return f"{column} IN ({placeholders})", (*params, *self.values)

    def as_postgresql(
        self, compiler: Any, connection: Any, **extra_context: Any
    ) -> tuple[str, tuple[Any, ...]]:
        column, params = compiler.compile(self.source_expressions[0])
        return f"{column} = ANY(%s)", (*params, self.values)


def any_of(column: str, values: Iterable[Any]) -> AnyOf:
    """A filter: ``column`` is one of ``values`` (``Model.objects.filter(any_of(...))``)."""
    return AnyOf(column, values)
