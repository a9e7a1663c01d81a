from __future__ import annotations

from rest_framework import serializers

from sigmasight.api.fields import (
    DollarKeysDict,
    DollarKeysList,
    Money,
    MoneyFloat,
    Percent,
    PercentFigure,
    Strings,
    Timestamp,
)
from sigmasight.api.inputs import Warnings


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
        allow_null=True,
        help_text="implied_quote, chain (the chain's IV interpolated in strike) or realized_ewma",
    )
    model = serializers.CharField(allow_null=True)
    option_price = serializers.FloatField(allow_null=True)
    delta_dollars = MoneyFloat(
        allow_null=True, help_text="delta × quantity × multiplier × spot, dollars"
    )
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
    net_delta_exposure = MoneyFloat(help_text="Σ delta × quantity × multiplier × spot, dollars")


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


def _dict(help_text: str, allow_null: bool = False) -> serializers.DictField:
    return serializers.DictField(help_text=help_text, allow_null=allow_null)


class FactorRowSerializer(serializers.Serializer):
    position_id = serializers.UUIDField()
    symbol = serializers.CharField()
    market_value = Money(allow_null=True)
    weight = serializers.FloatField(
        allow_null=True, help_text="|market value| / gross exposure, a fraction"
    )
    exposures = _dict(
        "{factor: beta}; options through their underlying, scaled by elasticity", True
    )
    dollar_exposures = serializers.DictField(
        child=MoneyFloat(allow_null=True),
        allow_null=True,
        help_text="{factor: beta × dollar exposure}, dollars",
    )
    r_squared = serializers.FloatField(allow_null=True)
    idiosyncratic_share = serializers.FloatField(allow_null=True, help_text="1 − R², a fraction")
    residual_volatility = serializers.FloatField(
        allow_null=True, help_text="Annualized, a fraction"
    )
    regressed_symbol = serializers.CharField(allow_null=True)
    observations = serializers.IntegerField()
    calculation_date = serializers.DateField(allow_null=True)
    last_updated = serializers.DateTimeField(allow_null=True)


class FactorsReportSerializer(serializers.Serializer):
    portfolio_id = serializers.UUIDField()
    factor_exposures = FactorRowSerializer(many=True)
    portfolio_exposures = _dict("{factor: Σ dollar exposure / total value}", True)
    dollar_exposures = serializers.DictField(
        child=MoneyFloat(allow_null=True),
        allow_null=True,
        help_text="{factor: dollars per unit factor return}",
    )
    risk_attribution = _dict(
        "systematic_risk, idiosyncratic_risk (fractions of variance), factor_concentration (Euler shares summing to 1)",
        True,
    )
    summary = _dict(
        "total_positions, positions_with_exposures, coverage_percentage (percent), r_squared, window_days, method, last_updated"
    )
    warnings = Warnings()


class PositionFilterSerializer(serializers.Serializer):
    position_id = serializers.UUIDField(required=False)


class AggregationsQuerySerializer(serializers.Serializer):
    include_greeks = serializers.BooleanField(required=False, default=True)
    include_factors = serializers.BooleanField(required=False, default=True)


class AggregationsSerializer(serializers.Serializer):
    portfolio_id = serializers.UUIDField()
    basic_aggregations = _dict(
        "total_value, cash_balance, invested_value, total_pnl, day_change in dollars (null when "
        "a position has no price); total_pnl_percent: total_pnl / gross cost basis "
        "(Σ |quantity × entry price × multiplier| of open positions) × 100; day_change_percent: "
        "day_change / previous total value × 100"
    )
    position_breakdown = _dict(
        "by_type (LONG/SHORT/CALL/PUT) and by_sector: {count, value (Σ signed market value, "
        "dollars; shorts negative), percentage (value / net invested value Σ signed market "
        "value × 100, so groups add to 100; shorts negative)}"
    )
    concentration_metrics = _dict("Weights are fractions of gross exposure", True)
    greeks_aggregations = DollarKeysDict(
        dollar_keys=("net_delta_exposure", "options_notional"),
        help_text="Σ Greek × quantity × multiplier",
        allow_null=True,
    )
    factor_aggregations = _dict("portfolio_beta, factor_loadings, r_squared", True)
    performance_metrics = _dict("Returns and drawdowns are fractions", True)
    calculation_date = serializers.DateField(allow_null=True)
    last_updated = serializers.DateTimeField(allow_null=True)
    warnings = Warnings()


