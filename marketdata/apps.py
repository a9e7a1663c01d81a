import os

from django.apps import AppConfig
from django.conf import settings

from marketdata.universe import BENCHMARKS, register_source
from sigmasight.health import register_status_section
from sigmasight.serving import SERVING_ENV


class MarketdataConfig(AppConfig):
    name = "marketdata"
    verbose_name = "Market data"

    def ready(self) -> None:
        # Django's idiom: modules that use models are imported once the apps are loaded.
        from marketdata import health, jobs, signals
        from marketdata.selectors import factor_etf_symbols

        jobs.register()
        signals.connect()
        register_source("factors_and_benchmarks", lambda ids: [*factor_etf_symbols(), *BENCHMARKS])
        register_status_section("market", health.market_section)
        register_status_section("market_data_providers", health.provider_section)
        # The embedded default runs the market producer inside the one server process
        # (sigmasight.serve says it is serving); elsewhere it is `manage.py run_market`.
        if settings.MARKET_PRODUCER_EMBEDDED and os.environ.get(SERVING_ENV) == "1":
            from marketdata.producer import start_embedded_producer

            start_embedded_producer()
