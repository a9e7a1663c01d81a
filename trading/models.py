"""The trading app's tables: each user's trading config and account, and the trades,
orders, fills and strategy positions of ``POST /trading/execute``. Money is Decimal
dollars; prices are per share of underlying (an option's $2.40 is $240 a contract)."""

from __future__ import annotations

import secrets
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


def _prefixed(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(6)}"


def trade_id() -> str:
    return _prefixed("trade")


def order_id() -> str:
    return _prefixed("ord")


def position_id() -> str:
    return _prefixed("pos")


class AccountState(models.TextChoices):
    ACTIVE = "ACTIVE", "Active"
    HALTED = "HALTED", "Halted (no new entries)"


class TradingAccount(models.Model):
    """A user's 0DTE trading account: its state and its paper portfolio (a portfolio of
    the portfolios app, read and written through that app's services). Its row is the
    lock that serializes a user's executions."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="trading_account"
    )
    state = models.CharField(max_length=8, choices=AccountState.choices, default="ACTIVE")
    paper_portfolio_id = models.UUIDField(help_text="The 0DTE paper portfolio.")
    state_changed_at = models.DateTimeField(null=True, blank=True)
    state_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.user_id} {self.state}"


class TradeStatus(models.TextChoices):
    SUBMITTED = "submitted", "Submitted (a resting limit)"
    FILLED = "filled", "Filled"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired unfilled"


class TradeKind(models.TextChoices):
    OPEN = "open", "Opens a strategy position"
    CLOSE = "close", "Closes (part of) a strategy position"


class ExitReason(models.TextChoices):
    MANUAL = "manual", "Closed by the user"
    PROFIT_TARGET = "profit_target", "Profit target"
    STOP_LOSS = "stop_loss", "Stop loss"
    TIME_EXIT = "time_exit", "Time exit before the close"
    EMERGENCY = "emergency", "Emergency halt"
    SETTLEMENT = "settlement", "Settled at expiry"


class Trade(models.Model):
    """One package of legs traded together: the execution of a signal (``open``) or the
    close of (part of) a strategy position (``close``, at market or at a limit that may
    rest until the quote reaches it)."""

    id = models.CharField(max_length=20, primary_key=True, default=trade_id, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="trades"
    )
    kind = models.CharField(max_length=6, choices=TradeKind.choices, default=TradeKind.OPEN)
    closes = models.ForeignKey(
        "StrategyPosition",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="exits",
        help_text="The strategy position a close trade closes.",
    )
    reason = models.CharField(
        max_length=16, choices=ExitReason.choices, blank=True, help_text="Why a close trade."
    )
    order_type = models.CharField(max_length=8, default="market", help_text="market or limit")
    limit_price = models.DecimalField(
        max_digits=12,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="A limit close's package price per share (≥ to sell, ≤ to buy back).",
    )
    signal_id = models.CharField(
        max_length=20, blank=True, help_text="The signal executed (signals app)."
    )
    symbol = models.CharField(max_length=8)
    strategy = models.CharField(max_length=20)
    clock = models.CharField(max_length=8)
    session = models.DateField()
    quantity = models.PositiveIntegerField(help_text="Whole packages (filled, once filled).")
    requested_quantity = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Packages asked for (beyond the displayed size: cancelled).",
    )
    status = models.CharField(max_length=10, choices=TradeStatus.choices)
    net_price = models.DecimalField(
        max_digits=12, decimal_places=4, help_text="Per share per package: + debit, − credit."
    )
    total_cost = models.DecimalField(
        max_digits=14, decimal_places=2, help_text="Capital at risk, dollars (max loss × quantity)."
    )
    fees = models.DecimalField(max_digits=12, decimal_places=2)
    profit_target = models.DecimalField(max_digits=6, decimal_places=4, help_text="Fraction.")
    stop_loss = models.DecimalField(max_digits=6, decimal_places=4, help_text="Fraction.")
    hold_to_expiry = models.BooleanField(
        default=False, help_text="No time exit: held to the close it settles at expiry."
    )
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True)
    executed_at = models.DateTimeField(
        null=True, blank=True, help_text="Market time of the fill (null while a limit rests)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["closes"],
                condition=Q(status="submitted"),
                name="one_working_close_per_position",
            ),
            models.UniqueConstraint(
                fields=["user", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="trade_idempotency_key_per_user",
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="trade_quantity_positive"),
        ]
        indexes = [models.Index(fields=["user", "session"])]

    def __str__(self) -> str:
        return f"{self.id} {self.strategy} {self.symbol} ×{self.quantity}"


class OrderStatus(models.TextChoices):
    NEW = "new", "New"
    SUBMITTED = "submitted", "Submitted"
    PARTIALLY_FILLED = "partially_filled", "Partially filled"
    FILLED = "filled", "Filled"
    CANCELLED = "cancelled", "Cancelled"
    REJECTED = "rejected", "Rejected"
    EXPIRED = "expired", "Expired"


class Order(models.Model):
    """One leg's order of a trade."""

    id = models.CharField(max_length=20, primary_key=True, default=order_id, editable=False)
    trade = models.ForeignKey(Trade, on_delete=models.CASCADE, related_name="orders")
    leg = models.PositiveSmallIntegerField()
    symbol = models.CharField(max_length=32, help_text="OCC option symbol.")
    action = models.CharField(max_length=4, help_text="buy or sell")
    quantity = models.PositiveIntegerField(help_text="Contracts.")
    order_type = models.CharField(max_length=8, default="limit")
    limit_price = models.DecimalField(
        max_digits=12,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="The leg's limit; null for a leg of a package limit or a market order.",
    )
    status = models.CharField(max_length=16, choices=OrderStatus.choices)
    filled_quantity = models.PositiveIntegerField(default=0)
    average_fill_price = models.DecimalField(max_digits=12, decimal_places=4, null=True)
    book_position_id = models.UUIDField(
        null=True, blank=True, help_text="The leg's Position in the paper portfolio."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["trade", "leg"]
        constraints = [
            models.UniqueConstraint(fields=["trade", "leg"], name="order_leg_per_trade"),
            models.CheckConstraint(
                condition=Q(filled_quantity__lte=models.F("quantity")),
                name="order_fill_within_quantity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.action} {self.quantity} {self.symbol}"


class Fill(models.Model):
    """One fill of an order, at the fill rule's price off the quote it records."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="fills")
    quantity = models.PositiveIntegerField()
    price = models.DecimalField(max_digits=12, decimal_places=4)
    bid = models.DecimalField(max_digits=12, decimal_places=4)
    ask = models.DecimalField(max_digits=12, decimal_places=4)
    quote_time = models.DateTimeField()
    commission = models.DecimalField(max_digits=10, decimal_places=2)
    regulatory_fees = models.DecimalField(
        max_digits=10, decimal_places=2, help_text="OCC + ORF + FINRA TAF + SEC fee."
    )
    filled_at = models.DateTimeField(help_text="Market time.")

    class Meta:
        ordering = ["filled_at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id} {self.quantity} @ {self.price}"


class PositionStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class StrategyPosition(models.Model):
    """A 0DTE strategy position (``pos_…``): the legs a trade opened, each a Position of
    the user's paper portfolio."""

    id = models.CharField(max_length=20, primary_key=True, default=position_id, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="strategy_positions"
    )
    trade = models.OneToOneField(Trade, on_delete=models.CASCADE, related_name="position")
    symbol = models.CharField(max_length=8)
    strategy = models.CharField(max_length=20)
    quantity = models.PositiveIntegerField(help_text="Open packages.")
    status = models.CharField(max_length=8, choices=PositionStatus.choices, default="open")
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    exit_reason = models.CharField(max_length=16, choices=ExitReason.choices, blank=True)
    realized_pnl = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        default=Decimal("0.00"),
        help_text="Dollars realized by the closes so far, net of their and the entry's fees.",
    )
    fees = models.DecimalField(
        max_digits=12, decimal_places=2, default=Decimal("0.00"), help_text="All fees paid."
    )
    settlement = models.JSONField(
        null=True,
        blank=True,
        help_text="Held to the close: the underlying's official close and each leg's outcome.",
    )

    class Meta:
        ordering = ["-opened_at"]
        indexes = [models.Index(fields=["user", "status"])]

    def __str__(self) -> str:
        return f"{self.id} {self.strategy} {self.symbol} ×{self.quantity} {self.status}"