METHOD_HELP = (
    "historical (full revaluation, the default), parametric (delta-normal), "
    "or monte_carlo (factor model, full revaluation)"
)


class MethodQuerySerializer(serializers.Serializer):
    method = serializers.ChoiceField(
        choices=["historical", "parametric", "monte_carlo"],
        required=False,
        default="historical",
        help_text=METHOD_HELP,
    )


class RiskSummaryQuerySerializer(MethodQuerySerializer):
    confidence_level = serializers.ChoiceField(
        choices=[95, 99], required=False, default=95, help_text="Percent"
    )
    components_limit = serializers.CharField(
        required=False,
        default="20",
        max_length=6,
        help_text="Largest component_var rows returned: a whole number from 1, or 'all'",
    )

    def validate_components_limit(self, value: str) -> int | None:
        if value == "all":
            return None
        if not value.isascii() or not value.isdigit() or int(value) < 1:
            raise serializers.ValidationError("Use a whole number of at least 1, or 'all'")
        return int(value)


class RiskSummarySerializer(serializers.Serializer):
    portfolio_id = serializers.UUIDField()
    risk_summary = _dict(
        "portfolio_value (dollars: positions + cash at the book's one mark, the total_value of "
        "/complete; null when a position has no price), confidence_level (percent), "
        "calculation_date, lookback_period (days)"
    )
    value_at_risk = DollarKeysDict(
        dollar_keys=("absolute",),
        help_text="{1_day|5_day|10_day: {absolute (dollars, negative = loss), percentage "
        "(percent of the value the batch computed the VaR on)}}",
    )
    expected_shortfall = DollarKeysDict(
        dollar_keys=("absolute",), help_text="Same shape as value_at_risk"
    )
    risk_metrics = _dict(
        "beta, correlation, ratios; tracking_error, volatilities and maximum_drawdown are fractions"
    )
    component_var = DollarKeysList(
        dollar_keys=("component_var", "marginal_var"),
        help_text="Euler components summing to the 1-day VaR; position_weight a fraction of "
        "gross exposure; marginal_var dollars per unit of weight; percentage_contribution in "
        "percent",
    )
    stress_scenarios = DollarKeysDict(
        dollar_keys=("portfolio_impact",),
        help_text="{scenario: {scenario_return (fraction), portfolio_impact (dollars)}}",
    )
    greeks_risk = DollarKeysDict(
        dollar_keys=("delta_equivalent", "gamma_risk", "vega_risk", "theta_decay"),
        help_text="delta_equivalent, gamma_risk, vega_risk, theta_decay",
    )
    risk_warnings = serializers.ListField(child=serializers.CharField())
    last_updated = serializers.DateTimeField(allow_null=True)
    warnings = Warnings()


class DataQualitySerializer(serializers.Serializer):
    portfolio_id = serializers.UUIDField()
    overall_score = serializers.FloatField(allow_null=True, help_text="0–100")
    metrics = _dict(
        "price_coverage, data_freshness, greeks_coverage, factor_coverage, historical_data_coverage; scores 0–100"
    )
    recommendations = serializers.ListField(child=serializers.CharField())
    last_assessed = serializers.DateTimeField(allow_null=True)
    warnings = Warnings()


