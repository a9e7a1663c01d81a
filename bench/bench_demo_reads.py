"""Latency of the demo hedge-fund book's two hot reads, in process.

GET /api/v1/data/portfolio/{id}/complete and GET /api/v1/data/portfolios/{id}/risk-summary
for demo_hedgefundstyle@sigmasight.com, through the whole Django stack (middleware, auth,
DB, serialization), against a throwaway test database on the configured DATABASE_URL. The
demo is seeded with the project's own seeding (``seed_demo --demo-users``) and the batch is
run once (``dividends_book``, then ``full_portfolio_calculation``), as ``make run`` does, so
the risk results exist. Prints median and p95 per endpoint. Target: median < 15 ms each.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sigmasight SECRET_KEY=x \
        .venv/bin/python bench/bench_demo_reads.py [--runs 30]
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sigmasight.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import CommandError, call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

EMAIL = "demo_hedgefundstyle@sigmasight.com"
TARGET_MS = 15.0


def seed() -> tuple[str, str]:
    """Seed the demo and run the batch once; the hedge-fund book's id and a token."""
    from accounts.models import User
    from accounts.tokens import issue_for_new_session
    from portfolios.selectors import default_portfolio_id

    quiet = io.StringIO()
    call_command("seed_demo", "--demo-users", stdout=quiet)
    for job in ("dividends_book", "full_portfolio_calculation"):
        try:
            call_command("run_batch", job, "--no-progress", stdout=quiet, stderr=quiet)
        except CommandError as exc:  # a failed step still leaves what it computed; say so
            print(f"warning: run_batch {job}: {exc}")
    user = User.objects.get(email=EMAIL)
    portfolio_id = default_portfolio_id(user=user)
    assert portfolio_id is not None, f"{EMAIL} has no portfolio"
    return str(portfolio_id), issue_for_new_session(user).access_token


def timed(client: object, url: str, runs: int) -> list[float]:
    response = client.get(url)  # type: ignore[attr-defined]
    assert response.status_code == 200, (url, response.status_code, response.content[:300])
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        client.get(url)  # type: ignore[attr-defined]
        timings.append((time.perf_counter() - start) * 1000)
    return sorted(timings)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    settings.RATE_LIMITS = {key: 10**9 for key in settings.RATE_LIMITS}
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from rest_framework.test import APIClient

        portfolio_id, token = seed()
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        complete = client.get(f"/api/v1/data/portfolio/{portfolio_id}/complete").json()
        print(
            f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"python {platform.python_version()}, db {connection.vendor}"
        )
        print(f"{EMAIL}: {len(complete['positions'])} positions, {args.runs} runs each")
        for label, url in (
            (
                "GET /data/portfolio/{id}/complete",
                f"/api/v1/data/portfolio/{portfolio_id}/complete",
            ),
            (
                "GET /data/portfolios/{id}/risk-summary",
                f"/api/v1/data/portfolios/{portfolio_id}/risk-summary",
            ),
        ):
            timings = timed(client, url, args.runs)
            p95 = timings[min(len(timings) - 1, round(0.95 * len(timings)) - 1)]
            print(
                f"  {label:40s} median {statistics.median(timings):6.1f} ms   "
                f"p95 {p95:6.1f} ms   (target: median < {TARGET_MS:.0f} ms)"
            )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
