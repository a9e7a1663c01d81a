"""Trading endpoints' serializers: inputs validate ranges (422 with field errors); outputs
document keys and units for the OpenAPI schema."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from sigmasight.api.inputs import StrictBodySerializer
from sigmasight.api.pagination import PageQuerySerializer, PaginationSerializer
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
    hold_to_expiry = serializers.BooleanField(
        required=False,
        default=False,
        help_text="No time exit: a position held to the close settles at expiry (added)",
    )


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
        max_digits=12,
        decimal_places=4,
        coerce_to_string=False,
        allow_null=True,
        help_text="Per share; null for a leg of a package limit or of a market order",
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
    quantity = serializers.IntegerField(help_text="Whole packages filled (added)")
    requested_quantity = serializers.IntegerField(
        allow_null=True,
        help_text=(
            "Packages asked for; the part beyond the displayed size rests or is cancelled "
            "(TRADING_REMAINDER; added)"
        ),
    )
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
    executed_at = serializers.DateTimeField(allow_null=True, help_text="Null while a limit rests")
    clock = serializers.CharField()
    kind = serializers.ChoiceField(choices=["open", "close"], help_text="(added)")
    reason = serializers.CharField(allow_null=True, help_text="A close's exit reason (added)")
    order_type = serializers.ChoiceField(choices=["market", "limit"], help_text="(added)")
    package_limit_price = serializers.DecimalField(
        max_digits=12,
        decimal_places=4,
        coerce_to_string=False,
        allow_null=True,
        help_text="A limit close's package price per share (added)",
    )


def _money(help_text: str, *, null: bool = False) -> serializers.Field:
    return serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        coerce_to_string=False,
        allow_null=null,
        help_text=help_text,
    )


def _price(help_text: str, *, null: bool = False) -> serializers.Field:
    return serializers.DecimalField(
        max_digits=12,
        decimal_places=4,
        coerce_to_string=False,
        allow_null=null,
        help_text=help_text,
    )


class PositionLegSerializer(serializers.Serializer):
    symbol = serializers.CharField(help_text="OCC option symbol")
    quantity = serializers.IntegerField(help_text="Open contracts, negative for a short leg")
    avg_price = _price("Fill price per share")
    current_price = _price("Mark per share: the mid of a two-sided quote, else last", null=True)
    unrealized_pnl = _money("Dollars", null=True)
    action = serializers.ChoiceField(choices=["buy", "sell"], help_text="Opening action (added)")
    option_type = serializers.ChoiceField(choices=["call", "put"], help_text="(added)")
    strike = serializers.DecimalField(max_digits=12, decimal_places=3, coerce_to_string=False)
    expiration = serializers.DateField()
    bid = serializers.FloatField(allow_null=True)
    ask = serializers.FloatField(allow_null=True)


class StrategyPositionSerializer(serializers.Serializer):
    position_id = serializers.CharField()
    symbol = serializers.CharField()
    strategy = serializers.CharField()
    opened_at = serializers.DateTimeField()
    legs = PositionLegSerializer(many=True)
    total_cost = _money("Capital at risk of the open packages, dollars")
    current_value = _money("total_cost + unrealized_pnl, dollars", null=True)
    unrealized_pnl = _money("Dollars, at the legs' marks", null=True)
    unrealized_pnl_percent = serializers.DecimalField(
        max_digits=12,
        decimal_places=6,
        coerce_to_string=False,
        allow_null=True,
        help_text="Fraction of total_cost",
    )
    target_profit = _money("profit_target × total_cost, dollars")
    stop_loss = _money("stop_loss × total_cost, dollars")
    trade_id = serializers.CharField(help_text="The opening trade (added)")
    signal_id = serializers.CharField(help_text="(added)")
    status = serializers.ChoiceField(choices=["open", "closed"], help_text="(added)")
    quantity = serializers.IntegerField(help_text="Open packages (added)")
    quantity_opened = serializers.IntegerField(help_text="Packages opened (added)")
    entry_net_price = _price("Per share per package: + debit, − credit (added)")
    mark_net_price = _price("The legs' marks netted, per share per package (added)", null=True)
    close_value = serializers.FloatField(
        allow_null=True,
        help_text="Cash per share per package a market close would get now, the fill rule (added)",
    )
    realized_pnl = _money("Dollars realized by closes, net of their fees (added)")
    fees = _money("All fees paid, dollars (added)")
    exit_reason = serializers.CharField(allow_null=True, help_text="(added)")
    closed_at = serializers.DateTimeField(allow_null=True, help_text="(added)")
    working_close_trade_id = serializers.CharField(
        allow_null=True, help_text="A resting limit close (added)"
    )
    hold_to_expiry = serializers.BooleanField(help_text="No time exit (added)")
    mark_time = serializers.DateTimeField(allow_null=True, help_text="The quote's time (added)")
    spot = serializers.DecimalField(
        max_digits=20,
        decimal_places=6,
        coerce_to_string=False,
        allow_null=True,
        help_text="The underlying's price in the marks' chain (added)",
    )
    pin_risk = serializers.BooleanField(
        help_text="A short strike lies within TRADING_PIN_RISK_DISTANCE of spot near the "
        "close (added)"
    )
    pin_risk_strikes = serializers.ListField(
        child=serializers.DecimalField(max_digits=12, decimal_places=3, coerce_to_string=False),
        help_text="Those short strikes, ascending (added)",
    )
    warnings = serializers.ListField(child=serializers.CharField())


class PositionsSerializer(serializers.Serializer):
    positions = StrategyPositionSerializer(many=True)
    market_status = serializers.CharField()
    clock = serializers.CharField()
    as_of = serializers.DateTimeField()


class PositionsQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["open", "closed", "all"], default="open")


class CloseSerializer(StrictBodySerializer):
    close_type = serializers.ChoiceField(choices=["market", "limit"], default="market")
    limit_price = serializers.DecimalField(
        max_digits=12,
        decimal_places=4,
        min_value=0,
        max_value=100000,
        required=False,
        allow_null=True,
        help_text="A limit close's package price per share: at least this received closing a "
        "debit package, at most this paid buying back a credit one",
    )
    partial_quantity = serializers.IntegerField(
        min_value=1, max_value=1000000, required=False, allow_null=True, help_text="Packages"
    )

    def validate(self, attrs: dict[str, object]) -> dict[str, object]:
        limit = attrs.get("limit_price")
        if attrs.get("close_type") == "limit" and limit is None:
            raise serializers.ValidationError(
                {"limit_price": ["A limit close needs a limit_price"]}
            )
        if attrs.get("close_type") == "market" and limit is not None:
            raise serializers.ValidationError({"limit_price": ["Only a limit close takes one"]})
        return attrs


class EmergencySerializer(StrictBodySerializer):
    reason = serializers.CharField(max_length=200, default="manual_halt")
    close_positions = serializers.BooleanField(default=False)
    user_id = serializers.UUIDField(
        required=False,
        help_text="Admins only: the user whose account to halt (default: your own).",
    )


class ResumeSerializer(StrictBodySerializer):
    reason = serializers.CharField(max_length=200)
    user_id = serializers.UUIDField(
        required=False,
        help_text="Admins only: the user whose account to resume (default: your own).",
    )


class AccountStateSerializer(serializers.Serializer):
    account_state = serializers.ChoiceField(choices=["ACTIVE", "REDUCING", "HALTED"])
    emergency_status = serializers.BooleanField()
    reason = serializers.CharField(allow_blank=True)
    state_changed_at = serializers.DateTimeField(allow_null=True)
    closed_positions = serializers.ListField(child=serializers.CharField())
    close_trades = serializers.ListField(child=serializers.CharField())
    warnings = serializers.ListField(child=serializers.CharField())


_STATES = ["ACTIVE", "REDUCING", "HALTED"]
REGIME_TYPES = ["low_volatility", "normal", "high_volatility", "extreme_volatility"]


class RiskAuditQuerySerializer(PageQuerySerializer):
    kind = serializers.ChoiceField(
        choices=["transition", "order_cancelled", "protection"], required=False
    )
    user_id = serializers.UUIDField(
        required=False, help_text="Admins only: whose log to read (default: your own)."
    )


class RiskEventSerializer(serializers.Serializer):
    event_id = serializers.CharField(help_text="risk_…")
    kind = serializers.ChoiceField(choices=["transition", "order_cancelled", "protection"])
    state_from = serializers.ChoiceField(choices=_STATES)
    state_to = serializers.ChoiceField(choices=_STATES)
    reason = serializers.CharField(allow_blank=True)
    trigger = serializers.CharField(
        help_text="manual (the actor acted), daily_loss_warning, daily_loss_limit, …"
    )
    actor_id = serializers.CharField(allow_null=True, help_text="Null for an automatic trigger")
    trade_id = serializers.CharField(allow_null=True, help_text="A cancelled order's trade")
    order_id = serializers.CharField(allow_null=True, help_text="A cancelled order")
    details = serializers.DictField(help_text="The trigger's figures (dollars as strings)")
    market_time = serializers.DateTimeField(allow_null=True)
    lock_until = serializers.DateTimeField(
        allow_null=True, help_text="A protection: no new entry before this market time"
    )
    created_at = serializers.DateTimeField()


class RiskAuditSerializer(serializers.Serializer):
    data = RiskEventSerializer(many=True)
    pagination = PaginationSerializer()


class RiskAdjustmentsSerializer(serializers.Serializer):
    position_size_multiplier = serializers.FloatField(
        allow_null=True, help_text="Multiplies position_size (the adaptation factor)"
    )
    confidence_threshold_adjustment = serializers.FloatField(
        allow_null=True, help_text="Added to the confidence threshold (fraction)"
    )
    stop_loss_tightening = serializers.FloatField(
        allow_null=True, help_text="Multiplies the stop distance (1: unchanged; 0.8: 20% tighter)"
    )


class EmergencyThresholdsSerializer(serializers.Serializer):
    vix_emergency = serializers.FloatField(help_text="VIX level, index points")
    correlation_breakdown = serializers.FloatField(help_text="20-bar SPY_QQQ correlation")
    volume_spike = serializers.FloatField(help_text="Minute volume over that minute's mean")


class RegimeThresholdsSerializer(serializers.Serializer):
    low_volatility_below = serializers.FloatField(help_text="VIX")
    normal_below = serializers.FloatField(help_text="VIX")
    high_volatility_below = serializers.FloatField(help_text="VIX; extreme at or above")


class EmergencyReadingsSerializer(serializers.Serializer):
    vix_level = serializers.FloatField(allow_null=True)
    correlation_20_spy_qqq = serializers.FloatField(allow_null=True)
    volume_ratios = serializers.DictField(child=serializers.FloatField(allow_null=True))
    fired = serializers.ListField(child=serializers.CharField())


class RiskRegimeSerializer(serializers.Serializer):
    regime_type = serializers.ChoiceField(choices=REGIME_TYPES, allow_null=True)
    vix_level = serializers.FloatField(allow_null=True, help_text="VIX, index points")
    adaptation_factor = serializers.FloatField(allow_null=True)
    risk_adjustments = RiskAdjustmentsSerializer()
    emergency_thresholds = EmergencyThresholdsSerializer()
    regime_thresholds = RegimeThresholdsSerializer(help_text="(added)")
    emergency_readings = EmergencyReadingsSerializer(help_text="(added)")
    timestamp = serializers.DateTimeField(allow_null=True, help_text="(added)")
    market_status = serializers.CharField(help_text="(added)")
    clock = serializers.CharField(help_text="(added)")
    session = serializers.DateField(help_text="(added)")
    warnings = serializers.ListField(child=serializers.CharField())


class RiskLimitsSerializer(serializers.Serializer):
    daily_loss_limit = _money("Dollars")
    position_limit = _money("Dollars at risk per trade (position_size)")
    max_positions = serializers.IntegerField()
    daily_loss_reducing_at = _money(
        "Dollars of daily loss that move the account to REDUCING (added)"
    )


class ProtectionSerializer(serializers.Serializer):
    trigger = serializers.CharField(help_text="stop_loss_cooldown or loss_streak")
    until = serializers.DateTimeField(help_text="No new entry before this market time")
    event_id = serializers.CharField()


class AccountRiskMetricsSerializer(serializers.Serializer):
    portfolio_value = _money("The paper portfolio's cash + open legs at their marks", null=True)
    daily_pnl = _money("The session's realized + unrealized P&L", null=True)
    daily_pnl_percent = serializers.DecimalField(
        max_digits=12,
        decimal_places=6,
        coerce_to_string=False,
        allow_null=True,
        help_text="Fraction of the value at the start of the day",
    )
    realized_pnl = _money("(added)")
    unrealized_pnl = _money("(added)")
    max_drawdown = serializers.FloatField(
        help_text="Dollars, negative: the P&L curve's largest fall (daily, then intraday)"
    )
    intraday_max_drawdown = serializers.FloatField(help_text="Dollars, today's (added)")
    var_95 = serializers.FloatField(
        allow_null=True, help_text="Dollars, negative: 95% VaR over the rest of the session"
    )
    es_95 = serializers.FloatField(allow_null=True, help_text="Dollars (added)")
    var_horizon_minutes = serializers.FloatField(help_text="Minutes to the close (added)")
    var_scenarios = serializers.IntegerField(help_text="Historical days revalued (added)")
    position_concentration = serializers.DictField(
        child=serializers.FloatField(), help_text="Share of the open capital at risk"
    )
    capital_at_risk = _money("Open packages' max loss (added)")
    open_positions = serializers.IntegerField(help_text="(added)")
    risk_limits = RiskLimitsSerializer()
    emergency_status = serializers.BooleanField()
    account_state = serializers.ChoiceField(choices=_STATES, help_text="(added)")
    protection = ProtectionSerializer(allow_null=True, help_text="(added)")
    market_status = serializers.CharField(help_text="(added)")
    clock = serializers.CharField(help_text="(added)")
    as_of = serializers.DateTimeField(help_text="(added)")
    warnings = serializers.ListField(child=serializers.CharField())


class AnalyticsQuerySerializer(serializers.Serializer):
    start_date = serializers.DateField(required=False, help_text="YYYY-MM-DD")
    end_date = serializers.DateField(required=False, help_text="YYYY-MM-DD")
    symbol = serializers.ChoiceField(choices=["SPY", "QQQ", "IWM"], required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("start_date"), attrs.get("end_date")
        if start and end and start > end:
            raise serializers.ValidationError({"start_date": ["must not be after end_date"]})
        return attrs


def _fraction(help_text: str) -> serializers.FloatField:
    return serializers.FloatField(allow_null=True, help_text=help_text)


class AnalyticsPeriodSerializer(serializers.Serializer):
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    trading_days = serializers.IntegerField(help_text="NYSE sessions in the period")


class OverallPerformanceSerializer(serializers.Serializer):
    total_return = _fraction("The period's P&L over the equity at its start")
    total_trades = serializers.IntegerField(help_text="Closed strategy positions")
    win_rate = _fraction("Fraction of positions with a positive realized P&L")
    avg_win = _fraction("Mean return of the winners, a fraction of their cost")
    avg_loss = _fraction("Mean return of the others, a fraction of their cost")
    profit_factor = _fraction("Gross wins over gross losses, dollars; null without a loss")
    sharpe_ratio = _fraction("Annualized, of the daily equity returns")
    max_drawdown = _fraction("Negative fraction, of the daily equity")
    total_pnl = _money("Dollars, net of fees (added)", null=True)
    gross_wins = _money("Dollars (added)", null=True)
    gross_losses = _money("Dollars, negative (added)", null=True)
    fees = _money("Dollars (added)", null=True)
    starting_equity = _money("Dollars (added)", null=True)


class SymbolPerformanceSerializer(serializers.Serializer):
    trades = serializers.IntegerField()
    win_rate = _fraction("Fraction")
    total_return = _fraction("P&L over the starting equity")
    total_pnl = _money("Dollars (added)", null=True)


class StrategyPerformanceSerializer(serializers.Serializer):
    trades = serializers.IntegerField()
    win_rate = _fraction("Fraction")
    avg_return = _fraction("Mean return, a fraction of cost")
    total_pnl = _money("Dollars (added)", null=True)


class TradingPerformanceSerializer(serializers.Serializer):
    period = AnalyticsPeriodSerializer()
    overall_performance = OverallPerformanceSerializer()
    by_symbol = serializers.DictField(child=SymbolPerformanceSerializer())
    by_strategy = serializers.DictField(child=StrategyPerformanceSerializer())
    symbol = serializers.CharField(allow_null=True, help_text="(added)")
    clock = serializers.CharField(help_text="(added)")
    warnings = serializers.ListField(child=serializers.CharField())


class ConfidenceBucketSerializer(serializers.Serializer):
    bucket = serializers.CharField()
    count = serializers.IntegerField()
    hits = serializers.IntegerField()
    hit_rate = _fraction("Fraction")
    mean_confidence = _fraction("Fraction")
    wilson_low = _fraction("95% Wilson interval")
    wilson_high = _fraction("95% Wilson interval")


class SignalPerformanceSerializer(serializers.Serializer):
    total_signals = serializers.IntegerField()
    executed_signals = serializers.IntegerField(help_text="Signals you executed")
    execution_rate = _fraction("Fraction")
    avg_confidence = _fraction("Fraction")
    confidence_accuracy = serializers.DictField(
        child=serializers.FloatField(allow_null=True), help_text="Bucket → hit rate"
    )
    confidence_buckets = ConfidenceBucketSerializer(many=True, help_text="(added)")
    resolved_signals = serializers.IntegerField(help_text="(added)")
    hits = serializers.IntegerField(help_text="(added)")
    brier_score = _fraction("Mean squared error of the confidence (added)")
    expected_calibration_error = _fraction("(added)")


class StrategyEffectivenessSerializer(serializers.Serializer):
    signals = serializers.IntegerField()
    success_rate = _fraction("Fraction of resolved signals whose outcome hit")
    avg_return = _fraction("Mean outcome P&L over the capital at risk")
    resolved = serializers.IntegerField(help_text="(added)")
    executed = serializers.IntegerField(help_text="(added)")


class SignalAnalyticsPeriodSerializer(serializers.Serializer):
    start_date = serializers.DateField()
    end_date = serializers.DateField()


class SignalAnalyticsSerializer(serializers.Serializer):
    signal_performance = SignalPerformanceSerializer()
    strategy_effectiveness = serializers.DictField(child=StrategyEffectivenessSerializer())
    period = SignalAnalyticsPeriodSerializer(help_text="(added)")
    symbol = serializers.CharField(allow_null=True, help_text="(added)")
    clock = serializers.CharField(help_text="(added)")
    warnings = serializers.ListField(child=serializers.CharField())
