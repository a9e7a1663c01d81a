from django.apps import AppConfig
from django.conf import settings

from risk.engine import parallel


class RiskConfig(AppConfig):
    name = "risk"

    def ready(self) -> None:
        # Django's idiom: modules that use models are imported once the apps are loaded.
        from risk import jobs

        jobs.register()
        parallel.set_threads(settings.RISK_ENGINE_THREADS)
