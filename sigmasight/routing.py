from django.urls import re_path

from batch.consumers import JobsConsumer
from marketdata.consumers import MarketConsumer
from portfolios.consumers import PortfolioConsumer
from sigmasight.ws import UnknownPathConsumer
from signals.consumers import SignalsConsumer
from trading.consumers import PositionsConsumer

websocket_urlpatterns = [
    re_path(r"^ws/signals/?$", SignalsConsumer.as_asgi()),
    re_path(r"^ws/positions/?$", PositionsConsumer.as_asgi()),
    re_path(r"^ws/jobs/?$", JobsConsumer.as_asgi()),
    re_path(r"^ws/market/(?P<symbol>[^/]+)/?$", MarketConsumer.as_asgi()),
    re_path(r"^ws/portfolio/(?P<portfolio_id>[^/]+)/?$", PortfolioConsumer.as_asgi()),
    re_path(r"", UnknownPathConsumer.as_asgi()),  # last: everything else is a clean 4404
]
