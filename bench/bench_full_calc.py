"""End-to-end full calculation (Greeks, factors, VaR/ES, stress) for a synthetic portfolio.

Builds, in a throwaway test database on DATABASE_URL (PostgreSQL under `make bench`),
a portfolio of N positions with 270 sessions of daily bars per underlying and the factor
ETFs, then times the risk steps of the daily chain as the chain runs them (one run's
shared reads, ``risk.book.SharedReads``): database reads, the numpy engines, and the
writes of every result. It reports the share of the time spent in the engines
(``risk/engine``, by profile).

Two book shapes (a portfolio holds a symbol once, so stocks ≤ underlyings):

* ``--shape equity`` (the default): 90% stocks on as many underlyings, 10% options on
  them, the mix of the issue-12 baseline (8 s at 10,000 positions);
* ``--shape options``: 500 underlyings, one stock each and the rest option contracts
  (an options book: every one of the 9,500 contracts is repriced in each of the 252
  historical and 3 × 10,000 Monte Carlo scenarios).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sigmasight SECRET_KEY=x \
        .venv/bin/python bench/bench_full_calc.py [--sizes 10000 20000] [--shape equity]
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import os
import platform
import pstats
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sigmasight.settings")

import django

django.setup()

import numpy as np  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

TODAY = dt.date(2026, 11, 24)
NOW = timezone.make_aware(dt.datetime(2026, 11, 25, 3, 0), dt.UTC)
OPTIONS_BOOK_UNDERLYINGS = 500
EQUITY_OPTION_SHARE = 0.10


def _copy_bars(bars: list[tuple]) -> None:
    """Price bars through COPY on PostgreSQL (millions of rows), else bulk_create."""
    from marketdata.models import PriceBar

    if connection.vendor != "postgresql":
        PriceBar.objects.bulk_create(
            [
                PriceBar(
                    security_id=b[0],
                    date=b[1],
                    open=b[2],
                    high=b[2],
                    low=b[2],
                    close=b[2],
                    adj_close=b[2],
                    volume=1000,
                    source="bench",
                )
                for b in bars
            ],
            batch_size=5000,
        )
        return
    security = PriceBar._meta.get_field("security").column
    columns = f"{security}, date, open, high, low, close, adj_close, volume, source, updated_at"
    stamp = timezone.now()
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor: COPY is not in Django's API
        with raw.copy(f"COPY {PriceBar._meta.db_table} ({columns}) FROM STDIN") as copy:
            for symbol, date, price in bars:
                copy.write_row(
                    (symbol, date, price, price, price, price, price, 1000, "bench", stamp)
                )


def build_market(underlyings: int) -> list[str]:
    from marketdata import calendar
    from marketdata.models import AssetType, FactorDefinition, Quote, Security

    sessions = calendar.sessions_between(TODAY - dt.timedelta(days=420), TODAY)[-270:]
    rng = np.random.default_rng(7)  # a benchmark's synthetic market
    market = rng.normal(0.0004, 0.011, len(sessions))
    symbols = [f"U{i:04d}" for i in range(underlyings)]
    etfs = list(FactorDefinition.objects.values_list("etf_symbol", flat=True))
    stamp = calendar.session_close_utc(TODAY)
    securities, bars, quotes = [], [], []
    for j, symbol in enumerate([*etfs, *symbols]):
        beta = 1.0 if symbol in etfs else 0.5 + (j % 10) / 10
        returns = beta * market + rng.normal(0, 0.004 if symbol in etfs else 0.015, len(sessions))
        closes = 50.0 * np.cumprod(1 + returns)
        securities.append(
            Security(
                symbol=symbol,
                name=symbol,
                asset_type=AssetType.ETF if symbol in etfs else AssetType.STOCK,
                sector=f"S{j % 11}",
            )
        )
        bars.extend((symbol, d, Decimal(f"{c:.4f}")) for d, c in zip(sessions, closes, strict=True))
        last = Decimal(f"{closes[-1]:.4f}")
        quotes.append(
            Quote(
                security_id=symbol, last=last, bid=last, ask=last, timestamp=stamp, source="bench"
            )
        )
    Security.objects.bulk_create(securities, batch_size=5000)
    _copy_bars(bars)
    Quote.objects.bulk_create(quotes, batch_size=5000)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return symbols


def build_portfolio(n: int, symbols: list[str], tag: str, shape: str) -> object:
    from accounts.models import User
    from marketdata.models import AssetType, Quote, Security
    from portfolios.models import Portfolio, Position, PositionType
    from risk.engine.pricing import bsm_price

    user = User.objects.create_user(email=f"bench-{tag}@example.com", password="bench-pass-123")
    portfolio = Portfolio.objects.create(owner=user, name=f"Bench {n}", is_default=True)
    spots = {q.security_id: q.last for q in Quote.objects.filter(security_id__in=symbols)}
    expiry = dt.date(2027, 1, 15)
    stamp = next(iter(Quote.objects.values_list("timestamp", flat=True)))
    positions, option_securities, option_quotes = [], [], []
    # One open position per symbol (a portfolio holds a stock once; the database enforces
    # it): a stock position per underlying, and the rest of the book in option contracts.
    n_stocks = min(len(symbols), round(n * (1 - EQUITY_OPTION_SHARE)) if shape == "equity" else n)
    n_options = n - n_stocks
    for i in range(n_stocks):
        symbol = symbols[i % len(symbols)]
        qty = Decimal(10 + i % 50) * (1 if i % 4 else -1)
        positions.append(
            Position(
                portfolio=portfolio,
                security_id=symbol,
                quantity=qty,
                position_type=PositionType.LONG if qty > 0 else PositionType.SHORT,
                entry_price=spots[symbol],
                entry_date=TODAY,
            )
        )
    for k in range(n_options):
        underlying = symbols[k % len(symbols)]
        spot = float(spots[underlying])
        strike = round(spot * (0.8 + 0.4 * (k % 21) / 20), 1)
        right = "C" if k % 2 else "P"
        occ = f"{underlying}{expiry:%y%m%d}{right}{round(strike * 1000):08d}{tag}{k}"[:32]
        mid = float(bsm_price(spot, strike, 52 / 365, 0.04, 0.0, 0.3, right == "C"))
        price = Decimal(f"{max(mid, 0.05):.4f}")
        option_securities.append(
            Security(
                symbol=occ,
                asset_type=AssetType.OPTION,
                underlying_id=underlying,
                option_right=right,
                strike=Decimal(str(strike)),
                expiry=expiry,
                multiplier=100,
            )
        )
        option_quotes.append(
            Quote(
                security_id=occ, bid=price, ask=price, last=price, timestamp=stamp, source="bench"
            )
        )
        qty = Decimal(1 + k % 5) * (1 if k % 3 else -1)
        positions.append(
            Position(
                portfolio=portfolio,
                security_id=occ,
                quantity=qty,
                multiplier=100,
                position_type=("LC" if right == "C" else "LP")
                if qty > 0
                else ("SC" if right == "C" else "SP"),
                underlying_symbol=underlying,
                strike=Decimal(str(strike)),
                expiry=expiry,
                entry_price=price,
                entry_date=TODAY,
            )
        )
    Security.objects.bulk_create(option_securities)
    Quote.objects.bulk_create(option_quotes)
    Position.objects.bulk_create(positions, batch_size=5000)
    return portfolio


def timed_full_calculation(portfolio: object) -> tuple[dict[str, float], float]:
    """Seconds per step and in all, and the engines' share of the time (profiled)."""
    from risk import services

    try:
        from risk.book import SharedReads
    except ImportError:  # a commit before the shared reads (to time it side by side)
        shared_reads: dict[str, object] = {}
    else:
        shared_reads = {"shared": SharedReads()}  # what one run of the chain shares
    steps = {}
    profile = cProfile.Profile()
    start = time.perf_counter()
    for name, work in (
        ("greeks", services.greeks_for_portfolio),
        ("factors", services.factor_analysis_for_portfolio),
        ("var_es_performance", services.risk_metrics_for_portfolio),
        ("stress", services.stress_for_portfolio),
    ):
        t0 = time.perf_counter()
        profile.enable()
        work(portfolio, now=NOW, **shared_reads)
        profile.disable()
        steps[name] = time.perf_counter() - t0
    steps["total"] = time.perf_counter() - start
    return steps, _engine_share(profile)


