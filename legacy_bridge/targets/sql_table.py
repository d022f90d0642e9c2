"""The sql target's table: find it (reflection), check it can be upserted into, or create it.

A table is usable when its key columns carry a primary key or a unique constraint/index
(``ON CONFLICT`` / ``ON DUPLICATE KEY`` need one).  ``create = true`` builds a missing
table from the first payload's fields: the key columns as the primary key (VARCHAR(255)),
other columns typed from the first non-null value seen (int -> BIGINT, Decimal -> NUMERIC,
date -> DATE, datetime -> TIMESTAMP, bool -> BOOLEAN, dict/list -> JSON, else TEXT).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from legacy_bridge.errors import TargetError

IDENTIFIER = re.compile(r"^[^\W\d][\w$#@ ]{0,62}$")


def check_name(value: str, what: str = "identifier") -> str:
    """``value`` if it is a plain identifier (letters, digits, _ $ # @, inner spaces)."""
    if not isinstance(value, str) or not IDENTIFIER.match(value) or value != value.strip() or "  " in value:
        raise ValueError(f"{what} {value!r} is not a plain identifier (letters, digits, _ $ # @, at most 63 "
                         "characters); quotes, dots and semicolons are refused")
    return value


def column_type(value: Any, dialect: str, key: bool = False) -> Any:
    import sqlalchemy as sa

    if key:
        return sa.String(255)
    if isinstance(value, bool):
        return sa.Boolean()
    if isinstance(value, int):
        return sa.BigInteger()
    if isinstance(value, float):
        return sa.Float(53)
    if isinstance(value, Decimal):
        return sa.Numeric(38, 10) if dialect in ("mysql", "mariadb") else sa.Numeric()
    if isinstance(value, datetime):
        return sa.DateTime(timezone=value.tzinfo is not None and dialect == "postgresql")
    if isinstance(value, date):
        return sa.Date()
    if isinstance(value, time):
        return sa.Time()
    if isinstance(value, dict | list):
        return sa.JSON()
    return sa.Text()


def has_unique(engine: Any, table: str, schema: str | None, key: Sequence[str]) -> bool:
    """True when ``key`` (in any order) is the primary key, a unique constraint or a unique index."""
    import sqlalchemy as sa

    inspector = sa.inspect(engine)
    wanted = {k.lower() for k in key}
    candidates = [inspector.get_pk_constraint(table, schema=schema).get("constrained_columns") or []]
    candidates += [u.get("column_names") or [] for u in inspector.get_unique_constraints(table, schema=schema)]
    candidates += [i.get("column_names") or [] for i in inspector.get_indexes(table, schema=schema)
                   if i.get("unique")]
    return any({str(c).lower() for c in cols if c} == wanted for cols in candidates)


def reflect(engine: Any, metadata: Any, table: str, schema: str | None, key: Sequence[str]) -> Any | None:
    """The reflected Table, or None when it does not exist; TargetError when it cannot be upserted into."""
    import sqlalchemy as sa

    if not sa.inspect(engine).has_table(table, schema=schema):
        return None
    found = sa.Table(table, metadata, schema=schema, autoload_with=engine)
    where = f"{schema}.{table}" if schema else table
    missing = [k for k in key if k not in found.c]
    if missing:
        raise TargetError(f"sql target: table {where} has no column {', '.join(missing)} (the key)",
                          hint="set `key` (or key_column) on the target to the table's key column(s)")
    if not has_unique(engine, table, schema, key):
        raise TargetError(f"sql target: table {where} has no primary key or unique index on "
                          f"({', '.join(key)}), so rows cannot be upserted by it",
                          hint=f"add one: CREATE UNIQUE INDEX ... ON {where} ({', '.join(key)}), or set `key` "
                               "on the target to columns that are unique")
    return found


def create(engine: Any, metadata: Any, table: str, schema: str | None, key: Sequence[str],
           rows: Sequence[dict[str, Any]]) -> Any:
    """Create the table from the rows' columns (first non-null value decides a column's type)."""
    import sqlalchemy as sa

    names: dict[str, Any] = {}
    for row in rows:
        for name, value in row.items():
            if names.get(name) is None:
                names[name] = value
    for name in names:
        try:
            check_name(name, "column")
        except ValueError as exc:
            raise TargetError(f"sql target: cannot create table {table}: {exc}",
                              hint="rename the field in the mapping to a plain column name") from None
    dialect = engine.dialect.name
    columns = [sa.Column(sa.sql.quoted_name(name, quote=True), column_type(value, dialect, name in key),
                         primary_key=name in key, nullable=name not in key, autoincrement=False)
               for name, value in names.items()]
    created = sa.Table(sa.sql.quoted_name(table, quote=True), metadata, *columns, schema=schema)
    created.create(engine, checkfirst=True)
    return created
