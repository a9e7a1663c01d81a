from __future__ import annotations

from rest_framework import serializers


class GreeksBlockSerializer(serializers.Serializer):
    delta = serializers.FloatField(help_text="Per $1 of the underlying")
    gamma = serializers.FloatField(help_text="Per $1")
    theta = serializers.FloatField(help_text="Per calendar day")
    vega = serializers.FloatField(help_text="Per volatility point (0.01)")
    rho = serializers.FloatField(help_text="Per rate point (0.01)")
    implied_volatility = serializers.FloatField(
        allow_null=True, help_text="The volatility used, a fraction"
    )


class GreeksRowSerializer(serializers.Serializer):
    position_id = serializers.UUIDField()
    symbol = serializers.CharField()
    position_type = serializers.CharField()
    quantity = serializers.FloatField()
    greeks = GreeksBlockSerializer(allow_null=True)
    volatility_source = serializers.CharField(
        allow_null=True, help_text="implied_quote or realized_ewma"
    )
    model = serializers.CharField(allow_null=True)
    option_price = serializers.FloatField(allow_null=True)
    delta_dollars = serializers.FloatField(allow_null=True, help_text="Dollars")
    underlying_symbol = serializers.CharField(allow_null=True)
    underlying_price = serializers.FloatField(allow_null=True)
    strike_price = serializers.FloatField(allow_null=True)
    expiration_date = serializers.DateField(allow_null=True)
    days_to_expiry = serializers.IntegerField(allow_null=True)
    time_to_expiry_years = serializers.FloatField(allow_null=True)
    calculation_date = serializers.DateField(allow_null=True)
    last_updated = serializers.DateTimeField(allow_null=True)
    warnings = serializers.ListField(child=serializers.CharField())


class GreekTotalsSerializer(serializers.Serializer):
    total_delta = serializers.FloatField()
    total_gamma = serializers.FloatField()
    total_theta = serializers.FloatField()
    total_vega = serializers.FloatField()
    total_rho = serializers.FloatField()
    net_delta_exposure = serializers.FloatField(help_text="Dollars")


class GreeksSummarySerializer(serializers.Serializer):
    options_positions = serializers.IntegerField()
    positions_with_greeks = serializers.IntegerField()
    coverage_percentage = serializers.FloatField(allow_null=True, help_text="Percent")
    last_updated = serializers.DateTimeField(allow_null=True)


class GreeksReportSerializer(serializers.Serializer):
    portfolio_id = serializers.UUIDField()
    greeks_data = GreeksRowSerializer(many=True)
    portfolio_greeks = GreekTotalsSerializer(help_text="Every position (stocks: delta 1)")
    options_greeks = GreekTotalsSerializer(help_text="Options only")
    summary = GreeksSummarySerializer()
    units = serializers.DictField(child=serializers.CharField())
    warnings = serializers.ListField(child=serializers.CharField())


class GreeksQuerySerializer(serializers.Serializer):
    position_id = serializers.UUIDField(required=False)
