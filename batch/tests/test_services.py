"""The job runner: lifecycle, progress, cancellation, retries, the chain and the schedule."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import time
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import DataError, connections
from django.utils import timezone

from accounts.tokens import issue_for_new_session
from batch import registry, selectors, services
from batch.apps import _registry_check
from batch.models import BatchJob, JobSource
from batch.tests.conftest import RISK_STEPS, failing_step, fast_step
from marketdata.providers.base import ProviderError
from risk.jobs import FULL_CHAIN
from sigmasight.errors import Conflict, NotFound, ValidationFailed

pytestmark = pytest.mark.django_db

ET = dt.timezone(dt.timedelta(hours=-5))  # New York in November (EST)


def _create(job_name: str = "market_data_update", **kwargs: Any) -> BatchJob:
    return services.job_create(job_name=job_name, source=JobSource.API_TRIGGER, **kwargs)


def test_job_id_has_the_documented_form_and_the_job_starts_pending() -> None:
    job = _create()
    assert re.fullmatch(r"job_\d{8}_\d{6}_market_data_update_[0-9a-f]{4}", job.pk)
    assert job.status == "pending"
    assert job.metadata == {
        "source": "api_trigger",
        "calculation_engines": ["market_data"],
        "retry_count": 0,
        "celery_task_id": None,
    }


def test_two_jobs_created_in_the_same_second_get_different_ids() -> None:
    ids = {_create().pk for _ in range(20)}
    assert len(ids) == 20


def test_completed_job_records_counts_duration_and_result() -> None:
    job = services.job_run(_create().pk, fast_step)
    assert job.status == "completed"
    assert (job.processed_items, job.successful_items, job.failed_items) == (3, 2, 1)
    assert job.total_items == 3
    assert job.started_at and job.completed_at and job.duration_seconds is not None
    assert job.error_message is None
    assert job.metadata["result"] == {"items": 3, "as_of": "2026-11-24", "portfolio_ids": None}
    assert job.metadata["item_errors"] == ["market_data_update: b is broken"]


def test_portfolio_job_passes_its_portfolio_to_the_step(admin_user: Any) -> None:
    portfolio = admin_user.portfolios.get()
    job = services.job_run(_create(portfolio=portfolio).pk, fast_step)
    assert job.metadata["result"]["portfolio_ids"] == [str(portfolio.pk)]


def test_failed_job_keeps_the_error_message_and_the_counts_so_far() -> None:
    job = services.job_run(_create().pk, failing_step)
    assert job.status == "failed"
    assert job.error_message == "division by zero in item 4"
    assert "Traceback" not in job.error_message
    assert job.processed_items == 4


def test_a_chain_naming_an_unregistered_job_is_a_start_up_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What used to be a skipped step at run time is a configuration error at start-up."""
    monkeypatch.setitem(registry.CHAINS, "broken_chain", ("market_data_update", "no_such_job"))
    assert registry.problems() == [
        "chain 'broken_chain' runs 'no_such_job', which no app registered"
    ]
    with pytest.raises(ImproperlyConfigured, match="no_such_job"):
        registry.check()
    messages = _registry_check()
    assert [m.id for m in messages] == ["batch.E001"]


def test_the_shipped_registry_has_no_problem() -> None:
    assert registry.problems() == []


def test_a_job_name_cannot_be_claimed_twice() -> None:
    with pytest.raises(ImproperlyConfigured, match="registered twice"):
        registry.register_job("market_data_update", fast_step, engines=["market_data"])


def test_an_unknown_job_name_is_a_validation_error_and_creates_nothing() -> None:
    with pytest.raises(ValidationFailed):
        services.job_create(job_name="no_such_job", source=JobSource.API_TRIGGER)
    assert not BatchJob.objects.exists()


