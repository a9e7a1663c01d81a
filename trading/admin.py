from django.contrib import admin

from trading.models import TradingConfig


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
