"""Portfolios. A user may have several; one is their default."""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class PortfolioType(models.TextChoices):
    INDIVIDUAL = "INDIVIDUAL", "Individual"
    HNW = "HNW", "High net worth"
    HEDGE_FUND = "HEDGE_FUND", "Hedge-fund style"
    OTHER = "OTHER", "Other"


class PortfolioQuerySet(models.QuerySet["Portfolio"]):
    def active(self) -> PortfolioQuerySet:
        return self.filter(deleted_at__isnull=True)

    def owned_by(self, user: object) -> PortfolioQuerySet:
        return self.active().filter(owner=user)


class Portfolio(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portfolios"
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    currency = models.CharField(max_length=3, default="USD")
    portfolio_type = models.CharField(
        max_length=16, choices=PortfolioType.choices, default=PortfolioType.INDIVIDUAL
    )
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True, help_text="Soft delete.")

    objects = PortfolioQuerySet.as_manager()

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner"],
                condition=Q(is_default=True, deleted_at__isnull=True),
                name="one_default_portfolio_per_owner",
            ),
        ]
        indexes = [models.Index(fields=["owner", "deleted_at"])]

    def __str__(self) -> str:
        return self.name


class PositionType(models.TextChoices):
    LONG = "LONG", "Long stock/ETF/fund"
    SHORT = "SHORT", "Short stock/ETF/fund"
    LC = "LC", "Long call"
    LP = "LP", "Long put"
    SC = "SC", "Short call"
    SP = "SP", "Short put"


#: How the SigmaSight endpoints present a stored type (their examples show these four).
PRESENTED_TYPE: dict[str, str] = {
    PositionType.LONG: "LONG",
    PositionType.SHORT: "SHORT",
    PositionType.LC: "CALL",
    PositionType.SC: "CALL",
    PositionType.LP: "PUT",
    PositionType.SP: "PUT",
}

OPTION_TYPES = (PositionType.LC, PositionType.LP, PositionType.SC, PositionType.SP)


class PositionQuerySet(models.QuerySet["Position"]):
    def open(self) -> PositionQuerySet:
        return self.filter(closed_at__isnull=True)


class HeldPositionFacts:
    """What a position's stored columns say about it, for the model and for the book's
    plain rows (``portfolios.selectors.BookPosition``) alike: both carry ``security_id``,
    ``closed_at`` and ``position_type``."""

    __slots__ = ()
    security_id: str
    closed_at: dt.datetime | None
    position_type: str

    @property
    def symbol(self) -> str:
        return self.security_id

    @property
    def is_active(self) -> bool:
        return self.closed_at is None

    @property
    def is_option(self) -> bool:
        return self.position_type in OPTION_TYPES

    @property
    def presented_type(self) -> str:
        return PRESENTED_TYPE[self.position_type]


class Position(HeldPositionFacts, models.Model):
    """A holding. ``quantity`` is signed (negative = short); for options it counts
    contracts and ``multiplier`` (100) converts a per-share price into dollars."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    portfolio = models.ForeignKey(Portfolio, on_delete=models.CASCADE, related_name="positions")
    security = models.ForeignKey(
        "marketdata.Security",
        to_field="symbol",
        db_column="symbol",
        on_delete=models.PROTECT,
        related_name="positions",
    )
    position_type = models.CharField(max_length=5, choices=PositionType.choices)
    quantity = models.DecimalField(max_digits=20, decimal_places=6)
    multiplier = models.PositiveIntegerField(default=1)
    underlying_symbol = models.CharField(max_length=32, blank=True, null=True)
    strike = models.DecimalField(max_digits=14, decimal_places=3, null=True, blank=True)
    expiry = models.DateField(null=True, blank=True)
    entry_price = models.DecimalField(max_digits=20, decimal_places=6)
    entry_date = models.DateField()
    exit_price = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    exit_date = models.DateField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True, help_text="Soft close.")
    tags = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PositionQuerySet.as_manager()

    class Meta:
        ordering = ["portfolio", "created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(quantity=0) | Q(closed_at__isnull=False),
                name="position_quantity_nonzero",
            ),
            models.CheckConstraint(
                condition=Q(entry_price__gte=0), name="position_entry_price_nonnegative"
            ),
            # One open position per symbol and portfolio: adds go to it, the other side
            # is refused (409). The services lock the portfolio row; this is the backstop.
            models.UniqueConstraint(
                fields=["portfolio", "security"],
                condition=Q(closed_at__isnull=True),
                name="one_open_position_per_symbol",
            ),
        ]
        indexes = [models.Index(fields=["portfolio", "closed_at"])]

    def __str__(self) -> str:
        return f"{self.security_id} {self.quantity}"


class Lot(models.Model):
    """An opening trade still (partly) open; closing consumes lots first in, first out."""

    position = models.ForeignKey(Position, on_delete=models.CASCADE, related_name="lots")
    open_date = models.DateField()
    price = models.DecimalField(max_digits=20, decimal_places=6)
    quantity = models.DecimalField(max_digits=20, decimal_places=6, help_text="Signed, as opened.")
    remaining = models.DecimalField(
        max_digits=20, decimal_places=6, help_text="Signed, still open."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["open_date", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.position_id} {self.remaining}@{self.price}"


class TransactionKind(models.TextChoices):
    BUY = "BUY", "Buy"
    SELL = "SELL", "Sell"
    DEPOSIT = "DEPOSIT", "Deposit"
    WITHDRAWAL = "WITHDRAWAL", "Withdrawal"
    DIVIDEND = "DIVIDEND", "Dividend"
    FEE = "FEE", "Fee"


class Transaction(models.Model):
    """The cash ledger: ``amount`` is the signed cash flow (+ in, − out), fees included."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    portfolio = models.ForeignKey(Portfolio, on_delete=models.CASCADE, related_name="transactions")
    position = models.ForeignKey(
        Position, on_delete=models.SET_NULL, null=True, blank=True, related_name="transactions"
    )
    kind = models.CharField(max_length=16, choices=TransactionKind.choices)
    symbol = models.CharField(max_length=32, blank=True, null=True)
    quantity = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    price = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    fees = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    amount = models.DecimalField(max_digits=20, decimal_places=2)
    realized_pnl = models.DecimalField(max_digits=20, decimal_places=2, null=True, blank=True)
    trade_date = models.DateField()
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["trade_date", "created_at"]
        indexes = [models.Index(fields=["portfolio", "trade_date"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.symbol or ''} {self.amount}"
