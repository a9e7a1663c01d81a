"""Version bumps of a portfolio's stored data (``sigmasight.versions``): any saved or
deleted portfolio, position or ledger row advances the portfolio's counter and its
owner's, after the commit, so that cached reports of it are computed afresh. Bulk writes
(``bulk_create``, ``update()``) send no signal: the services that use them call
:func:`portfolio_changed` themselves."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db.models.signals import post_delete, post_save

from portfolios.models import Portfolio, Position, Transaction
from sigmasight import versions


def portfolio_changed(portfolio_id: UUID | str, owner_id: Any) -> None:
    versions.bump(("portfolio", portfolio_id), ("user", owner_id))


def _portfolio_saved(sender: Any, instance: Portfolio, **kwargs: Any) -> None:
    portfolio_changed(instance.pk, instance.owner_id)


def _row_saved(sender: Any, instance: Position | Transaction, **kwargs: Any) -> None:
    # The services load the portfolio they lock: its owner is then at hand, and a loop
    # of saves costs no query per row.
    if type(instance).portfolio.is_cached(instance):
        owner_id = instance.portfolio.owner_id
    else:
        owner_id = (
            Portfolio.objects.filter(pk=instance.portfolio_id)
            .values_list("owner_id", flat=True)
            .first()
        )
    portfolio_changed(instance.portfolio_id, owner_id)


def connect() -> None:
    for signal in (post_save, post_delete):
        signal.connect(_portfolio_saved, sender=Portfolio, dispatch_uid=f"ver-portfolio-{signal}")
        for model in (Position, Transaction):
            signal.connect(_row_saved, sender=model, dispatch_uid=f"ver-{model.__name__}-{signal}")
