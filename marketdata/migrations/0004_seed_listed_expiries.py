"""Seed the listed expiries of every optionable root already in the Security table, from
the rule in ``marketdata.expiries`` (2015 through three years ahead). A fresh database has
no securities yet: roots added later follow the rule until ``manage.py
seed_listed_expiries`` (or the demo seed) stores their rows."""

import datetime as dt

from django.db import migrations

from marketdata import expiries

OPTIONABLE_TYPES = ("stock", "etf", "index")


def seed(apps, schema_editor):
    Security = apps.get_model("marketdata", "Security")
    ListedExpiry = apps.get_model("marketdata", "ListedExpiry")
    end = dt.date.today() + dt.timedelta(days=round(365.25 * 3))
    roots = Security.objects.filter(asset_type__in=OPTIONABLE_TYPES).values_list(
        "symbol", flat=True
    )
    for key in sorted({expiries.normalize_root(root) for root in roots}):
        ListedExpiry.objects.bulk_create(
            [
                ListedExpiry(root=key, expiry=day, kind=kind, source="rule")
                for day, kind in expiries.listed_by_rule(key, expiries.SEED_START, end).items()
            ],
            ignore_conflicts=True,
            batch_size=2000,
        )


def unseed(apps, schema_editor):
    apps.get_model("marketdata", "ListedExpiry").objects.filter(source="rule").delete()


class Migration(migrations.Migration):
    dependencies = [("marketdata", "0003_listed_expiry")]

    operations = [migrations.RunPython(seed, unseed)]
