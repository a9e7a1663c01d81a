"""Seed the option-settlement beat entries (django-celery-beat, editable in the admin): on
weekdays after the open (09:45 ET, VIX options settle on the opening value), after an early
close (13:15 ET) and after the regular close (16:15 ET). The task starts a job only when an
option is due. Existing entries of the same name are left as an admin edited them."""

from typing import Any

from django.db import migrations
from django.utils import timezone

TIMEZONE = "America/New_York"
TASK = "portfolios.tasks.scheduled_option_settlement"
ENTRIES = [
    ("settlement: options after the open (VIX)", "45", "9"),
    ("settlement: options after an early close", "15", "13"),
    ("settlement: options after the regular close", "15", "16"),
]


def seed(apps: Any, schema_editor: Any) -> None:
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, minute, hour in ENTRIES:
        if PeriodicTask.objects.filter(name=name).exists():
            continue
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute,
            hour=hour,
            day_of_week="1-5",
            day_of_month="*",
            month_of_year="*",
            timezone=TIMEZONE,
        )
        PeriodicTask.objects.create(
            name=name,
            task=TASK,
            crontab=crontab,
            enabled=True,
            description="Settles option positions due (idempotent; starts option_settlement).",
        )
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def unseed(apps: Any, schema_editor: Any) -> None:
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[name for name, _, _ in ENTRIES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("portfolios", "0002_position_lot_transaction_and_more"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
