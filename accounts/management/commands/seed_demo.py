"""``manage.py seed_demo``: the demo's market data, users and books (API-CONVENTIONS
"Demo users")."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.demo import DEMO_ADMIN, DEMO_PASSWORD, DEMO_USERS, seed_demo


class Command(BaseCommand):
    help = (
        "Seed the demo: market data, the demo users, and their booked portfolios. It only "
        "creates what is missing and never changes an existing account (password, role, "
        "active flag). In the embedded default (no DATABASE_URL or REDIS_URL, as `make run`) "
        f"it creates the {len(DEMO_USERS)} demo traders and the demo admin "
        f"({DEMO_ADMIN.email}, a superuser), all with the public password {DEMO_PASSWORD}. "
        "Under the production settings it creates no demo user unless given --demo-users, "
        "and the admin only with --with-admin as well. Demo portfolios are created and "
        "booked only for demo users that exist (created now or on an earlier run); the "
        "market data is loaded either way."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--demo-users",
            action="store_true",
            help="Create the missing demo traders under the production settings "
            "(for trials, tests and load benchmarks; the embedded default needs no flag).",
        )
        parser.add_argument(
            "--with-admin",
            action="store_true",
            help=f"With --demo-users: also create {DEMO_ADMIN.email}, a superuser whose "
            "password is public. In production, admins come from createsuperuser.",
        )
        parser.add_argument("--no-admin", action="store_true", help="Never create the demo admin.")
        parser.add_argument(
            "--users-only",
            action="store_true",
            help="Only the users and empty portfolios: no market data, no positions.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["with_admin"] and options["no_admin"]:
            raise CommandError("--with-admin and --no-admin contradict each other")
        if settings.EMBEDDED:
            create_users = True
            include_admin = not options["no_admin"]
        else:
            if options["with_admin"] and not options["demo_users"]:
                raise CommandError(
                    "--with-admin needs --demo-users under the production settings: "
                    "the demo admin is a demo user with a public password."
                )
            create_users = options["demo_users"]
            include_admin = create_users and options["with_admin"]
            if not create_users:
                self.stdout.write(
                    "Production settings are active: creating no demo user "
                    "(use --demo-users, and --with-admin for the admin; or createsuperuser)."
                )
        if not options["users_only"]:
            self.stdout.write(
                "Loading market data (real history, then the simulated continuation)..."
            )
        seeded = seed_demo(
            create_users=create_users,
            include_admin=include_admin,
            with_market_data=not options["users_only"],
        )
        for entry in seeded:
            if entry.portfolio is None:
                self.stdout.write(f"  {entry.email:<38} {entry.outcome}")
                continue
            count = entry.portfolio.positions.filter(closed_at__isnull=True).count()
            self.stdout.write(
                f"  {entry.email:<38} {entry.outcome:<9} {entry.portfolio.name} ({count} positions)"
            )
        created = sum(entry.outcome == "created" for entry in seeded)
        present = sum(entry.portfolio is not None for entry in seeded)
        self.stdout.write(
            self.style.SUCCESS(f"Demo seeded: {created} users created, {present} demo portfolios.")
        )
