"""Daily history from CSV files, and a provider over a folder of them.

Users bring prices from Yahoo, brokers and spreadsheets, so the reader accepts
the common layouts (``Date,Open,High,Low,Close,Adj Close,Volume``, optionally a
``Symbol``/``Ticker`` column; headers compared without case, spaces or
underscores; ISO or US ``MM/DD/YYYY`` dates) and rejects bad data with the file
and line of the first problem, because a silently skipped row becomes a wrong
return later. Only ``date`` and ``close`` are required: a missing ``Adj Close``
means the file's closes are taken as already adjusted.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import math
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

import pandas as pd

from marketdata.providers.base import (
    HISTORY_COLUMNS,
    Profile,
    ProviderError,
    QuoteData,
    empty_history,
)

PathOrFile = str | os.PathLike[str] | IO[str] | IO[bytes]

#: Normalised header -> HISTORY_COLUMNS name.
_HEADERS = {
    "date": "date",
    "day": "date",
    "tradedate": "date",
    "symbol": "symbol",
    "ticker": "symbol",
    "open": "open",
    "high": "high",
    "low": "low",
    "close": "close",
    "closeprice": "close",
    "last": "close",
    "adjclose": "adj_close",
    "adjustedclose": "adj_close",
    "volume": "volume",
    "vol": "volume",
}
_PRICE_FIELDS = ("open", "high", "low", "close", "adj_close")
_MISSING = {"", "null", "nan", "na", "n/a", "-", "none"}
_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%Y/%m/%d", "%m/%d/%y", "%Y%m%d", "%m-%d-%Y")
_NEW_YORK = ZoneInfo("America/New_York")


class CSVFormatError(ValueError):
    """A history CSV that cannot be used; the message names the file and line."""

    def __init__(self, source: str, line: int | None, problem: str) -> None:
        where = f"{source}, line {line}" if line is not None else source
        super().__init__(f"{where}: {problem}")
        self.source = source
        self.line = line
        self.problem = problem


def _normalise_header(name: str) -> str:
    return "".join(ch for ch in name.strip().lower() if ch.isalnum())


def _parse_date(text: str) -> dt.date:
    text = text.strip()
    # "2025-01-02 00:00:00" and "2025-01-02T00:00:00-05:00" exports keep their date part.
    head = text.replace("T", " ", 1).split(" ")[0]
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(head, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"unreadable date {text!r} (expected YYYY-MM-DD or MM/DD/YYYY)")


def _parse_number(text: str, field: str) -> float:
    cleaned = text.strip().replace(",", "").replace("$", "")
    if cleaned.lower() in _MISSING:
        return math.nan
    try:
        value = float(cleaned)
    except ValueError:
        raise ValueError(f"{field} {text.strip()!r} is not a number") from None
    if math.isinf(value):
        raise ValueError(f"{field} {text.strip()!r} is not finite")
    return value


def _source_name(path_or_file: PathOrFile) -> str:
    if isinstance(path_or_file, str | os.PathLike):
        return os.fspath(path_or_file)
    name = getattr(path_or_file, "name", None)
    return str(name) if isinstance(name, str) else "<stream>"


def _symbol_from_name(name: str) -> str | None:
    if name.startswith("<"):  # "<stream>", "<stdin>": no file name to go by
        return None
    stem = Path(name).name
    for suffix in (".gz", ".csv", ".txt"):
        stem = stem.removesuffix(suffix)
    return stem.strip().upper() or None


def read_history_csv(path_or_file: PathOrFile, symbol: str | None = None) -> pd.DataFrame:
    """Daily bars from a CSV file (``.gz`` too) or open file, in :data:`HISTORY_COLUMNS` order, sorted by
    symbol and date, ``source`` "csv".

    The symbol comes from a Symbol/Ticker column when there is one (rows are then
    filtered to ``symbol`` if it is given), else from ``symbol``, else from the
    file name (``AAPL.csv``). Rows whose fields are all empty or ``null`` (Yahoo's
    placeholder rows) are skipped. Raises :class:`CSVFormatError` for the first
    missing column, unreadable value, non-positive price, high below low,
    negative volume or repeated (symbol, date).
    """
    name = _source_name(path_or_file)
    if isinstance(path_or_file, str | os.PathLike):
        opener = gzip.open if name.endswith(".gz") else open
        with opener(path_or_file, "rt", encoding="utf-8-sig", newline="") as handle:
            return _read(handle, name, symbol)
    stream: IO[Any] = path_or_file
    mode = getattr(stream, "mode", "")
    if isinstance(stream, io.RawIOBase | io.BufferedIOBase) or (
        isinstance(mode, str) and "b" in mode
    ):
        text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
        try:
            return _read(text, name, symbol)
        finally:
            text.detach()  # leave the caller's stream open
    return _read(stream, name, symbol)


def _read(handle: IO[str], name: str, symbol: str | None) -> pd.DataFrame:
    reader = csv.reader(handle)
    header: list[str] | None = None
    for raw_header in reader:
        if any(cell.strip() for cell in raw_header):
            header = raw_header
            break
    if header is None:
        raise CSVFormatError(name, None, "the file is empty")
    header_line = reader.line_num
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    columns: dict[str, int] = {}
    for index, cell in enumerate(header):
        field = _HEADERS.get(_normalise_header(cell))
        if field is not None and field not in columns:
            columns[field] = index
    for required in ("date", "close"):
        if required not in columns:
            raise CSVFormatError(
                name, header_line, f"no {required!r} column in header {[h.strip() for h in header]}"
            )
    has_symbol_column = "symbol" in columns
    wanted = symbol.strip().upper() if symbol else None
    default_symbol = wanted or _symbol_from_name(name)
    if not has_symbol_column and not default_symbol:
        raise CSVFormatError(name, None, "no Symbol column and no symbol given")

    rows: list[dict[str, Any]] = []
    first_seen: dict[tuple[str, dt.date], int] = {}
    for cells in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        values = {field: cells[i] if i < len(cells) else "" for field, i in columns.items()}
        data_fields = [v for f, v in values.items() if f not in ("date", "symbol")]
        if all(v.strip().lower() in _MISSING for v in data_fields):
            continue  # Yahoo writes "null" across a row it has no bar for
        try:
            row = _parse_row(values)
        except ValueError as exc:
            raise CSVFormatError(name, line, str(exc)) from None
        if has_symbol_column:
            row_symbol = values["symbol"].strip().upper()
            if not row_symbol:
                raise CSVFormatError(name, line, "empty symbol")
            if wanted and row_symbol != wanted:
                continue
        else:
            row_symbol = default_symbol or ""
        key = (row_symbol, row["date"])
        if key in first_seen:
            raise CSVFormatError(
                name,
                line,
                f"duplicate date {row['date'].isoformat()} for {row_symbol} "
                f"(first on line {first_seen[key]})",
            )
        first_seen[key] = line
        rows.append({"symbol": row_symbol, **row, "source": "csv"})
    if not rows:
        return empty_history()
    frame = pd.DataFrame(rows, columns=list(HISTORY_COLUMNS))
    return frame.sort_values(["symbol", "date"], ignore_index=True)


def _parse_row(values: dict[str, str]) -> dict[str, Any]:
    """One validated bar; raises ValueError naming the problem."""
    day = _parse_date(values["date"])
    row: dict[str, Any] = {"date": day}
    for field in (*_PRICE_FIELDS, "volume"):
        row[field] = _parse_number(values[field], field) if field in values else math.nan
    if math.isnan(row["close"]):
        raise ValueError("close is missing")
    for field in _PRICE_FIELDS:
        if row[field] <= 0:  # NaN compares False, so missing optional fields pass
            raise ValueError(f"{field} must be positive, got {row[field]:g}")
    if row["high"] < row["low"]:
        raise ValueError(f"high {row['high']:g} is below low {row['low']:g}")
    if row["volume"] < 0:
        raise ValueError(f"volume must not be negative, got {row['volume']:g}")
    if math.isnan(row["adj_close"]):
        row["adj_close"] = row["close"]
    return row


def iter_history_csv_files(
    paths: Iterable[str | os.PathLike[str]],
) -> Iterator[tuple[str | os.PathLike[str], pd.DataFrame]]:
    """``(path, frame)`` for each file, read lazily so a caller can report progress.

    The symbol of a file without a Symbol column is its name (``BRK-B.csv``). A bad
    file raises :class:`CSVFormatError` when its turn comes.
    """
    for path in paths:
        yield path, read_history_csv(path)


class CSVProvider:
    """The provider protocol over a folder of ``<SYMBOL>.csv`` files.

    Quotes are the last bar's close (no bid/ask), stamped at 16:00 New York on
    that bar's date; there is no reference data, so ``profile`` is None. Files
    are read on every call: they are small, and edits show up at once.
    """

    name = "csv"

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def _path(self, symbol: str) -> Path | None:
        for candidate in (symbol, symbol.upper()):
            path = self.directory / f"{candidate}.csv"
            if path.is_file():
                return path
        return None

    def _frame(self, symbol: str) -> pd.DataFrame | None:
        path = self._path(symbol)
        if path is None:
            return None
        try:
            frame = read_history_csv(path, symbol=symbol)
        except CSVFormatError as exc:
            raise ProviderError(f"csv: {exc}") from exc
        frame["symbol"] = symbol
        return frame

    def history(self, symbols: Sequence[str], start: dt.date, end: dt.date) -> pd.DataFrame:
        frames = []
        for symbol in dict.fromkeys(symbols):
            frame = self._frame(symbol)
            if frame is None:
                continue
            in_range = frame[(frame["date"] >= start) & (frame["date"] <= end)]
            if not in_range.empty:
                frames.append(in_range)
        if not frames:
            return empty_history()
        return pd.concat(frames, ignore_index=True).sort_values(
            ["symbol", "date"], ignore_index=True
        )

    def quotes(self, symbols: Sequence[str]) -> list[QuoteData]:
        result = []
        for symbol in dict.fromkeys(symbols):
            frame = self._frame(symbol)
            if frame is None or frame.empty:
                continue
            last = frame.iloc[-1]
            close_at = dt.datetime.combine(last["date"], dt.time(16), _NEW_YORK)
            volume = last["volume"]
            result.append(
                QuoteData(
                    symbol=symbol,
                    bid=None,
                    ask=None,
                    bid_size=None,
                    ask_size=None,
                    last=float(last["close"]),
                    volume=None if pd.isna(volume) else int(volume),
                    timestamp=close_at.astimezone(dt.UTC),
                    source=self.name,
                )
            )
        return result

    def profile(self, symbol: str) -> Profile | None:
        return None
