from django.contrib import admin

from portfolios.models import Portfolio


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
    list_filter = ("portfolio_type", "currency", "is_default")
    search_fields = ("name", "owner__email")
    list_select_related = ("owner",)
    raw_id_fields = ("owner",)
