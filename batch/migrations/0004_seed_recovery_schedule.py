"""Seed the minutely recovery of jobs whose worker died (django-celery-beat, editable)."""

from typing import Any

from django.db import migrations
from django.utils import timezone

NAME = "jobs: recover jobs whose worker died"
TASK = "batch.tasks.recover_stale_jobs"


def seed(apps: Any, schema_editor: Any) -> None:
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    if PeriodicTask.objects.filter(name=NAME).exists():
        return
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=60, period="seconds")
    PeriodicTask.objects.create(
        name=NAME,
        task=TASK,
        interval=every_minute,
        enabled=True,
        description="Re-queues (or fails, after BATCH_MAX_LOST_ATTEMPTS) running jobs "
        "without a heartbeat for BATCH_STALE_AFTER_SECONDS.",
    )
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def unseed(apps: Any, schema_editor: Any) -> None:
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("batch", "0003_job_heartbeat"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
