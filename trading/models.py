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
    """The halt ladder (NautilusTrader's trading states): ACTIVE trades normally;
    REDUCING accepts only orders that reduce or close positions; HALTED accepts no order
    from the user (the risk engine's own reduce-only exits excepted) and has no working
    order. Leaving REDUCING or HALTED is always an explicit resume."""

    ACTIVE = "ACTIVE", "Active"
    REDUCING = "REDUCING", "Reducing (only orders that reduce or close)"
    HALTED = "HALTED", "Halted (no new orders)"


#: The ladder's order: an automatic trigger only ever moves an account up it.
STATE_SEVERITY = {AccountState.ACTIVE: 0, AccountState.REDUCING: 1, AccountState.HALTED: 2}


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
    PARTIALLY_FILLED = "partially_filled", "Partially filled (the rest of an entry rests)"
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


class RemainderCancel(models.TextChoices):
    """Why the packages of an order beyond those filled were cancelled."""

    DISPLAYED_SIZE = "displayed_size", "Beyond the displayed size (TRADING_REMAINDER=cancel)"
    SIGNAL_EXPIRED = "signal_expired", "The signal expired or was superseded"
    TIME_EXIT = "time_exit", "The time exit came"
    HALTED = "halted", "The account left ACTIVE"
    CLOSING = "closing", "The position is being closed"
    INSUFFICIENT_FUNDS = "insufficient_funds", "The paper cash no longer covers it"
    SESSION_CLOSE = "session_close", "The session closed"


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
        help_text=(
            "A limit's package price per share: a close's (≥ to sell, ≤ to buy back); an "
            "entry's resting remainder's net (+ debit paid at most, − credit at least)."
        ),
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
        help_text="Packages asked for (beyond the displayed size: resting or cancelled).",
    )
    status = models.CharField(max_length=16, choices=TradeStatus.choices)
    remainder_cancelled = models.CharField(
        max_length=24,
        choices=RemainderCancel.choices,
        blank=True,
        help_text="Why the packages asked for beyond those filled were cancelled.",
    )
    remainder_cancelled_at = models.DateTimeField(null=True, blank=True, help_text="Market time.")
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


class RiskEventKind(models.TextChoices):
    TRANSITION = "transition", "Account state change"
    ORDER_CANCELLED = "order_cancelled", "Working order cancelled"
    PROTECTION = "protection", "Protection: new entries paused until lock_until"


class RiskTrigger(models.TextChoices):
    """Who or what caused a risk event."""

    MANUAL = "manual", "The owner or an admin"
    DAILY_LOSS_WARNING = "daily_loss_warning", "Daily loss at the warning share of the limit"
    DAILY_LOSS_LIMIT = "daily_loss_limit", "Daily loss at the limit"
    VIX_EMERGENCY = "vix_emergency", "The VIX at or above the emergency level"
    CORRELATION_BREAKDOWN = "correlation_breakdown", "The 20-bar SPY_QQQ correlation broke down"
    VOLUME_SPIKE = "volume_spike", "A minute's volume spiked against that minute's mean"
    STOP_LOSS_COOLDOWN = "stop_loss_cooldown", "Cooldown after a stop-loss exit"
    LOSS_STREAK = "loss_streak", "Pause after consecutive losing positions"


def risk_event_id() -> str:
    return _prefixed("risk")


class RiskEvent(models.Model):
    """The risk audit log (``GET /risk/audit``, the admin): each account-state transition
    (from, to, reason, the actor or the trigger, when) and each working order a transition
    cancelled. Written only by the trading services, never changed."""

    id = models.CharField(max_length=20, primary_key=True, default=risk_event_id, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="risk_events"
    )
    kind = models.CharField(max_length=16, choices=RiskEventKind.choices)
    state_from = models.CharField(max_length=8, choices=AccountState.choices)
    state_to = models.CharField(max_length=8, choices=AccountState.choices)
    reason = models.CharField(max_length=200, blank=True)
    trigger = models.CharField(max_length=24, choices=RiskTrigger.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who acted (the owner or an admin); empty for an automatic trigger.",
    )
    trade_id = models.CharField(max_length=20, blank=True, help_text="A cancelled order's trade.")
    order_id = models.CharField(max_length=20, blank=True, help_text="A cancelled order.")
    details = models.JSONField(default=dict, blank=True, help_text="The trigger's figures.")
    market_time = models.DateTimeField(null=True, blank=True)
    lock_until = models.DateTimeField(
        null=True, blank=True, help_text="A protection: no new entry before this market time."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at"]),
            models.Index(fields=["user", "kind", "-lock_until"]),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.kind} {self.state_from}→{self.state_to} ({self.trigger})"


class PnlPoint(models.Model):
    """One point of a user's intraday 0DTE P&L curve: the session's realized and
    unrealized P&L (``trading.selectors.session_pnl``) at one market minute, written by
    each pass of the monitor. ``GET /risk/metrics`` draws the intraday and the daily
    (each session's last point) curves from them for ``max_drawdown``."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pnl_points"
    )
    clock = models.CharField(max_length=8)
    session = models.DateField()
    market_time = models.DateTimeField()
    realized = models.DecimalField(max_digits=14, decimal_places=2)
    unrealized = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["user", "market_time"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "clock", "market_time"], name="one_pnl_point_per_minute"
            )
        ]
        indexes = [models.Index(fields=["user", "clock", "session"])]

    def __str__(self) -> str:
        return f"{self.user_id} {self.market_time} {self.realized}+{self.unrealized}"
