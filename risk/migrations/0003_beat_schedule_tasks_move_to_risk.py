"""The schedule's tasks moved from the batch runner to the risk app, which owns the jobs
they start: point the seeded django-celery-beat entries at the new task names (entries an
admin renamed or repointed are left alone)."""

from typing import Any

from django.db import migrations
from django.utils import timezone

MOVED = {
    "batch.tasks.scheduled_daily_sequence": "risk.tasks.scheduled_daily_sequence",
    "batch.tasks.scheduled_weekly_correlations": "risk.tasks.scheduled_weekly_correlations",
}


def _repoint(apps: Any, mapping: dict[str, str]) -> None:
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for old, new in mapping.items():
        PeriodicTask.objects.filter(task=old).update(task=new)
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def forward(apps: Any, schema_editor: Any) -> None:
    _repoint(apps, MOVED)


def backward(apps: Any, schema_editor: Any) -> None:
    _repoint(apps, {new: old for old, new in MOVED.items()})


class Migration(migrations.Migration):
    dependencies = [
        ("risk", "0002_seed_stress_scenarios"),
        ("batch", "0002_seed_beat_schedule"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forward, backward)]
