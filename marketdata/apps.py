from django.apps import AppConfig

from marketdata.universe import BENCHMARKS, register_source
from sigmasight.health import register_status_section


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
