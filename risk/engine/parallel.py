"""Engine work split over the machine's cores.

Pure Python and numpy: no Django. numpy's and scipy's ufunc loops on float arrays
release the GIL, so independent row ranges of one array computation (pricing blocks,
Monte Carlo path blocks) run on several cores at once from threads. Each range is
computed exactly as it would be alone, so the figures do not depend on the thread count.

:func:`for_ranges` is the one entry point. Work submitted from inside a worker runs
inline (a pricing call made by a Monte Carlo path block does not split again), so the
pool can never wait on itself. The pool is created lazily per process: a Celery prefork
child does not inherit its parent's threads.

While the pool exists, BLAS (OpenBLAS) runs one thread per call (threadpoolctl): its own
thread pool and ours fought, and two engine threads each calling a multi-threaded BLAS
ran Monte Carlo slower than one thread (2.8 s against 2.6 s; 1.7 s with BLAS limited).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

from threadpoolctl import threadpool_limits

__all__ = ["for_ranges", "set_threads", "threads"]

_lock = threading.Lock()
_local = threading.local()
_state: dict[str, object] = {
    "threads": max(1, os.cpu_count() or 1),
    "pool": None,
    "pid": None,
    "blas_limit": None,  # the threadpoolctl limiter while BLAS is held to one thread
}


def set_threads(count: int) -> None:
    """Use ``count`` threads (at least 1) for engine work in this process from now on."""
    with _lock:
        _state["threads"] = max(1, int(count))
        pool = _state["pool"]
        _state["pool"] = None
        limiter, _state["blas_limit"] = _state["blas_limit"], None
    if isinstance(pool, ThreadPoolExecutor):
        pool.shutdown(wait=False)
    if isinstance(limiter, threadpool_limits):
        limiter.restore_original_limits()  # the next pool sets it again if it needs to


def threads() -> int:
    """Threads engine work uses in this process."""
    return int(_state["threads"])  # type: ignore[call-overload]


def _pool() -> ThreadPoolExecutor:
    with _lock:
        pool = _state["pool"]
        if not isinstance(pool, ThreadPoolExecutor) or _state["pid"] != os.getpid():
            # The calling thread computes one range itself: threads − 1 workers.
            pool = ThreadPoolExecutor(
                max_workers=max(1, threads() - 1), thread_name_prefix="risk-engine"
            )
            _state["pool"], _state["pid"] = pool, os.getpid()
            if _state["blas_limit"] is None:
                _state["blas_limit"] = threadpool_limits(limits=1, user_api="blas")
        return pool


def _ranges(total: int, parts: int, align: int) -> Iterator[tuple[int, int]]:
    """``parts`` contiguous ranges covering [0, total), each boundary a multiple of
    ``align`` (so a range's blocks are the blocks a single pass would use)."""
    units = -(-total // align)
    for p in range(parts):
        a, b = (units * p // parts) * align, min(total, (units * (p + 1) // parts) * align)
        if a < b:
            yield a, b


def _run_in_worker(work: Callable[[int, int], None], a: int, b: int) -> None:
    _local.inside = True
    try:
        work(a, b)
    finally:
        _local.inside = False


def for_ranges(total: int, work: Callable[[int, int], None], *, align: int = 1) -> None:
    """Call ``work(a, b)`` on contiguous ranges covering [0, ``total``), in parallel.

    ``work`` must write only its own range of its outputs. Boundaries are multiples of
    ``align`` (a caller's block size). With one thread, fewer than two blocks of work, or
    when called from inside a worker, it is one inline call ``work(0, total)``. An exception
    raised by a range is re-raised here after every range has finished.
    """
    parts = min(threads(), -(-total // max(align, 1)))
    if parts <= 1 or getattr(_local, "inside", False):
        if total > 0:
            work(0, total)
        return
    first, *rest = _ranges(total, parts, align)
    pool = _pool()
    futures = [pool.submit(_run_in_worker, work, a, b) for a, b in rest]
    try:
        _run_in_worker(work, *first)
    finally:  # the other ranges write into the caller's arrays: wait for them first
        failures = [f.exception() for f in futures]
    for failure in failures:
        if failure is not None:
            raise failure
