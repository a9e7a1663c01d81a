"""``manage.py import_prices_csv``: good files land, bad files are named with their line and
write nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from marketdata.models import AssetType, PriceBar, Security
from marketdata.services import import_csv_history

pytestmark = pytest.mark.django_db

GOOD = """Date,Open,High,Low,Close,Adj Close,Volume
2025-01-02,10,11,9.5,10.5,10.4,1000
2025-01-03,10.5,11.2,10.1,11,10.9,1200
"""
BAD = """Date,Open,High,Low,Close,Adj Close,Volume
2025-01-02,10,11,9.5,10.5,10.4,1000
2025-01-03,10.5,11.2,10.1,-11,10.9,1200
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_good_file_is_imported_with_progress(tmp_path: Path) -> None:
    path = _write(tmp_path, "ACME.csv", GOOD)
    out = StringIO()
    call_command("import_prices_csv", str(path), stdout=out)
    text = out.getvalue()
    assert f"[1/1] {path}: 2 bars (ACME)" in text
    assert "Imported 2 bars for 1 symbol(s) from 1 of 1 file(s)." in text
    acme = Security.objects.get(symbol="ACME")
    assert acme.asset_type == AssetType.STOCK and acme.source == "csv"
    bar = PriceBar.objects.get(security_id="ACME", date=dt.date(2025, 1, 3))
    assert (bar.close, bar.adj_close, bar.volume) == (Decimal("11"), Decimal("10.9"), 1200)
    call_command("import_prices_csv", str(path), stdout=StringIO())  # again: same rows
    assert PriceBar.objects.count() == 2


def test_bad_file_is_reported_with_its_line_and_writes_nothing(tmp_path: Path) -> None:
    good = _write(tmp_path, "GOOD.csv", GOOD)
    bad = _write(tmp_path, "BAD.csv", BAD)
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="1 file"):
        call_command("import_prices_csv", str(good), str(bad), stdout=out, stderr=err)
    assert f"{bad}, line 3" in err.getvalue() and "close must be positive" in err.getvalue()
    assert "from 1 of 2 file(s)" in out.getvalue()
    assert not Security.objects.filter(symbol="BAD").exists()
    assert not PriceBar.objects.filter(security_id="BAD").exists()  # not even line 2
    assert PriceBar.objects.filter(security_id="GOOD").count() == 2


def test_symbol_option_and_asset_type(tmp_path: Path) -> None:
    path = _write(tmp_path, "prices.csv", GOOD)
    call_command(
        "import_prices_csv", str(path), "--symbol", "vti", "--asset-type", "etf", stdout=StringIO()
    )
    assert Security.objects.get(symbol="VTI").asset_type == AssetType.ETF
    assert PriceBar.objects.filter(security_id="VTI").count() == 2


def test_missing_file_is_an_error_not_a_crash(tmp_path: Path) -> None:
    summary = import_csv_history(paths=[tmp_path / "nope.csv"])
    assert summary["failed_files"] == 1 and summary["bars"] == 0
    assert "nope.csv" in summary["errors"][0]["error"]
