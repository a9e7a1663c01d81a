"""Admin for reference data (editable, as RISK-MODEL.md asks), bars, quotes, factors and
corporate actions."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from marketdata.models import (
    ChainSnapshot,
    CorporateAction,
    FactorDefinition,
    ListedExpiry,
    PriceBar,
    Quote,
    ReplayAnchor,
    Security,
)


@admin.register(Security)
class SecurityAdmin(admin.ModelAdmin):
    list_display = (
        "symbol",
        "name",
        "asset_type",
        "sector",
        "exchange",
        "proxy_symbol",
        "underlying",
        "expiry",
        "is_active",
        "source",
    )
    list_filter = ("asset_type", "is_active", "sector", "exchange", "source")
    search_fields = ("symbol", "name", "sector", "industry", "isin")
    raw_id_fields = ("underlying",)
    readonly_fields = ("updated_at",)
    fieldsets = (
        (None, {"fields": ("symbol", "name", "asset_type", "is_active", "source", "updated_at")}),
        (
            "Classification",
            {"fields": ("sector", "asset_class", "industry", "exchange", "currency", "isin")},
        ),
        (
            "Fundamentals",
            {"fields": ("dividend_yield", "shares_outstanding", "eps_ttm", "duration")},
        ),
        (
            "History proxy",
            {"fields": ("proxy_symbol", "proxy_beta", "proxy_residual_vol", "proxy_reason")},
        ),
        (
            "Option",
            {"fields": ("underlying", "option_right", "strike", "expiry", "multiplier")},
        ),
    )


@admin.register(PriceBar)
class PriceBarAdmin(admin.ModelAdmin):
    list_display = (
        "security",
        "date",
        "open",
        "high",
        "low",
        "close",
        "adj_close",
        "volume",
        "source",
    )
    list_filter = ("source",)
    search_fields = ("security__symbol",)
    date_hierarchy = "date"
    list_select_related = ("security",)
    raw_id_fields = ("security",)
    ordering = ("-date", "security")


@admin.register(Quote)
class QuoteAdmin(admin.ModelAdmin):
    list_display = (
        "security",
        "last",
        "bid",
        "ask",
        "volume",
        "implied_volatility",
        "timestamp",
        "source",
    )
    list_filter = ("source",)
    search_fields = ("security__symbol",)
    list_select_related = ("security",)
    raw_id_fields = ("security",)


@admin.register(FactorDefinition)
class FactorDefinitionAdmin(admin.ModelAdmin):
    list_display = ("key", "name", "etf_symbol", "is_active", "display_order")
    list_editable = ("etf_symbol", "is_active", "display_order")
    search_fields = ("key", "name", "etf_symbol")


@admin.register(CorporateAction)
class CorporateActionAdmin(admin.ModelAdmin):
    list_display = ("security", "action_type", "ex_date", "ratio", "amount", "source")
    list_filter = ("action_type", "source")
    search_fields = ("security__symbol",)
    date_hierarchy = "ex_date"
    list_select_related = ("security",)
    raw_id_fields = ("security",)


@admin.register(ListedExpiry)
class ListedExpiryAdmin(admin.ModelAdmin):
    """The expiries each root lists: add or remove a date here (RISK-MODEL.md, Options)."""

    list_display = ("root", "expiry", "kind", "source")
    list_filter = ("kind", "source")
    search_fields = ("root",)
    date_hierarchy = "expiry"


@admin.register(ReplayAnchor)
class ReplayAnchorAdmin(admin.ModelAdmin):
    """When each replayed session started: deleting a row restarts that replay from its
    open (every process reads the new start)."""

    list_display = ("session", "speed", "started_at")
    ordering = ("-started_at",)


@admin.register(ChainSnapshot)
class ChainSnapshotAdmin(admin.ModelAdmin):
    """The stored 0DTE chains (written by the market producer; read-only here)."""

    list_display = ("symbol", "expiration", "timestamp", "underlying_price", "vix_level")
    list_filter = ("symbol", "session")
    date_hierarchy = "timestamp"
    ordering = ("-timestamp",)

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False
