"""Simulated cash dividends and the dividend-adjusted close of the simulated rows.

The rule (stated, deterministic; a symbol has no real dividend record in the repo):

* **Who pays**: stocks and ETFs whose reference ``dividend_yield`` is a positive fraction;
  funds, indices and names with an unknown (null) or zero yield pay nothing.
* **When**: quarterly, on the first NYSE session on or after the EX_DAY-th of each month of
  the symbol's cycle: Jan/Apr/Jul/Oct, Feb/May/Aug/Nov or Mar/Jun/Sep/Dec, picked by a
  BLAKE2 hash of the symbol (so ex-dates spread over the quarter as real ones do). Only on
  simulated sessions after the symbol's last real row: the real rows carry their own
  history.
* **How much**: dividend per share D = dividend_yield / 4 × the close of the session before
  the ex-date, rounded to 4 decimals (the reference yield is the indicated annual dividend
  over the price, so a quarter of it at the prevailing price). USD per share.
* **Adjusted close** (the CRSP/Yahoo backward adjustment): on each ex-date t the factor is
  f_t = 1 − D_t / close_{t−1}; a simulated row s has adj_close_s = close_s × Π f_t over the
  ex-dates t with s < t ≤ the as-of date (the last session of the request: point in time),
  rounded to 4 decimals. So adj_close < close before an ex-date and adj_close = close from
  the last one on; the closes themselves
  are the bootstrap's price path, unchanged (the dividend is paid on top of it). Real rows
  keep their shipped adj_close, so an adjusted series that spans a symbol's last real row
  steps there by the product of the later simulated factors (a known seam: returns over it
  should use the close).
"""

from __future__ import annotations

import datetime as dt
import hashlib

import numpy as np

from marketdata.providers.simulated.reference import _Security
from marketdata.providers.simulated.universe import _Universe

EX_DAY = 15
CYCLES = ((1, 4, 7, 10), (2, 5, 8, 11), (3, 6, 9, 12))
PAYING_TYPES = ("stock", "etf")
#: The source of every simulated dividend (as of every simulated bar).
DIVIDEND_SOURCE = "simulated"


def dividend_cycle(symbol: str) -> tuple[int, int, int, int]:
    """The four ex-date months of ``symbol`` (module docstring)."""
    digest = hashlib.blake2b(symbol.encode(), digest_size=8).digest()
    return CYCLES[int.from_bytes(digest, "little") % 3]


def _dividend_rows(u: _Universe, j: int, sec: _Security) -> tuple[np.ndarray, np.ndarray]:
    """(grid rows of the ex-dates, dividend per share) of column ``j`` of ``u`` up to its
    horizon; empty for a symbol that pays nothing."""
    empty = (np.zeros(0, dtype=np.int64), np.zeros(0))
    raw_yield = sec.info.get("dividend_yield")
    if sec.asset_type not in PAYING_TYPES or not raw_yield or float(raw_yield) <= 0:
        return empty
    dividend_yield = float(raw_yield)
    src = u.source[:, j]
    real = np.flatnonzero(src > 0)
    simulated = np.flatnonzero(src == 0)
    if simulated.size == 0:
        return empty
    first_sim = int(simulated[0]) if real.size == 0 else int(real[-1]) + 1
    first_ex = max(first_sim, int(np.flatnonzero(src >= 0)[0]) + 1)  # a close the day before
    dates = u.dates
    first_year = dates[first_ex].astype(object).year
    candidates = [
        dt.date(year, month, EX_DAY)
        for year in range(first_year, u.horizon.year + 1)
        for month in dividend_cycle(sec.symbol)
    ]
    rows = np.searchsorted(dates, np.array(candidates, dtype="datetime64[D]"), side="left")
    rows = np.unique(rows[(rows >= first_ex) & (rows < dates.size)])
    close = u.close[:, j]
    prev = close[rows - 1]
    ok = np.isfinite(prev) & np.isfinite(close[rows])
    rows, prev = rows[ok], prev[ok]
    return rows.astype(np.int64), np.round(dividend_yield / 4.0 * prev, 4)


def dividends(
    u: _Universe, j: int, sec: _Security, lo_i: int, hi_i: int
) -> list[tuple[dt.date, float]]:
    """(ex-date, dividend per share) with grid rows in [lo_i, hi_i)."""
    rows, amounts = _dividend_rows(u, j, sec)
    keep = (rows >= lo_i) & (rows < hi_i)
    return [
        (u.dates[r].astype(object), float(a))
        for r, a in zip(rows[keep], amounts[keep], strict=True)
    ]


def adjusted_close(
    u: _Universe, j: int, sec: _Security, rows: np.ndarray, as_of_i: int
) -> np.ndarray:
    """adj_close of column ``j`` at grid ``rows``, backward-adjusted for the simulated
    dividends up to grid row ``as_of_i`` (module docstring); real rows as shipped."""
    adj = u.adj_close[rows, j].copy()
    ex_rows, amounts = _dividend_rows(u, j, sec)
    keep = ex_rows <= as_of_i
    ex_rows, amounts = ex_rows[keep], amounts[keep]
    if ex_rows.size == 0:
        return adj
    factors = 1.0 - amounts / u.close[ex_rows - 1, j]
    # Π of the factors of the ex-dates after each row: reverse cumulative product.
    after = np.r_[np.cumprod(factors[::-1])[::-1], 1.0]
    k = np.searchsorted(ex_rows, rows, side="right")  # first ex-date strictly after the row
    simulated = u.source[rows, j] == 0
    adj[simulated] = np.round(u.close[rows, j][simulated] * after[k][simulated], 4)
    return adj
