"""Latency of GET /api/v1/data/portfolio/{id}/complete for a 1,000-position portfolio.

Runs in-process through the whole Django stack (middleware, auth, DB, serialization)
against a throwaway test database on the configured DATABASE_URL (PostgreSQL under
`make bench`). Prints median and p95 over repeated requests. Target: median < 100 ms.

The data is realistic in size: ``--bars`` weekday sessions of daily bars (a year by
default) for every symbol of a ``--universe`` (the portfolio's symbols plus others that
no position holds, as other users' books would add), then ``ANALYZE``, so that a read
whose cost grows with the whole bar table shows.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sigmasight SECRET_KEY=x \
        .venv/bin/python bench/bench_complete.py [--positions 1000] [--bars 252] \
        [--universe 1500] [--runs 30]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sigmasight.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402


def _sessions(last: dt.date, count: int) -> list[dt.date]:
    """``count`` weekdays ending at ``last``, oldest first."""
    days: list[dt.date] = []
    day = last
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day -= dt.timedelta(days=1)
    return days[::-1]


def build(positions: int, sessions: int, universe: int) -> tuple[str, str]:
    from accounts.models import User
    from accounts.tokens import issue_for_new_session
    from marketdata.models import AssetType, PriceBar, Quote, Security
    from portfolios.models import Portfolio, Position, PositionType, Transaction

    user = User.objects.create_user(email="bench@example.com", password="bench-pass-123")
    portfolio = Portfolio.objects.create(owner=user, name="Bench", is_default=True)
    dates = _sessions(dt.date(2026, 11, 24), max(sessions, 2))
    yesterday = dates[-2]
    stamp = timezone.make_aware(dt.datetime(2026, 11, 24, 21, 0), dt.UTC)
    symbols = [f"B{i:04d}" for i in range(max(universe, positions))]
    Security.objects.bulk_create(
        [
            Security(symbol=s, name=s, asset_type=AssetType.STOCK, sector=f"S{i % 11}")
            for i, s in enumerate(symbols)
        ]
    )
    bars, quotes, rows = [], [], []
    for i, symbol in enumerate(symbols):
        price = Decimal(50 + i % 200)
        for back, date in enumerate(reversed(dates)):
            close = price - Decimal(back % 7) / 4  # a saw-tooth: highs and lows differ
            bars.append(
                PriceBar(
                    security_id=symbol,
                    date=date,
                    open=close,
                    high=close,
                    low=close,
                    close=close,
                    adj_close=close,
                    volume=1000,
                    source="bench",
                )
            )
        if len(bars) >= 50_000:
            PriceBar.objects.bulk_create(bars, batch_size=5_000)
            bars = []
        quotes.append(
            Quote(
                security_id=symbol,
                bid=price,
                ask=price,
                last=price,
                timestamp=stamp,
                source="bench",
            )
        )
        if i >= positions:
            continue
        quantity = Decimal(10 + i % 90) * (1 if i % 5 else -1)
        rows.append(
            Position(
                portfolio=portfolio,
                security_id=symbol,
                quantity=quantity,
                position_type=PositionType.LONG if quantity > 0 else PositionType.SHORT,
                entry_price=price - 5,
                entry_date=yesterday,
            )
        )
    PriceBar.objects.bulk_create(bars, batch_size=5_000)
    Quote.objects.bulk_create(quotes)
    Position.objects.bulk_create(rows)
    Transaction.objects.create(
        portfolio=portfolio, kind="DEPOSIT", amount=Decimal(1_000_000), trade_date=yesterday
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return str(portfolio.id), issue_for_new_session(user).access_token


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--positions", type=int, default=1000)
    parser.add_argument("--bars", type=int, default=252, help="daily sessions per symbol")
    parser.add_argument("--universe", type=int, default=1500, help="symbols with bars")
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    settings.RATE_LIMITS = {key: 10**9 for key in settings.RATE_LIMITS}
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from rest_framework.test import APIClient

        portfolio_id, token = build(args.positions, args.bars, args.universe)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        url = f"/api/v1/data/portfolio/{portfolio_id}/complete"
        response = client.get(url)
        assert response.status_code == 200 and len(response.json()["positions"]) == args.positions
        timings = []
        for _ in range(args.runs):
            start = time.perf_counter()
            client.get(url)
            timings.append((time.perf_counter() - start) * 1000)
        timings.sort()
        p95 = timings[min(len(timings) - 1, round(0.95 * len(timings)) - 1)]
        print(
            f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"python {platform.python_version()}, db {connection.vendor}"
        )
        print(
            f"GET /data/portfolio/{{id}}/complete, {args.positions} positions, {args.runs} runs; "
            f"{args.bars} bars x {max(args.universe, args.positions)} symbols"
        )
        print(
            f"  median {statistics.median(timings):.1f} ms   p95 {p95:.1f} ms   "
            f"min {timings[0]:.1f} ms   max {timings[-1]:.1f} ms   (target: median < 100 ms)"
        )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
