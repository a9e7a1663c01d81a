from django.urls import path

from risk.api import views

urlpatterns = [
    path("data/greeks/<uuid:portfolio_id>", views.GreeksView.as_view(), name="data-greeks"),
]
