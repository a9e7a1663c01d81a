"""``manage.py seed_listed_expiries [ROOT...]``: store the seed rule's listed expiries."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from marketdata.services import listed_expiries_seed


class Command(BaseCommand):
    help = (
        "Store the listed option expiries of the seed rule (marketdata/expiries.py), 2015 "
        "through three years ahead, for the given roots or every optionable root in the "
        "Security table. Idempotent: rows already there (edited ones too) are kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("roots", nargs="*", help="Option roots (default: all optionable).")

    def handle(self, *args: Any, **options: Any) -> None:
        added = listed_expiries_seed(roots=options["roots"] or None)
        self.stdout.write(f"{added} listed expiries added")
