"""When the daily chain and the weekly correlations run, by the NYSE calendar.

Beat fires the tasks of ``risk.tasks`` on fixed crontabs (the exchange calendar cannot be
written as one); these services decide, from the calendar, whether a period is due, and
claim it once through the batch runner's ``period_job_start``.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from batch.models import BatchJob
from batch.services import period_job_start
from marketdata import calendar
from risk.jobs import DAILY_SCHEDULE, WEEKLY_CORRELATIONS_SCHEDULE

#: The scheduled run waits this long after a close (RISK-MODEL.md, "Schedule").
CLOSE_DELAY = dt.timedelta(minutes=30)


def scheduled_daily_start(*, now: dt.datetime | None = None) -> BatchJob | None:
    """The daily sequence: if an NYSE session closed at least 30 minutes ago and has not been
    processed, start one ``full_portfolio_calculation`` for every live portfolio (one job, so
    market data is fetched once) and return it; else None.

    Only the latest such session is run; the market-data step fills any earlier gap, since
    it brings every symbol up to the last completed session. The session counts as
    processed once claimed, whatever the job's outcome: a failed run is rerun by hand
    (``manage.py run_batch``), not by the next beat firing.
    """
    now = now or timezone.now()
    session = calendar.last_completed_session(now - CLOSE_DELAY)
    return period_job_start(
        schedule=DAILY_SCHEDULE,
        period=session,
        job_name="full_portfolio_calculation",
        metadata={"session": session.isoformat()},
    )


def scheduled_weekly_start(*, now: dt.datetime | None = None) -> BatchJob | None:
    """The weekly correlation run, once per New York calendar week (Monday-dated)."""
    now = now or timezone.now()
    local = now.astimezone(calendar.EASTERN).date()
    monday = local - dt.timedelta(days=local.weekday())
    return period_job_start(
        schedule=WEEKLY_CORRELATIONS_SCHEDULE,
        period=monday,
        job_name="correlations",
        metadata={"week_of": monday.isoformat()},
    )
