"""Signal endpoints' input and output serializers (the output ones document the keys and
units for the OpenAPI schema; the selectors build the data)."""

from __future__ import annotations

from rest_framework import serializers

from marketdata.api.serializers import MarketClockFieldsMixin
from marketdata.tickers import ZERO_DTE_TICKERS
from sigmasight.api.pagination import PageQuerySerializer, PaginationSerializer
from signals.engine.strategies import STRATEGIES

SIGNAL_TYPES = ["bullish", "bearish", "neutral"]


class ActiveSignalsQuerySerializer(PageQuerySerializer):
    symbol = serializers.CharField(required=False, max_length=40, help_text="SPY, QQQ or IWM.")
    confidence_min = serializers.FloatField(
        required=False, min_value=0.0, max_value=1.0, help_text="Minimum confidence, 0-1."
    )
    strategy_type = serializers.CharField(
        required=False, max_length=40, help_text=f"One of {', '.join(STRATEGIES)}."
    )


class GenerateSignalsSerializer(serializers.Serializer):
    symbols = serializers.ListField(
        child=serializers.CharField(max_length=40),
        required=False,
        min_length=1,
        max_length=3,
        help_text=f"Default {list(ZERO_DTE_TICKERS)}.",
    )
    force_refresh = serializers.BooleanField(
        default=False,
        help_text="Accepted for the spec; a minute's signal is computed once, so a second "
        "call in the same market minute returns it.",
    )
    min_confidence = serializers.FloatField(
        required=False,
        min_value=0.0,
        max_value=1.0,
        help_text="Return only signals at or above this confidence (all are stored).",
    )


class EntryCriteriaSerializer(serializers.Serializer):
    long_strike = serializers.FloatField(allow_null=True, help_text="Lowest long strike, $.")
    short_strike = serializers.FloatField(allow_null=True, help_text="Lowest short strike, $.")
    max_cost = serializers.FloatField(
        help_text="Capital at risk per package, option price units ($2.50 = $250 a contract): "
        "the debit of a debit package, the max loss of a credit one."
    )
    target_profit = serializers.FloatField(help_text="Option price units per package.")
    stop_loss = serializers.FloatField(help_text="Option price units per package.")
    net_price = serializers.FloatField(
        help_text="Package price at the fill rule, per share: + debit, − credit (added)."
    )
    order_type = serializers.ChoiceField(choices=["debit", "credit"])
    profit_target_fraction = serializers.FloatField(help_text="Of max_cost (added).")
    stop_loss_fraction = serializers.FloatField(help_text="Of max_cost, regime-tightened.")
    position_size = serializers.IntegerField(help_text="The default config's, dollars.")
    contracts = serializers.IntegerField(
        allow_null=True, help_text="floor(position_size / max loss per package in dollars)."
    )


class RiskMetricsSerializer(serializers.Serializer):
    max_loss = serializers.FloatField(help_text="Dollars per package (one contract per leg).")
    max_profit = serializers.FloatField(
        allow_null=True, help_text="Dollars per package; null when unlimited."
    )
    probability_profit = serializers.FloatField(
        allow_null=True, help_text="Risk-neutral probability of a profit at expiry, 0-1."
    )
    break_even = serializers.FloatField(allow_null=True, help_text="Lowest break-even, $.")
    break_evens = serializers.ListField(child=serializers.FloatField(), help_text="All, $.")
    unlimited_profit = serializers.BooleanField()
    probability_basis = serializers.CharField()


class SignalSummarySerializer(serializers.Serializer):
    id = serializers.CharField(help_text="sig_…")
    symbol = serializers.CharField()
    signal_type = serializers.ChoiceField(choices=SIGNAL_TYPES)
    strategy = serializers.ChoiceField(choices=list(STRATEGIES))
    confidence = serializers.FloatField(
        allow_null=True, help_text="Probability of the outcome definition, 0-1."
    )
    generated_at = serializers.DateTimeField(help_text="Market time, UTC.")
    expires_at = serializers.DateTimeField(help_text="Also the time exit, UTC.")
    status = serializers.ChoiceField(choices=["active", "superseded"])
    entry_criteria = EntryCriteriaSerializer()
    risk_metrics = RiskMetricsSerializer()
    underlying_price = serializers.DecimalField(
        max_digits=None, decimal_places=4, coerce_to_string=False, help_text="Dollars."
    )
    expiration = serializers.DateField()
    model_version = serializers.CharField(allow_null=True)
    clock = serializers.ChoiceField(choices=["live", "replay"])
    session = serializers.DateField()
    source = serializers.CharField()
    warnings = serializers.ListField(child=serializers.CharField())


