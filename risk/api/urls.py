from django.urls import path

from risk.api import historical_views, report_views, views

urlpatterns = [
    path(
        "admin/batch/data-quality", views.AdminDataQualityView.as_view(), name="batch-data-quality"
    ),
    path(
        "admin/batch/data-quality/refresh",
        views.AdminDataQualityRefreshView.as_view(),
        name="batch-data-quality-refresh",
    ),
    path(
        "data/positions/<uuid:position_id>/details",
        views.PositionOneView.as_view(),
        name="data-position-details",
    ),
    path("data/greeks/<uuid:portfolio_id>", views.GreeksView.as_view(), name="data-greeks"),
    path("data/factors/<uuid:portfolio_id>", views.FactorsView.as_view(), name="data-factors"),
    path(
        "data/portfolio/<uuid:portfolio_id>/data-quality",
        views.DataQualityView.as_view(),
        name="data-quality",
    ),
    path(
        "data/portfolios/<uuid:portfolio_id>/aggregations",
        views.AggregationsView.as_view(),
        name="data-aggregations",
    ),
    path(
        "data/portfolios/<uuid:portfolio_id>/risk-summary",
        views.RiskSummaryView.as_view(),
        name="data-risk-summary",
    ),
    path(
        "analytics/portfolio/<uuid:portfolio_id>/overview",
        views.OverviewView.as_view(),
        name="analytics-overview",
    ),
    path(
        "analytics/risk/<uuid:portfolio_id>/metrics",
        views.MetricsView.as_view(),
        name="analytics-metrics",
    ),
    path(
        "analytics/factor/<uuid:portfolio_id>/exposures",
        views.FactorAnalyticsView.as_view(),
        name="analytics-factors",
    ),
    path(
        "analytics/risk/<uuid:portfolio_id>/scenarios",
        views.ScenariosView.as_view(),
        name="analytics-scenarios",
    ),
    path(
        "export/reports/portfolio/<uuid:portfolio_id>",
        report_views.ReportStartView.as_view(),
        name="export-report-start",
    ),
    path(
        "export/reports/<str:job_id>",
        report_views.ReportStatusView.as_view(),
        name="export-report-status",
    ),
    path(
        "export/reports/<str:job_id>/download",
        report_views.ReportDownloadView.as_view(),
        name="export-report-download",
    ),
    path(
        "export/data/historical",
        historical_views.HistoricalExportView.as_view(),
        name="export-historical",
    ),
]
