"""Benchmark: VaR with full revaluation, risk.engine.var.

Prints, for books of 10,000 and 20,000 positions (10% options, BSM) on 500 underlyings:

* historical simulation over 252 days of returns, horizons 1/5/10 days (overlapping
  windows), confidences 95%/99%, with Euler components and marginals: seconds (best of
  3) and the 20k/10k time ratio (linear scaling gives about 2);
* Monte Carlo with 10,000 paths on the 10,000-position book, same horizons and
  confidences, components included: seconds (one run).

Figures only, no time asserts. Run from anywhere: ``python bench/bench_var.py``.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from risk.engine.revaluation import Book, model_prices
from risk.engine.var import historical_full_revaluation, monte_carlo_var

N_UNDERLYINGS = 500
N_DAYS = 252
N_FACTORS = 8
OPTION_SHARE = 0.10
REPEATS = 5

T = TypeVar("T")


def random_book(n: int, u: int, seed: int) -> Book:
    """Stocks on random underlyings (spot 10-1000, +-1 to 1000 shares); options with
    K/S 0.7-1.3, 1 week to 2 years, vol 10-80%, +-1 to 50 contracts."""
    rng = np.random.default_rng(seed)
    spot0 = rng.uniform(10.0, 1000.0, u)
    ui = rng.integers(0, u, n)
    is_option = np.zeros(n, dtype=bool)
    is_option[rng.choice(n, int(n * OPTION_SHARE), replace=False)] = True
    qty = rng.choice([-1.0, 1.0], n) * np.where(
        is_option, rng.integers(1, 51, n), rng.integers(1, 1001, n)
    )
    kwargs: dict[str, np.ndarray] = dict(
        quantity=qty,
        multiplier=np.where(is_option, 100.0, 1.0),
        is_option=is_option,
        underlying_index=ui,
        strike=spot0[ui] * rng.uniform(0.7, 1.3, n),
        t_years=rng.uniform(7 / 365, 2.0, n),
        is_call=rng.random(n) < 0.5,
        rate=np.full(n, 0.04),
        div_yield=rng.uniform(0.0, 0.03, n),
        sigma=rng.uniform(0.1, 0.8, n),
        model=np.zeros(n, dtype=np.int8),
        spot0=spot0,
        price0=np.zeros(n),
    )
    kwargs["price0"] = model_prices(Book(**kwargs))
    return Book(**kwargs)


def factor_model(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Daily factor covariance (8 x 8), underlying loadings (u x 8), residual vols (u)."""
    rng = np.random.default_rng(seed)
    a = rng.normal(0.0, 0.004, (N_FACTORS, N_FACTORS)) + np.eye(N_FACTORS) * 0.006
    cov = a @ a.T
    loadings = rng.normal(0.0, 0.3, (N_UNDERLYINGS, N_FACTORS))
    loadings[:, 0] += 1.0
    return cov, loadings, rng.uniform(0.005, 0.025, N_UNDERLYINGS)


def history(cov: np.ndarray, loadings: np.ndarray, resid: np.ndarray, seed: int) -> np.ndarray:
    """252 days of fat-tailed returns (Student t factors, 4 dof) of 500 underlyings."""
    rng = np.random.default_rng(seed)
    t = rng.standard_t(4, (N_DAYS, N_FACTORS)) / np.sqrt(2.0)
    f = t @ np.linalg.cholesky(cov).T
    return f @ loadings.T + rng.standard_normal((N_DAYS, N_UNDERLYINGS)) * resid


def best_of(fn: Callable[[], T], repeats: int) -> tuple[float, T]:
    """Best wall time of ``repeats`` calls, and the last result."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def main() -> None:
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, "
        f"{platform.machine()}, cpus: {os.cpu_count()}"
    )
    cov, loadings, resid = factor_model(1)
    returns = history(cov, loadings, resid, 2)

    times = {}
    for n in (10_000, 20_000):
        book = random_book(n, N_UNDERLYINGS, seed=n)
        seconds, res = best_of(partial(historical_full_revaluation, book, returns), REPEATS)
        times[n] = seconds
        print(
            f"historical, {n:,} positions ({int(n * OPTION_SHARE):,} options), "
            f"{N_DAYS} days x {N_UNDERLYINGS} underlyings, h=1/5/10, c=95/99%: "
            f"{seconds:.3f} s (best of {REPEATS})"
        )
        for (h, c), r in sorted(res.items()):
            print(
                f"  h={h:>2} c={c:.2f}: VaR {r.var:>14,.0f}  ES {r.es:>14,.0f}  "
                f"sum(components) - VaR = {r.component.sum() - r.var:+.2e}"
            )
    print(f"ratio 20k/10k: {times[20_000] / times[10_000]:.2f} (linear: 2.00)")

    book = random_book(10_000, N_UNDERLYINGS, seed=10_000)
    start = time.perf_counter()
    res = monte_carlo_var(book, cov, loadings, resid, n_paths=10_000, seed=7)
    seconds = time.perf_counter() - start
    print(
        f"monte carlo, 10,000 paths, 10,000 positions (1,000 options), h=1/5/10, "
        f"c=95/99%: {seconds:.3f} s"
    )
    for (h, c), r in sorted(res.items()):
        print(
            f"  h={h:>2} c={c:.2f}: VaR {r.var:>14,.0f}  ES {r.es:>14,.0f}  "
            f"sum(components) - VaR = {r.component.sum() - r.var:+.2e}"
        )


if __name__ == "__main__":
    main()
