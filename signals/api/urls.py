"""Signal routes, included under /api/v1/ by sigmasight/urls.py."""

from django.urls import path

from signals.api import views

urlpatterns = [
    path("signals/active", views.ActiveSignalsView.as_view(), name="signals-active"),
    path("signals/generate", views.GenerateSignalsView.as_view(), name="signals-generate"),
    path("signals/<str:signal_id>", views.SignalDetailView.as_view(), name="signal-detail"),
]
