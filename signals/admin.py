"""Admin for signals and confidence model versions: read-only records of what was
proposed and why (ops may activate another model version)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest

from signals.models import ConfidenceModel, Signal, SignalFeature


class SignalFeatureInline(admin.TabularInline):
    model = SignalFeature
    extra = 0
    can_delete = False
    readonly_fields = ("name", "category", "value", "weight", "score")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Signal)
class SignalAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "symbol",
        "generated_at",
        "clock",
        "signal_type",
        "strategy",
        "confidence",
        "status",
        "outcome_reason",
    )
    list_filter = (
        "clock",
        "symbol",
        "strategy",
        "signal_type",
        "status",
        "outcome_reason",
        "session",
    )
    search_fields = ("id", "symbol")
    date_hierarchy = "generated_at"
    inlines = [SignalFeatureInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in Signal._meta.fields]


@admin.action(description="Activate this version (one at a time)")
def activate(modeladmin: Any, request: HttpRequest, queryset: Any) -> None:
    if queryset.count() != 1:
        modeladmin.message_user(request, "Select exactly one version to activate.", level="error")
        return
    with transaction.atomic():
        ConfidenceModel.objects.filter(is_active=True).update(is_active=False)
        queryset.update(is_active=True)


@admin.register(ConfidenceModel)
class ConfidenceModelAdmin(admin.ModelAdmin):
    list_display = ("version", "fitted_at", "is_active")
    actions = [activate]
    readonly_fields = (
        "version",
        "families",
        "feature_names",
        "outcome_definition",
        "training",
        "fitted_at",
        "is_active",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
