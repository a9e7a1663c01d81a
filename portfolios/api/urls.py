from django.urls import path

from portfolios.api import views

urlpatterns = [
    path("data/portfolios", views.PortfolioListView.as_view(), name="data-portfolios"),
    path(
        "data/portfolio/<uuid:portfolio_id>/complete",
        views.PortfolioCompleteView.as_view(),
        name="data-portfolio-complete",
    ),
    path(
        "data/positions/details", views.PositionDetailsView.as_view(), name="data-positions-details"
    ),
    path(
        "data/portfolios/<uuid:portfolio_id>/positions/summary",
        views.PositionSummaryView.as_view(),
        name="data-positions-summary",
    ),
    path(
        "data/prices/historical/<str:symbol_or_position_id>",
        views.HistoricalPricesView.as_view(),
        name="prices-historical",
    ),
    path(
        "management/portfolios",
        views.ManagementPortfoliosView.as_view(),
        name="management-portfolios",
    ),
    path(
        "management/portfolios/<uuid:portfolio_id>",
        views.ManagementPortfolioView.as_view(),
        name="management-portfolio",
    ),
    path(
        "management/portfolios/<uuid:portfolio_id>/cash",
        views.ManagementCashView.as_view(),
        name="management-cash",
    ),
    path(
        "management/portfolios/<uuid:portfolio_id>/transactions",
        views.ManagementTransactionsView.as_view(),
        name="management-transactions",
    ),
    path(
        "management/portfolios/<uuid:portfolio_id>/positions",
        views.ManagementPositionsView.as_view(),
        name="management-positions",
    ),
    path(
        "management/positions/<uuid:position_id>",
        views.ManagementPositionView.as_view(),
        name="management-position",
    ),
    path(
        "management/positions/<uuid:position_id>/close",
        views.ManagementPositionCloseView.as_view(),
        name="management-position-close",
    ),
]
