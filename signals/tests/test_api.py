"""The signal endpoints: the spec's keys, filters, pagination, 422s that write nothing, the
trader permission on generation, a closed market said in the body, bounded queries, and a
``new_signal`` received on ``/ws/signals`` over the Redis channel layer from the cadence
job."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.tokens import issue_for_new_session
from batch import services as batch_services
from batch.models import BatchJob
from marketdata.clock import VirtualClock, use_clock
from marketdata.producer import MarketProducer
from sigmasight.asgi import application
from signals.jobs import on_market_minute
from signals.models import Signal, SignalCycle
from signals.services import signals_generate
from signals.tests.factories import SESSION, known_model, market_history
from tests.contract import ZERO_DTE, assert_error_envelope, assert_matches_example, spec_example


@pytest.fixture
def market(db: Any, settings: Any) -> Any:
    settings.MARKET_MINUTE_HISTORY_SESSIONS = 1
    market_history()
    known_model()
    yield
    cache.delete("market-producer:replay")


def _tick_through(clock: VirtualClock, last_minute: int) -> None:
    """Store the market up to ``last_minute`` (chains of the last few minutes only)."""
    producer = MarketProducer()
    clock.minute = last_minute - 31
    producer.tick()  # the minutes so far, once
    for minute in range(last_minute - 30, last_minute + 1):
        clock.minute = minute
        producer.tick()  # chain snapshots for the skew change
    producer.release()


def _generate(client: APIClient, clock: VirtualClock, **body: Any) -> Any:
    with use_clock(clock):
        return client.post("/api/v1/signals/generate", body, format="json")


def test_generate_answers_201_with_the_spec_keys_and_is_idempotent_per_minute(
    market: Any, auth_client: APIClient
) -> None:
    clock = VirtualClock(SESSION, minute=0)
    with use_clock(clock):
        _tick_through(clock, 120)
    first = _generate(auth_client, clock, symbols=["SPY", "QQQ", "IWM"], force_refresh=True)
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["generated"] == len(body["signals"]) == 3
    assert body["market_status"] == "open" and body["clock"] == "replay"
    for signal in body["signals"]:
        assert_matches_example(signal, spec_example(ZERO_DTE, "GET /signals/active")["signals"][0])
        assert signal["id"].startswith("sig_")
        if signal["expiration"] != SESSION.isoformat():  # a ticker without a 0DTE series
            assert any("nearest" in w for w in signal["warnings"]), signal["warnings"]
    again = _generate(auth_client, clock, symbols=["spy"])
    assert again.status_code == 201
    assert [s["id"] for s in again.json()["signals"]] == [body["signals"][0]["id"]]
    assert Signal.objects.count() == 3

    # min_confidence filters what is returned, never what is stored.
    with use_clock(clock):
        high = auth_client.post("/api/v1/signals/generate", {"min_confidence": 1.0}, format="json")
    assert high.json()["generated"] == 0 and Signal.objects.count() == 3


def test_active_filters_paginate_and_reject_bad_input(market: Any, auth_client: APIClient) -> None:
    clock = VirtualClock(SESSION, minute=0)
    with use_clock(clock):
        _tick_through(clock, 90)
        auth_client.post("/api/v1/signals/generate", {}, format="json")
        clock.minute = 91
        body = auth_client.get("/api/v1/signals/active?limit=2").json()
        assert body["pagination"]["total_items"] == 3 and len(body["signals"]) == 2
        assert body["pagination"]["has_next"] is True
        assert_matches_example(body, spec_example(ZERO_DTE, "GET /signals/active"))
        spy = auth_client.get("/api/v1/signals/active?symbol=spy").json()["signals"]
        assert [s["symbol"] for s in spy] == ["SPY"]
        strategy = spy[0]["strategy"]
        same = auth_client.get(f"/api/v1/signals/active?strategy_type={strategy}").json()
        assert {s["strategy"] for s in same["signals"]} == {strategy}
        floor = spy[0]["confidence"]
        above = auth_client.get(f"/api/v1/signals/active?confidence_min={floor}").json()
        assert all(s["confidence"] >= floor for s in above["signals"])

        bad_symbol = auth_client.get("/api/v1/signals/active?symbol=AAPL")
        assert bad_symbol.status_code == 422
        assert_error_envelope(bad_symbol.json(), code="INVALID_SYMBOL")
        assert bad_symbol.json()["error"]["details"]["supported_symbols"] == ["SPY", "QQQ", "IWM"]
        bad_strategy = auth_client.get("/api/v1/signals/active?strategy_type=covered_call")
        assert bad_strategy.status_code == 422
        assert_error_envelope(bad_strategy.json(), code="INVALID_STRATEGY")
        assert auth_client.get("/api/v1/signals/active?confidence_min=1.5").status_code == 422

        before = Signal.objects.count()
        for payload in ({"symbols": ["AAPL"]}, {"symbols": []}, {"min_confidence": 2}, {"nope": 1}):
            response = auth_client.post("/api/v1/signals/generate", payload, format="json")
            assert response.status_code == 422, payload
        assert Signal.objects.count() == before

        # After a newer signal of SPY, the older one is superseded, not active.
        clock.minute = 105
        newer = auth_client.post("/api/v1/signals/generate", {"symbols": ["SPY"]}, format="json")
        active = auth_client.get("/api/v1/signals/active?symbol=SPY").json()["signals"]
        assert [s["id"] for s in active] == [newer.json()["signals"][0]["id"]]


def test_detail_is_shared_by_all_users_and_unknown_ids_are_404(
    market: Any, auth_client: APIClient, make_user: Any
) -> None:
    clock = VirtualClock(SESSION, minute=0)
    with use_clock(clock):
        _tick_through(clock, 60)
        signal_id = auth_client.post(
            "/api/v1/signals/generate", {"symbols": ["IWM"]}, format="json"
        ).json()["signals"][0]["id"]
    viewer = make_user(role="viewer")
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_for_new_session(viewer).access_token}")
    body = other.get(f"/api/v1/signals/{signal_id}").json()
    assert_matches_example(body, spec_example(ZERO_DTE, "GET /signals/{signal_id}"))
    legs = body["execution_plan"]["legs"]
    for leg in legs:  # estimated at the side the leg trades against
        assert leg["estimated_price"] == (leg["ask"] if leg["action"] == "buy" else leg["bid"])
    assert len(body["analysis"]["features"]) == 10
    missing = other.get("/api/v1/signals/sig_000000000000")
    assert missing.status_code == 404
    assert_error_envelope(missing.json(), code="NOT_FOUND")
    # A viewer reads but may not generate.
    with use_clock(clock):
        denied = other.post("/api/v1/signals/generate", {}, format="json")
    assert denied.status_code == 403
    assert APIClient().get("/api/v1/signals/active").status_code == 401


def test_a_closed_market_generates_nothing_and_says_so(market: Any, auth_client: APIClient) -> None:
    closed = VirtualClock(SESSION, minute=400)
    response = _generate(auth_client, closed)
    assert response.status_code == 200
    body = response.json()
    assert body["generated"] == 0 and body["market_status"] == "closed"
    assert any("market closed" in w for w in body["warnings"])
    assert Signal.objects.count() == 0


def test_active_and_detail_read_in_bounded_queries(market: Any, auth_client: APIClient) -> None:
    clock = VirtualClock(SESSION, minute=0)
    with use_clock(clock):
        _tick_through(clock, 75)
        ids = [
            s["id"]
            for s in auth_client.post("/api/v1/signals/generate", {}, format="json").json()[
                "signals"
            ]
        ]
        counts = []
        for path in ("/api/v1/signals/active", f"/api/v1/signals/{ids[0]}"):
            with CaptureQueriesContext(connection) as queries:
                assert auth_client.get(path).status_code == 200
            counts.append(len(queries))
    assert counts[0] <= 8 and counts[1] <= 8, counts


def test_the_cadence_claims_each_minute_once(market: Any, settings: Any) -> None:
    at = VirtualClock(SESSION, minute=settings.SIGNAL_FIRST_MINUTE).read()
    first = on_market_minute(None, at=at)
    assert first is not None and on_market_minute(None, at=at) is None
    assert SignalCycle.objects.count() == 1 and BatchJob.objects.filter(pk=first).exists()
    off_grid = VirtualClock(SESSION, minute=settings.SIGNAL_FIRST_MINUTE + 1).read()
    assert on_market_minute(None, at=off_grid) is None
    fit = VirtualClock(SESSION, minute=settings.SIGNAL_FIRST_MINUTE, name="fit").read()
    assert on_market_minute(None, at=fit) is None  # the model fit's replays start no job


@pytest.mark.django_db(transaction=True)
def test_a_signals_socket_receives_new_signal_from_the_cadence_job(
    trader: Any, settings: Any
) -> None:
    assert (
        "Redis" in django_settings.CHANNEL_LAYERS["default"]["BACKEND"] or django_settings.EMBEDDED
    )
    settings.MARKET_MINUTE_HISTORY_SESSIONS = 0
    market_history()
    known_model()
    token = issue_for_new_session(trader).access_token
    clock = VirtualClock(SESSION, minute=0)

    def cycle_job() -> list[str]:
        _tick_through(clock, settings.SIGNAL_FIRST_MINUTE - 1)
        clock.minute = settings.SIGNAL_FIRST_MINUTE
        job_id = on_market_minute(None, at=clock.read())  # autocommit: dispatched to the broker
        job = BatchJob.objects.get(pk=job_id)
        batch_services.job_run(job.pk)  # the worker's part, run here
        return BatchJob.objects.get(pk=job_id).metadata["result"]["signals"]

    async def scenario() -> None:
        communicator = WebsocketCommunicator(application, f"/ws/signals?token={token}")
        connected, _ = await communicator.connect(timeout=5)
        assert connected
        hello = await communicator.receive_json_from(timeout=5)
        assert hello["type"] == "connected"
        ids = await database_sync_to_async(cycle_job)()
        received = [await communicator.receive_json_from(timeout=5) for _ in ids]
        assert {m["data"]["id"] for m in received} == set(ids)
        for message in received:
            assert message["type"] == "new_signal"
            assert {"id", "symbol", "confidence", "strategy", "generated_at"} <= set(
                message["data"]
            )
        await communicator.disconnect()

    settings.CELERY_TASK_ALWAYS_EAGER = False
    with use_clock(clock):
        asyncio.run(scenario())
    cache.delete("market-producer:replay")


def test_a_replay_that_starts_its_session_again_generates_afresh(market: Any) -> None:
    """The second loop of a repeating replay drops the first loop's signals and claims,
    so its cadence minutes generate again (they were all claimed before)."""
    clock = VirtualClock(SESSION, minute=0)
    with use_clock(clock):
        _tick_through(clock, 120)
        signals_generate(at=clock.read(), symbols=["SPY"], trigger="manual")
        first = set(Signal.objects.filter(clock="replay").values_list("id", flat=True))
        assert first and SignalCycle.objects.filter(minute=120).exists()
        clock.minute = 30  # the replay starts again
        on_market_minute(None, at=clock.read())
        assert not Signal.objects.filter(id__in=first).exists()
        assert list(SignalCycle.objects.values_list("minute", flat=True)) == [30]
        clock.minute = 45  # the loop goes on: nothing more is dropped
        on_market_minute(None, at=clock.read())
    assert sorted(SignalCycle.objects.values_list("minute", flat=True)) == [30, 45]


def test_a_signal_cycle_of_three_tickers_reads_each_thing_once(market: Any) -> None:
    """The cycle's reads are shared: one VIX reading, one read of the three tickers'
    recent minutes for the correlations, the chains' reference data once, the last prices
    from the session's minutes already read, the skew's earlier snapshots in one query."""
    clock = VirtualClock(SESSION, minute=0)
    with use_clock(clock):
        _tick_through(clock, 75)
    with CaptureQueriesContext(connection) as queries:
        signals, warnings = signals_generate(at=clock.read(), trigger="test")
    assert len(signals) == 3, warnings
    # (The test's transaction makes each signal's atomic block a savepoint: not counted.)
    sql = [q["sql"] for q in queries if "SAVEPOINT" not in q["sql"]]
    assert len(sql) <= 22, "\n".join(s[:120] for s in sql)
    reads = [q.split(" FROM ")[1].split()[0] for q in sql if q.startswith("SELECT")]
    assert reads.count('"marketdata_listedexpiry"') == 2
    assert reads.count('"marketdata_chainsnapshot"') == 1
    assert reads.count('"marketdata_security"') == 1
    assert reads.count('"marketdata_pricebar"') == 1
