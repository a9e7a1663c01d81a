"""sigmasight.versions: counters bumped after commit, read in one round trip; the apps'
writes bump them (a saved position, a bulk quote refresh, a risk step)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from marketdata.models import AssetType, Quote, Security
from portfolios import services as portfolio_services
from portfolios.models import Portfolio
from sigmasight import versions

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_bump_lands_at_the_write_and_again_after_the_commit() -> None:
    counter = ("test", uuid.uuid4().hex)
    with transaction.atomic():
        versions.bump(counter)
        assert versions.current([counter]) == (1,)
    # A reader between the write and the commit cached under 1: the commit leaves it behind.
    assert versions.current([counter]) == (2,)
    with pytest.raises(RuntimeError), transaction.atomic():
        versions.bump(counter)
        raise RuntimeError
    assert versions.current([counter]) == (3,)  # a rollback only costs a recomputation
    versions.bump(counter)  # outside a transaction: at once, and the commit is now
    assert versions.current([counter, ("test", "never")]) == (5, 0)


def test_writes_bump_their_counters(trader: Any) -> None:
    portfolio = Portfolio.objects.create(owner=trader, name="Versions")
    mine = [("portfolio", portfolio.pk), ("user", trader.pk)]
    before = versions.current([*mine, versions.MARKET])
    Security.objects.create(symbol="VERS", name="V", asset_type=AssetType.STOCK)
    Quote.objects.create(
        security_id="VERS",
        bid=Decimal(10),
        ask=Decimal(11),
        last=Decimal("10.5"),
        timestamp=timezone.now(),
        source="test",
    )
    after_quote = versions.current([*mine, versions.MARKET])
    assert after_quote[2] > before[2] and after_quote[:2] == before[:2]
    portfolio_services.cash_transaction(
        portfolio=portfolio, kind="DEPOSIT", amount=Decimal(1000), trade_date=dt.date(2026, 11, 2)
    )
    after_cash = versions.current([*mine, versions.MARKET])
    assert after_cash[0] > after_quote[0] and after_cash[1] > after_quote[1]


def test_reading_the_counters_is_one_cache_call_and_no_query() -> None:
    with CaptureQueriesContext(connection) as queries:
        versions.current([("a", 1), ("b", 2), versions.MARKET])
    assert len(queries) == 0


def test_the_redis_cache_bumps_every_counter_in_one_pipeline() -> None:
    if not hasattr(cache, "counters_incr"):
        pytest.skip("the configured cache is not Redis (embedded default)")
    fresh, existing = f"test-{uuid.uuid4().hex}", f"test-{uuid.uuid4().hex}"
    cache.set(existing, 5, timeout=None)
    cache.counters_incr([fresh, existing, existing])
    # A missing counter starts at 0; the raw integer reads back as an int, without expiry.
    assert cache.get_many([fresh, existing]) == {fresh: 1, existing: 7}
    assert cache._cache.get_client(fresh).ttl(cache.make_key(fresh)) == -1  # never expires
