"""The engines' thread split: every range once, the same figures on any thread count."""

from __future__ import annotations

import itertools
import threading

import numpy as np
import pytest

from risk.engine import parallel
from risk.engine.pricing import bsm_greeks, bsm_price


@pytest.fixture
def two_threads():
    before = parallel.threads()
    parallel.set_threads(2)
    yield
    parallel.set_threads(before)


def test_ranges_cover_everything_once_on_aligned_boundaries(two_threads):
    seen: list[tuple[int, int, str]] = []
    lock = threading.Lock()

    def work(a: int, b: int) -> None:
        with lock:
            seen.append((a, b, threading.current_thread().name))

    parallel.for_ranges(10_000, work, align=1_024)
    spans = sorted((a, b) for a, b, _ in seen)
    assert spans[0][0] == 0 and spans[-1][1] == 10_000
    assert all(b1 == a2 for (_, b1), (a2, _) in itertools.pairwise(spans))
    assert all(a % 1_024 == 0 for a, _ in spans)
    assert len(spans) == 2 and len({name for *_, name in seen}) == 2  # two threads ran


def test_small_work_and_nested_calls_run_inline(two_threads):
    calls: list[tuple[int, int]] = []
    parallel.for_ranges(500, lambda a, b: calls.append((a, b)), align=1_024)
    assert calls == [(0, 500)]

    inner: list[tuple[int, int]] = []

    def outer(a: int, b: int) -> None:
        parallel.for_ranges(8_192, lambda x, y: inner.append((x, y)), align=1_024)

    parallel.for_ranges(4_096, outer, align=1_024)
    assert inner == [(0, 8_192), (0, 8_192)]  # each worker's nested call is one inline range


def test_an_error_in_any_range_is_raised_after_all_ranges_finish(two_threads):
    finished: list[int] = []

    def work(a: int, b: int) -> None:
        if a > 0:
            raise ValueError("second range failed")
        finished.append(a)

    with pytest.raises(ValueError, match="second range failed"):
        parallel.for_ranges(4_096, work, align=1_024)
    assert finished == [0]


def test_pricing_is_identical_on_one_and_two_threads():
    rng = np.random.default_rng(11)
    n = 200_003  # not a multiple of the block size
    t = rng.uniform(0.0, 1.0, n)
    t[::97] = 0.0  # expired rows take the degenerate branch inside a block
    args = (
        rng.uniform(50, 150, n),
        rng.uniform(60, 140, n),
        t,
        0.04,
        0.01,
        rng.uniform(0.05, 0.8, n),
        rng.random(n) < 0.5,
    )
    before = parallel.threads()
    try:
        parallel.set_threads(1)
        price1, greeks1 = bsm_price(*args), bsm_greeks(*args)
        parallel.set_threads(2)
        price2, greeks2 = bsm_price(*args), bsm_greeks(*args)
    finally:
        parallel.set_threads(before)
    assert np.array_equal(price1, price2)
    for a, b in zip(greeks1, greeks2, strict=True):
        assert np.array_equal(a, b)


def test_monte_carlo_is_identical_on_any_thread_count_and_block_size(monkeypatch):
    from risk.engine import var
    from risk.tests.test_var import random_book

    book = random_book(300, 40, 0.3, seed=2)
    rng = np.random.default_rng(3)
    a = rng.standard_normal((3, 3)) * 0.01
    cov, loadings, resid = a @ a.T, rng.normal(1.0, 0.3, (40, 3)), rng.uniform(0.005, 0.02, 40)
    kwargs = dict(n_paths=1_500, seed=4, vol_loadings=[-3.0, 0.0, 1.0], vol_residual=0.02)
    before = parallel.threads()
    results = []
    try:
        for threads, block_elements in ((1, 1 << 20), (2, 1 << 20), (2, 40 * 7)):
            parallel.set_threads(threads)
            monkeypatch.setattr(var, "_PATH_BLOCK_ELEMENTS", block_elements)
            results.append(var.monte_carlo_var(book, cov, loadings, resid, **kwargs))
    finally:
        parallel.set_threads(before)
    one, two, small_blocks = results
    for key, got in one.items():
        # Bit for bit on any thread count (every path from its own stream, every block
        # computed as alone) ...
        np.testing.assert_array_equal(got.pnl_vector, two[key].pnl_vector)
        np.testing.assert_array_equal(got.component, two[key].component)
        # ... and the same draws on any block size (BLAS may round a product of another
        # shape in the last bit).
        np.testing.assert_allclose(got.pnl_vector, small_blocks[key].pnl_vector, rtol=1e-12)
        assert got.var == pytest.approx(small_blocks[key].var, rel=1e-12)


def test_engine_threads_hold_blas_to_one_thread_and_give_it_back():
    from threadpoolctl import threadpool_info

    def blas_threads() -> set[int]:
        return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}

    before = parallel.threads()
    try:
        parallel.set_threads(1)
        default = blas_threads()
        parallel.set_threads(2)
        parallel.for_ranges(4, lambda a, b: None)  # the pool (and the limit) start lazily
        assert blas_threads() == {1}
        parallel.set_threads(1)
        assert blas_threads() == default
    finally:
        parallel.set_threads(before)


@pytest.mark.parametrize("options, scenarios", [(9_500, 14), (7, 300), (1, 5)])
def test_scenario_prices_are_bsm_price_bit_for_bit(options: int, scenarios: int) -> None:
    from risk.engine.pricing import bsm_scenario_prices

    rng = np.random.default_rng(options)
    k, t = rng.uniform(80, 120, options), rng.uniform(-0.01, 0.5, options)  # some expired
    r, q, call = (
        rng.uniform(0, 0.05, options),
        rng.uniform(0, 0.03, options),
        rng.random(options) < 0.5,
    )
    spot = 100 * np.exp(0.05 * rng.standard_normal((scenarios, options)))
    sigma = rng.uniform(0.1, 0.6, (scenarios, options))
    for sig in (sigma, sigma[0]):  # per scenario and option, or per option
        np.testing.assert_array_equal(
            bsm_scenario_prices(spot, k, t, r, q, sig, call), bsm_price(spot, k, t, r, q, sig, call)
        )
    with pytest.raises(ValueError):
        bsm_scenario_prices(spot[0], k, t, r, q, sigma[0], call)  # spot must be (S, m)
