"""The identifier namespace applies to a database that already breaks it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)
BEFORE = [("accounts", "0001_initial")]


def _migrate(targets: list[tuple[str, str]]) -> Any:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


def test_existing_collisions_are_resolved_and_every_name_is_claimed() -> None:
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes("accounts")
    apps = _migrate(BEFORE)
    User = apps.get_model("accounts", "User")
    day = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

    def user(email: str, username: str | None, days: int) -> Any:
        return User.objects.create(
            email=email, username=username, password="!", created_at=day + dt.timedelta(days)
        )

    victim = user("victim@example.com", None, 3)  # the newest, yet its email wins
    squatter = user("squatter@example.com", "Victim@Example.com", 0)
    older = user("older@example.com", "Trader", 1)
    newer = user("newer@example.com", "TRADER", 2)
    both = user("both@example.com", "BOTH@example.com", 4)  # one's own email: kept
    apps = _migrate(latest)
    User = apps.get_model("accounts", "User")
    usernames = dict(User.objects.values_list("pk", "username"))
    assert usernames[squatter.pk] is None
    assert usernames[older.pk] == "Trader"
    assert usernames[newer.pk] is None
    assert usernames[both.pk] == "BOTH@example.com"
    claims = dict(
        apps.get_model("accounts", "LoginIdentifier").objects.values_list("value", "user_id")
    )
    assert claims == {
        "victim@example.com": victim.pk,
        "squatter@example.com": squatter.pk,
        "older@example.com": older.pk,
        "trader": older.pk,
        "newer@example.com": newer.pk,
        "both@example.com": both.pk,
    }
