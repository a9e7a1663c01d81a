from django.apps import AppConfig


class TradingConfig(AppConfig):
    name = "trading"

    def ready(self) -> None:
        # Django's idiom: modules that use models are imported once the apps are loaded.
        from trading import jobs

        jobs.register()