def _engine_share(profile: cProfile.Profile) -> float:
    """Share of the profiled time spent inside ``risk/engine`` (its own code and what it
    calls: numpy, scipy), counted at the outermost engine frame."""
    stats = pstats.Stats(profile)
    total = stats.total_tt  # type: ignore[attr-defined]
    engine = 0.0
    for (filename, _, _), (*_, callers) in stats.stats.items():  # type: ignore[attr-defined]
        if "risk/engine/" not in filename:
            continue
        # Time entering the engine from outside it (not an engine calling the engine).
        for (caller_file, _, _), caller_stats in callers.items():
            if "risk/engine/" not in caller_file:
                engine += caller_stats[3]
    return engine / total if total else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 20_000])
    parser.add_argument("--shape", choices=("equity", "options"), default="equity")
    args = parser.parse_args()
    largest = max(args.sizes)
    underlyings = (
        round(largest * (1 - EQUITY_OPTION_SHARE))
        if args.shape == "equity"
        else OPTIONS_BOOK_UNDERLYINGS
    )
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        t0 = time.perf_counter()
        symbols = build_market(underlyings)
        print(
            f"market: {underlyings} underlyings + factor ETFs, 270 sessions, built in {time.perf_counter() - t0:.1f} s"
        )
        print(
            f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}, db {connection.vendor}"
        )
        totals = {}
        for n in args.sizes:
            portfolio = build_portfolio(n, symbols, tag=str(n), shape=args.shape)
            steps, engines = timed_full_calculation(portfolio)
            totals[n] = steps["total"]
            detail = "  ".join(f"{k} {v:.2f}s" for k, v in steps.items() if k != "total")
            print(
                f"{n:>6} positions ({args.shape}): total {steps['total']:.2f} s   ({detail})   "
                f"engines {engines:.0%} of the time"
            )
        if len(totals) >= 2:
            (n1, t1), (n2, t2) = list(totals.items())[:2]
            print(
                f"scaling: {n2 / n1:.1f}x positions -> {t2 / t1:.2f}x time (linear would be {n2 / n1:.1f}x)"
            )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
