"""Seed the factor definitions of RISK-MODEL.md (editable in the admin afterwards)."""

from django.db import migrations

FACTORS = [
    (
        "market",
        "Market",
        "SPY",
        "Broad US equity market beta.",
        "S&P 500 index (^GSPC) as the stated proxy for SPY; real, 1990-2022.",
    ),
    (
        "size",
        "Size",
        "SIZE",
        "Tilt toward smaller companies, in excess of the market.",
        "Real history (skfolio factors dataset), 2014-2022.",
    ),
    (
        "value",
        "Value",
        "VLUE",
        "Tilt toward cheap stocks, in excess of the market.",
        "Real history (skfolio factors dataset), 2014-2022. VLUE rather than VTV: it has real history.",
    ),
    (
        "momentum",
        "Momentum",
        "MTUM",
        "Tilt toward recent winners, in excess of the market.",
        "Real history (skfolio factors dataset), 2014-2022.",
    ),
    (
        "quality",
        "Quality",
        "QUAL",
        "Tilt toward profitable, stable firms, in excess of the market.",
        "Real history (skfolio factors dataset), 2014-2022.",
    ),
    (
        "low_volatility",
        "Low volatility",
        "USMV",
        "Tilt toward low-volatility stocks.",
        "Real history (skfolio factors dataset), 2014-2022.",
    ),
    (
        "dividend_yield",
        "Dividend yield",
        "VYM",
        "Tilt toward high-dividend payers.",
        "No real history: a stated basket proxy of real high-dividend names (KO, PEP, PG, JNJ, XOM, CVX, MRK, PFE).",
    ),
    (
        "growth",
        "Growth",
        "VUG",
        "Tilt toward growth stocks; needed by the stress scenarios.",
        "No real history: a stated basket proxy of real growth names (AAPL, MSFT, AMD, HD, UNH, LLY).",
    ),
]


def seed(apps, schema_editor):
    FactorDefinition = apps.get_model("marketdata", "FactorDefinition")
    for order, (key, name, etf, description, note) in enumerate(FACTORS):
        FactorDefinition.objects.update_or_create(
            key=key,
            defaults={
                "name": name,
                "etf_symbol": etf,
                "description": description,
                "history_note": note,
                "display_order": order,
                "is_active": True,
            },
        )


def unseed(apps, schema_editor):
    apps.get_model("marketdata", "FactorDefinition").objects.filter(
        key__in=[f[0] for f in FACTORS]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("marketdata", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