def test_a_database_error_is_shown_sanitized_with_an_error_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def leaks_sql(ctx: services.JobContext, *, portfolio_ids: Any) -> dict[str, Any]:
        raise DataError(
            'value too long for type character varying(32)\nCONTEXT: SQL statement "INSERT '
            "INTO marketdata_security (symbol, proxy_symbol) VALUES ('X', 'secret-basket')\""
        )

    job = services.job_run(_create().pk, leaks_sql)
    assert job.status == "failed"
    assert job.error_message == "database error (DataError); see the server log"
    error_id = job.metadata["error_id"]
    assert re.fullmatch(r"err_[0-9a-f]{8}", error_id)
    assert selectors.job_payload(job)["error_id"] == error_id  # shown in /system/jobs
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert error_id in logged and job.pk in logged
    assert any("INSERT INTO" in (r.exc_text or "") or r.exc_info for r in caplog.records)


def test_cancel_while_running_stops_between_items() -> None:
    job = _create()

    def cancels_itself(ctx: services.JobContext, *, portfolio_ids: Any) -> dict[str, Any]:
        for item in ctx.items(range(100)):
            if item == 2:
                outcome = services.job_cancel(job_id=ctx.job_id)
                assert outcome.previous_status == "running"
                assert outcome.job.status == "running"  # it stops at the next checkpoint
        return {}

    finished = services.job_run(job.pk, cancels_itself)
    assert finished.status == "cancelled"
    assert finished.processed_items == 3  # the item in progress completed, no more
    assert finished.total_items == 100
    assert finished.cancel_requested_at is not None
    assert finished.error_message is None


def test_step_cannot_swallow_the_cancellation() -> None:
    job = _create()

    def swallows(ctx: services.JobContext, *, portfolio_ids: Any) -> dict[str, Any]:
        services.job_cancel(job_id=ctx.job_id)
        try:
            ctx.check_cancelled()
        except Exception:  # a step's broad handler must not catch JobCancelled
            pytest.fail("JobCancelled was caught as an Exception")
        return {}

    assert services.job_run(job.pk, swallows).status == "cancelled"


def test_a_second_cancel_of_a_stuck_job_applies_at_once() -> None:
    job = _create()
    BatchJob.objects.filter(pk=job.pk).update(status="running")
    assert services.job_cancel(job_id=job.pk).job.status == "running"
    assert services.job_cancel(job_id=job.pk).job.status == "running"  # the worker may be busy
    BatchJob.objects.filter(pk=job.pk).update(
        cancel_requested_at=timezone.now() - dt.timedelta(minutes=6)
    )
    outcome = services.job_cancel(job_id=job.pk)  # its worker is presumed dead
    assert outcome.previous_status == "running" and outcome.job.status == "cancelled"


def test_pending_job_is_cancelled_at_once_and_never_runs() -> None:
    job = _create()
    outcome = services.job_cancel(job_id=job.pk)
    assert outcome.previous_status == "pending"
    assert outcome.job.status == "cancelled"
    ran = services.job_run(job.pk, failing_step)
    assert ran.status == "cancelled" and ran.started_at is None


@pytest.mark.parametrize("status", ["completed", "failed", "cancelled"])
def test_cancel_of_a_finished_job_is_a_conflict(status: str) -> None:
    job = _create()
    BatchJob.objects.filter(pk=job.pk).update(status=status)
    with pytest.raises(Conflict):
        services.job_cancel(job_id=job.pk)


def test_unknown_job_is_not_found() -> None:
    with pytest.raises(NotFound):
        services.job_cancel(job_id="job_nope")
    with pytest.raises(NotFound):
        services.job_run("job_nope", fast_step)


def test_finished_job_is_not_run_again() -> None:
    job = services.job_run(_create().pk, fast_step)
    again = services.job_run(job.pk, failing_step)
    assert again.status == "completed"


def test_retryable_error_puts_the_job_back_to_pending_with_the_retry_count() -> None:
    job = _create()

    def outage(ctx: services.JobContext, *, portfolio_ids: Any) -> dict[str, Any]:
        raise ProviderError("fmp: 429 rate limit")

    with pytest.raises(ProviderError):
        services.job_run(job.pk, outage, retryable=(ProviderError,))
    job.refresh_from_db()
    assert job.status == "pending"
    assert job.metadata["retry_count"] == 1
    assert job.metadata["last_error"] == "fmp: 429 rate limit"
    final = services.job_run(job.pk, outage)  # the last attempt records the failure
    assert final.status == "failed" and final.error_message == "fmp: 429 rate limit"
    assert final.metadata["retry_count"] == 1


