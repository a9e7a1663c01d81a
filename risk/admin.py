"""Risk results in the Django admin, read-only (the batch writes them); the stress
scenarios are configuration and stay editable."""

from __future__ import annotations

from django.contrib import admin

from risk.models import (
    CorrelationResult,
    DataQualityAssessment,
    PortfolioRiskMetrics,
    PortfolioSnapshot,
    PositionFactorExposure,
    PositionGreeks,
    StressScenario,
    StressTestResult,
)
from sigmasight.admin import ReadOnlyAdmin


@admin.register(StressScenario)
class StressScenarioAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "category", "volatility_shock", "is_active", "display_order")
    list_filter = ("category", "is_active")
    list_editable = ("is_active", "display_order")


@admin.register(PortfolioRiskMetrics)
class PortfolioRiskMetricsAdmin(ReadOnlyAdmin):
    list_display = ("portfolio", "calculation_date", "method", "portfolio_value", "calculated_at")
    list_filter = ("method", "calculation_date")
    search_fields = ("portfolio__name",)
    list_select_related = ("portfolio",)


@admin.register(StressTestResult)
class StressTestResultAdmin(ReadOnlyAdmin):
    list_display = (
        "portfolio",
        "scenario",
        "calculation_date",
        "correlated_impact",
        "scenario_return",
    )
    list_filter = ("scenario", "calculation_date")
    search_fields = ("portfolio__name",)
    list_select_related = ("portfolio", "scenario")


@admin.register(PositionGreeks)
class PositionGreeksAdmin(ReadOnlyAdmin):
    list_display = ("position", "calculation_date", "delta", "gamma", "theta", "vega", "model")
    list_filter = ("calculation_date", "model", "volatility_source")
    search_fields = ("position__security__symbol",)
    list_select_related = ("position", "position__security")


@admin.register(PositionFactorExposure)
class PositionFactorExposureAdmin(ReadOnlyAdmin):
    list_display = ("position", "calculation_date", "r_squared", "observations", "method")
    list_filter = ("calculation_date", "method")
    search_fields = ("position__security__symbol",)
    list_select_related = ("position", "position__security")


@admin.register(CorrelationResult)
class CorrelationResultAdmin(ReadOnlyAdmin):
    list_display = ("portfolio", "calculation_date", "lookback_days", "threshold")
    list_select_related = ("portfolio",)


@admin.register(PortfolioSnapshot)
class PortfolioSnapshotAdmin(ReadOnlyAdmin):
    list_display = ("portfolio", "date", "total_value")
    list_filter = ("date",)
    list_select_related = ("portfolio",)


@admin.register(DataQualityAssessment)
class DataQualityAssessmentAdmin(ReadOnlyAdmin):
    list_display = ("portfolio", "assessed_at", "overall_score")
    list_select_related = ("portfolio",)
