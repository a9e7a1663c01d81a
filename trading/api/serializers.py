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


class ExecuteOverridesSerializer(StrictBodySerializer):
    profit_target = _decimal(4, PROFIT_TARGET_RANGE, "Fraction of the package's cost")
    stop_loss = _decimal(4, STOP_LOSS_RANGE, "Fraction of the package's cost")


class ExecuteSerializer(StrictBodySerializer):
    signal_id = serializers.RegexField(r"^sig_[0-9a-f]{12}$", max_length=20)
    position_size = _decimal(2, POSITION_SIZE_RANGE, "US dollars; default the config's")
    override_params = ExecuteOverridesSerializer(required=False)


class OrderSerializer(serializers.Serializer):
    order_id = serializers.CharField()
    symbol = serializers.CharField(help_text="OCC option symbol")
    action = serializers.ChoiceField(choices=["buy", "sell"])
    quantity = serializers.IntegerField(help_text="Contracts")
    order_type = serializers.CharField()
    limit_price = serializers.DecimalField(
        max_digits=12, decimal_places=4, coerce_to_string=False, help_text="Per share"
    )
    status = serializers.CharField()
    filled_quantity = serializers.IntegerField(help_text="Contracts (added)")
    average_fill_price = serializers.DecimalField(
        max_digits=12,
        decimal_places=4,
        coerce_to_string=False,
        allow_null=True,
        help_text="Per share (added)",
    )
    fees = serializers.DecimalField(
        max_digits=12, decimal_places=2, coerce_to_string=False, help_text="Dollars (added)"
    )


class TradeSerializer(serializers.Serializer):
    trade_id = serializers.CharField()
    status = serializers.CharField()
    orders = OrderSerializer(many=True)
    signal_id = serializers.CharField()
    symbol = serializers.CharField()
    strategy = serializers.CharField()
    quantity = serializers.IntegerField(help_text="Whole packages (added)")
    net_price = serializers.DecimalField(
        max_digits=12,
        decimal_places=4,
        coerce_to_string=False,
        help_text="Per share per package: + debit, − credit (added)",
    )
    total_cost = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        coerce_to_string=False,
        help_text="Capital at risk, dollars (added)",
    )
    fees = serializers.DecimalField(
        max_digits=12, decimal_places=2, coerce_to_string=False, help_text="Dollars (added)"
    )
    position_id = serializers.CharField(allow_null=True)
    executed_at = serializers.DateTimeField()
    clock = serializers.CharField()