class ActiveSignalsSerializer(MarketClockFieldsMixin):
    signals = SignalSummarySerializer(many=True)
    pagination = PaginationSerializer()
    warnings = serializers.ListField(child=serializers.CharField())


class GeneratedSignalsSerializer(MarketClockFieldsMixin):
    signals = SignalSummarySerializer(many=True)
    generated = serializers.IntegerField(help_text="Signals returned by this call.")
    warnings = serializers.ListField(child=serializers.CharField())


class TechnicalFactorsSerializer(serializers.Serializer):
    price_momentum = serializers.FloatField(allow_null=True, help_text="Aligned score, −1…1.")
    volume_profile = serializers.FloatField(allow_null=True, help_text="Score, −1…1.")
    volatility_skew = serializers.FloatField(allow_null=True, help_text="Aligned score, −1…1.")


class CorrelationFactorsSerializer(serializers.Serializer):
    cross_ticker_strength = serializers.FloatField(allow_null=True, help_text="−1…1.")
    divergence_score = serializers.FloatField(allow_null=True, help_text="0…1.")


class MarketRegimeSerializer(serializers.Serializer):
    vix_level = serializers.FloatField(allow_null=True, help_text="Index points.")
    regime_type = serializers.CharField(allow_null=True)
    adaptation_factor = serializers.FloatField(allow_null=True)
    position_size_multiplier = serializers.FloatField(allow_null=True)
    confidence_threshold_bump = serializers.FloatField(allow_null=True)
    stop_loss_tightening = serializers.FloatField(allow_null=True)


class FeatureSerializer(serializers.Serializer):
    name = serializers.CharField()
    category = serializers.CharField()
    value = serializers.FloatField(help_text="The aligned model input x_i.")
    weight = serializers.FloatField(help_text="The model weight w_i.")
    score = serializers.FloatField(allow_null=True, help_text="Raw score, −1…1; null: missing.")


class AnalysisSerializer(serializers.Serializer):
    technical_factors = TechnicalFactorsSerializer()
    correlation_factors = CorrelationFactorsSerializer()
    market_regime = MarketRegimeSerializer()
    features = FeatureSerializer(many=True)


class ModelSerializer(serializers.Serializer):
    version = serializers.CharField(allow_null=True)
    intercept = serializers.FloatField(allow_null=True)
    family = serializers.ChoiceField(choices=["directional", "range", "breakout"])


class LegSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=["buy", "sell"])
    option_type = serializers.ChoiceField(choices=["call", "put"])
    strike = serializers.FloatField(help_text="Dollars.")
    quantity = serializers.IntegerField()
    estimated_price = serializers.FloatField(help_text="A buy at the ask, a sell at the bid, $.")
    bid = serializers.FloatField()
    ask = serializers.FloatField()
    fill_price = serializers.FloatField(help_text="At the fill rule, $ per share.")
    expiration = serializers.DateField()


class ExecutionPlanSerializer(serializers.Serializer):
    legs = LegSerializer(many=True)


class OutcomeSerializer(serializers.Serializer):
    hit = serializers.BooleanField(allow_null=True, help_text="Null until resolved.")
    reason = serializers.ChoiceField(choices=["target", "stop", "time", "no_data"], allow_null=True)
    pnl = serializers.FloatField(allow_null=True, help_text="Per package per share at fills.")
    resolved_at = serializers.DateTimeField(allow_null=True)


class SignalDetailSerializer(SignalSummarySerializer):
    direction_score = serializers.FloatField(help_text="−1…1, positive pointing up.")
    analysis = AnalysisSerializer()
    model = ModelSerializer()
    outcome_definition = serializers.DictField()
    execution_plan = ExecutionPlanSerializer()
    outcome = OutcomeSerializer()
