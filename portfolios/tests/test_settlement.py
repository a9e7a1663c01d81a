"""Option settlement at expiry, against hand-computed values (issue 11's acceptance test):
an ITM long call exercised, an ITM short put assigned into an existing short stock
position, OTM options (and one ITM by less than $0.01) expiring worthless, and a VIX call
cash-settled on the expiry morning's open. Running again changes nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from typing import Any

import pytest
from django.utils import timezone

from batch.models import BatchJob, JobSource, JobStatus
from batch.services import job_create, job_run
from marketdata import calendar
from marketdata.models import AssetType, PriceBar, Security
from portfolios import services
from portfolios.jobs import SETTLEMENT_JOB
from portfolios.models import Lot, Portfolio, Position, Transaction
from portfolios.settlement import due_option_positions, options_settle

pytestmark = pytest.mark.django_db

EXPIRY = dt.date(2026, 11, 20)  # the November 2026 monthly (a Friday session)
VIX_EXPIRY = dt.date(2026, 11, 18)  # the VIX monthly: 2026-12-18 minus 30 days
BOOKED = dt.date(2026, 11, 9)
LONG_CALL = "AAPL261120C00150000"
SHORT_PUT = "SPY261120P00560000"
OTM_PUT = "AAPL261120P00140000"
PENNY_CALL = "AAPL261120C00159995"  # ITM by $0.005 at the 160.00 close: not exercised
VIX_CALL = "VIX261118C00018000"
AFTER_CLOSE = calendar.session_close_utc(EXPIRY) + dt.timedelta(minutes=15)


def _bar(symbol: str, day: dt.date, close: str, open_: str | None = None) -> None:
    PriceBar.objects.create(
        security_id=symbol,
        date=day,
        open=D(open_ or close),
        high=D(close),
        low=D(close),
        close=D(close),
        adj_close=D(close),
        source="test",
    )


@pytest.fixture
def book(db: None, trader: Any) -> Portfolio:
    Security.objects.create(symbol="AAPL", asset_type=AssetType.STOCK, name="Apple")
    Security.objects.create(symbol="SPY", asset_type=AssetType.ETF, name="SPY")
    Security.objects.create(symbol="^VIX", asset_type=AssetType.INDEX, name="VIX")
    _bar("AAPL", EXPIRY, "160.00")
    _bar("SPY", EXPIRY, "550.00")
    # The VIX opened at 21.35 on its expiry morning and closed at 19.00: the open settles.
    _bar("^VIX", VIX_EXPIRY, "19.00", open_="21.35")
    portfolio = services.portfolio_create(owner=trader, name="Book")
    services.cash_transaction(
        portfolio=portfolio, kind="DEPOSIT", amount=D("100000"), trade_date=BOOKED
    )
    for symbol, quantity, price in (
        ("SPY", -40, "540"),  # short stock the put assignment first covers
        (LONG_CALL, 2, "12.00"),
        (SHORT_PUT, -1, "6.50"),
        (OTM_PUT, 3, "1.25"),
        (PENNY_CALL, -1, "0.50"),
        (VIX_CALL, 10, "1.10"),
    ):
        services.position_open(
            portfolio=portfolio,
            symbol=symbol,
            quantity=D(quantity),
            entry_price=D(price),
            entry_date=BOOKED,
            today=dt.date(2026, 11, 10),
        )
    return portfolio


def _cash(portfolio: Portfolio) -> D:
    return sum((t.amount for t in Transaction.objects.filter(portfolio=portfolio)), D(0))


def _state(portfolio: Portfolio) -> Any:
    return (
        sorted(
            Position.objects.filter(portfolio=portfolio).values_list(
                "security_id", "quantity", "entry_price", "closed_at", "exit_price", "exit_date"
            )
        ),
        Transaction.objects.filter(portfolio=portfolio).count(),
        sorted(Lot.objects.filter(position__portfolio=portfolio).values_list("price", "remaining")),
        _cash(portfolio),
    )


def test_settlement_over_a_session_close_books_hand_computed_values(book: Portfolio) -> None:
    cash_before = _cash(book)
    # Hand-computed cash before: 100000 + 40×540 − 2×12×100 + 650 − 3×1.25×100 + 50 − 10×110
    assert cash_before == D("100000") + D("21600") - D("2400") + D("650") - D("375") + D("50") - D(
        "1100"
    )
    # Before the VIX open nothing is due; after it only the VIX call; after the close all.
    assert due_option_positions(now=calendar.session_open_utc(VIX_EXPIRY) - dt.timedelta(1)) == []
    morning = calendar.session_open_utc(VIX_EXPIRY) + dt.timedelta(minutes=5)
    assert [p.security_id for p, _ in due_option_positions(now=morning)] == [VIX_CALL]

    result = options_settle(now=AFTER_CLOSE)
    assert result["due"] == 5 and result["settled"] == 5 and result["warnings"] == []
    outcomes = {r["symbol"]: r for r in result["settlements"]}
    assert {s: r["outcome"] for s, r in outcomes.items()} == {
        LONG_CALL: "exercised",
        SHORT_PUT: "assigned",
        OTM_PUT: "expired_worthless",
        PENNY_CALL: "expired_worthless",
        VIX_CALL: "cash_settled",
    }
    # Realized P&L per settlement, by hand:
    #   long call: premium 2 × 100 × 12.00 paid           → −2400.00, receives 200 AAPL at 150
    #   short put: premium 1 × 100 × 6.50 kept            → +650.00; buys 100 SPY at 560: covers
    #              the 40 short at 540 (−40 × 20 = −800.00) and opens 60 long at 560
    #   OTM put: 3 × 100 × 1.25 lost                      → −375.00
    #   penny call (ITM 0.005 < 0.01): premium kept       → +50.00
    #   VIX call: intrinsic 21.35 − 18 = 3.35 on the open → 10 × 100 × (3.35 − 1.10) = +2250.00
    assert {s: D(r["realized_pnl"]) for s, r in outcomes.items()} == {
        LONG_CALL: D("-2400.00"),
        SHORT_PUT: D("650.00") + D("-800.00"),
        OTM_PUT: D("-375.00"),
        PENNY_CALL: D("50.00"),
        VIX_CALL: D("2250.00"),
    }
    # Cash flows: 200 × 150 paid; 100 × 560 paid; nothing; nothing; 10 × 100 × 3.35 received.
    assert {s: D(r["cash"]) for s, r in outcomes.items()} == {
        LONG_CALL: D("-30000.00"),
        SHORT_PUT: D("-56000.00"),
        OTM_PUT: D("0.00"),
        PENNY_CALL: D("0.00"),
        VIX_CALL: D("3350.00"),
    }
    assert outcomes[VIX_CALL]["session"] == "2026-11-18"
    assert outcomes[VIX_CALL]["settlement_price"] == "21.350000"
    assert _cash(book) == cash_before - D("30000") - D("56000") + D("3350")

    # Every option is closed, at 0 (physical and worthless) or at intrinsic (cash).
    options = {p.security_id: p for p in Position.objects.filter(portfolio=book, multiplier=100)}
    assert all(p.closed_at is not None for p in options.values())
    assert {s: p.exit_price for s, p in options.items()} == {
        LONG_CALL: D(0),
        SHORT_PUT: D(0),
        OTM_PUT: D(0),
        PENNY_CALL: D(0),
        VIX_CALL: D("3.35"),
    }
    assert options[VIX_CALL].exit_date == VIX_EXPIRY and options[LONG_CALL].exit_date == EXPIRY
    assert all(lot.remaining == 0 for lot in Lot.objects.filter(position__multiplier=100))
    # The stock: 200 AAPL long at 150; the SPY short closed, 60 SPY long at 560.
    stock = Position.objects.filter(portfolio=book, multiplier=1, closed_at__isnull=True)
    assert sorted(stock.values_list("security_id", "quantity", "entry_price", "position_type")) == [
        ("AAPL", D(200), D(150), "LONG"),
        ("SPY", D(60), D(560), "LONG"),
    ]
    old_short = Position.objects.get(portfolio=book, security_id="SPY", closed_at__isnull=False)
    assert old_short.exit_price == D(560) and old_short.exit_date == EXPIRY
    # The ledger says what happened (the audit trail).
    notes = list(
        Transaction.objects.filter(portfolio=book, trade_date__gte=VIX_EXPIRY).values_list(
            "note", flat=True
        )
    )
    assert sum("exercised" in n for n in notes) == 2  # the option row and the shares row
    assert sum("assigned" in n for n in notes) == 3  # option, covering the short, the rest
    assert sum("expired worthless" in n for n in notes) == 2
    assert sum("cash settlement" in n and "opening value 21.35" in n for n in notes) == 1
    total_realized = sum(
        (t.realized_pnl or D(0) for t in Transaction.objects.filter(portfolio=book)), D(0)
    )
    assert total_realized == D("-2400") + D("-150") - D("375") + D("50") + D("2250")

    # Running again books nothing.
    state = _state(book)
    again = options_settle(now=AFTER_CLOSE + dt.timedelta(hours=3))
    assert again["due"] == 0 and again["settled"] == 0
    assert _state(book) == state


def test_a_missing_close_is_not_guessed(book: Portfolio) -> None:
    PriceBar.objects.filter(security_id="AAPL").delete()
    result = options_settle(now=AFTER_CLOSE)
    assert result["settled"] == 2  # the SPY put and the VIX call
    assert sorted(result["warnings"]) == [
        f"{symbol}: no AAPL close stored for 2026-11-20; not settled yet"
        for symbol in sorted([LONG_CALL, OTM_PUT, PENNY_CALL])
    ]
    assert Position.objects.filter(security_id=LONG_CALL, closed_at__isnull=True).exists()


def test_the_settlement_job_is_recorded_and_idempotent(book: Portfolio) -> None:
    assert timezone.now() > AFTER_CLOSE  # the job runs on the wall clock
    first = job_run(job_create(job_name=SETTLEMENT_JOB, source=JobSource.API_TRIGGER).pk)
    assert first.status == JobStatus.COMPLETED, first.metadata
    assert first.metadata["result"]["settled"] == 5
    state = _state(book)
    second = job_run(job_create(job_name=SETTLEMENT_JOB, source=JobSource.API_TRIGGER).pk)
    assert second.status == JobStatus.COMPLETED and second.metadata["result"]["settled"] == 0
    assert _state(book) == state
    assert BatchJob.objects.filter(job_name=SETTLEMENT_JOB).count() == 2


def test_beat_entries_start_the_job_only_when_an_option_is_due(
    eager_celery: None, trader: Any
) -> None:
    from django_celery_beat.models import PeriodicTask

    from portfolios.tasks import scheduled_option_settlement

    entries = PeriodicTask.objects.filter(task="portfolios.tasks.scheduled_option_settlement")
    assert sorted((e.crontab.hour, e.crontab.minute) for e in entries) == [
        ("13", "15"),
        ("16", "15"),
        ("9", "45"),
    ]
    assert all(e.crontab.day_of_week == "1-5" and e.enabled for e in entries)
    assert scheduled_option_settlement() == {"started": False, "job_id": None}
    assert not BatchJob.objects.exists()


def test_the_beat_task_settles_a_due_book(
    eager_celery: None, book: Portfolio, django_capture_on_commit_callbacks: Any
) -> None:
    from portfolios.tasks import scheduled_option_settlement

    with django_capture_on_commit_callbacks(execute=True):  # the job is sent on commit
        result = scheduled_option_settlement()
    assert result["started"] is True
    job = BatchJob.objects.get(pk=result["job_id"])
    assert job.metadata["source"] == JobSource.SCHEDULED_JOB
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED, job.metadata
    assert not Position.objects.filter(portfolio=book, multiplier=100, closed_at=None).exists()


def test_the_job_fetches_a_missing_expiry_bar_before_settling(
    book: Portfolio, monkeypatch: pytest.MonkeyPatch, django_assert_max_num_queries: Any
) -> None:
    """Just after the close the session's bar may not be stored yet: the scheduled path asks
    the market-data update for exactly the underlyings that lack it, then settles."""
    from portfolios import settlement

    PriceBar.objects.filter(security_id="AAPL").delete()
    asked: list[list[str]] = []

    def update(*, symbols: list[str]) -> dict[str, Any]:
        asked.append(symbols)
        _bar("AAPL", EXPIRY, "160.00")
        return {}

    monkeypatch.setattr(settlement.marketdata_services, "market_data_update", update)
    with django_assert_max_num_queries(2):
        assert len(due_option_positions(now=AFTER_CLOSE)) == 5
    result = options_settle(now=AFTER_CLOSE, refresh_missing=True)
    assert asked == [["AAPL"]]
    assert result["settled"] == 5 and result["warnings"] == []


def test_an_index_option_settles_in_cash_on_the_close(book: Portfolio) -> None:
    """SPX (stored as ^GSPC): the 5800 call with the index closing at 5900.50 pays the
    intrinsic 100.50 × 100 = 10050.00 in cash; bought at 80.00, it realizes 2050.00."""
    Security.objects.create(symbol="^GSPC", asset_type=AssetType.INDEX, name="S&P 500")
    _bar("^GSPC", EXPIRY, "5900.50")
    services.position_open(
        portfolio=book,
        symbol="SPX261120C05800000",
        quantity=D(1),
        entry_price=D("80.00"),
        entry_date=BOOKED,
        today=dt.date(2026, 11, 10),
    )
    stock_before = Position.objects.filter(portfolio=book, multiplier=1).count()
    result = options_settle(now=AFTER_CLOSE)
    spx = next(r for r in result["settlements"] if r["symbol"] == "SPX261120C05800000")
    assert spx["outcome"] == "cash_settled" and spx["settlement_style"] == "index_cash"
    assert (D(spx["cash"]), D(spx["realized_pnl"]), D(spx["shares"])) == (
        D("10050.00"),
        D("2050.00"),
        D(0),
    )
    position = Position.objects.get(security_id="SPX261120C05800000")
    assert position.closed_at is not None and position.exit_price == D("100.50")
    # No shares change hands for it (the two new stock rows are the AAPL and SPY legs).
    assert Position.objects.filter(portfolio=book, multiplier=1).count() == stock_before + 2