class OverviewExposuresSerializer(serializers.Serializer):
    long_exposure = Money(allow_null=True, help_text="Σ market value of longs, dollars")
    short_exposure = Money(allow_null=True, help_text="Σ market value of shorts, dollars (≤ 0)")
    gross_exposure = Money(allow_null=True, help_text="long − short, dollars")
    net_exposure = Money(allow_null=True, help_text="long + short, dollars")
    long_percentage = Percent(allow_null=True, help_text="long_exposure / total_value × 100")
    short_percentage = Percent(
        allow_null=True, help_text="short_exposure / total_value × 100 (negative)"
    )
    gross_percentage = Percent(allow_null=True, help_text="gross_exposure / total_value × 100")
    net_percentage = Percent(allow_null=True, help_text="net_exposure / total_value × 100")


class OverviewPnlSerializer(serializers.Serializer):
    total_pnl = Money(allow_null=True, help_text="unrealized + realized, dollars")
    unrealized_pnl = Money(allow_null=True)
    realized_pnl = Money()
    day_change = Money(allow_null=True)
    ytd_pnl = Money(
        allow_null=True,
        help_text="NAV now − NAV at the last close of the previous year − net deposits since, "
        "dollars",
    )
    mtd_pnl = Money(
        allow_null=True,
        help_text="NAV now − NAV at the last close of the previous month − net deposits since, "
        "dollars",
    )


class OverviewCountSerializer(serializers.Serializer):
    total_positions = serializers.IntegerField()
    long_count = serializers.IntegerField(help_text="Long stocks, ETFs and funds")
    short_count = serializers.IntegerField(help_text="Short stocks, ETFs and funds")
    option_count = serializers.IntegerField()


class OverviewSerializer(serializers.Serializer):
    portfolio_id = serializers.UUIDField()
    total_value = Money(
        allow_null=True, help_text="Positions + cash, dollars; null when a position has no price"
    )
    net_asset_value = Money(allow_null=True, help_text="= total_value (positions + cash)")
    cash_balance = Money()
    equity_balance = Money(help_text="Deposits − withdrawals in the cash ledger, dollars")
    exposures = OverviewExposuresSerializer()
    pnl = OverviewPnlSerializer()
    position_count = OverviewCountSerializer()
    last_updated = serializers.DateTimeField(allow_null=True)
    warnings = Warnings()


class MetricsSerializer(serializers.Serializer):
    portfolio_id = serializers.UUIDField()
    risk_metrics = _dict(
        "VaR/ES in dollars (negative = loss) by horizon and confidence; ratios; drawdown a fraction"
    )
    calculation_metadata = DollarKeysDict(
        dollar_keys=("portfolio_value",),
        help_text="calculated_at, lookback_days, confidence_levels [0.95, 0.99], method, "
        "portfolio_value (the value the VaR was computed on)",
    )
    warnings = Warnings()


class FactorAnalyticsSerializer(serializers.Serializer):
    portfolio_id = serializers.UUIDField()
    factors = DollarKeysList(
        dollar_keys=("dollar_exposure",),
        help_text="key, name, etf_symbol, exposure, dollar_exposure, risk_contribution",
    )
    portfolio_exposures = _dict("{factor: exposure}", True)
    risk_attribution = _dict("systematic/idiosyncratic shares", True)
    summary = _dict("Coverage and method")
    warnings = Warnings()


class ScenariosSerializer(serializers.Serializer):
    portfolio_id = serializers.UUIDField()
    portfolio_value = MoneyFloat(
        allow_null=True, help_text="The value the stress run shocked, dollars"
    )
    calculation_date = serializers.DateField(allow_null=True)
    scenarios = DollarKeysList(
        dollar_keys=(
            "direct_impact",
            "correlated_impact",
            "portfolio_impact",
            "systematic_impact",
            "idiosyncratic_band",
            "impact",
        ),
        help_text="scenario_return a fraction",
    )
    summary = DollarKeysDict(
        dollar_keys=("portfolio_impact",),
        help_text="scenarios_count, worst_scenario, best_scenario",
    )
    warnings = Warnings()


