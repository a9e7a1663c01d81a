"""Seed the 18 SigmaSight stress scenarios (RISK-MODEL.md table). Editable in the admin."""

from django.db import migrations

# id, name, category, factor shocks (relative; "rates" is an absolute yield change), vol shock
SCENARIOS = [
    ("market_up_10", "Market up 10%", "market", {"market": 0.10}, -0.15),
    ("market_down_10", "Market down 10%", "market", {"market": -0.10}, 0.30),
    ("market_crash_35", "Market crash 35%", "market", {"market": -0.35}, 2.00),
    ("market_rally_25", "Market rally 25%", "market", {"market": 0.25}, -0.25),
    ("rates_up_25bp", "Rates up 25bp", "rates", {"rates": 0.0025}, 0.0),
    ("rates_down_25bp", "Rates down 25bp", "rates", {"rates": -0.0025}, 0.0),
    ("rates_up_100bp", "Rates up 100bp", "rates", {"rates": 0.01}, 0.0),
    ("rates_down_100bp", "Rates down 100bp", "rates", {"rates": -0.01}, 0.0),
    ("rate_spike_300bp", "Rate spike 300bp", "rates", {"rates": 0.03}, 0.0),
    ("value_rotation_20", "Value rotation", "rotation", {"value": 0.20, "growth": -0.10}, 0.0),
    ("growth_rally_15", "Growth rally", "rotation", {"growth": 0.15, "momentum": 0.10}, 0.0),
    ("small_cap_outperformance_10", "Small-cap outperformance", "rotation", {"size": 0.10}, 0.0),
    ("quality_flight_12", "Flight to quality", "rotation", {"quality": 0.12, "market": -0.05}, 0.15),
    ("vix_spike_150", "VIX spike", "volatility", {"low_volatility": -0.25, "market": -0.15}, 1.50),
    (
        "liquidity_crisis", "Liquidity crisis", "volatility",
        {"market": -0.20, "low_volatility": -0.30, "quality": 0.15, "size": -0.10}, 1.00,
    ),
    (
        "financial_crisis_2008", "2008 financial crisis", "historical",
        {"market": -0.45, "value": -0.30, "size": -0.25, "quality": 0.20, "low_volatility": -0.35}, 2.00,
    ),
    (
        "covid_crash_2020", "COVID crash, March 2020", "historical",
        {"market": -0.35, "growth": 0.15, "value": -0.40, "size": -0.30, "quality": 0.10}, 3.00,
    ),
    (
        "dotcom_crash_2000", "Dot-com crash 2000", "historical",
        {"market": -0.45, "growth": -0.60, "value": 0.20, "momentum": -0.50, "quality": 0.15}, 0.80,
    ),
]


def seed(apps, schema_editor):
    StressScenario = apps.get_model("risk", "StressScenario")
    for order, (sid, name, category, shocks, vol) in enumerate(SCENARIOS):
        StressScenario.objects.update_or_create(
            id=sid,
            defaults={"name": name, "category": category, "factor_shocks": shocks,
                      "volatility_shock": vol, "display_order": order, "is_active": True},
        )


def unseed(apps, schema_editor):
    apps.get_model("risk", "StressScenario").objects.filter(id__in=[s[0] for s in SCENARIOS]).delete()


class Migration(migrations.Migration):
    dependencies = [("risk", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
