"""CSV history: layouts, validation with file and line, and the folder provider."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import math
from pathlib import Path

import pytest

from marketdata.providers.base import HISTORY_COLUMNS, MarketDataProvider, ProviderError
from marketdata.providers.csv_source import (
    CSVFormatError,
    CSVProvider,
    iter_history_csv_files,
    read_history_csv,
)

YAHOO = """Date,Open,High,Low,Close,Adj Close,Volume
2025-01-02,248.929993,249.100006,241.820007,243.850006,243.262909,55740700
2025-01-03,243.360001,244.179993,241.889999,243.360001,242.774078,40244100
2025-01-06,244.309998,247.330002,243.199997,245.000000,244.410126,45045600
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_yahoo_layout_maps_every_column(tmp_path: Path) -> None:
    frame = read_history_csv(write(tmp_path, "AAPL.csv", YAHOO))
    assert tuple(frame.columns) == HISTORY_COLUMNS
    assert list(frame["date"]) == [dt.date(2025, 1, 2), dt.date(2025, 1, 3), dt.date(2025, 1, 6)]
    first = frame.iloc[0]
    assert first["symbol"] == "AAPL"  # from the file name
    assert (first["open"], first["high"], first["low"], first["close"]) == (
        248.929993,
        249.100006,
        241.820007,
        243.850006,
    )
    assert first["adj_close"] == 243.262909
    assert first["volume"] == 55740700.0
    assert set(frame["source"]) == {"csv"}


def test_symbol_argument_names_a_stream() -> None:
    frame = read_history_csv(io.StringIO(YAHOO), symbol="msft")
    assert set(frame["symbol"]) == {"MSFT"}


def test_bytes_stream_with_a_byte_order_mark_is_read_and_left_open() -> None:
    stream = io.BytesIO(("\ufeff" + YAHOO).encode())
    frame = read_history_csv(stream, symbol="AAPL")
    assert len(frame) == 3
    assert not stream.closed


def test_gzipped_file(tmp_path: Path) -> None:
    path = tmp_path / "SPY.csv.gz"
    path.write_bytes(gzip.compress(YAHOO.encode()))
    frame = read_history_csv(path)
    assert set(frame["symbol"]) == {"SPY"} and len(frame) == 3


def test_symbol_column_layout_with_several_symbols_and_a_filter() -> None:
    text = """Symbol,Date,Close,Volume
MSFT,2025-01-03,423.35,16896500
AAPL,2025-01-03,243.36,40244100
aapl,2025-01-02,243.85,55740700
"""
    frame = read_history_csv(io.StringIO(text))
    assert list(zip(frame["symbol"], frame["date"], strict=True)) == [
        ("AAPL", dt.date(2025, 1, 2)),
        ("AAPL", dt.date(2025, 1, 3)),
        ("MSFT", dt.date(2025, 1, 3)),
    ]
    only = read_history_csv(io.StringIO(text), symbol="MSFT")
    assert list(only["close"]) == [423.35]


def test_headers_ignore_case_spaces_and_underscores_and_dates_may_be_us_style() -> None:
    text = """ DATE , open ,HIGH,low, close ,ADJ_CLOSE, Volume
01/03/2025,243.36,244.18,241.89,243.36,242.77,"40,244,100"
1/2/2025,248.93,249.10,241.82,243.85,243.26,"55,740,700"
"""
    frame = read_history_csv(io.StringIO(text), symbol="AAPL")
    assert list(frame["date"]) == [dt.date(2025, 1, 2), dt.date(2025, 1, 3)]  # sorted
    assert list(frame["adj_close"]) == [243.26, 242.77]
    assert list(frame["volume"]) == [55740700.0, 40244100.0]


def test_closes_only_leave_ohlv_nan_and_use_close_as_adj_close() -> None:
    text = "date,close\n2025-01-02 00:00:00,243.85\n"
    frame = read_history_csv(io.StringIO(text), symbol="AAPL")
    row = frame.iloc[0]
    assert math.isnan(row["open"]) and math.isnan(row["volume"])
    assert row["adj_close"] == row["close"] == 243.85


