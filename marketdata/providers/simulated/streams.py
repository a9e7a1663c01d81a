"""Counter-based randomness: value = f(seed, stream, symbol, date), vectorized over dates.

A value is splitmix64 of the date's ordinal mixed with a BLAKE2 key of (seed, stream,
symbol), not the next draw of a sequential generator, so it does not depend on which other
values were drawn before it (see the package docstring, "Determinism and stability").
"""

from __future__ import annotations

import hashlib

import numpy as np
from scipy.special import ndtri

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def _splitmix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer on a uint64 array (wrapping arithmetic)."""
    z = x + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


def _stream_key(seed: int, stream: str, symbol: str = "") -> np.uint64:
    digest = hashlib.blake2b(f"{seed}|{stream}|{symbol}".encode(), digest_size=8).digest()
    return np.uint64(int.from_bytes(digest, "little"))


def _uniform(seed: int, stream: str, symbol: str, ordinals: np.ndarray) -> np.ndarray:
    """Uniforms in (0, 1), one per date ordinal, fixed by (seed, stream, symbol, date)."""
    x = np.asarray(ordinals, dtype=np.int64).astype(np.uint64)
    x = _splitmix(_splitmix(x) ^ _stream_key(seed, stream, symbol))
    return ((x >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53


def _normal(seed: int, stream: str, symbol: str, ordinals: np.ndarray) -> np.ndarray:
    """Standard normals by inversion of :func:`_uniform`."""
    return ndtri(_uniform(seed, stream, symbol, ordinals))


def _date_ordinals(dates: np.ndarray) -> np.ndarray:
    """Day numbers (days since 1970-01-01) of datetime64 dates: the counter of the streams."""
    return dates.astype("datetime64[D]").astype(np.int64)