# ---- /admin/batch/data-quality (spec 3.4, 3.5) --------------------------------------------------


class PortfolioQuerySerializer(serializers.Serializer):
    portfolio_id = serializers.UUIDField(
        required=False, allow_null=True, help_text="One portfolio (default: every live one)"
    )


class CompletenessSerializer(serializers.Serializer):
    price_coverage = PercentFigure("Open positions with a price, percent")
    greeks_coverage = PercentFigure("Option positions with Greeks, percent (risk engine)")
    factor_coverage = PercentFigure("Positions with factor exposures, percent (risk engine)")
    historical_data_coverage = PercentFigure(
        "Positions with bars on ≥ 95% of the last 252 sessions (options: the underlying), percent"
    )


class FreshnessSerializer(serializers.Serializer):
    last_price_update = Timestamp("Newest price update of the portfolio's positions")
    hours_since_update = serializers.FloatField(allow_null=True, help_text="Hours")
    freshness_score = PercentFigure(
        "0–100: 100 for a price at or after the last close, −20 per session behind"
    )
    last_market_close = Timestamp("Close of the last completed NYSE session")


class PortfolioQualitySerializer(serializers.Serializer):
    portfolio_id = serializers.UUIDField()
    portfolio_name = serializers.CharField()
    quality_score = PercentFigure("0–100, weighted mean of the figures available")
    position_count = serializers.IntegerField(help_text="Open positions")
    data_completeness = CompletenessSerializer()
    data_freshness = FreshnessSerializer()
    issues = Strings("Problems, naming the positions at fault")
    warnings = Warnings()


class SystemOverviewSerializer(serializers.Serializer):
    total_portfolios = serializers.IntegerField(help_text="Including soft-deleted ones")
    active_portfolios = serializers.IntegerField()
    total_positions = serializers.IntegerField(help_text="Open positions")
    overall_data_quality_score = PercentFigure("0–100, position-weighted mean")
    last_assessment = Timestamp()


class ProviderStatusSerializer(serializers.Serializer):
    status = serializers.CharField(
        help_text="operational, degraded, idle (primary, no run in 24 h) or standby"
    )
    role = serializers.CharField(help_text="primary or fallback")
    last_successful_call = Timestamp()
    daily_api_calls = serializers.IntegerField(allow_null=True)
    daily_limit = serializers.IntegerField(allow_null=True)
    error_rate_24h = serializers.FloatField(
        allow_null=True, help_text="Fraction of symbols that failed in 24 h (0.02 = 2%)"
    )


class DatabaseHealthSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="healthy, degraded or error: <reason>")
    connection_pool_usage = PercentFigure(
        "Connections in use / max_connections, percent (PostgreSQL)"
    )
    avg_query_time_ms = serializers.FloatField(
        allow_null=True, help_text="Mean of five SELECT 1 round trips, milliseconds"
    )
    slow_queries_24h = serializers.IntegerField(allow_null=True)


class DataSourceStatusSerializer(serializers.Serializer):
    market_data_providers = serializers.DictField(
        child=ProviderStatusSerializer(), help_text="The failover chain by provider name"
    )
    database_health = DatabaseHealthSerializer()


class ScorePointSerializer(serializers.Serializer):
    date = serializers.DateField()
    score = PercentFigure("0–100")


class QualityTrendsSerializer(serializers.Serializer):
    score_history_7d = ScorePointSerializer(many=True, help_text="Scores jobs recorded")
    improvement_areas = Strings("Weakest figures first")


class DataQualityStatusSerializer(serializers.Serializer):
    system_overview = SystemOverviewSerializer()
    portfolio_quality = PortfolioQualitySerializer(many=True)
    data_source_status = DataSourceStatusSerializer()
    quality_trends = QualityTrendsSerializer()
    recommendations = Strings("Derived from the figures above")
    warnings = Warnings()
    last_updated = Timestamp()


