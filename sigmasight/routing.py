from django.urls import re_path

from batch.consumers import JobsConsumer
from marketdata.consumers import MarketConsumer
from portfolios.consumers import PortfolioConsumer
from signals.consumers import SignalsConsumer
from trading.consumers import PositionsConsumer

websocket_urlpatterns = [
    re_path(r"^ws/signals/?$", SignalsConsumer.as_asgi()),
    re_path(r"^ws/positions/?$", PositionsConsumer.as_asgi()),
    re_path(r"^ws/jobs/?$", JobsConsumer.as_asgi()),
    re_path(r"^ws/market/(?P<symbol>[^/]+)/?$", MarketConsumer.as_asgi()),
    re_path(r"^ws/portfolio/(?P<portfolio_id>[^/]+)/?$", PortfolioConsumer.as_asgi()),
]
