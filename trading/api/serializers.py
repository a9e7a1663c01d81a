"""Trading endpoints' serializers: inputs validate ranges (422 with field errors); outputs
document keys and units for the OpenAPI schema."""

from __future__ import annotations

from rest_framework import serializers

from sigmasight.api.inputs import StrictBodySerializer
from trading.models import (
    CONFIDENCE_RANGE,
    DAILY_LOSS_LIMIT_RANGE,
    MAX_POSITIONS_RANGE,
    POSITION_SIZE_RANGE,
    PROFIT_TARGET_RANGE,
    STOP_LOSS_RANGE,
    TradingMode,
)


class TradingConfigSerializer(serializers.Serializer):
    trading_mode = serializers.ChoiceField(choices=TradingMode.choices)
    position_size = serializers.DecimalField(
        max_digits=12, decimal_places=2, coerce_to_string=False, help_text="US dollars per trade"
    )
    profit_target = serializers.DecimalField(
        max_digits=6,
        decimal_places=4,
        coerce_to_string=False,
        help_text="Fraction of the package's cost (0.10 = 10%)",
    )
    stop_loss = serializers.DecimalField(
        max_digits=6,
        decimal_places=4,
        coerce_to_string=False,
        help_text="Fraction of the package's cost (0.10 = 10%)",
    )
    confidence_threshold = serializers.DecimalField(
        max_digits=5, decimal_places=4, coerce_to_string=False, help_text="0-1"
    )
    auto_execute = serializers.BooleanField()
    max_positions = serializers.IntegerField()
    daily_loss_limit = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        coerce_to_string=False,
        help_text="US dollars of realized + unrealized loss in a session",
    )
    broker = serializers.CharField(
        allow_null=True, help_text="Who executes in this mode: paper, or the live broker (added)"
    )
    saved = serializers.BooleanField(
        help_text="False while the user trades on the defaults (added)"
    )


def _decimal(places: int, bounds: tuple[object, object], help_text: str) -> serializers.Field:
    low, high = bounds
    return serializers.DecimalField(
        max_digits=12,
        decimal_places=places,
        min_value=low,
        max_value=high,
        required=False,
        help_text=f"{help_text}; {low} to {high}",
    )


class TradingConfigUpdateSerializer(StrictBodySerializer):
    """Every field optional: the ones given change, the rest stay."""

    trading_mode = serializers.ChoiceField(
        choices=TradingMode.choices,
        required=False,
        help_text="paper, or live where a live broker is configured",
    )
    position_size = _decimal(2, POSITION_SIZE_RANGE, "US dollars per trade")
    profit_target = _decimal(4, PROFIT_TARGET_RANGE, "Fraction of the package's cost")
    stop_loss = _decimal(4, STOP_LOSS_RANGE, "Fraction of the package's cost")
    confidence_threshold = _decimal(4, CONFIDENCE_RANGE, "Minimum signal confidence")
    auto_execute = serializers.BooleanField(required=False)
    max_positions = serializers.IntegerField(
        min_value=MAX_POSITIONS_RANGE[0], max_value=MAX_POSITIONS_RANGE[1], required=False
    )
    daily_loss_limit = _decimal(2, DAILY_LOSS_LIMIT_RANGE, "US dollars")
