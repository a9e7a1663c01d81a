"""Portfolios in the Django admin. Positions, lots and the cash ledger are read-only records:
they change through the management API's services, which keep quantities, FIFO lots and
cash consistent. Deleting a portfolio here is the API's soft delete."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from portfolios.models import Lot, Portfolio, Position, Transaction
from portfolios.services import portfolio_soft_delete
from sigmasight.admin import ReadOnlyAdmin


class LiveFilter(admin.SimpleListFilter):
    title = "deleted"
    parameter_name = "deleted"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("no", "Live"), ("yes", "Deleted")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Portfolio]) -> QuerySet[Portfolio]:
        if self.value() == "no":
            return queryset.filter(deleted_at__isnull=True)
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


@admin.register(Portfolio)
class PortfolioAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "owner",
        "portfolio_type",
        "currency",
        "is_default",
        "created_at",
        "deleted_at",
    )
    list_filter = (LiveFilter, "portfolio_type", "currency", "is_default")
    search_fields = ("name", "owner__email")
    list_select_related = ("owner",)
    raw_id_fields = ("owner",)
    readonly_fields = ("is_default", "deleted_at", "created_at", "updated_at")

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> tuple[Any, ...]:
        """Nothing cascades from a soft delete: the confirmation lists the portfolios only
        (and needs no delete permission on positions or the ledger, which stay)."""
        names = [
            f"Portfolio: {obj} (hidden from its owner; positions and history kept)" for obj in objs
        ]
        return names, {"portfolios": len(names)}, set(), []

    def delete_model(self, request: HttpRequest, obj: Portfolio) -> None:
        """A soft delete, as ``DELETE /management/portfolios/{id}``: the row, its positions
        and its history stay (risk results, jobs), the owner no longer sees it, and their
        oldest other portfolio becomes the default."""
        if obj.deleted_at is None:
            portfolio_soft_delete(portfolio=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Portfolio]) -> None:
        for portfolio in queryset.filter(deleted_at__isnull=True):
            portfolio_soft_delete(portfolio=portfolio)


@admin.register(Position)
class PositionAdmin(ReadOnlyAdmin):
    list_display = (
        "security",
        "portfolio",
        "position_type",
        "quantity",
        "entry_price",
        "entry_date",
        "closed_at",
    )
    list_filter = ("position_type",)
    search_fields = ("security__symbol", "portfolio__name", "portfolio__owner__email")
    list_select_related = ("portfolio", "security")


@admin.register(Lot)
class LotAdmin(ReadOnlyAdmin):
    list_display = ("position", "open_date", "price", "quantity", "remaining")
    search_fields = ("position__security__symbol", "position__portfolio__name")
    list_select_related = ("position", "position__security")


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyAdmin):
    list_display = ("trade_date", "portfolio", "kind", "symbol", "quantity", "price", "amount")
    list_filter = ("kind",)
    search_fields = ("symbol", "portfolio__name", "portfolio__owner__email", "note")
    date_hierarchy = "trade_date"
    list_select_related = ("portfolio",)
