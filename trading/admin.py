from typing import Any

from django.contrib import admin

from trading import services
from trading.models import (
    Order,
    RiskEvent,
    StrategyPosition,
    Trade,
    TradingAccount,
    TradingConfig,
)


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
    """Ops see each account's state. The state changes only through the trading services
    (the halt and resume actions here, ``POST /risk/emergency`` and ``/risk/resume``),
    which record each transition and cancel the working orders, so it is read-only."""

    list_display = ("user", "state", "state_reason", "state_changed_at", "created_at")
    list_filter = ("state",)
    search_fields = ("user__email",)
    readonly_fields = ("user", "state", "state_reason", "state_changed_at", "paper_portfolio_id")
    actions = ["halt", "resume"]

    @admin.action(description="Halt the selected accounts (working orders cancelled)")
    def halt(self, request: Any, queryset: Any) -> None:
        for account in queryset.select_related("user"):
            services.account_halt(
                user=account.user,
                reason=f"halted in the admin by {request.user.email}",
                close_positions=False,
                actor=request.user,
            )
        self.message_user(request, f"{queryset.count()} account(s) HALTED")

    @admin.action(description="Resume the selected accounts (back to ACTIVE)")
    def resume(self, request: Any, queryset: Any) -> None:
        resumed = 0
        for account in queryset.exclude(state="ACTIVE").select_related("user"):
            services.account_resume(
                user=account.user,
                reason=f"resumed in the admin by {request.user.email}",
                actor=request.user,
            )
            resumed += 1
        self.message_user(request, f"{resumed} account(s) resumed")


@admin.register(RiskEvent)
class RiskEventAdmin(admin.ModelAdmin):
    """The risk audit log, read-only: every state transition and the orders it cancelled."""

    list_display = (
        "id",
        "user",
        "kind",
        "state_from",
        "state_to",
        "trigger",
        "actor",
        "order_id",
        "reason",
        "market_time",
        "created_at",
    )
    list_filter = ("kind", "state_to", "trigger")
    search_fields = ("id", "user__email", "trade_id", "order_id")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


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
        "requested_quantity",
        "status",
        "net_price",
        "fees",
        "reason",
        "remainder_cancelled",
        "executed_at",
    )
    list_filter = ("kind", "status", "remainder_cancelled", "strategy", "symbol", "clock")
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
