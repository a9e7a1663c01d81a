"""The historical data export (SigmaSight Part II E2): a portfolio's stored history as one
tidy, long table, streamed as CSV, JSON or Parquet.

Each source is read by one chunked query ordered by date (the owning apps' selectors:
``portfolios.selectors.holding_periods``, ``marketdata.selectors.daily_bars_iter``,
``risk.selectors.snapshots_iter``/``var_es_iter``/``greeks_iter``), and the sources are
merged by a walk over the dates, so memory holds one date's rows and one chunk of each
source whatever the range, and the number of queries does not depend on it (seven at
most). Columns, units and the holding rule are documented in ``docs/exports.md``.

Rows of one date, in this order:

* ``price``: one per position held at that session's close (``entry_date <= date <
  exit_date``), by symbol: its stored quantity and multiplier, the stored bar's ``close``
  and ``adj_close`` (empty where no bar is stored), ``market_value = quantity × close ×
  multiplier`` (dollars) and, with ``include_calculated``, the option's stored Greeks;
* ``snapshot``: the stored portfolio snapshot of that date, where there is one;
* ``metrics`` (with ``include_calculated``): one per stored VaR method, the 1-day 95/99%
  VaR and expected shortfall (dollars, losses negative).

A figure that is not stored is empty (CSV) or null (JSON, Parquet), never 0.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import pyarrow as pa
import pyarrow.parquet as pq

from marketdata import calendar
from marketdata.selectors import daily_bars_iter
from portfolios.selectors import HoldingPeriod, holding_periods
from risk.selectors import first_stored_dates, greeks_iter, snapshots_iter, var_es_iter

if TYPE_CHECKING:  # types only: the portfolio comes from portfolios.selectors
    from portfolios.models import Portfolio

#: Rows per streamed chunk: a CSV/JSON write, a Parquet row group.
TEXT_CHUNK_ROWS = 1000
PARQUET_CHUNK_ROWS = 5000
#: Rows per fetch of each database cursor.
DB_CHUNK_ROWS = 2000

FORMATS = ("csv", "json", "parquet")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "parquet": "application/vnd.apache.parquet",
}

# Column kinds: how each format writes a value.
DATE, TEXT, INT, QUANTITY, PRICE, MONEY, FLOAT, FLOAT_MONEY = (
    "date",
    "text",
    "int",
    "quantity",
    "price",
    "money",
    "float",
    "float_money",
)

#: (name, kind, unit): the one column set of every format, in order.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("date", DATE, "NYSE session date (YYYY-MM-DD)"),
    ("record", TEXT, "price | snapshot | metrics"),
    ("symbol", TEXT, "price: the position's symbol (OCC for options)"),
    ("position_id", TEXT, "price: the position's UUID"),
    ("position_type", TEXT, "price: LONG, SHORT, LC, LP, SC or SP"),
    ("quantity", QUANTITY, "price: signed shares, or contracts for options"),
    ("multiplier", INT, "price: 1 for shares, 100 for options"),
    ("close", PRICE, "price: stored raw close, dollars per share (per option share)"),
    ("adj_close", PRICE, "price: stored split/dividend-adjusted close, dollars per share"),
    ("market_value", MONEY, "price: quantity × close × multiplier, dollars"),
    ("delta", FLOAT, "price (options): per $1 of the underlying, per option share"),
    ("gamma", FLOAT, "price (options): delta change per $1 of the underlying"),
    ("theta", FLOAT, "price (options): dollars per calendar day, per option share"),
    ("vega", FLOAT, "price (options): dollars per volatility point, per option share"),
    ("rho", FLOAT, "price (options): dollars per rate point, per option share"),
    ("total_value", MONEY, "snapshot: positions value + cash, dollars"),
    ("positions_value", MONEY, "snapshot: dollars"),
    ("cash_balance", MONEY, "snapshot: dollars"),
    ("unrealized_pnl", MONEY, "snapshot: dollars"),
    ("realized_pnl", MONEY, "snapshot: dollars"),
    ("daily_pnl", MONEY, "snapshot: dollars, net of deposits and withdrawals"),
    ("daily_return", FLOAT, "snapshot: a fraction (0.0123 = 1.23%)"),
    ("method", TEXT, "metrics: historical | parametric | monte_carlo"),
    ("var_95_1d", FLOAT_MONEY, "metrics: 1-day 95% VaR, dollars, a loss is negative"),
    ("var_99_1d", FLOAT_MONEY, "metrics: 1-day 99% VaR, dollars, a loss is negative"),
    ("es_95_1d", FLOAT_MONEY, "metrics: 1-day 95% expected shortfall, dollars"),
    ("es_99_1d", FLOAT_MONEY, "metrics: 1-day 99% expected shortfall, dollars"),
)
COLUMN_NAMES = tuple(name for name, _, _ in COLUMNS)
_KINDS = tuple(kind for _, kind, _ in COLUMNS)
_INDEX = {name: i for i, name in enumerate(COLUMN_NAMES)}
_GREEKS = _INDEX["delta"]
_SNAPSHOT = _INDEX["total_value"]
_METHOD = _INDEX["method"]

Row = tuple[Any, ...]
_CENT = Decimal("0.01")
_PRICE_PLACES = Decimal("0.0001")


@dataclass
class HistoricalExport:
    """What one export covers (the range after defaults and the cap at today) and what it
    found missing. ``warnings`` is complete once :meth:`rows` is exhausted."""

    portfolio: Portfolio
    start: dt.date
    end: dt.date
    include_calculated: bool
    periods: list[HoldingPeriod]
    notes: list[str] = field(default_factory=list)
    _missing_bars: Counter[str] = field(default_factory=Counter)
    _stray_greeks: int = 0

    @property
    def filename_stem(self) -> str:
        return f"portfolio_{self.portfolio.pk}_{self.start.isoformat()}_{self.end.isoformat()}"

    @property
    def warnings(self) -> list[str]:
        found = list(self.notes)
        for symbol, count in sorted(self._missing_bars.items()):
            found.append(
                f"{symbol}: no stored daily bar on {count} held session(s); close, adj_close "
                "and market_value are null there"
            )
        if self._stray_greeks:
            found.append(
                f"{self._stray_greeks} stored Greeks row(s) fall outside their position's "
                "holding period and are not exported"
            )
        return found

    def rows(self) -> Iterator[Row]:
        """Every row, by date (see the module docstring), as native values: ``Decimal``
        for stored decimals, ``float`` for stored floats, ``None`` where nothing is stored."""
        periods = self.periods
        options = [p.id for p in periods if p.multiplier > 1]
        windows = _bar_windows(periods, self.start, self.end)
        bars = _ByDate(daily_bars_iter(windows=windows, chunk_size=DB_CHUNK_ROWS))
        snapshots = _ByDate(
            snapshots_iter(
                portfolio=self.portfolio, start=self.start, end=self.end, chunk_size=DB_CHUNK_ROWS
            )
        )
        calculated = self.include_calculated
        greeks = _ByDate(
            greeks_iter(
                position_ids=options, start=self.start, end=self.end, chunk_size=DB_CHUNK_ROWS
            )
            if calculated
            else iter(())
        )
        metrics = _ByDate(
            var_es_iter(portfolio=self.portfolio, start=self.start, end=self.end)
            if calculated
            else iter(())
        )
        sessions = _sessions(self.start, self.end)
        next_session = next(sessions, None)
        held = _Holdings(periods)
        blank = (None,) * len(COLUMNS)
        while True:
            heads = [
                d
                for d in (
                    next_session,
                    bars.next_date,
                    greeks.next_date,
                    snapshots.next_date,
                    metrics.next_date,
                )
                if d is not None
            ]
            if not heads:
                return
            day = min(heads)
            is_session = day == next_session
            if is_session:
                next_session = next(sessions, None)
            day_bars = {symbol: (close, adj) for _, symbol, close, adj in bars.take(day)}
            day_greeks = {row[1]: row[2:] for row in greeks.take(day)}
            if is_session or day_bars or day_greeks:
                for period in held.on(day):
                    bar = day_bars.get(period.symbol)
                    if bar is None:
                        self._missing_bars[period.symbol] += 1
                        close = adj = value = None
                    else:
                        close, adj = bar
                        value = (period.quantity * close * period.multiplier).quantize(
                            _CENT, ROUND_HALF_UP
                        )
                    figures = day_greeks.pop(period.id, None) or (None,) * 5
                    yield (
                        day,
                        "price",
                        period.symbol,
                        str(period.id),
                        period.position_type,
                        period.quantity,
                        period.multiplier,
                        close,
                        adj,
                        value,
                        *figures,
                        *blank[_SNAPSHOT:],
                    )
                self._stray_greeks += len(day_greeks)
            for snapshot in snapshots.take(day):
                yield (day, "snapshot", *blank[2:_SNAPSHOT], *snapshot[1:], *blank[_METHOD:])
            for _, method, _value, var, es in metrics.take(day):
                yield (
                    day,
                    "metrics",
                    *blank[2:_METHOD],
                    method,
                    _one_day(var, "95"),
                    _one_day(var, "99"),
                    _one_day(es, "95"),
                    _one_day(es, "99"),
                )


def historical_export(
    *,
    portfolio: Portfolio,
    start: dt.date | None,
    end: dt.date | None,
    include_calculated: bool,
    today: dt.date | None = None,
) -> HistoricalExport:
    """The export of ``portfolio`` over ``[start, end]``: by default from the first stored
    figure (the first entry date, snapshot or metrics row) to today (New York), and never
    past today. Three queries now; the rows are read as they are streamed."""
    today = today or dt.datetime.now(calendar.EASTERN).date()
    notes: list[str] = []
    last = min(end, today) if end is not None else today
    if end is not None and end > today:
        notes.append(f"end_date {end.isoformat()} is after today: the export ends {today}")
    periods = holding_periods(portfolio=portfolio, start=start, end=last)
    if start is None:
        firsts = [p.entry_date for p in periods]
        firsts += first_stored_dates(portfolio=portfolio)
        start = min([d for d in firsts if d <= last], default=last)
    elif start > last:
        notes.append(f"start_date {start.isoformat()} is after today: nothing is stored yet")
    return HistoricalExport(
        portfolio=portfolio,
        start=start,
        end=last,
        include_calculated=include_calculated,
        periods=periods,
        notes=notes,
    )


# --------------------------------------------------------------------------- the merge

T = TypeVar("T", bound=tuple[Any, ...])


class _ByDate(Generic[T]):
    """A source ordered by date (its rows' first item), read one date at a time."""

    __slots__ = ("_head", "_rows")

    def __init__(self, rows: Iterator[T]) -> None:
        self._rows = rows
        self._head: T | None = next(rows, None)

    @property
    def next_date(self) -> dt.date | None:
        return None if self._head is None else self._head[0]

    def take(self, day: dt.date) -> list[T]:
        """The rows of ``day`` (none if the source's next date is later)."""
        found = []
        while self._head is not None and self._head[0] == day:
            found.append(self._head)
            self._head = next(self._rows, None)
        return found


class _Holdings:
    """The positions held on each date of an ascending walk, by symbol: positions join on
    their entry date and leave on their exit date, so a date costs O(held), not O(all)."""

    def __init__(self, periods: Sequence[HoldingPeriod]) -> None:
        self._waiting = sorted(periods, key=lambda p: p.entry_date, reverse=True)
        self._held: list[HoldingPeriod] = []

    def on(self, day: dt.date) -> list[HoldingPeriod]:
        changed = False
        while self._waiting and self._waiting[-1].entry_date <= day:
            self._held.append(self._waiting.pop())
            changed = True
        kept = [p for p in self._held if p.held_until is None or day < p.held_until]
        if changed or len(kept) != len(self._held):
            kept.sort(key=lambda p: (p.symbol, p.entry_date, str(p.id)))
        self._held = kept
        return kept


def _sessions(start: dt.date, end: dt.date) -> Iterator[dt.date]:
    """NYSE sessions of ``[start, end]``, a year of the calendar at a time."""
    year = start.year
    while year <= end.year:
        first = max(start, dt.date(year, 1, 1))
        last = min(end, dt.date(year, 12, 31))
        yield from calendar.sessions_between(first, last)
        year += 1


def _bar_windows(
    periods: Sequence[HoldingPeriod], start: dt.date, end: dt.date
) -> dict[str, tuple[dt.date, dt.date]]:
    """Per symbol, the dates of ``[start, end]`` its bars are needed: from its first entry
    to its last held date (``end`` while any of its positions is open)."""
    windows: dict[str, tuple[dt.date, dt.date]] = {}
    for p in periods:
        first = max(start, p.entry_date)
        last = end if p.held_until is None else min(end, p.held_until - dt.timedelta(days=1))
        if first > last:
            continue
        lo, hi = windows.get(p.symbol, (first, last))
        windows[p.symbol] = (min(lo, first), max(hi, last))
    return windows


def _one_day(table: Any, confidence: str) -> float | None:
    """The 1-day figure at ``confidence`` ("95", "99") of a stored VaR/ES table, if any."""
    if not isinstance(table, dict):
        return None
    horizon = table.get("1_day")
    value = horizon.get(confidence) if isinstance(horizon, dict) else None
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


# --------------------------------------------------------------------------- formats


def _chunks(rows: Iterator[Row], size: int) -> Iterator[list[Row]]:
    chunk: list[Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _exact(value: Decimal) -> str:
    """A stored decimal, exactly, without exponent or trailing zeros (100.000000 → 100)."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def _csv_cell(kind: str, value: Any) -> str:
    if value is None:
        return ""
    if kind == MONEY:
        return str(value.quantize(_CENT, ROUND_HALF_UP))
    if kind in (QUANTITY, PRICE):
        return _exact(value)
    if kind in (FLOAT, FLOAT_MONEY):
        return repr(float(value)) if math.isfinite(value) else ""
    if kind == DATE:
        return str(value.isoformat())
    return str(value)


def csv_chunks(export: HistoricalExport) -> Iterator[bytes]:
    """The CSV file: the header line, then the rows, ``TEXT_CHUNK_ROWS`` per chunk.
    Decimals are exact strings (money with two places), floats their shortest repr."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMN_NAMES)
    yield buffer.getvalue().encode()
    for chunk in _chunks(export.rows(), TEXT_CHUNK_ROWS):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(
            [_csv_cell(kind, value) for kind, value in zip(_KINDS, row, strict=True)]
            for row in chunk
        )
        del chunk  # not alive while the next chunk is read
        yield buffer.getvalue().encode()


def _json_cell(kind: str, value: Any) -> str:
    if value is None:
        return "null"
    if kind == MONEY:
        return str(value.quantize(_CENT, ROUND_HALF_UP))
    if kind == PRICE:
        return _exact(value.quantize(_PRICE_PLACES, ROUND_HALF_UP))
    if kind == QUANTITY:
        return _exact(value)
    if kind == FLOAT:
        return repr(float(value)) if math.isfinite(value) else "null"
    if kind == FLOAT_MONEY:
        return repr(round(float(value), 2)) if math.isfinite(value) else "null"
    if kind == DATE:
        return f'"{value.isoformat()}"'
    if kind == INT:
        return str(int(value))
    return json.dumps(value)


def json_chunks(export: HistoricalExport) -> Iterator[bytes]:
    """One JSON document, written as it goes: ``{"portfolio_id", "start_date", "end_date",
    "include_calculated", "columns", "units", "rows": [[...], ...], "warnings"}``; each row
    is an array aligned with ``columns``. Money is rounded to cents, prices to 4 places."""
    head = {
        "portfolio_id": str(export.portfolio.pk),
        "start_date": export.start.isoformat(),
        "end_date": export.end.isoformat(),
        "include_calculated": export.include_calculated,
        "columns": list(COLUMN_NAMES),
        "units": {name: unit for name, _, unit in COLUMNS},
    }
    yield (json.dumps(head)[:-1] + ', "rows": [').encode()
    separator = "\n"
    for chunk in _chunks(export.rows(), TEXT_CHUNK_ROWS):
        lines = [
            "[" + ",".join(_json_cell(k, v) for k, v in zip(_KINDS, row, strict=True)) + "]"
            for row in chunk
        ]
        del chunk  # not alive while the next chunk is read
        yield (separator + ",\n".join(lines)).encode()
        separator = ",\n"
    yield ("\n], " + json.dumps({"warnings": export.warnings})[1:] + "\n").encode()


_ARROW_TYPES: dict[str, pa.DataType] = {
    DATE: pa.date32(),
    TEXT: pa.string(),
    INT: pa.int32(),
    QUANTITY: pa.decimal128(20, 6),
    PRICE: pa.decimal128(20, 6),
    MONEY: pa.decimal128(38, 2),
    FLOAT: pa.float64(),
    FLOAT_MONEY: pa.float64(),
}
#: The Parquet schema: stored decimals stay exact (decimal128: quantities and prices with
#: the database's 6 places, money with 2), stored floats are float64.
PARQUET_SCHEMA = pa.schema(
    [pa.field(name, _ARROW_TYPES[kind]) for name, kind, _ in COLUMNS],
    metadata={"units": json.dumps({name: unit for name, _, unit in COLUMNS})},
)


class _DrainedSink:
    """A write-only file that keeps only what was written since the last :meth:`drain`:
    the Parquet writer's bytes leave after each row group, and no whole-file buffer exists."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._position = 0
        self.closed = False

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._parts.append(chunk)
        self._position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def writable(self) -> bool:
        return True

    def drain(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def _parquet_value(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == MONEY:
        return value.quantize(_CENT, ROUND_HALF_UP)
    if kind in (FLOAT, FLOAT_MONEY):
        return float(value) if math.isfinite(value) else None
    return value


def parquet_chunks(export: HistoricalExport) -> Iterator[bytes]:
    """The Parquet file (``PARQUET_SCHEMA``), one row group per ``PARQUET_CHUNK_ROWS``
    rows, each row group's bytes yielded as soon as it is written. The range and the
    warnings are in the file's key-value metadata."""
    sink = _DrainedSink()
    writer = pq.ParquetWriter(sink, PARQUET_SCHEMA, compression="zstd")
    try:
        for chunk in _chunks(export.rows(), PARQUET_CHUNK_ROWS):
            columns = [
                pa.array([_parquet_value(kind, row[i]) for row in chunk], type=_ARROW_TYPES[kind])
                for i, kind in enumerate(_KINDS)
            ]
            size = len(chunk)
            # Drop this chunk's rows before the next is read: the loop variable would keep
            # them alive while the generator builds the next chunk (two chunks at the peak).
            del chunk
            writer.write_table(
                pa.Table.from_arrays(columns, schema=PARQUET_SCHEMA), row_group_size=size
            )
            del columns
            data = sink.drain()
            if data:
                yield data
        writer.add_key_value_metadata(
            {
                "portfolio_id": str(export.portfolio.pk),
                "start_date": export.start.isoformat(),
                "end_date": export.end.isoformat(),
                "include_calculated": json.dumps(export.include_calculated),
                "warnings": json.dumps(export.warnings),
            }
        )
    finally:
        writer.close()
    yield sink.drain()


WRITERS: dict[str, Callable[[HistoricalExport], Iterator[bytes]]] = {
    "csv": csv_chunks,
    "json": json_chunks,
    "parquet": parquet_chunks,
}


def export_chunks(export: HistoricalExport, file_format: str) -> Iterator[bytes]:
    """The file of ``export`` in ``file_format`` (one of ``FORMATS``), chunk by chunk."""
    return WRITERS[file_format](export)
