from django.apps import AppConfig

from signals.outcome_fees import register_fee_model


class TradingConfig(AppConfig):
    name = "trading"

    def ready(self) -> None:
        # Django's idiom: modules that use models are imported once the apps are loaded.
        from trading import jobs
        from trading.selectors import package_round_trip_fees

        jobs.register()
        # Signals' outcomes are net of the fees the trades pay.
        register_fee_model(package_round_trip_fees)
