from django.apps import AppConfig


class SignalsConfig(AppConfig):
    name = "signals"
    verbose_name = "0DTE signals"

    def ready(self) -> None:
        # Django's idiom: modules that use models are imported once the apps are loaded.
        from signals import jobs

        jobs.register()
