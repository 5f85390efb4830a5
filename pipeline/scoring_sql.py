"""The vendor-specific SQL of lead scoring (SQLite and PostgreSQL): a touchpoint's age, and
set-based writes of many rows in one statement.

Why not ``bulk_create``: for 100,000 scores its per-value preparation (and on PostgreSQL the
client-side quoting of every JSON breakdown inside an UNNEST array) took 15-20 s of a full
rescore, against a 30 s budget. One ``INSERT … SELECT`` over a JSON document per chunk does the
same writes in about a tenth of the time; the values still pass through the fields'
``get_db_prep_save`` where they are not plain JSON numbers and strings.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import NotSupportedError, connection, models
from django.db.models import FloatField, Func


class EpochDays(Func):
    """Days since 1970-01-01 UTC of a datetime column, as a float."""

    output_field = FloatField()

    def as_sql(self, compiler, connection, **extra_context):
        raise NotSupportedError(f"EpochDays is not implemented for {connection.vendor}.")

    def as_sqlite(self, compiler, connection, **extra_context):
        # Django stores UTC text; julianday() reads it. 2440587.5 is the Julian day of the epoch.
        template = "(julianday(%(expressions)s) - 2440587.5)"
        return super().as_sql(compiler, connection, template=template, **extra_context)

    def as_postgresql(self, compiler, connection, **extra_context):
        template = "(EXTRACT(EPOCH FROM %(expressions)s)::double precision / 86400.0)"
        return super().as_sql(compiler, connection, template=template, **extra_context)


def _row_values(fields: Sequence[models.Field]) -> tuple[list[str], str]:
    """SQL for each field's value in a JSON array row, and the FROM clause over the rows."""
    if connection.vendor == "sqlite":
        # WHERE true: SQLite cannot otherwise tell an upsert's ON from a join's after a SELECT.
        return [f"json_extract(value, '$[{i}]')" for i in range(len(fields))], (
            "json_each(%s) WHERE true"
        )
    if connection.vendor == "postgresql":
        values = [
            f"(value -> {i})"
            if field.get_internal_type() == "JSONField"
            else f"(value ->> {i})::{field.db_type(connection)}"
            for i, field in enumerate(fields)
        ]
        return values, "jsonb_array_elements(%s::jsonb) AS value"
    raise NotSupportedError(f"insert_rows is not implemented for {connection.vendor}.")


def insert_rows(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    constants: Mapping[str, Any],
    on_conflict: str | None = None,
    update_fields: Sequence[str] = (),
) -> None:
    """Insert `rows` (values of `fields`, in order; JSON-serialisable) in one statement, with
    `constants` the same in every row. With `on_conflict` (a unique field), a row whose key
    exists updates `update_fields` of the existing row instead."""
    if not rows:
        return
    opts = model._meta
    quote = connection.ops.quote_name
    row_fields = [opts.get_field(name) for name in fields]
    constant_fields = [opts.get_field(name) for name in constants]
    values, source = _row_values(row_fields)
    columns = ", ".join(quote(field.column) for field in [*row_fields, *constant_fields])
    selected = ", ".join([*values, *["%s"] * len(constant_fields)])
    sql = f"INSERT INTO {quote(opts.db_table)} ({columns}) SELECT {selected} FROM {source}"  # noqa: S608 (names from the model)
    if on_conflict:
        updates = ", ".join(
            f"{quote(column)} = excluded.{quote(column)}"
            for column in (opts.get_field(name).column for name in update_fields)
        )
        sql += f" ON CONFLICT ({quote(opts.get_field(on_conflict).column)}) DO UPDATE SET {updates}"
    params = [
        field.get_db_prep_save(constants[field.name], connection) for field in constant_fields
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, json.dumps(rows, cls=DjangoJSONEncoder)])
