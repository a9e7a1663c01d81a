"""Stored results of the risk batch: Greeks, factor exposures, portfolio risk metrics,
stress tests, correlations, daily snapshots and data-quality assessments.

Every row is upserted on its natural key (the object and its calculation date), so a
re-run of a batch replaces rather than duplicates. Each records how it was computed
(sources, method, rate) so a figure can say where it came from.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class PositionGreeks(models.Model):
    """Greeks of one option position, per one unit of underlying (vollib units): delta
    per $1, gamma per $1, theta per calendar day, vega per vol point, rho per rate point."""

    position = models.ForeignKey(
        "portfolios.Position", on_delete=models.CASCADE, related_name="greeks"
    )
    calculation_date = models.DateField()
    delta = models.FloatField()
    gamma = models.FloatField()
    theta = models.FloatField()
    vega = models.FloatField()
    rho = models.FloatField()
    option_price = models.FloatField(help_text="Model price per option share")
    implied_volatility = models.FloatField(null=True, help_text="The volatility used, a fraction")
    volatility_source = models.CharField(
        max_length=32, help_text="implied_quote, chain, realized_ewma"
    )
    underlying_price = models.FloatField()
    time_to_expiry_years = models.FloatField(help_text="Minutes to the expiry close / 525,600")
    rate = models.FloatField()
    rate_source = models.CharField(max_length=32)
    dividend_yield = models.FloatField(default=0.0)
    model = models.CharField(max_length=16, default="bsm")
    delta_dollars = models.FloatField(help_text="delta × quantity × multiplier × spot")
    gamma_dollars_1pct = models.FloatField(help_text="½ gamma (1% spot)² × quantity × multiplier")
    warnings = models.JSONField(default=list, blank=True)
    calculated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "-calculation_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["position", "calculation_date"], name="greeks_position_date_unique"
            )
        ]
        verbose_name_plural = "position greeks"

    def __str__(self) -> str:
        return f"{self.position_id} {self.calculation_date} Δ={self.delta:.3f}"


class PositionFactorExposure(models.Model):
    """Factor betas of one position over the regression window (options through their
    underlying, scaled by elasticity)."""

    position = models.ForeignKey(
        "portfolios.Position", on_delete=models.CASCADE, related_name="factor_exposures"
    )
    calculation_date = models.DateField()
    betas = models.JSONField(help_text="{factor key: beta}")
    dollar_exposures = models.JSONField(help_text="{factor key: beta × dollar exposure}")
    r_squared = models.FloatField(null=True)
    residual_volatility = models.FloatField(null=True, help_text="Annualized, a fraction")
    idiosyncratic_share = models.FloatField(null=True, help_text="1 − R²")
    observations = models.PositiveIntegerField(default=0)
    method = models.CharField(max_length=16, default="ols")
    regressed_symbol = models.CharField(
        max_length=32, help_text="The symbol whose returns were used"
    )
    warnings = models.JSONField(default=list, blank=True)
    calculated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "-calculation_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["position", "calculation_date"], name="factor_position_date_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.position_id} {self.calculation_date}"


class PortfolioRiskMetrics(models.Model):
    """Portfolio-level risk for one date and method: VaR/ES, components, performance,
    Greek totals, factor exposures and attribution, concentration."""

    portfolio = models.ForeignKey(
        "portfolios.Portfolio", on_delete=models.CASCADE, related_name="risk_metrics"
    )
    calculation_date = models.DateField()
    method = models.CharField(max_length=16, default="historical")
    portfolio_value = models.DecimalField(max_digits=22, decimal_places=2)
    lookback_days = models.PositiveIntegerField(default=252)
    value_at_risk = models.JSONField(default=dict, help_text="{horizon: {confidence: dollars}}")
    expected_shortfall = models.JSONField(default=dict)
    component_var = models.JSONField(default=list)
    performance = models.JSONField(default=dict)
    greeks = models.JSONField(default=dict)
    factor_exposures = models.JSONField(default=dict)
    risk_attribution = models.JSONField(default=dict)
    concentration = models.JSONField(default=dict)
    risk_free_rate = models.FloatField(null=True)
    risk_free_source = models.CharField(max_length=32, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    calculated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["portfolio", "-calculation_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["portfolio", "calculation_date", "method"], name="risk_metrics_unique"
            )
        ]
        verbose_name_plural = "portfolio risk metrics"

    def __str__(self) -> str:
        return f"{self.portfolio_id} {self.calculation_date} {self.method}"


class StressScenario(models.Model):
    """A scenario of the library (RISK-MODEL.md, Stress scenarios), editable in the admin."""

    id = models.SlugField(primary_key=True, max_length=64)
    name = models.CharField(max_length=120)
    category = models.CharField(max_length=32)
    description = models.TextField(blank=True)
    factor_shocks = models.JSONField(
        help_text='{factor key: relative shock}, e.g. {"market": -0.35}; "rates" is an absolute yield change'
    )
    volatility_shock = models.FloatField(
        default=0.0, help_text="Relative change of implied volatility"
    )
    is_active = models.BooleanField(default=True)
    display_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["display_order", "id"]

    def __str__(self) -> str:
        return self.name


class StressTestResult(models.Model):
    portfolio = models.ForeignKey(
        "portfolios.Portfolio", on_delete=models.CASCADE, related_name="stress_results"
    )
    scenario = models.ForeignKey(StressScenario, on_delete=models.CASCADE, related_name="results")
    calculation_date = models.DateField()
    direct_impact = models.DecimalField(max_digits=22, decimal_places=2)
    correlated_impact = models.DecimalField(max_digits=22, decimal_places=2)
    scenario_return = models.FloatField(help_text="correlated impact / portfolio value, a fraction")
    systematic_impact = models.DecimalField(max_digits=22, decimal_places=2)
    idiosyncratic_band = models.DecimalField(
        max_digits=22, decimal_places=2, help_text="±2σ of residual P&L"
    )
    implied_shocks = models.JSONField(default=dict)
    top_contributors = models.JSONField(default=list)
    calculated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["portfolio", "-calculation_date", "scenario"]
        constraints = [
            models.UniqueConstraint(
                fields=["portfolio", "scenario", "calculation_date"], name="stress_result_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.portfolio_id} {self.scenario_id} {self.calculation_date}"


class CorrelationResult(models.Model):
    portfolio = models.ForeignKey(
        "portfolios.Portfolio", on_delete=models.CASCADE, related_name="correlations"
    )
    calculation_date = models.DateField()
    lookback_days = models.PositiveIntegerField()
    threshold = models.FloatField(default=0.7)
    symbols = models.JSONField()
    matrix = models.JSONField(help_text="Pearson correlations, row-major, aligned with symbols")
    clusters = models.JSONField(default=list)
    effective_positions = models.FloatField(null=True)
    average_correlation = models.FloatField(null=True)
    calculated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["portfolio", "-calculation_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["portfolio", "calculation_date"], name="correlation_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.portfolio_id} {self.calculation_date}"


class PortfolioSnapshot(models.Model):
    """The portfolio's value at one session's close, from real prices and the cash ledger."""

    portfolio = models.ForeignKey(
        "portfolios.Portfolio", on_delete=models.CASCADE, related_name="snapshots"
    )
    date = models.DateField()
    total_value = models.DecimalField(max_digits=22, decimal_places=2)
    positions_value = models.DecimalField(max_digits=22, decimal_places=2)
    cash_balance = models.DecimalField(max_digits=22, decimal_places=2)
    unrealized_pnl = models.DecimalField(max_digits=22, decimal_places=2)
    realized_pnl = models.DecimalField(max_digits=22, decimal_places=2)
    daily_pnl = models.DecimalField(max_digits=22, decimal_places=2, null=True)
    daily_return = models.FloatField(null=True, help_text="A fraction, net of cash flows")
    positions_count = models.PositiveIntegerField(default=0)
    calculated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["portfolio", "date"]
        constraints = [
            models.UniqueConstraint(fields=["portfolio", "date"], name="snapshot_unique")
        ]

    def __str__(self) -> str:
        return f"{self.portfolio_id} {self.date} {self.total_value}"


class DataQualityAssessment(models.Model):
    portfolio = models.ForeignKey(
        "portfolios.Portfolio", on_delete=models.CASCADE, related_name="quality_assessments"
    )
    assessed_at = models.DateTimeField()
    overall_score = models.FloatField(null=True, help_text="0–100")
    metrics = models.JSONField(default=dict)
    recommendations = models.JSONField(default=list)

    class Meta:
        ordering = ["portfolio", "-assessed_at"]
        indexes = [models.Index(fields=["portfolio", "-assessed_at"])]

    def __str__(self) -> str:
        return f"{self.portfolio_id} {self.assessed_at:%Y-%m-%d %H:%M} {self.overall_score}"


class ReportFormat(models.TextChoices):
    MD = "md", "Markdown"
    JSON = "json", "JSON"
    CSV = "csv", "CSV"
    PDF = "pdf", "PDF"


class PortfolioReport(models.Model):
    """A report file (``POST /export/reports/portfolio/{id}``), built by the
    ``portfolio_report`` job that shares its id. The file lives in the ``reports`` storage
    until ``expires_at``; the cleanup task then deletes it and sets ``deleted_at``."""

    job = models.OneToOneField(
        "batch.BatchJob", on_delete=models.CASCADE, primary_key=True, related_name="report"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portfolio_reports"
    )
    portfolio = models.ForeignKey(
        "portfolios.Portfolio", on_delete=models.CASCADE, related_name="reports"
    )
    format = models.CharField(max_length=8, choices=ReportFormat.choices)
    as_of_date = models.DateField(help_text="The session whose figures the report holds.")
    file_name = models.CharField(
        max_length=255,
        blank=True,
        help_text="The file's name in the reports storage (settings.STORAGES['reports']).",
    )
    content_type = models.CharField(max_length=100, blank=True)
    size_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when the file is written."
    )
    deleted_at = models.DateTimeField(
        null=True, blank=True, help_text="When the cleanup removed the file."
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["deleted_at", "expires_at"])]

    def __str__(self) -> str:
        return f"{self.job_id} {self.format}"
