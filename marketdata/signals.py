"""Version bumps of market data (``sigmasight.versions``): a saved or deleted quote or
daily bar advances the ``market`` counter after the commit, so that cached reports are
marked afresh. The services' bulk writes call :func:`market_changed` themselves."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save

from marketdata.models import PriceBar, Quote
from sigmasight import versions


def market_changed() -> None:
    versions.bump(versions.MARKET)


def _saved(sender: Any, **kwargs: Any) -> None:
    market_changed()


def connect() -> None:
    for signal in (post_save, post_delete):
        for model in (Quote, PriceBar):
            signal.connect(_saved, sender=model, dispatch_uid=f"ver-{model.__name__}-{signal}")
