"""Shared pieces of the trading tests."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from typing import Any

from django.db import connection
from rest_framework.test import APIClient

from accounts.tokens import issue_for_new_session
from marketdata.clock import VirtualClock, use_clock
from marketdata.models import ChainSnapshot
from marketdata.producer import MarketProducer
from portfolios.selectors import cash_balance, portfolio_for_user
from signals.models import Signal
from trading.models import TradingAccount

#: The market minute of the trading fixtures: 11:30 ET.
MINUTE = 120

POSITIONS = "/api/v1/trading/positions"


def store_market(clock: VirtualClock, last_minute: int) -> None:
    """Tick the producer through the 31 minutes up to ``last_minute`` (bars and chains)."""
    producer = MarketProducer()
    clock.minute = last_minute - 31
    producer.tick()
    for minute in range(last_minute - 30, last_minute + 1):
        clock.minute = minute
        producer.tick()
    producer.release()


def client_for(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_for_new_session(user).access_token}")
    client.user = user  # type: ignore[attr-defined]
    return client


def concurrently(calls: list[Any]) -> list[Any]:
    """Run ``calls`` on as many threads released together; their results or exceptions."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except Exception as exc:  # the refusals are results here
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def strikes_of(clock: VirtualClock) -> list[float]:
    snapshot = ChainSnapshot.objects.filter(symbol="SPY", timestamp__lte=clock.read().now).latest(
        "timestamp"
    )
    strikes = sorted(r["strike"] for r in snapshot.calls)
    assert len(strikes) >= 21, strikes
    return strikes


def set_quotes(
    clock: VirtualClock, quotes: dict[tuple[str, float], tuple[str, str]], *, seconds: int = 0
) -> None:
    """Make the SPY chain at the clock's minute (``seconds`` into it) quote
    ``(right, strike) → (bid, ask)``."""
    now = clock.read().now + dt.timedelta(seconds=seconds)
    latest = ChainSnapshot.objects.filter(symbol="SPY", timestamp__lte=now).latest("timestamp")
    if latest.timestamp != now:
        latest.pk = None
        latest.timestamp = now
    for (right, strike), (bid, ask) in quotes.items():
        rows = latest.calls if right == "call" else latest.puts
        row = next(r for r in rows if r["strike"] == strike)
        row["bid"], row["ask"] = float(bid), float(ask)
    latest.save()


def legs_signal(signal: Signal, strategy: str, legs: list[tuple[str, str, float]]) -> Signal:
    signal.strategy = strategy
    signal.legs = [{"action": a, "option_type": t, "strike": k, "quantity": 1} for a, t, k in legs]
    signal.save(update_fields=["strategy", "legs"])
    return signal


def at_minute(clock: VirtualClock, minute: int) -> VirtualClock:
    clock.minute = minute
    return clock


def execute_over_http(
    client: APIClient, clock: VirtualClock, signal: Signal, size: int
) -> dict[str, Any]:
    with use_clock(clock):
        response = client.post(
            "/api/v1/trading/execute",
            {"signal_id": signal.id, "position_size": size},
            format="json",
        )
    assert response.status_code == 201, response.content
    return response.json()


def close_over_http(
    client: APIClient, clock: VirtualClock, position_id: str, body: dict[str, Any] | None = None
) -> Any:
    with use_clock(clock):
        return client.post(f"/api/v1/trading/close/{position_id}", body or {}, format="json")


def open_positions_over_http(
    client: APIClient, clock: VirtualClock, status: str = "open"
) -> dict[str, Any]:
    with use_clock(clock):
        response = client.get(POSITIONS, {"status": status})
    assert response.status_code == 200, response.content
    return response.json()


def cash_of(user: Any) -> Decimal:
    account = TradingAccount.objects.get(user=user)
    return cash_balance(
        portfolio=portfolio_for_user(user=user, portfolio_id=account.paper_portfolio_id)
    )
