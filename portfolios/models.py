"""Portfolios. A user may have several; one is their default."""

from __future__ import annotations

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
