"""Concurrent writes on PostgreSQL, with real threads (each its own connection, committing
for real): one open position per symbol, one default portfolio, no overspent cash."""

from __future__ import annotations

import concurrent.futures
import threading
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal as D
from typing import Any

import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from accounts.tokens import issue_for_new_session
from portfolios import services
from portfolios.models import Lot, Portfolio, Position, Transaction
from portfolios.tests.conftest import TODAY, YESTERDAY

pytestmark = pytest.mark.django_db(transaction=True)
THREADS = 20


@pytest.fixture(autouse=True)
def _today(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.utils import timezone

    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: TODAY)


@pytest.fixture
def slow(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Widen a race window: the named service step sleeps 50 ms after it ran, so without a
    lock every thread reads the same state before any of them writes."""

    def widen(name: str) -> None:
        real = getattr(services, name)

        def slowed(*args: Any, **kwargs: Any) -> Any:
            result = real(*args, **kwargs)
            time.sleep(0.05)
            return result

        monkeypatch.setattr(services, name, slowed)

    return widen


def _burst(user: Any, requests: list[Callable[[APIClient], Any]]) -> list[int]:
    """Run each request in its own thread at once (a barrier lines them up); status codes."""
    token = issue_for_new_session(user).access_token
    barrier = threading.Barrier(len(requests))

    def run(request: Callable[[APIClient], Any]) -> int:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        client.raise_request_exception = False
        try:
            barrier.wait(timeout=30)
            return int(request(client).status_code)
        finally:
            connection.close()

    with concurrent.futures.ThreadPoolExecutor(len(requests)) as pool:
        codes = list(pool.map(run, requests))
    connections.close_all()
    return codes


def _add(portfolio: Portfolio, quantity: int) -> Callable[[APIClient], Any]:
    body = {
        "symbol": "AAPL",
        "quantity": quantity,
        "entry_price": "150",
        "entry_date": YESTERDAY.isoformat(),
    }
    url = f"/api/v1/management/portfolios/{portfolio.id}/positions"
    return lambda client: client.post(url, body, format="json")


def test_concurrent_adds_of_a_new_symbol_leave_one_open_position(
    trader: Any, market: Any, slow: Callable[[str], None]
) -> None:
    slow("_validate_money")  # between the checks and the look-up of an open position
    portfolio = Portfolio.objects.get(owner=trader, is_default=True)
    codes = _burst(trader, [_add(portfolio, 1) for _ in range(THREADS)])
    assert codes == [201] * THREADS
    open_rows = list(Position.objects.filter(portfolio=portfolio, closed_at__isnull=True))
    assert len(open_rows) == 1 and open_rows[0].quantity == THREADS
    assert Lot.objects.filter(position=open_rows[0]).count() == THREADS
    assert Transaction.objects.filter(portfolio=portfolio).count() == THREADS


def test_concurrent_long_and_short_adds_never_open_both_sides(
    trader: Any, market: Any, slow: Callable[[str], None]
) -> None:
    slow("_validate_money")
    portfolio = Portfolio.objects.get(owner=trader, is_default=True)
    codes = _burst(trader, [_add(portfolio, 1 if i % 2 else -1) for i in range(THREADS)])
    assert set(codes) <= {201, 409} and 500 not in codes
    open_rows = list(Position.objects.filter(portfolio=portfolio, closed_at__isnull=True))
    assert len(open_rows) == 1  # one side only: the other side's adds were refused (409)
    side = open_rows[0]
    assert abs(side.quantity) == codes.count(201)
    assert Lot.objects.filter(position=side).count() == codes.count(201)
    assert Transaction.objects.filter(portfolio=portfolio).count() == codes.count(201)


def test_the_database_refuses_a_second_open_row(trader: Any, market: Any) -> None:
    """The partial unique constraint backs the lock up: a write that bypasses the service
    cannot open a second AAPL row, while a closed one may sit beside the open one."""
    from django.db import IntegrityError

    portfolio = Portfolio.objects.get(owner=trader, is_default=True)
    first = services.position_open(
        portfolio=portfolio, symbol="AAPL", quantity=D(1), entry_price=D(1), entry_date=TODAY
    )
    fields = {
        "portfolio": portfolio,
        "security_id": "AAPL",
        "position_type": "LONG",
        "quantity": D(1),
        "entry_price": D(1),
        "entry_date": TODAY,
    }
    with pytest.raises(IntegrityError):
        Position.objects.create(**fields)
    services.position_close(position=first, exit_price=D(2))
    Position.objects.create(**fields)  # the closed one no longer counts
    assert Position.objects.filter(portfolio=portfolio, security_id="AAPL").count() == 2


def test_concurrent_portfolio_creates_without_a_default_never_500(make_user: Any) -> None:
    user = make_user(role="trader", with_portfolio=False)
    assert not Portfolio.objects.filter(owner=user).exists()

    def create(i: int) -> Callable[[APIClient], Any]:
        body = {"name": f"Book {i}"}
        return lambda client: client.post("/api/v1/management/portfolios", body, format="json")

    codes = _burst(user, [create(i) for i in range(THREADS)])
    assert codes == [201] * THREADS
    portfolios = Portfolio.objects.filter(owner=user)
    assert portfolios.count() == THREADS
    assert Counter(portfolios.values_list("is_default", flat=True)) == {True: 1, False: THREADS - 1}


def test_concurrent_withdrawals_cannot_overspend(trader: Any, slow: Callable[[str], None]) -> None:
    slow("_cash_balance")  # between reading the balance and booking the withdrawal
    portfolio = Portfolio.objects.get(owner=trader, is_default=True)
    services.cash_transaction(portfolio=portfolio, kind="DEPOSIT", amount=D(100), trade_date=TODAY)
    url = f"/api/v1/management/portfolios/{portfolio.id}/cash"
    body = {"type": "WITHDRAWAL", "amount": "30"}
    codes = _burst(
        trader, [lambda client: client.post(url, body, format="json") for _ in range(THREADS)]
    )
    assert Counter(codes) == {201: 3, 422: THREADS - 3}  # 3 × 30 ≤ 100 < 4 × 30
    ledger = Transaction.objects.filter(portfolio=portfolio)
    assert sum(t.amount for t in ledger) == D(10)
    assert ledger.filter(kind="WITHDRAWAL").count() == 3
