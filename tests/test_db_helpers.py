"""sigmasight.db.any_of: one array parameter on PostgreSQL, a plain IN list elsewhere,
and the same rows either way."""

from __future__ import annotations

import pytest
from django.db import connection

from marketdata.models import AssetType, Security
from sigmasight.db import any_of


@pytest.fixture
def securities(db: None) -> None:
    Security.objects.bulk_create(
        Security(symbol=s, name=s, asset_type=AssetType.STOCK) for s in ("AAA", "BBB", "CCC")
    )


def _where_sql(symbols: list[str], *, generic: bool) -> tuple[str, tuple[object, ...]]:
    query = Security.objects.filter(any_of("symbol", symbols)).query
    compiler = query.get_compiler(connection=connection)
    # filter() wraps a boolean expression as ``expression = True``; its left side is ours.
    expression = query.where.children[0].lhs
    sql, params = (
        expression.as_sql(compiler, connection) if generic else compiler.compile(expression)
    )
    return sql, tuple(params)


def test_postgresql_binds_the_values_as_one_array(securities: None) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the array form is PostgreSQL's")
    sql, params = _where_sql(["AAA", "CCC"], generic=False)
    assert sql.endswith("= ANY(%s)") and params == (["AAA", "CCC"],)


def test_the_generic_form_is_an_in_list_and_an_empty_one_matches_nothing(
    securities: None,
) -> None:
    sql, params = _where_sql(["AAA", "CCC"], generic=True)
    assert sql.endswith("IN (%s, %s)") and params == ("AAA", "CCC")
    assert _where_sql([], generic=True) == ("1 = 0", ())


def test_both_forms_select_the_same_rows(securities: None) -> None:
    wanted = ["AAA", "CCC", "ZZZ"]
    chosen = set(Security.objects.filter(any_of("symbol", wanted)).values_list("symbol", flat=True))
    assert (
        chosen
        == set(Security.objects.filter(symbol__in=wanted).values_list("symbol", flat=True))
        == {"AAA", "CCC"}
    )
    assert not Security.objects.filter(any_of("symbol", [])).exists()
