"""Trading routes, included under /api/v1/ by sigmasight/urls.py."""

from django.urls import path

from trading.api import views

urlpatterns = [
    path("trading/config", views.TradingConfigView.as_view(), name="trading-config"),
    path("trading/execute", views.ExecuteView.as_view(), name="trading-execute"),
    path("trading/positions", views.PositionsView.as_view(), name="trading-positions"),
    path("trading/close/<str:position_id>", views.CloseView.as_view(), name="trading-close"),
    path("risk/emergency", views.EmergencyView.as_view(), name="risk-emergency"),
    path("risk/resume", views.ResumeView.as_view(), name="risk-resume"),
    path("risk/audit", views.RiskAuditView.as_view(), name="risk-audit"),
    path("risk/regime", views.RegimeView.as_view(), name="risk-regime"),
    path("risk/metrics", views.MetricsView.as_view(), name="risk-metrics"),
    path("analytics/performance", views.PerformanceView.as_view(), name="analytics-performance"),
    path("analytics/signals", views.SignalAnalyticsView.as_view(), name="analytics-signals"),
]
