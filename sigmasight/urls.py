"""URL map. REST lives under /api/v1/; paths are exactly as the specs spell them, and
both the slash and no-slash forms answer (see TrailingSlashMiddleware)."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from sigmasight.views import HealthView

api_v1 = [
    path("auth/", include("accounts.api.urls")),
    path("", include("portfolios.api.urls")),
    path("", include("marketdata.api.urls")),
    path("", include("risk.api.urls")),
    path("", include("signals.api.urls")),
    path("", include("trading.api.urls")),
    path("", include("batch.api.urls")),
    path("schema", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its script from ?script, not inline: the CSP allows no inline code.
    path(
        "docs",
        SpectacularSwaggerSplitView.as_view(
            url_name="schema", template_name="sigmasight/swagger_ui.html"
        ),
        name="docs",
    ),
]

urlpatterns = [
    path("health", HealthView.as_view(), name="health"),
    path("api/v1/", include(api_v1)),
    path("admin/", admin.site.urls),
]
