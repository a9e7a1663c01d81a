from django.apps import AppConfig
from django.core import checks

from batch import registry


class BatchConfig(AppConfig):
    """The generic job runner. Listed after every app that registers jobs (settings), so
    that by its ``ready()`` every registration is in and the registry can be checked: a
    chain naming a job that no app registered stops the start-up."""

    name = "batch"
    verbose_name = "Batch jobs"

    def ready(self) -> None:
        # Registers ``run_batch_job`` with the Celery app in every process (the web one
        # dispatches it by name); Django's idiom for modules that use models.
        from batch import tasks  # noqa: F401

        registry.check()
        checks.register(_registry_check, "batch")


def _registry_check(app_configs: object = None, **kwargs: object) -> list[checks.CheckMessage]:
    return [checks.Error(problem, id="batch.E001") for problem in registry.problems()]
