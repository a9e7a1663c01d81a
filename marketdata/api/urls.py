"""Market-data routes, included under /api/v1/ by sigmasight/urls.py."""

from django.urls import path

from marketdata.api import views

urlpatterns = [
    path("data/prices/quotes", views.QuotesView.as_view(), name="prices-quotes"),
    path("data/factors/etf-prices", views.FactorETFPricesView.as_view(), name="factor-etf-prices"),
    path("market/tickers", views.MarketTickersView.as_view(), name="market-tickers"),
    path("market/data/<str:symbol>", views.MarketDataView.as_view(), name="market-data"),
    path("market/options/<str:symbol>", views.OptionChainView.as_view(), name="market-options"),
    path("market/correlation", views.MarketCorrelationView.as_view(), name="market-correlation"),
]