def test_eager_task_records_a_provider_outage_without_retrying(
    eager_celery: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Retries with backoff are for workers (see test_worker.py); inline, the failure is
    recorded at once rather than holding the request through the backoff."""
    from batch.tasks import run_batch_job

    calls = []

    def outage(ctx: services.JobContext, *, portfolio_ids: Any) -> dict[str, Any]:
        calls.append(1)
        raise ProviderError("every provider failed")

    monkeypatch.setitem(registry.JOB_STEPS, "market_data_update", outage)
    job = _create()
    assert run_batch_job.apply(args=[job.pk]).get() == {"job_id": job.pk, "status": "failed"}
    job.refresh_from_db()
    assert len(calls) == 1
    assert job.error_message == "every provider failed"
    assert job.metadata["retry_count"] == 0


def test_task_for_a_missing_job_returns_quietly(eager_celery: None) -> None:
    from batch.tasks import run_batch_job

    assert run_batch_job.apply(args=["job_gone"]).get() == {
        "job_id": "job_gone",
        "status": "missing",
    }


# --------------------------------------------------------------------------- the chain


def test_full_chain_runs_every_step_in_one_job(fake_chain: Any) -> None:
    job = services.job_run(_create("full_portfolio_calculation").pk)
    assert job.status == "completed"
    steps = job.metadata["steps"]
    assert [s["name"] for s in steps] == list(FULL_CHAIN)
    assert all(s["status"] == "completed" for s in steps)
    assert steps[0]["result"]["as_of"] == "2026-11-24"
    assert (job.processed_items, job.successful_items, job.failed_items) == (24, 16, 8)
    assert job.metadata["calculation_engines"] == ["all"]


def test_chain_fails_on_a_failing_step_and_names_it(
    fake_chain: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(registry.JOB_STEPS, "factor_analysis", failing_step)
    job = services.job_run(_create("full_portfolio_calculation").pk)
    assert job.status == "failed"
    assert job.error_message == "factor_analysis: division by zero in item 4"
    statuses = [(s["name"], s["status"]) for s in job.metadata["steps"]]
    assert statuses == [
        ("market_data_update", "completed"),
        ("greeks_calculation", "completed"),
        ("factor_analysis", "failed"),
    ]


def test_chain_stops_between_steps_when_cancelled(
    fake_chain: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def cancels(ctx: services.JobContext, *, portfolio_ids: Any) -> dict[str, Any]:
        services.job_cancel(job_id=ctx.job_id)
        return {"done": True}  # finishes its item; the chain stops before the next step

    monkeypatch.setitem(registry.JOB_STEPS, "greeks_calculation", cancels)
    job = services.job_run(_create("full_portfolio_calculation").pk)
    assert job.status == "cancelled"
    assert [s["name"] for s in job.metadata["steps"]] == [
        "market_data_update",
        "greeks_calculation",
    ]


def test_market_data_step_adapts_the_service(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = {}

    def fake_update(*, symbols: Any = None) -> dict[str, Any]:
        seen["symbols"] = symbols
        return {
            "processed": 4,
            "successful": 3,
            "failed": 1,
            "errors": {"ZZZT": "history: no bars from any provider"},
            "through": dt.date(2026, 11, 24),
            "bars": 10,
            "quotes": 3,
            "option_marks": 0,
            "seconds": 0.1,
        }

    monkeypatch.setattr("marketdata.services.market_data_update", fake_update)
    job = services.job_run(_create().pk)
    assert job.status == "completed"
    assert seen["symbols"] is None  # every held symbol
    assert (job.processed_items, job.successful_items, job.failed_items) == (4, 3, 1)
    assert job.metadata["result"]["through"] == "2026-11-24"
    assert job.metadata["item_errors"] == [
        "market_data_update ZZZT: history: no bars from any provider"
    ]


def test_market_data_step_raises_a_provider_error_when_every_symbol_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        "marketdata.services.market_data_update",
        lambda *, symbols=None: {
            "processed": 2,
            "successful": 0,
            "failed": 2,
            "errors": {"A": "x"},
        },
    )
    with pytest.raises(ProviderError, match="every one of 2 symbols failed"):
        services.job_run(_create().pk, retryable=(ProviderError,))


def test_market_data_step_for_a_portfolio_updates_its_symbols(
    priced_book: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = {}

    def fake_update(*, symbols: Any = None) -> dict[str, Any]:
        seen["symbols"] = symbols
        return {"processed": 1, "successful": 1, "failed": 0, "errors": {}}

    monkeypatch.setattr("marketdata.services.market_data_update", fake_update)
    services.job_run(_create(portfolio=priced_book).pk)
    assert {"AAPL", "XOM", "ZZZT", "SPY"} <= set(seen["symbols"])


# --------------------------------------------------------------------------- dispatch, events


def test_dispatch_runs_inline_in_eager_mode_after_commit(
    eager_celery: None, fake_chain: Any, django_capture_on_commit_callbacks: Any
) -> None:
    job = _create()
    with django_capture_on_commit_callbacks(execute=True):
        task_id = services.job_dispatch(job)
    job.refresh_from_db()
    assert job.status == "completed"
    assert job.metadata["celery_task_id"] == task_id


@pytest.mark.django_db(transaction=True)
def test_progress_reaches_the_jobs_websocket(make_user: Any) -> None:
    from sigmasight.asgi import application

    token = issue_for_new_session(make_user(role="admin")).access_token
    job = _create()

    async def scenario() -> list[dict[str, Any]]:
        communicator = WebsocketCommunicator(application, f"/ws/jobs?token={token}")
        assert (await communicator.connect(timeout=5))[0]
        assert (await communicator.receive_json_from(timeout=5))["groups"] == ["jobs"]
        await sync_to_async(services.job_run)(job.pk, fast_step)
        await sync_to_async(connections.close_all)()  # that thread's connection
        events = []
        while True:
            event = await communicator.receive_json_from(timeout=5)
            events.append(event)
            if event["data"]["status"] == "completed":
                break
        await communicator.disconnect()
        return events

    events = asyncio.run(scenario())
    assert {e["type"] for e in events} == {"job_progress"}
    assert all(e["data"]["id"] == job.pk for e in events)
    assert events[0]["data"]["status"] == "running"
    assert events[-1]["data"]["processed_items"] == 3


# --------------------------------------------------------------------------- run_batch


def test_run_batch_command_runs_the_chain_and_prints_the_summary(
    fake_chain: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("run_batch", "--no-progress")
    out = capsys.readouterr().out
    job = BatchJob.objects.get()
    assert job.status == "completed" and job.metadata["source"] == "management_command"
    assert f"{job.pk}: completed" in out
    assert "data_quality_assessment: completed" in out


def test_run_batch_command_fails_with_a_non_zero_exit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.JOB_STEPS, "greeks_calculation", failing_step)
    with pytest.raises(CommandError, match="failed: division by zero"):
        call_command("run_batch", "greeks_calculation", "--no-progress")


def test_run_batch_command_rejects_an_unknown_portfolio() -> None:
    with pytest.raises(CommandError, match="not found"):
        call_command("run_batch", "--portfolio", "00000000-0000-0000-0000-000000000000")


def test_registry_names_are_the_specs() -> None:
    # The spec's names, and the jobs issue 11 added (dividends into the ledger).
    assert set(registry.job_names()) - {"dividends_book"} == {
        "market_data_update",
        "greeks_calculation",
        "factor_analysis",
        "risk_metrics",
        "stress_testing",
        "correlations",
        "portfolio_snapshot",
        "data_quality_assessment",
        "data_quality_refresh",
        "full_portfolio_calculation",
        # Added by issue 11: option settlement at expiry (portfolios/jobs.py).
        "option_settlement",
        # Added by issue 13: the 0DTE signal cadence (signals/jobs.py).
        "signals_cycle",
        # Added by issue 16: a report file, started only by its request (risk/jobs.py).
        "portfolio_report",
    }
    assert "portfolio_report" not in registry.startable_job_names()
    assert set(RISK_STEPS) < set(registry.job_names())


# --------------------------------------------------------------------------- lost workers


def _running(job: BatchJob, *, beat_seconds_ago: float, started_seconds_ago: float = 600) -> None:
    now = timezone.now()
    BatchJob.objects.filter(pk=job.pk).update(
        status="running",
        started_at=now - dt.timedelta(seconds=started_seconds_ago),
        heartbeat_at=now - dt.timedelta(seconds=beat_seconds_ago),
        metadata={**job.metadata, "celery_task_id": "task-of-a-dead-worker"},
    )


def test_a_job_whose_worker_died_is_requeued_and_finishes_with_honest_timings(
    eager_celery: None, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    monkeypatch.setitem(registry.JOB_STEPS, "market_data_update", fast_step)
    job = _create()
    _running(job, beat_seconds_ago=300, started_seconds_ago=3600)
    fresh = _create()
    _running(fresh, beat_seconds_ago=5)  # a long computation still beating: left alone
    with django_capture_on_commit_callbacks(execute=True):
        outcome = services.jobs_recover_stale()
    assert outcome.requeued == [job.pk] and not outcome.failed
    job.refresh_from_db()
    assert job.status == "completed"  # re-dispatched (inline here) and run again
    assert job.metadata["celery_task_id"] != "task-of-a-dead-worker"
    [lost] = job.metadata["attempts"]
    assert lost["outcome"] == "worker_lost" and lost["found_by"] == "stale_heartbeat"
    assert lost["celery_task_id"] == "task-of-a-dead-worker"
    assert job.duration_seconds >= 3600  # the lost hour is in the duration, not hidden
    fresh.refresh_from_db()
    assert fresh.status == "running"


def test_a_job_that_keeps_losing_its_worker_fails_clearly(settings: Any) -> None:
    settings.BATCH_MAX_LOST_ATTEMPTS = 2
    job = _create()
    _running(job, beat_seconds_ago=300)
    BatchJob.objects.filter(pk=job.pk).update(
        metadata={**job.metadata, "celery_task_id": "t", "attempts": [{"outcome": "worker_lost"}]}
    )
    outcome = services.jobs_recover_stale()
    assert outcome.failed == [job.pk]
    job.refresh_from_db()
    assert (
        job.status == "failed" and "worker running the job stopped (2 time(s))" in job.error_message
    )
    assert job.completed_at is not None and job.duration_seconds is not None


def test_a_lost_job_with_a_cancel_request_ends_cancelled() -> None:
    job = _create()
    _running(job, beat_seconds_ago=300)
    BatchJob.objects.filter(pk=job.pk).update(cancel_requested_at=timezone.now())
    assert services.jobs_recover_stale().cancelled == [job.pk]
    job.refresh_from_db()
    assert job.status == "cancelled"


def test_restarting_the_embedded_default_fails_jobs_its_threads_left(settings: Any) -> None:
    settings.BATCH_RUN_IN_THREAD = True
    job = _create()
    _running(job, beat_seconds_ago=1)
    call_command("recover_stale_jobs", "--all", stdout=open("/dev/null", "w"))  # noqa: SIM115
    job.refresh_from_db()
    assert job.status == "failed"


@pytest.mark.django_db(transaction=True)  # the heartbeat thread has its own connection
def test_a_running_job_beats_while_its_step_computes(settings: Any) -> None:
    settings.BATCH_HEARTBEAT_SECONDS = 0.05
    job = _create()
    beats = []

    def slow(ctx: services.JobContext, *, portfolio_ids: Any) -> dict[str, Any]:
        for _ in range(4):
            time.sleep(0.1)
            beats.append(BatchJob.objects.values_list("heartbeat_at", flat=True).get(pk=ctx.job_id))
        return {}

    services.job_run(job.pk, slow)
    assert len(set(beats)) >= 2  # the heartbeat moved during the step, with no checkpoint


def test_a_redelivered_task_records_the_lost_attempt_and_keeps_the_start() -> None:
    job = _create()
    started = timezone.now() - dt.timedelta(minutes=30)
    BatchJob.objects.filter(pk=job.pk).update(
        status="running", started_at=started, metadata={**job.metadata, "celery_task_id": "t1"}
    )
    finished = services.job_run(job.pk, fast_step, task_id="t1")  # acks_late redelivery
    assert finished.status == "completed"
    assert finished.started_at == started
    assert finished.metadata["attempts"][0]["found_by"] == "redelivered"
