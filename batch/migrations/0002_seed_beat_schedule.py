"""Seed the batch schedule into django-celery-beat (editable in the admin afterwards).

The exchange calendar cannot be expressed in crontab, so the daily entries fire on every
weekday after the regular close (16:30 ET) and after an early close (13:30 ET); the task
itself asks the NYSE calendar whether a session closed at least 30 minutes ago that it has
not processed yet (RISK-MODEL.md, "Schedule"). Correlations run weekly, Saturday 06:00 ET.
Existing entries of the same name are left as an admin edited them.
"""

from typing import Any

from django.db import migrations
from django.utils import timezone

TIMEZONE = "America/New_York"
ENTRIES: list[dict[str, Any]] = [
    {
        "name": "batch: daily sequence after the regular close",
        "task": "batch.tasks.scheduled_daily_sequence",
        "crontab": {"minute": "30", "hour": "16", "day_of_week": "1-5"},
        "description": "Runs full_portfolio_calculation for a session that closed >= 30 min ago.",
    },
    {
        "name": "batch: daily sequence after an early close",
        "task": "batch.tasks.scheduled_daily_sequence",
        "crontab": {"minute": "30", "hour": "13", "day_of_week": "1-5"},
        "description": "Early-close days (13:00 ET); on other days the task finds nothing to do.",
    },
    {
        "name": "batch: weekly correlations",
        "task": "batch.tasks.scheduled_weekly_correlations",
        "crontab": {"minute": "0", "hour": "6", "day_of_week": "6"},
        "description": "The weekly correlation run (once per week).",
    },
]


def seed(apps: Any, schema_editor: Any) -> None:
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for entry in ENTRIES:
        if PeriodicTask.objects.filter(name=entry["name"]).exists():
            continue
        crontab, _ = CrontabSchedule.objects.get_or_create(
            day_of_month="*", month_of_year="*", timezone=TIMEZONE, **entry["crontab"]
        )
        PeriodicTask.objects.create(
            name=entry["name"],
            task=entry["task"],
            crontab=crontab,
            enabled=True,
            description=entry["description"],
        )
    # The database scheduler reloads its entries when this stamp moves.
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def unseed(apps: Any, schema_editor: Any) -> None:
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[e["name"] for e in ENTRIES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("batch", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
