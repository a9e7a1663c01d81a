"""Peak memory of the streamed historical export (E2), per format and range length.

GET /api/v1/export/data/historical for demo_hedgefundstyle@sigmasight.com, through the
whole Django stack (middleware, auth, the view), consuming the streamed file chunk by
chunk and dropping it, for ranges of 1, 3 and 5 years ending today. Per range and format
it prints rows, bytes, seconds, the tracemalloc peak (Python allocations while the file
streams) and the RSS growth, then the ratio peak(5y)/peak(1y), which should be ≈ 1: the
export holds one date's rows and one chunk per source, whatever the range. For contrast it
prints the peak of building the same CSV wholly in memory (all rows, then one string).

The database is used as it is (not a throwaway test database), so that the 5-year seed is
paid once: it is migrated and seeded with the project's own seeding (``seed_demo
--demo-users``, idempotent) with ``MARKET_DATA_HISTORY_YEARS=5`` (the default here), and
the batch is run once (``full_portfolio_calculation``) unless the hedge-fund book has risk
results already. The demo books its positions within the last year, so by default the
bench backdates the book's stock and ETF positions to their symbol's first stored bar
(``--as-seeded`` keeps the seeded dates): without it every range would carry the same
year of price rows. Options keep their dates (their bars cover ~260 sessions).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sigmasight_bench \\
    REDIS_URL=redis://127.0.0.1:6379/11 SECRET_KEY=x \\
        .venv/bin/python bench/bench_export_memory.py [--years 1 3 5] [--as-seeded]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import os
import platform
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sigmasight.settings")
os.environ.setdefault("MARKET_DATA_HISTORY_YEARS", "5")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import CommandError, call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Min  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

EMAIL = "demo_hedgefundstyle@sigmasight.com"
FORMATS = ("csv", "json", "parquet")


def _rss_bytes() -> int:
    """The resident set size now (Linux), 0 where /proc is missing."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def seed(*, backdate: bool) -> tuple[Any, str]:
    """The hedge-fund book (seeded if missing, its batch run once) and a token."""
    from accounts.models import User
    from accounts.tokens import issue_for_new_session
    from marketdata.models import PriceBar
    from portfolios.models import Portfolio, Position
    from risk.models import PortfolioRiskMetrics

    quiet = io.StringIO()
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    call_command("seed_demo", "--demo-users", stdout=quiet)
    user = User.objects.get(email=EMAIL)
    portfolio = Portfolio.objects.owned_by(user).order_by("-is_default", "created_at").first()
    assert portfolio is not None, f"{EMAIL} has no portfolio"
    if not PortfolioRiskMetrics.objects.filter(portfolio=portfolio).exists():
        try:
            call_command(
                "run_batch",
                "full_portfolio_calculation",
                "--no-progress",
                stdout=quiet,
                stderr=quiet,
            )
        except CommandError as exc:  # a failed step still leaves what it computed; say so
            print(f"warning: run_batch full_portfolio_calculation: {exc}")
    print(f"seeded in {time.perf_counter() - started:.1f} s")
    if backdate:
        firsts = dict(
            PriceBar.objects.filter(
                security_id__in=Position.objects.filter(portfolio=portfolio, multiplier=1).values(
                    "security_id"
                )
            )
            .values_list("security_id")
            .annotate(first=Min("date"))
            .values_list("security_id", "first")
        )
        moved = 0
        for position in Position.objects.filter(portfolio=portfolio, multiplier=1):
            first = firsts.get(position.security_id)
            if first is not None and first < position.entry_date:
                Position.objects.filter(pk=position.pk).update(entry_date=first)
                moved += 1
        print(f"backdated {moved} stock/ETF positions to their first stored bar")
    return portfolio, issue_for_new_session(user).access_token


