from django.apps import AppConfig


class RiskConfig(AppConfig):
    name = "risk"

    def ready(self) -> None:
        # Django's idiom: modules that use models are imported once the apps are loaded.
        from risk import jobs

        jobs.register()