class RefreshJobSerializer(serializers.Serializer):
    job_id = serializers.CharField()
    job_name = serializers.CharField()
    status = serializers.CharField()
    initiated_at = Timestamp()
    estimated_duration_minutes = serializers.FloatField(
        allow_null=True, help_text="Minutes: mean of the last ten refreshes"
    )


class RefreshScopeSerializer(serializers.Serializer):
    portfolios_targeted = serializers.IntegerField()
    positions_to_refresh = serializers.IntegerField(help_text="Open positions")
    data_types = Strings("What the refresh covers")


class PreRefreshSerializer(serializers.Serializer):
    overall_score = PercentFigure("0–100")
    portfolios_below_threshold = serializers.IntegerField(help_text="Score below 80")
    critical_issues = Strings("Issues found before the refresh")


class ExpectedImprovementsSerializer(serializers.Serializer):
    estimated_score_increase = serializers.FloatField(
        allow_null=True, help_text="Score points: mean gain of past refreshes"
    )
    target_quality_score = PercentFigure("0–100")
    issues_to_resolve = serializers.IntegerField()
    data_freshness_improvement = serializers.CharField()


class MonitoringSerializer(serializers.Serializer):
    progress_endpoint = serializers.CharField()
    completion_webhook = serializers.CharField(allow_null=True)
    notification_channels = Strings("Where progress is published")


class BackupPlanSerializer(serializers.Serializer):
    fallback_providers = Strings("The failover chain after the primary")
    rollback_available = serializers.BooleanField()
    previous_data_retained = serializers.BooleanField()


class RefreshReportSerializer(serializers.Serializer):
    refresh_initiated = serializers.BooleanField()
    job_details = RefreshJobSerializer()
    scope = RefreshScopeSerializer()
    pre_refresh_quality = PreRefreshSerializer()
    expected_improvements = ExpectedImprovementsSerializer()
    monitoring = MonitoringSerializer()
    backup_plan = BackupPlanSerializer()
    message = serializers.CharField()
    warnings = Warnings()


# ---- /export/reports (E1) -------------------------------------------------------------------


class ReportRequestSerializer(serializers.Serializer):
    format = serializers.ChoiceField(
        choices=["md", "json", "csv", "pdf"],
        help_text="md: Markdown tables; json: the document of the API's bodies; csv: one row "
        "per figure (section, field, value); pdf: tables and charts",
    )
    as_of_date = serializers.DateField(
        required=False,
        help_text="YYYY-MM-DD, New York. Reports hold the current figures, so only today "
        "is accepted; the default.",
    )


class ReportStartedSerializer(serializers.Serializer):
    job_id = serializers.CharField(help_text="job_YYYYMMDD_HHMMSS_portfolio_report_<4 hex>")
    status = serializers.CharField(help_text="pending, running, completed, failed or cancelled")
    status_url = serializers.CharField(
        help_text="Where to follow it: GET /api/v1/export/reports/{job_id}"
    )


class ReportStatusSerializer(serializers.Serializer):
    job_id = serializers.CharField()
    status = serializers.CharField(help_text="pending, running, completed, failed or cancelled")
    progress = serializers.FloatField(
        allow_null=True, help_text="Percent of the report's sections built (0–100)"
    )
    portfolio_id = serializers.UUIDField()
    format = serializers.CharField()
    as_of_date = serializers.DateField()
    created_at = Timestamp()
    completed_at = Timestamp()
    download_url = serializers.CharField(
        allow_null=True, help_text="GET it for the file; null until completed, and after expiry"
    )
    expires_at = Timestamp("When the file is deleted (ISO 8601 UTC); null until completed")
    expired = serializers.BooleanField()
    size_bytes = serializers.IntegerField(allow_null=True, help_text="Bytes")
    sha256 = serializers.CharField(allow_null=True, help_text="Hex digest of the file")
    error_message = serializers.CharField(allow_null=True)
    warnings = Warnings()
