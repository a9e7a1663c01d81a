"""Trading routes, included under /api/v1/ by sigmasight/urls.py."""

from django.urls import path

from trading.api import views

urlpatterns = [
    path("trading/config", views.TradingConfigView.as_view(), name="trading-config"),
    path("trading/execute", views.ExecuteView.as_view(), name="trading-execute"),
]
