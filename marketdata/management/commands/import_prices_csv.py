"""``manage.py import_prices_csv FILE... [--symbol S] [--asset-type T]``: daily bars from CSV."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from marketdata.models import AssetType
from marketdata.services import import_csv_history


class Command(BaseCommand):
    help = (
        "Import daily price bars from CSV files (Date,Open,High,Low,Close,Adj Close,Volume; "
        "optional Symbol column, else the file name is the symbol). Each file is all or "
        "nothing; a bad file is reported with its line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", help="CSV files (.csv or .csv.gz).")
        parser.add_argument(
            "--symbol", help="The symbol of files without a Symbol column (or the one to keep)."
        )
        parser.add_argument(
            "--asset-type",
            default=AssetType.STOCK,
            choices=AssetType.values,
            help="Asset type of symbols not yet known (default: stock).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        total = len(options["files"])
        position = {"n": 0}

        def report(path: str, result: dict[str, Any]) -> None:
            position["n"] += 1
            prefix = f"[{position['n']}/{total}] {path}:"
            if result["ok"]:
                symbols = ", ".join(result["symbols"]) or "no rows"
                self.stdout.write(f"{prefix} {result['bars']} bars ({symbols})")
            else:
                self.stderr.write(f"{prefix} FAILED, nothing imported: {result['error']}")

        summary = import_csv_history(
            paths=options["files"],
            symbol=options.get("symbol"),
            asset_type=options["asset_type"],
            progress=report,
        )
        line = (
            f"Imported {summary['bars']} bars for {len(summary['symbols'])} symbol(s) from "
            f"{summary['imported_files']} of {summary['files']} file(s)."
        )
        if summary["failed_files"]:
            self.stdout.write(line)
            raise CommandError(f"{summary['failed_files']} file(s) failed; see above.")
        self.stdout.write(self.style.SUCCESS(line))
