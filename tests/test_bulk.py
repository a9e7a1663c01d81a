"""sigmasight.bulk.bulk_upsert: COPY then one INSERT … ON CONFLICT on PostgreSQL (the
path ``make test`` runs), with the semantics of ``bulk_create(update_conflicts=True)``."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from marketdata.models import AssetType, Security
from portfolios.models import Portfolio, Position, PositionType
from risk.models import PositionGreeks
from sigmasight.bulk import bulk_update_rows, bulk_upsert

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 11, 24)
FIELDS = ["delta", "implied_volatility", "warnings", "calculated_at"]


@pytest.fixture
def positions(trader: Any) -> list[Position]:
    portfolio = Portfolio.objects.create(owner=trader, name="Bulk")
    symbols = [f"B{i:03d}" for i in range(50)]
    Security.objects.bulk_create(
        Security(symbol=s, name=s, asset_type=AssetType.STOCK) for s in symbols
    )
    return Position.objects.bulk_create(
        Position(
            portfolio=portfolio,
            security_id=s,
            quantity=Decimal(1),
            position_type=PositionType.LONG,
            entry_price=Decimal(10),
            entry_date=DAY,
        )
        for s in symbols
    )


def _greeks(position: Position, delta: float, warnings: list[str]) -> PositionGreeks:
    return PositionGreeks(
        position=position,
        calculation_date=DAY,
        delta=delta,
        gamma=0.0,
        theta=0.0,
        vega=0.0,
        rho=0.0,
        option_price=1.0,
        implied_volatility=None if delta < 0 else 0.2,
        volatility_source="implied_quote",
        underlying_price=10.0,
        time_to_expiry_years=0.1,
        rate=0.04,
        rate_source="test",
        delta_dollars=1.0,
        gamma_dollars_1pct=0.0,
        warnings=warnings,
    )


def test_bulk_upsert_inserts_then_updates_on_the_natural_key(positions: list[Position]) -> None:
    assert connection.vendor == "postgresql"  # the COPY path is the one under test
    first = [_greeks(p, 0.5, []) for p in positions[:30]]
    assert (
        bulk_upsert(
            PositionGreeks,
            first,
            unique_fields=["position", "calculation_date"],
            update_fields=FIELDS,
        )
        == 30
    )
    stamp = PositionGreeks.objects.get(position=positions[0]).calculated_at
    # Rows 20-49: 10 updates of existing rows, 20 new ones; JSON, NULL and unicode intact.
    second = [_greeks(p, -0.25, ["Vol ≥ 100%", 'a "quote"']) for p in positions[20:]]
    with CaptureQueriesContext(connection) as queries:
        bulk_upsert(
            PositionGreeks,
            second,
            unique_fields=["position", "calculation_date"],
            update_fields=FIELDS,
        )
    assert len(queries) <= 6  # a constant number, whatever the row count
    rows = {g.position_id: g for g in PositionGreeks.objects.all()}
    assert len(rows) == 50
    assert {rows[p.id].delta for p in positions[:20]} == {0.5}
    for p in positions[20:]:
        row = rows[p.id]
        assert row.delta == -0.25 and row.implied_volatility is None
        assert row.warnings == ["Vol ≥ 100%", 'a "quote"']
        assert row.calculated_at >= stamp


def test_bulk_upsert_twice_in_one_transaction_and_a_failure_writes_nothing(
    positions: list[Position],
) -> None:
    with transaction.atomic():
        for delta in (0.1, 0.2):
            bulk_upsert(
                PositionGreeks,
                [_greeks(p, delta, []) for p in positions],
                unique_fields=["position", "calculation_date"],
                update_fields=FIELDS,
            )
    assert set(PositionGreeks.objects.values_list("delta", flat=True)) == {0.2}
    bad = [_greeks(p, 0.9, []) for p in positions]
    bad[-1].underlying_price = None  # NOT NULL: the whole upsert fails
    with pytest.raises(Exception), transaction.atomic():  # noqa: B017 - the driver's error
        bulk_upsert(
            PositionGreeks,
            bad,
            unique_fields=["position", "calculation_date"],
            update_fields=[*FIELDS, "underlying_price"],
        )
    assert set(PositionGreeks.objects.values_list("delta", flat=True)) == {0.2}


def test_bulk_update_rows_writes_the_fields_of_each_row_in_one_statement(
    positions: list[Position],
) -> None:
    changed, untouched = positions[:3], positions[3]
    stamp = dt.datetime(2026, 11, 30, 15, 0, 1, 123456, tzinfo=dt.UTC)
    for i, position in enumerate(changed):
        position.quantity = Decimal(i + 2)
        position.entry_price = Decimal("10.123456") + i
        position.entry_date = DAY - dt.timedelta(days=i)
        position.tags = ["0dte", f'quote"d {i}', "ünïcode"]
        position.updated_at = stamp
    untouched.quantity = Decimal(99)  # not passed: not written
    with CaptureQueriesContext(connection) as queries:
        assert bulk_update_rows(changed, ["quantity", "entry_price", "entry_date", "tags"]) == 3
    assert len(queries) == 1
    for i, position in enumerate(changed):
        stored = Position.objects.get(pk=position.pk)
        assert stored.quantity == Decimal(i + 2)
        assert stored.entry_price == Decimal("10.123456") + i
        assert stored.entry_date == DAY - dt.timedelta(days=i)
        assert stored.tags == ["0dte", f'quote"d {i}', "ünïcode"]
        assert stored.updated_at != stamp  # a field not named is left as stored
    assert Position.objects.get(pk=untouched.pk).quantity == Decimal(1)
    bulk_update_rows(changed[:1], ["updated_at"])
    assert Position.objects.get(pk=changed[0].pk).updated_at == stamp
    assert bulk_update_rows([], ["quantity"]) == 0
