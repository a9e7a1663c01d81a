"""Seed the listed expiries, from the rule in ``marketdata.expiries`` (2015 through three
years ahead), of the roots that already have options stored and of the benchmark roots
(SPY, QQQ, IWM, VIX). Why not every optionable root here: with the full universe (about
1,100 names) that is over a million rows inside a migration, which every new database
(every test run) would pay. ``manage.py seed_listed_expiries`` stores them for every
optionable root; until then a root without stored rows follows the same rule."""

import datetime as dt

from django.db import migrations

from marketdata import expiries

BENCHMARK_ROOTS = ("SPY", "QQQ", "IWM", "VIX")


def seed(apps, schema_editor):
    Security = apps.get_model("marketdata", "Security")
    ListedExpiry = apps.get_model("marketdata", "ListedExpiry")
    end = dt.date.today() + dt.timedelta(days=round(365.25 * 3))
    roots = set(
        Security.objects.filter(asset_type="option", underlying__isnull=False).values_list(
            "underlying_id", flat=True
        )
    )
    for key in sorted({expiries.normalize_root(root) for root in roots} | set(BENCHMARK_ROOTS)):
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
