"""Writes of the trading app."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.db import transaction

from trading.brokers import broker_for
from trading.models import TradingConfig
from trading.selectors import TradingSettings, default_trading_settings, trading_settings

#: The config fields a user may change (``saved`` is not one).
CONFIG_FIELDS = (
    "trading_mode",
    "position_size",
    "profit_target",
    "stop_loss",
    "confidence_threshold",
    "auto_execute",
    "max_positions",
    "daily_loss_limit",
)


def trading_config_update(*, user_id: Any, changes: dict[str, Any]) -> TradingSettings:
    """Apply ``changes`` (validated fields of :data:`CONFIG_FIELDS`) to ``user_id``'s
    config, creating it from the defaults on the first change. Live mode needs a
    configured live broker (``LiveTradingUnavailable`` otherwise, and nothing is written).
    The row is locked, so two concurrent updates apply one after the other."""
    unknown = set(changes) - set(CONFIG_FIELDS)
    if unknown:
        raise ValueError(f"not config fields: {sorted(unknown)}")
    if "trading_mode" in changes:
        broker_for(changes["trading_mode"])  # refuses live without a broker
    with transaction.atomic():
        row = TradingConfig.objects.select_for_update().filter(user_id=user_id).first()
        if row is None:
            defaults = asdict(default_trading_settings())
            defaults.pop("saved")
            row, _ = TradingConfig.objects.get_or_create(user_id=user_id, defaults=defaults)
            row = TradingConfig.objects.select_for_update().get(pk=row.pk)
        for field, value in changes.items():
            setattr(row, field, value)
        row.save()
    return trading_settings(user_id=user_id)
