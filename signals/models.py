"""0DTE signals: market-wide analysis of SPY, QQQ and IWM (API-CONVENTIONS: every
authenticated user sees the same signals).

A :class:`Signal` is proposed at one market minute for one ticker: a direction, a strategy
with real legs on that minute's chain, entry criteria from the default trading config,
risk metrics from the legs, and a confidence from the stored :class:`ConfidenceModel`.
Its :class:`SignalFeature` rows hold every model input with its weight, so that the
confidence can be recomputed from what is stored. Once its outcome is known (the target
reached before the stop or the time exit, at fill prices) it is stored on the signal.
"""

from __future__ import annotations

import secrets

from django.db import models


def signal_id() -> str:
    return f"sig_{secrets.token_hex(6)}"


class ConfidenceModel(models.Model):
    """One fitted version of the logistic confidence model (``signals.engine.confidence``),
    written by ``manage.py fit_signal_model``. ``families`` maps each strategy family to
    ``{"intercept": b0, "weights": {feature: w}}``. Exactly one version is active."""

    version = models.CharField(max_length=64, primary_key=True)
    families = models.JSONField()
    feature_names = models.JSONField()
    outcome_definition = models.JSONField()
    training = models.JSONField(
        default=dict, help_text="Sessions, samples and in-sample figures of the fit."
    )
    fitted_at = models.DateTimeField()
    is_active = models.BooleanField(default=False)

    class Meta:
        ordering = ["-fitted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"],
                condition=models.Q(is_active=True),
                name="confidencemodel_one_active",
            )
        ]

    def __str__(self) -> str:
        return f"{self.version}{' (active)' if self.is_active else ''}"


class SignalStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    SUPERSEDED = "superseded", "Superseded by a newer signal of the ticker"


class Signal(models.Model):
    id = models.CharField(max_length=20, primary_key=True, default=signal_id, editable=False)
    symbol = models.CharField(max_length=8)
    clock = models.CharField(max_length=8, help_text="The market clock that produced it.")
    session = models.DateField()
    minute = models.PositiveSmallIntegerField(help_text="Market minutes since the open.")
    generated_at = models.DateTimeField(help_text="Market time of generation, UTC.")
    expires_at = models.DateTimeField()
    status = models.CharField(
        max_length=12, choices=SignalStatus.choices, default=SignalStatus.ACTIVE
    )
    trigger = models.CharField(max_length=12, help_text="schedule or manual")
    signal_type = models.CharField(max_length=8)
    strategy = models.CharField(max_length=20)
    direction_score = models.FloatField()
    confidence = models.FloatField(null=True, help_text="Probability of the outcome, 0-1.")
    model = models.ForeignKey(
        ConfidenceModel, null=True, on_delete=models.PROTECT, related_name="signals"
    )
    underlying_price = models.DecimalField(max_digits=20, decimal_places=4)
    expiration = models.DateField()
    regime = models.JSONField(help_text="vix_level, regime_type, adaptation_factor, ...")
    entry_criteria = models.JSONField()
    risk_metrics = models.JSONField()
    legs = models.JSONField(help_text="action, option_type, strike, quantity, bid, ask, ...")
    outcome_definition = models.JSONField()
    warnings = models.JSONField(default=list)
    source = models.CharField(max_length=64, default="simulated")
    outcome_hit = models.BooleanField(null=True)
    outcome_reason = models.CharField(max_length=12, blank=True)
    outcome_pnl = models.FloatField(null=True, help_text="Per package per share, at fills.")
    outcome_at = models.DateTimeField(null=True)

    class Meta:
        ordering = ["-generated_at", "symbol"]
        constraints = [
            models.UniqueConstraint(
                fields=["clock", "session", "minute", "symbol"], name="signal_one_per_minute"
            )
        ]
        indexes = [
            models.Index(fields=["status", "expires_at"]),
            models.Index(fields=["session", "outcome_reason"]),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.symbol} {self.strategy} @ {self.generated_at:%Y-%m-%d %H:%M}"


class SignalFeature(models.Model):
    """One model input of a signal: its aligned value x_i, the weight w_i it had in the
    model version that scored the signal, and the raw score before alignment."""

    signal = models.ForeignKey(Signal, on_delete=models.CASCADE, related_name="features")
    name = models.CharField(max_length=32)
    category = models.CharField(max_length=16)
    value = models.FloatField(help_text="The aligned model input x_i.")
    weight = models.FloatField(help_text="The model weight w_i (0 without a model).")
    score = models.FloatField(null=True, help_text="The raw score in (-1, 1); null if missing.")

    class Meta:
        ordering = ["signal", "name"]
        constraints = [
            models.UniqueConstraint(fields=["signal", "name"], name="signalfeature_unique")
        ]

    def __str__(self) -> str:
        return f"{self.name}={self.value:.4f} (w {self.weight:.4f})"


class SignalCycle(models.Model):
    """A claimed market minute of the signal cadence (one per clock, session and minute),
    so that each minute's generation runs once whatever fires it twice."""

    clock = models.CharField(max_length=8)
    session = models.DateField()
    minute = models.PositiveSmallIntegerField()
    job_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["clock", "session", "minute"], name="signalcycle_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.clock} {self.session} minute {self.minute}"
