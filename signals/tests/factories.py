"""Test helpers of the signals app."""

from __future__ import annotations

import datetime as dt

from django.core.cache import cache
from django.utils import timezone

from marketdata.services import get_provider, history_ingest
from signals.engine.features import FEATURE_NAMES
from signals.models import ConfidenceModel

#: The session the signal tests replay (a Monday; its previous session closed early).
SESSION = dt.date(2026, 11, 30)


def market_history() -> None:
    """Daily bars of the tickers and the VIX from August through :data:`SESSION`, and no
    producer lease left by another test."""
    history_ingest(
        provider=get_provider(),
        symbols=["SPY", "QQQ", "IWM", "^VIX"],
        start=dt.date(2026, 8, 1),
        end=SESSION,
    )
    cache.delete("market-producer:replay")


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
