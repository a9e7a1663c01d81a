from django.apps import AppConfig


class RiskConfig(AppConfig):
    name = "risk"

    def ready(self) -> None:
        # Django's idiom: modules that use models are imported once the apps are loaded.
        from django.conf import settings

        from risk import jobs
        from risk.engine import parallel

        jobs.register()
        parallel.set_threads(settings.RISK_ENGINE_THREADS)
