from typing import Any

from django.contrib import admin

from trading.models import Order, StrategyPosition, Trade, TradingAccount, TradingConfig


@admin.register(TradingConfig)
class TradingConfigAdmin(admin.ModelAdmin):
    list_display = (
        "user",
        "trading_mode",
        "position_size",
        "confidence_threshold",
        "auto_execute",
        "max_positions",
        "daily_loss_limit",
        "updated_at",
    )
    list_filter = ("trading_mode", "auto_execute")
    search_fields = ("user__email",)
    raw_id_fields = ("user",)


@admin.register(TradingAccount)
class TradingAccountAdmin(admin.ModelAdmin):
    """Ops see each account's state; halting and resuming go through POST /risk/emergency
    and /risk/resume, which also close the book, so the state is read-only here."""

    list_display = ("user", "state", "state_reason", "state_changed_at", "created_at")
    list_filter = ("state",)
    search_fields = ("user__email",)
    readonly_fields = ("user", "state", "state_reason", "state_changed_at", "paper_portfolio_id")


class OrderInline(admin.TabularInline):
    model = Order
    extra = 0
    can_delete = False
    fields = ("leg", "symbol", "action", "quantity", "status", "average_fill_price")
    readonly_fields = fields


@admin.register(Trade)
class TradeAdmin(admin.ModelAdmin):
    """The trade log, read-only: trades change only through the trading services."""

    list_display = (
        "id",
        "user",
        "kind",
        "symbol",
        "strategy",
        "quantity",
        "status",
        "net_price",
        "fees",
        "reason",
        "executed_at",
    )
    list_filter = ("kind", "status", "strategy", "symbol", "clock")
    search_fields = ("id", "user__email", "signal_id")
    inlines = [OrderInline]

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(StrategyPosition)
class StrategyPositionAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "user",
        "symbol",
        "strategy",
        "quantity",
        "status",
        "realized_pnl",
        "fees",
        "exit_reason",
        "opened_at",
    )
    list_filter = ("status", "exit_reason", "strategy", "symbol")
    search_fields = ("id", "user__email")

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False
