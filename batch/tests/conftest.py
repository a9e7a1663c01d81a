"""Batch test fixtures: admin clients, fake steps, eager Celery and a small priced book."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal as D
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tokens import issue_for_new_session
from batch import registry
from batch.models import BatchJob
from batch.services import JobContext
from risk.jobs import FULL_CHAIN

RISK_STEPS = [name for name in FULL_CHAIN if name != "market_data_update"]


def client_for(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_for_new_session(user).access_token}")
    client.user = user  # type: ignore[attr-defined]
    return client


@pytest.fixture
def admin_user(make_user: Callable[..., Any]) -> Any:
    return make_user(role="admin")


@pytest.fixture
def admin_client(admin_user: Any) -> APIClient:
    return client_for(admin_user)


def fast_step(ctx: JobContext, *, portfolio_ids: Any) -> dict[str, Any]:
    """Three items, one of which fails; returns a date to check JSON conversion."""
    for index in ctx.items(["a", "b", "c"]):
        if index == "b":
            ctx.item_failed("b is broken")
    return {"items": 3, "as_of": dt.date(2026, 11, 24), "portfolio_ids": portfolio_ids}


def failing_step(ctx: JobContext, *, portfolio_ids: Any) -> dict[str, Any]:
    for item in ctx.items(range(10)):
        if item == 4:
            raise ZeroDivisionError("division by zero in item 4")
    return {}


@pytest.fixture
def fake_chain(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Every job of the chain replaced by ``fast_step`` (tests override single entries)."""
    for name in FULL_CHAIN:
        monkeypatch.setitem(registry.JOB_STEPS, name, fast_step)
    monkeypatch.setitem(registry.JOB_STEPS, "data_quality_refresh", fast_step)
    return registry.JOB_STEPS


def make_job(
    *,
    job_name: str = "market_data_update",
    status: str = "completed",
    created_at: dt.datetime | None = None,
    duration: float | None = 60.0,
    error: str | None = None,
    portfolio: Any = None,
    **fields: Any,
) -> BatchJob:
    """A job row as history would leave it (no run)."""
    import secrets

    created = created_at or timezone.now()
    started = created if status != "pending" else None
    finished = status in ("completed", "failed", "cancelled")
    return BatchJob.objects.create(
        id=f"job_{created:%Y%m%d_%H%M%S}_{job_name}_{secrets.token_hex(2)}",
        job_name=job_name,
        status=status,
        portfolio=portfolio,
        created_at=created,
        started_at=started,
        completed_at=created + dt.timedelta(seconds=duration or 0) if finished else None,
        duration_seconds=duration if finished else None,
        error_message=error,
        metadata={
            "source": "scheduled_job",
            "calculation_engines": registry.ENGINES.get(job_name, []),
            "retry_count": 0,
            "celery_task_id": None,
            **fields.pop("metadata", {}),
        },
        **fields,
    )


@pytest.fixture
def priced_book(admin_user: Any, db: None) -> Any:
    """The admin's default portfolio holding AAPL (priced, full year of bars), XOM (priced,
    a few bars) and ZZZT (no price at all)."""
    from marketdata import calendar
    from marketdata.models import AssetType, PriceBar, Quote, Security
    from portfolios.models import Portfolio, Position

    last = calendar.last_completed_session(timezone.now())
    sessions = calendar.sessions_between(last - dt.timedelta(days=400), last)[-252:]
    portfolio = Portfolio.objects.get(owner=admin_user, is_default=True)
    for symbol, days in (("AAPL", sessions), ("XOM", sessions[-5:]), ("ZZZT", [])):
        security, _ = Security.objects.update_or_create(
            symbol=symbol, defaults={"asset_type": AssetType.STOCK, "name": symbol}
        )
        PriceBar.objects.bulk_create(
            [
                PriceBar(
                    security=security, date=d, close=D("100"), adj_close=D("100"), source="test"
                )
                for d in days
            ]
        )
        if days:
            Quote.objects.update_or_create(
                security=security,
                defaults={
                    "last": D("101"),
                    "timestamp": calendar.session_close_utc(last),
                    "source": "test",
                },
            )
        Position.objects.create(
            portfolio=portfolio,
            security=security,
            position_type="LONG",
            quantity=D(10),
            entry_price=D(90),
            entry_date=sessions[0],
        )
    return portfolio
