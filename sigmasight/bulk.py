"""Bulk upserts of many rows: COPY on PostgreSQL, ``bulk_create`` elsewhere.

The risk batch writes one row per position per step (Greeks, factor exposures): at
10,000 positions an ``INSERT … ON CONFLICT`` through the ORM spends most of its time
quoting parameters into the SQL (client-side binding). COPY sends the values as data:
they go into a temporary table, then one ``INSERT … SELECT … ON CONFLICT DO UPDATE``
moves them, so the upsert keeps its semantics (one row per natural key, updated in
place) and runs inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connections, router, transaction
from django.db.models import JSONField, Model


def bulk_upsert(
    model: type[Model],
    objects: Sequence[Model],
    *,
    unique_fields: Sequence[str],
    update_fields: Sequence[str],
) -> int:
    """Insert ``objects`` (unsaved instances of ``model``), or update ``update_fields`` of
    the rows that already hold their ``unique_fields``. Returns the number of objects.
    ``auto_now`` fields take the time of the call, as with ``bulk_create``."""
    if not objects:
        return 0
    alias = router.db_for_write(model)
    connection = connections[alias]
    if connection.vendor != "postgresql":
        model._default_manager.using(alias).bulk_create(
            objects,
            update_conflicts=True,
            unique_fields=list(unique_fields),
            update_fields=list(update_fields),
            batch_size=2000,
        )
        return len(objects)
    meta = model._meta
    fields = [f for f in meta.concrete_fields if f is not meta.auto_field]
    columns = [f.column for f in fields]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    staging = quote(f"bulk_{meta.db_table}")
    names = ", ".join(quote(c) for c in columns)
    conflict = ", ".join(quote(meta.get_field(f).column) for f in unique_fields)
    updates = ", ".join(
        f"{quote(meta.get_field(f).column)} = EXCLUDED.{quote(meta.get_field(f).column)}"
        for f in update_fields
    )
    # Prepared as INSERT would, but only where preparing changes the value: JSON is
    # wrapped for the driver and auto_now fields take the time; numbers, text, dates and
    # keys go to the driver as they are (preparing each of 300,000 values cost more than
    # the COPY itself).
    prepared = [
        isinstance(f, JSONField)
        or getattr(f, "auto_now", False)
        or getattr(f, "auto_now_add", False)
        or f.primary_key
        for f in fields
    ]
    rows = [
        tuple(
            f.get_db_prep_save(f.pre_save(obj, add=True), connection)
            if prep
            else getattr(obj, f.attname)
            for f, prep in zip(fields, prepared, strict=True)
        )
        for obj in objects
    ]
    with transaction.atomic(using=alias), connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE {staging} ON COMMIT DROP AS "
            f"SELECT {names} FROM {table} WITH NO DATA"
        )
        raw = cursor.cursor  # psycopg's cursor: COPY is not part of Django's API
        with raw.copy(f"COPY {staging} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO {table} ({names}) SELECT {names} FROM {staging} "
            f"ON CONFLICT ({conflict}) DO UPDATE SET {updates}"
        )
        cursor.execute(f"DROP TABLE {staging}")
    return len(objects)


def bulk_update_rows(objects: Sequence[Model], fields: Sequence[str]) -> int:
    """Write ``fields`` of the saved ``objects`` (instances of one model) in one UPDATE;
    returns the rows updated. On PostgreSQL the new values travel as one array per column
    (``UPDATE … FROM UNNEST(…)``): Django's ``bulk_update`` builds and compiles a CASE
    WHEN expression per field and object, which costs more than the statement itself for
    a handful of rows. Elsewhere, ``bulk_update``. As with it, ``auto_now`` fields are
    written as the objects hold them (the caller sets them)."""
    if not objects:
        return 0
    model = type(objects[0])
    alias = router.db_for_write(model)
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return model._default_manager.using(alias).bulk_update(objects, list(fields))
    meta = model._meta
    assert meta.pk is not None
    columns = [meta.pk, *(meta.get_field(name) for name in fields)]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    arrays = [
        [column.get_db_prep_save(getattr(obj, column.attname), connection) for obj in objects]
        for column in columns
    ]
    casts = ", ".join(f"%s::{column.db_type(connection)}[]" for column in columns)
    names = ", ".join(quote(column.column) for column in columns)
    sets = ", ".join(f"{quote(c.column)} = v.{quote(c.column)}" for c in columns[1:])
    key = quote(meta.pk.column)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {sets} FROM UNNEST({casts}) AS v({names}) "
            f"WHERE {table}.{key} = v.{key}",
            arrays,
        )
        return int(cursor.rowcount)
