"""Seed the dividend booking's beat entry (editable in the admin afterwards): weekdays at
18:30 ET, two hours after the regular close and after the daily sequence has recorded the
session's market data; the task claims each NYSE session once. An existing entry of the same
name is left as an admin edited it."""

from typing import Any

from django.db import migrations
from django.utils import timezone

NAME = "portfolios: dividends after the daily sequence"


def seed(apps: Any, schema_editor: Any) -> None:
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    if not PeriodicTask.objects.filter(name=NAME).exists():
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute="30",
            hour="18",
            day_of_week="1-5",
            day_of_month="*",
            month_of_year="*",
            timezone="America/New_York",
        )
        PeriodicTask.objects.create(
            name=NAME,
            task="portfolios.tasks.scheduled_dividends",
            crontab=crontab,
            enabled=True,
            description="Books held stocks' dividends on their ex-dates (idempotent).",
        )
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def unseed(apps: Any, schema_editor: Any) -> None:
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("portfolios", "0004_one_open_position_per_symbol"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
