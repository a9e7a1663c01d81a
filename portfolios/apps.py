from django.apps import AppConfig

from batch.scope import register_portfolio_scope
from marketdata.universe import register_source


class PortfoliosConfig(AppConfig):
    name = "portfolios"
    verbose_name = "Portfolios and positions"

    def ready(self) -> None:
        # Django's idiom: modules that use models are imported once the apps are loaded.
        from portfolios import jobs, selectors, signals

        signals.connect()

        jobs.register_settlement()
        jobs.register_dividends()
        register_portfolio_scope(selectors.live_portfolio_ids)
        register_source("held_symbols", lambda ids: selectors.held_symbols(portfolio_ids=ids))
