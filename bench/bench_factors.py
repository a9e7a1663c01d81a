"""Benchmark: factor regression and correlation with risk.engine.factors / .correlation.

Prints the median and best of 7 runs (the first call apart) of ``regress`` for 10,000 and
20,000 positions on 252 days x 8 factors (market + 7 styles), complete data and with 10%
of the positions holding holes (a different pattern each, the masked normal-equation
path), the ratios of the 20,000 to the 10,000 times (linear scaling is 2.0; on a shared
machine the ratio of the best times is the steadier one), and
``correlation_matrix`` for 2,000 positions (complete and with holes). Also prints the
numpy version and its BLAS thread pools (threadpoolctl, when installed): the regression
and the correlation are BLAS products, so figures depend on them.

Figures only, no asserts. Run from anywhere: ``python bench/bench_factors.py``.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from risk.engine.correlation import clusters, correlation_matrix
from risk.engine.factors import factor_design, regress

DAYS = 252
STYLES = 7
SIZES = (10_000, 20_000)
N_CORR = 2_000
REPEATS = 7


def print_environment() -> None:
    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}")
    print(f"cpus: {os.cpu_count()}")
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        print("threadpoolctl not installed")
        return
    for pool in threadpool_info():
        print(
            f"  {pool.get('internal_api')} {pool.get('version')}: "
            f"{pool.get('num_threads')} threads ({pool.get('filepath')})"
        )


def data(n: int, seed: int = 42, holes: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Design [252, 8] and returns [252, n]; with ``holes`` > 0, that share of positions
    misses ~5% of its days at random (a distinct pattern for each)."""
    rng = np.random.default_rng(seed)
    market = rng.normal(0.0005, 0.01, DAYS)
    styles = market[:, None] * rng.uniform(0.8, 1.2, STYLES) + rng.normal(
        0.0, 0.004, (DAYS, STYLES)
    )
    x = factor_design(market, styles)
    betas = rng.normal(0.0, 0.5, (n, x.shape[1]))
    betas[:, 0] += 1.0
    y = x @ betas.T + rng.normal(0.0, 0.015, (DAYS, n))
    if holes > 0.0:
        m = int(n * holes)
        block = y[:, :m]
        block[rng.random(block.shape) < 0.05] = np.nan
    return x, y


def timed(fn: Callable[[], object]) -> tuple[float, float, float]:
    """(first call, median, best) seconds over REPEATS runs after the first."""
    t0 = time.perf_counter()
    fn()
    cold = time.perf_counter() - t0
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return cold, statistics.median(times), min(times)


def bench_regress(holes: float) -> None:
    label = "complete data" if holes == 0.0 else f"{holes:.0%} of positions with holes"
    print(f"\nregress, {DAYS} days x {STYLES + 1} factors, {label}:")
    medians, bests = {}, {}
    for n in SIZES:
        x, y = data(n, holes=holes)
        cold, median, best = timed(partial(regress, y, x))
        medians[n], bests[n] = median, best
        print(
            f"  {n:>6,} positions: median {median:.4f} s, best {best:.4f} s, "
            f"first {cold:.4f} s = {n / median:,.0f} positions/s"
        )
    a, b = SIZES
    print(
        f"  ratio {b:,} / {a:,}: median {medians[b] / medians[a]:.2f}, "
        f"best {bests[b] / bests[a]:.2f} (linear: {b / a:.1f})"
    )


def bench_correlation() -> None:
    print(f"\ncorrelation_matrix, {DAYS} days x {N_CORR:,} positions:")
    for holes in (0.0, 0.1):
        _, y = data(N_CORR, seed=7, holes=holes)
        cold, median, best = timed(partial(correlation_matrix, y))
        label = "complete" if holes == 0.0 else "with holes (pairwise)"
        print(f"  {label:<22}: median {median:.4f} s, best {best:.4f} s, first {cold:.4f} s")
    corr = correlation_matrix(y)
    t0 = time.perf_counter()
    groups = clusters(corr, 0.7)
    elapsed = time.perf_counter() - t0
    print(f"  clusters at |rho| >= 0.7: {elapsed:.4f} s (number of clusters: {len(groups)})")


def main() -> None:
    print_environment()
    bench_regress(0.0)
    bench_regress(0.1)
    bench_correlation()


if __name__ == "__main__":
    main()
