"""The trading app's tables: each user's trading config (orders, trades and the 0DTE
paper book come with ``POST /trading/execute``)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q


class TradingMode(models.TextChoices):
    PAPER = "paper", "Paper"
    LIVE = "live", "Live (needs a configured broker)"


#: The ranges a config may take (the API answers 422 outside them; the table refuses them).
POSITION_SIZE_RANGE = (Decimal("100"), Decimal("10000000"))
PROFIT_TARGET_RANGE = (Decimal("0.01"), Decimal("10"))
STOP_LOSS_RANGE = (Decimal("0.01"), Decimal("1"))
CONFIDENCE_RANGE = (Decimal("0"), Decimal("1"))
MAX_POSITIONS_RANGE = (1, 100)
DAILY_LOSS_LIMIT_RANGE = (Decimal("1"), Decimal("10000000"))


def _between(field: str, bounds: tuple[object, object]) -> Q:
    low, high = bounds
    return Q(**{f"{field}__gte": low, f"{field}__lte": high})


class TradingConfig(models.Model):
    """One user's trading config; a user without a row trades on the defaults
    (``TRADING_DEFAULT_*``, the 0DTE spec's example). Money in dollars; profit target,
    stop loss and confidence threshold are fractions (API-CONVENTIONS, Money)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="trading_config"
    )
    trading_mode = models.CharField(
        max_length=8, choices=TradingMode.choices, default=TradingMode.PAPER
    )
    position_size = models.DecimalField(
        max_digits=12, decimal_places=2, help_text="Dollars at risk per trade."
    )
    profit_target = models.DecimalField(
        max_digits=6, decimal_places=4, help_text="Fraction of the package's cost."
    )
    stop_loss = models.DecimalField(
        max_digits=6, decimal_places=4, help_text="Fraction of the package's cost."
    )
    confidence_threshold = models.DecimalField(
        max_digits=5, decimal_places=4, help_text="Minimum signal confidence, 0-1."
    )
    auto_execute = models.BooleanField(default=False)
    max_positions = models.PositiveSmallIntegerField()
    daily_loss_limit = models.DecimalField(
        max_digits=12, decimal_places=2, help_text="Dollars of realized + unrealized loss a day."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=_between("position_size", POSITION_SIZE_RANGE),
                name="trading_config_position_size_range",
            ),
            models.CheckConstraint(
                condition=_between("profit_target", PROFIT_TARGET_RANGE),
                name="trading_config_profit_target_range",
            ),
            models.CheckConstraint(
                condition=_between("stop_loss", STOP_LOSS_RANGE),
                name="trading_config_stop_loss_range",
            ),
            models.CheckConstraint(
                condition=_between("confidence_threshold", CONFIDENCE_RANGE),
                name="trading_config_confidence_range",
            ),
            models.CheckConstraint(
                condition=_between("max_positions", MAX_POSITIONS_RANGE),
                name="trading_config_max_positions_range",
            ),
            models.CheckConstraint(
                condition=_between("daily_loss_limit", DAILY_LOSS_LIMIT_RANGE),
                name="trading_config_daily_loss_limit_range",
            ),
            models.CheckConstraint(
                condition=Q(trading_mode__in=["paper", "live"]),
                name="trading_config_mode_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.trading_mode}"
