"""Dividends into the ledger (portfolios/dividends.py): paid on the ex-date for the shares
held at the close before it, shares × dividend per share, once, through the batch job."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from typing import Any

import pytest

from batch import services as batch_services
from batch.models import JobSource, JobStatus
from marketdata import services as md_services
from marketdata.models import AssetType, CorporateAction, Security
from portfolios import services
from portfolios.dividends import dividends_book
from portfolios.models import Portfolio, Transaction, TransactionKind

pytestmark = pytest.mark.django_db
EX = dt.date(2026, 11, 16)
TODAY = dt.date(2026, 11, 24)


@pytest.fixture
def book(make_user: Any) -> dict[str, Any]:
    Security.objects.update_or_create(
        symbol="KO", defaults={"asset_type": AssetType.STOCK, "name": "Coca-Cola"}
    )
    md_services.corporate_action_record(
        symbol="KO", action_type="DIVIDEND", ex_date=EX, amount=D("0.6116"), source="simulated"
    )
    owner = make_user(email="div@example.com")
    portfolio = services.portfolio_create(owner=owner, name="Income")
    other = services.portfolio_create(owner=make_user(email="other@example.com"), name="Other")

    def open_(p: Portfolio, qty: str, day: dt.date) -> Any:
        return services.position_open(
            portfolio=p, symbol="KO", quantity=D(qty), entry_price=D("60"), entry_date=day,
            today=TODAY,
        )  # fmt: skip

    long = open_(portfolio, "100", dt.date(2026, 10, 1))
    # Sold on the ex-date: still the holder of record at the close before it.
    services.position_close(
        position=long, quantity=D("40"), exit_price=D("61"), exit_date=EX, today=TODAY
    )
    short = open_(other, "-50", dt.date(2026, 11, 2))
    return {"portfolio": portfolio, "other": other, "long": long, "short": short}


def _dividends(portfolio: Portfolio) -> list[Transaction]:
    return list(portfolio.transactions.filter(kind=TransactionKind.DIVIDEND))


def test_dividends_pay_shares_held_times_dividend_per_share_once(book: dict[str, Any]) -> None:
    result = dividends_book(through=TODAY)
    assert result["transactions"] == 2
    [paid] = _dividends(book["portfolio"])
    assert (paid.trade_date, paid.quantity, paid.price) == (EX, D("100"), D("0.6116"))
    assert paid.amount == D("61.16")  # 100 × 0.6116
    assert paid.position_id == book["long"].id and "simulated" in paid.note
    [owed] = _dividends(book["other"])  # a short position pays the dividend
    assert (owed.quantity, owed.amount) == (D("-50"), D("-30.58"))
    assert result["cash"] == D("30.58")
    again = dividends_book(through=TODAY)
    assert again["transactions"] == 0
    assert Transaction.objects.filter(kind=TransactionKind.DIVIDEND).count() == 2


def test_no_dividend_before_the_ex_date_or_for_shares_bought_on_it(
    book: dict[str, Any],
) -> None:
    assert dividends_book(through=EX - dt.timedelta(days=1))["transactions"] == 0
    services.position_open(
        portfolio=book["portfolio"],
        symbol="KO",
        quantity=D("10"),
        entry_price=D("60"),
        entry_date=EX,
        today=TODAY,
    )  # fmt: skip  (adds a lot on the ex-date: not entitled)
    dividends_book(through=TODAY)
    [paid] = _dividends(book["portfolio"])
    assert paid.quantity == D("100")


def test_scope_limits_the_portfolios_written(book: dict[str, Any]) -> None:
    dividends_book(through=TODAY, portfolio_ids=[book["portfolio"].id])
    assert len(_dividends(book["portfolio"])) == 1 and _dividends(book["other"]) == []


def test_the_registered_job_books_dividends_idempotently(
    book: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.utils import timezone

    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: TODAY)
    for _ in range(2):
        job = batch_services.job_create(job_name="dividends_book", source=JobSource.API_TRIGGER)
        job = batch_services.job_run(job.id)
        assert job.status == JobStatus.COMPLETED, job.error_message
    assert Transaction.objects.filter(kind=TransactionKind.DIVIDEND).count() == 2
    assert CorporateAction.objects.get(security_id="KO").source == "simulated"


def test_the_schedule_starts_the_job_once_per_session(monkeypatch: pytest.MonkeyPatch) -> None:
    from django_celery_beat.models import PeriodicTask

    from portfolios import jobs

    entry = PeriodicTask.objects.get(task="portfolios.tasks.scheduled_dividends")
    assert entry.enabled and entry.crontab.hour == "18"
    monkeypatch.setattr(batch_services, "job_dispatch", lambda job: "test")
    now = dt.datetime(2026, 11, 24, 23, 45, tzinfo=dt.UTC)  # 18:45 ET, 2h45 after the close
    job = jobs.scheduled_dividends_start(now=now)
    assert job is not None and job.job_name == "dividends_book"
    assert job.metadata["session"] == "2026-11-24"
    assert jobs.scheduled_dividends_start(now=now) is None  # claimed once


def test_booking_reads_in_a_bounded_number_of_queries(
    book: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    """Four reads (dividends, positions, splits, trades), then per portfolio written: the lock,
    the already-booked check and one insert, inside a savepoint pair."""
    with django_assert_max_num_queries(4 + 2 * 5):
        assert dividends_book(through=TODAY)["transactions"] == 2


def test_a_split_before_the_ex_date_counts_in_the_shares_held(book: dict[str, Any]) -> None:
    """100 shares bought 2026-10-01, a 2:1 split on 2026-11-02 (applied to the position),
    40 sold on the ex-date: 200 shares were held at the close before it."""
    md_services.corporate_action_record(
        symbol="KO", action_type="SPLIT", ex_date=dt.date(2026, 11, 2), ratio=D("2"),
        source="test",
    )  # fmt: skip
    dividends_book(through=TODAY)
    [paid] = _dividends(book["portfolio"])
    assert (paid.quantity, paid.amount) == (D("200"), D("122.32"))  # 200 × 0.6116
    [owed] = _dividends(book["other"])  # opened on the split's ex-date: already post-split
    assert owed.quantity == D("-50")
