"""The shipped confidence model: the version ``manage.py fit_signal_model --export``
wrote for ``signals/seed_data/confidence_model.json`` (fitted on replayed sessions of
the simulated market; see docs/signals.md). Stored and activated where no version is
active, so that a fresh deployment scores signals at once; refitting replaces it."""

import datetime as dt
import json
from pathlib import Path

from django.db import migrations

SHIPPED = Path(__file__).resolve().parent.parent / "seed_data" / "confidence_model.json"


def load(apps, schema_editor):
    ConfidenceModel = apps.get_model("signals", "ConfidenceModel")
    data = json.loads(SHIPPED.read_text())
    active = ConfidenceModel.objects.filter(is_active=True).exists()
    ConfidenceModel.objects.update_or_create(
        version=data["version"],
        defaults={
            "families": data["families"],
            "feature_names": data["feature_names"],
            "outcome_definition": data["outcome_definition"],
            "training": data.get("training", {}),
            "fitted_at": dt.datetime.fromisoformat(data["fitted_at"]),
            "is_active": not active,
        },
    )


def unload(apps, schema_editor):
    ConfidenceModel = apps.get_model("signals", "ConfidenceModel")
    data = json.loads(SHIPPED.read_text())
    ConfidenceModel.objects.filter(version=data["version"], signals__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("signals", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
