"""Seed the hourly cleanup of expired report files (django-celery-beat, editable)."""

from typing import Any

from django.db import migrations
from django.utils import timezone

NAME = "reports: delete report files past their retention"
TASK = "risk.tasks.cleanup_expired_reports"


def seed(apps: Any, schema_editor: Any) -> None:
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    if PeriodicTask.objects.filter(name=NAME).exists():
        return
    hourly, _ = IntervalSchedule.objects.get_or_create(every=3600, period="seconds")
    PeriodicTask.objects.create(
        name=NAME,
        task=TASK,
        interval=hourly,
        enabled=True,
        description="Deletes the files of reports older than REPORT_RETENTION_HOURS.",
    )
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def unseed(apps: Any, schema_editor: Any) -> None:
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("risk", "0004_portfolioreport"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
