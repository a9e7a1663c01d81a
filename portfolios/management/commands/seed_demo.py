from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from portfolios.demo import DEMO_ADMIN, seed_demo


class Command(BaseCommand):
    help = "Create or update the demo users and their portfolios (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--with-admin",
            action="store_true",
            help=f"Create {DEMO_ADMIN.email} even with the production settings active.",
        )
        parser.add_argument("--no-admin", action="store_true", help="Do not create the demo admin.")
        parser.add_argument(
            "--users-only",
            action="store_true",
            help="Only the users and empty portfolios: no market data, no positions.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        embedded = settings.EMBEDDED
        if options["with_admin"] and options["no_admin"]:
            raise CommandError("--with-admin and --no-admin contradict each other")
        include_admin = not options["no_admin"] and (embedded or options["with_admin"])
        if not embedded and not options["with_admin"] and not options["no_admin"]:
            self.stdout.write(
                "Production settings are active: not creating the demo admin "
                "(use --with-admin to force, or createsuperuser)."
            )
        if not options["users_only"]:
            self.stdout.write(
                "Loading market data (real history, then the simulated continuation)..."
            )
        portfolios = seed_demo(
            include_admin=include_admin, with_market_data=not options["users_only"]
        )
        for portfolio in portfolios:
            count = portfolio.positions.filter(closed_at__isnull=True).count()
            self.stdout.write(f"  {portfolio.owner.email:<38} {portfolio.name} ({count} positions)")
        self.stdout.write(self.style.SUCCESS(f"Seeded {len(portfolios)} demo users."))
