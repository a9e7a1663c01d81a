"""Test helpers of the signals app."""

from __future__ import annotations

from django.utils import timezone

from signals.engine.features import FEATURE_NAMES
from signals.models import ConfidenceModel

#: A model with known weights, so that a test can rebuild a confidence by hand.
WEIGHTS = {name: 0.1 * (i + 1) * (-1) ** i for i, name in enumerate(FEATURE_NAMES)}
INTERCEPTS = {"directional": -0.4, "range": 0.2, "breakout": -0.1}


def known_model(version: str = "test-known-weights") -> ConfidenceModel:
    """Store and activate a model version with :data:`WEIGHTS` and :data:`INTERCEPTS`."""
    ConfidenceModel.objects.filter(is_active=True).update(is_active=False)
    model, _ = ConfidenceModel.objects.update_or_create(
        version=version,
        defaults={
            "families": {f: {"intercept": b0, "weights": WEIGHTS} for f, b0 in INTERCEPTS.items()},
            "feature_names": list(FEATURE_NAMES),
            "outcome_definition": {"event": "target_before_stop_or_time_exit"},
            "fitted_at": timezone.now(),
            "is_active": True,
            "training": {"sessions": []},
        },
    )
    return model
