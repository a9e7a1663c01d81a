"""The risk schedule: the daily chain once per NYSE session, correlations once a week,
through the batch runner's period claims."""

from __future__ import annotations

import datetime as dt

import pytest

from batch import registry
from batch.models import BatchJob, ScheduledRun
from batch.tests.conftest import fast_step
from risk import schedule as services
from risk.jobs import FULL_CHAIN

pytestmark = pytest.mark.django_db

ET = dt.timezone(dt.timedelta(hours=-5))  # New York in November (EST)


@pytest.fixture
def fake_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    """The chain's steps replaced by a fast fake: these tests are about when it runs."""
    for name in FULL_CHAIN:
        monkeypatch.setitem(registry.JOB_STEPS, name, fast_step)


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=ET)


def test_daily_sequence_runs_once_per_session(fake_chain: None) -> None:
    first = services.scheduled_daily_start(now=_at(dt.date(2026, 11, 24), 16, 30))
    assert first is not None and first.job_name == "full_portfolio_calculation"
    assert first.metadata["source"] == "scheduled_job"
    assert first.metadata["session"] == "2026-11-24"
    assert first.portfolio is None  # one job for every portfolio
    assert services.scheduled_daily_start(now=_at(dt.date(2026, 11, 24), 16, 45)) is None
    assert services.scheduled_daily_start(now=_at(dt.date(2026, 11, 25), 13, 30)) is None
    assert BatchJob.objects.count() == 1
    assert ScheduledRun.objects.get().job_id == first.pk


def test_daily_sequence_waits_thirty_minutes_after_the_close(fake_chain: None) -> None:
    # 16:20 on the 24th: the 24th closed 20 minutes ago, so the 23rd is the one to run.
    job = services.scheduled_daily_start(now=_at(dt.date(2026, 11, 24), 16, 20))
    assert job is not None and job.metadata["session"] == "2026-11-23"
    assert services.scheduled_daily_start(now=_at(dt.date(2026, 11, 24), 16, 30)) is not None


def test_daily_sequence_after_an_early_close(fake_chain: None) -> None:
    # 2026-11-27, the day after Thanksgiving, closes at 13:00 ET.
    job = services.scheduled_daily_start(now=_at(dt.date(2026, 11, 27), 13, 30))
    assert job is not None and job.metadata["session"] == "2026-11-27"
    assert services.scheduled_daily_start(now=_at(dt.date(2026, 11, 27), 16, 30)) is None


def test_daily_sequence_on_a_holiday_does_nothing_new(fake_chain: None) -> None:
    services.scheduled_daily_start(now=_at(dt.date(2026, 11, 25), 16, 30))
    # Thanksgiving 2026-11-26: no session; the latest closed one was already processed.
    assert services.scheduled_daily_start(now=_at(dt.date(2026, 11, 26), 16, 30)) is None


def test_daily_task_is_idempotent(eager_celery: None, fake_chain: None) -> None:
    from risk.tasks import scheduled_daily_sequence

    first = scheduled_daily_sequence.apply().get()
    second = scheduled_daily_sequence.apply().get()
    assert first["started"] is True and second == {"started": False, "job_id": None}
    assert BatchJob.objects.filter(job_name="full_portfolio_calculation").count() == 1


def test_weekly_correlations_run_once_a_week(fake_chain: None) -> None:
    saturday = dt.datetime(2026, 11, 28, 6, 0, tzinfo=ET)
    job = services.scheduled_weekly_start(now=saturday)
    assert job is not None and job.job_name == "correlations"
    assert services.scheduled_weekly_start(now=saturday + dt.timedelta(hours=1)) is None
    assert services.scheduled_weekly_start(now=saturday + dt.timedelta(days=7)) is not None


def test_beat_schedule_is_seeded_in_new_york_time_and_points_at_the_risk_tasks() -> None:
    from django_celery_beat.models import PeriodicTask

    entries = {
        t.task + " " + f"{t.crontab.minute} {t.crontab.hour} {t.crontab.day_of_week}": str(
            t.crontab.timezone
        )
        for t in PeriodicTask.objects.filter(name__startswith="batch:").select_related("crontab")
    }
    assert entries == {
        "risk.tasks.scheduled_daily_sequence 30 16 1-5": "America/New_York",
        "risk.tasks.scheduled_daily_sequence 30 13 1-5": "America/New_York",
        "risk.tasks.scheduled_weekly_correlations 0 6 6": "America/New_York",
    }