def test_yahoo_null_rows_and_blank_lines_are_skipped() -> None:
    text = YAHOO + "\n2025-01-07,null,null,null,null,null,null\n"
    frame = read_history_csv(io.StringIO(text), symbol="AAPL")
    assert len(frame) == 3


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("2025-01-07,242.98,245.55,241.35,-242.21,242.21,40856000", "close must be positive"),
        ("2025-01-07,242.98,241.00,245.55,242.21,242.21,40856000", "high 241 is below low 245.55"),
        ("2025-01-07,242.98,245.55,241.35,242.21,242.21,-5", "volume must not be negative"),
        ("2025-01-07,242.98,245.55,241.35,abc,242.21,40856000", "close 'abc' is not a number"),
        ("07.01.2025,242.98,245.55,241.35,242.21,242.21,40856000", "unreadable date"),
        ("2025-01-07,242.98,245.55,241.35,,242.21,40856000", "close is missing"),
        ("2025-01-07,0,245.55,241.35,242.21,242.21,40856000", "open must be positive"),
    ],
)
def test_bad_rows_name_the_file_and_line(tmp_path: Path, row: str, problem: str) -> None:
    path = write(tmp_path, "AAPL.csv", YAHOO + row + "\n")
    with pytest.raises(CSVFormatError) as info:
        read_history_csv(path)
    assert str(info.value).startswith(f"{path}, line 5: ")
    assert problem in str(info.value)
    assert info.value.line == 5
    assert isinstance(info.value, ValueError)


def test_a_duplicate_date_names_both_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "AAPL.csv", YAHOO + "2025-01-03,1,2,1,2,2,10\n")
    with pytest.raises(
        CSVFormatError, match=r"line 5: duplicate date 2025-01-03 for AAPL \(first on line 3\)"
    ):
        read_history_csv(path)


def test_the_same_date_for_two_symbols_is_fine() -> None:
    text = "Ticker,Date,Close\nAAPL,2025-01-02,243.85\nMSFT,2025-01-02,418.58\n"
    assert len(read_history_csv(io.StringIO(text))) == 2


def test_header_problems_are_reported(tmp_path: Path) -> None:
    with pytest.raises(CSVFormatError, match=r"line 1: no 'close' column"):
        read_history_csv(write(tmp_path, "X.csv", "Date,Open\n2025-01-02,1\n"))
    with pytest.raises(CSVFormatError, match="the file is empty"):
        read_history_csv(write(tmp_path, "Y.csv", "\n\n"))
    with pytest.raises(CSVFormatError, match="<stream>: no Symbol column and no symbol given"):
        read_history_csv(io.StringIO(YAHOO))


def test_iter_history_csv_files_yields_each_file_in_turn(tmp_path: Path) -> None:
    good = write(tmp_path, "BRK-B.csv", "Date,Close\n2025-01-02,453.2\n")
    other = write(tmp_path, "aapl.csv", YAHOO)
    bad = write(tmp_path, "BAD.csv", "Date,Close\n2025-01-02,-1\n")
    seen = []
    with pytest.raises(CSVFormatError, match=r"BAD\.csv, line 2"):
        for path, frame in iter_history_csv_files([good, other, bad]):
            seen.append((path, set(frame["symbol"]), len(frame)))
    assert seen == [(good, {"BRK-B"}, 1), (other, {"AAPL"}, 3)]


# ------------------------------------------------------------------------ provider


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    write(tmp_path, "AAPL.csv", YAHOO)
    write(tmp_path, "SPY.csv", "Date,Close\n2024-07-01,545.34\n")
    return tmp_path


def test_csv_provider_is_a_market_data_provider(folder: Path) -> None:
    provider = CSVProvider(folder)
    assert isinstance(provider, MarketDataProvider)
    assert provider.name == "csv"
    assert provider.profile("AAPL") is None


def test_csv_provider_history_filters_the_range_and_leaves_out_unknown_symbols(
    folder: Path,
) -> None:
    frame = CSVProvider(folder).history(
        ["AAPL", "ZZZZ", "SPY"], dt.date(2025, 1, 3), dt.date(2025, 1, 31)
    )
    assert tuple(frame.columns) == HISTORY_COLUMNS
    assert list(zip(frame["symbol"], frame["date"], strict=True)) == [
        ("AAPL", dt.date(2025, 1, 3)),
        ("AAPL", dt.date(2025, 1, 6)),
    ]


def test_csv_provider_quotes_are_the_last_close_at_the_new_york_close(folder: Path) -> None:
    quotes = CSVProvider(folder).quotes(["AAPL", "SPY", "ZZZZ"])
    assert [q.symbol for q in quotes] == ["AAPL", "SPY"]
    aapl, spy = quotes
    assert (aapl.last, aapl.volume, aapl.bid, aapl.ask) == (245.0, 45045600, None, None)
    assert aapl.timestamp == dt.datetime(2025, 1, 6, 21, 0, tzinfo=dt.UTC)  # EST
    assert spy.timestamp == dt.datetime(2024, 7, 1, 20, 0, tzinfo=dt.UTC)  # EDT
    assert spy.volume is None
    assert aapl.source == "csv"


def test_csv_provider_reports_a_bad_file_as_a_provider_error(folder: Path) -> None:
    write(folder, "BAD.csv", "Date,Close\n2025-01-02,-1\n")
    with pytest.raises(ProviderError, match=r"BAD\.csv, line 2"):
        CSVProvider(folder).history(["BAD"], dt.date(2025, 1, 1), dt.date(2025, 1, 31))
