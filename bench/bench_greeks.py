"""Benchmark: BSM price + five Greeks for 1,000,000 options with risk.engine.pricing.

Prints the median and best of 7 runs of ``bsm_greeks`` (options/s; the requirement is at
least 5 million options/s), the first (cold) call apart, then a scalar vollib loop (price
+ delta, gamma, theta, vega, rho) on 20,000 options and the speed ratio. Also prints the
numpy version and its BLAS/thread pools (threadpoolctl, when installed). The engine uses
no BLAS: these are printed so that figures from different machines can be compared.

Run from anywhere: ``python bench/bench_greeks.py``.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from risk.engine.pricing import bsm_greeks, bsm_price, implied_volatility

N_OPTIONS = 1_000_000
REPEATS = 7
N_VOLLIB = 20_000
TARGET = 5_000_000.0  # options/s


def random_options(n: int, seed: int = 42) -> dict[str, np.ndarray]:
    """Spot 10-1000, K/S 0.5-1.5, t 1 minute-3 years, sigma 0.05-1.5, r 0-8%, q 0-5%."""
    rng = np.random.default_rng(seed)
    spot = rng.uniform(10.0, 1000.0, n)
    return {
        "spot": spot,
        "strike": spot * rng.uniform(0.5, 1.5, n),
        "t": rng.uniform(1.0 / 525_600.0, 3.0, n),
        "rate": rng.uniform(0.0, 0.08, n),
        "div_yield": rng.uniform(0.0, 0.05, n),
        "sigma": rng.uniform(0.05, 1.5, n),
        "is_call": rng.random(n) < 0.5,
    }


def print_environment() -> None:
    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}")
    print(f"cpus: {os.cpu_count()}")
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        print("threadpoolctl not installed; numpy build config:")
        try:
            blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]  # type: ignore[index]
            print(f"  blas: {blas.get('name')} {blas.get('version')}")
        except Exception as exc:  # noqa: BLE001 - informational only
            print(f"  (unavailable: {exc})")
        return
    for pool in threadpool_info():
        print(
            f"  {pool.get('internal_api')} {pool.get('version')}: "
            f"{pool.get('num_threads')} threads ({pool.get('filepath')})"
        )


def bench_engine(options: dict[str, np.ndarray]) -> float:
    t0 = time.perf_counter()
    bsm_greeks(**options)
    cold = time.perf_counter() - t0
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        bsm_greeks(**options)
        times.append(time.perf_counter() - t0)
    median, best = statistics.median(times), min(times)
    n = len(options["spot"])
    print(f"\nrisk.engine.pricing.bsm_greeks, {n:,} options, {REPEATS} runs:")
    print(f"  median {median:.4f} s = {n / median:,.0f} options/s")
    print(f"  min    {best:.4f} s = {n / best:,.0f} options/s")
    print(f"  first (cold) call {cold:.4f} s = {n / cold:,.0f} options/s (fresh output pages)")
    verdict = "met" if n / median >= TARGET else "NOT met"
    print(f"  target >= {TARGET:,.0f} options/s (median): {verdict}")

    t0 = time.perf_counter()
    price = bsm_price(**options)
    print(f"  bsm_price alone: {n / (time.perf_counter() - t0):,.0f} options/s")
    m = 100_000
    args = {k: v[:m] for k, v in options.items() if k != "sigma"}
    t0 = time.perf_counter()
    implied_volatility(price[:m], **args)
    print(f"  implied_volatility ({m:,}): {m / (time.perf_counter() - t0):,.0f} options/s")
    return n / median


def bench_vollib(options: dict[str, np.ndarray]) -> float | None:
    try:
        from vollib.black_scholes_merton import black_scholes_merton
        from vollib.black_scholes_merton.greeks import analytical as g
    except ImportError:
        print("\nvollib not installed: no comparison")
        return None
    n = len(options["spot"])
    rows = list(
        zip(
            np.where(options["is_call"], "c", "p").tolist(),
            options["spot"].tolist(),
            options["strike"].tolist(),
            options["t"].tolist(),
            options["rate"].tolist(),
            options["sigma"].tolist(),
            options["div_yield"].tolist(),
            strict=True,
        )
    )
    t0 = time.perf_counter()
    for flag, s, k, t, r, sigma, q in rows:  # vollib order: flag, S, K, t, r, sigma, q
        black_scholes_merton(flag, s, k, t, r, sigma, q)
        g.delta(flag, s, k, t, r, sigma, q)
        g.gamma(flag, s, k, t, r, sigma, q)
        g.theta(flag, s, k, t, r, sigma, q)
        g.vega(flag, s, k, t, r, sigma, q)
        g.rho(flag, s, k, t, r, sigma, q)
    elapsed = time.perf_counter() - t0
    print(f"\nvollib scalar loop (price + 5 analytical Greeks), {n:,} options:")
    print(f"  {elapsed:.3f} s = {n / elapsed:,.0f} options/s")
    return n / elapsed


def main() -> None:
    print_environment()
    options = random_options(N_OPTIONS)
    engine_rate = bench_engine(options)
    vollib_rate = bench_vollib({k: v[:N_VOLLIB] for k, v in options.items()})
    if vollib_rate:
        print(f"\nratio engine median / vollib: {engine_rate / vollib_rate:,.0f}x")


if __name__ == "__main__":
    main()