def stream(client: Any, url: str, *, traced: bool) -> dict[str, float]:
    """Request ``url`` and consume the file chunk by chunk, keeping nothing but counts."""
    if traced:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
    rss_before = rss_peak = _rss_bytes()
    started = time.perf_counter()
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    size = chunks = newlines = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        chunks += 1
        newlines += chunk.count(b"\n")
        if not traced and chunks % 16 == 0:
            rss_peak = max(rss_peak, _rss_bytes())
    seconds = time.perf_counter() - started
    result = {"bytes": size, "chunks": chunks, "newlines": newlines, "seconds": seconds}
    if traced:
        result["peak_mb"] = (tracemalloc.get_traced_memory()[1] - base) / 2**20
    else:
        result["rss_mb"] = (max(rss_peak, _rss_bytes()) - rss_before) / 2**20
    return result


def in_memory_csv_peak(portfolio: Any, start: dt.date, end: dt.date) -> tuple[float, int]:
    """The tracemalloc peak (MB) of the naive way: every row in a list, then one string."""
    from risk.exports import historical

    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    export = historical.historical_export(
        portfolio=portfolio, start=start, end=end, include_calculated=True
    )
    rows = list(export.rows())
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(historical.COLUMN_NAMES)
    kinds = [kind for _, kind, _ in historical.COLUMNS]
    writer.writerows(
        [historical._csv_cell(k, v) for k, v in zip(kinds, r, strict=True)] for r in rows
    )
    data = buffer.getvalue().encode()
    peak = (tracemalloc.get_traced_memory()[1] - base) / 2**20
    del rows, buffer, data
    return peak, len(export.warnings)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--years", type=int, nargs="+", default=[1, 3, 5])
    parser.add_argument("--as-seeded", action="store_true", help="Keep the seeded entry dates.")
    args = parser.parse_args()
    settings.RATE_LIMITS = {key: 10**9 for key in settings.RATE_LIMITS}
    setup_test_environment()
    from rest_framework.test import APIClient

    from marketdata import calendar

    portfolio, token = seed(backdate=not args.as_seeded)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    today = dt.datetime.now(calendar.EASTERN).date()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"python {platform.python_version()}, db {connection.vendor}; "
        f"{EMAIL}: {portfolio.positions.count()} positions; ranges end {today}"
    )
    print(
        f"{'format':8s} {'range':>5s} {'rows':>8s} {'bytes':>12s} {'chunks':>6s} "
        f"{'seconds':>8s} {'peak MB':>8s} {'RSS +MB':>8s}"
    )
    tracemalloc.start()
    tracemalloc.stop()
    peaks: dict[str, dict[int, float]] = {f: {} for f in FORMATS}
    rows_by_years: dict[int, int] = {}
    for file_format in FORMATS:
        for years in args.years:
            start = today - dt.timedelta(days=round(365.25 * years))
            url = (
                f"/api/v1/export/data/historical?portfolio_id={portfolio.id}"
                f"&start_date={start}&end_date={today}&format={file_format}"
            )
            timed = stream(client, url, traced=False)  # time and RSS without tracing
            tracemalloc.start()
            traced = stream(client, url, traced=True)
            tracemalloc.stop()
            if file_format == "csv":
                rows_by_years[years] = int(timed["newlines"]) - 1
            peaks[file_format][years] = traced["peak_mb"]
            print(
                f"{file_format:8s} {years:>4d}y {rows_by_years.get(years, 0):>8d} "
                f"{int(timed['bytes']):>12,d} {int(timed['chunks']):>6d} "
                f"{timed['seconds']:>8.2f} {traced['peak_mb']:>8.2f} {timed['rss_mb']:>8.1f}"
            )
    lo, hi = min(args.years), max(args.years)
    for file_format in FORMATS:
        ratio = peaks[file_format][hi] / peaks[file_format][lo]
        print(f"{file_format}: peak({hi}y)/peak({lo}y) = {ratio:.2f}  (flat: ≈ 1)")
    tracemalloc.start()
    for years in args.years:
        start = today - dt.timedelta(days=round(365.25 * years))
        peak, _ = in_memory_csv_peak(portfolio, start, today)
        print(
            f"in memory (all rows, then one CSV string), {years}y: peak {peak:.1f} MB "
            f"(streamed CSV: {peaks['csv'][years]:.2f} MB)"
        )
    tracemalloc.stop()


if __name__ == "__main__":
    main()
