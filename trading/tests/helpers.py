"""Shared pieces of the trading tests."""

from __future__ import annotations

import threading
from typing import Any

from django.db import connection
from rest_framework.test import APIClient

from accounts.tokens import issue_for_new_session
from marketdata.clock import VirtualClock
from marketdata.producer import MarketProducer

#: The market minute of the trading fixtures: 11:30 ET.
MINUTE = 120


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
