"""Load the Northwind sample (a legacy ERP stand-in) into SQLite, PostgreSQL or MariaDB.

    python -m legacy_bridge.devtools.northwind --postgres nw --mariadb nw --sqlite /tmp/nw.sqlite

Table and column names keep their case (quoted) in every database, so one job file reads
all three.  Dates become real timestamps, money DECIMAL(12,4), pictures binary.
PostgreSQL is reached with psycopg and MariaDB with pymysql (the ``dev`` extra).
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

DEFAULT_SOURCE = Path("/work/shared/realworld/northwind/northwind.sqlite")
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
MARIADB = {"host": "127.0.0.1", "port": 3306, "user": "root"}
TYPES = {  # sqlite declared type -> (postgres, mariadb)
    "INTEGER": ("BIGINT", "BIGINT"),
    "NUMERIC": ("DECIMAL(12,4)", "DECIMAL(12,4)"),
    "REAL": ("DOUBLE PRECISION", "DOUBLE"),
    "DATE": ("TIMESTAMP", "DATETIME(6)"),
    "DATETIME": ("TIMESTAMP", "DATETIME(6)"),
    "BLOB": ("BYTEA", "LONGBLOB"),
    "TEXT": ("VARCHAR(4000)", "TEXT"),
}


def copy_sqlite(dest: Path, source: Path = DEFAULT_SOURCE) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, dest)
    return dest


def _tables(db: sqlite3.Connection) -> list[str]:
    rows = db.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    return [r[0] for r in rows]


def _columns(db: sqlite3.Connection, table: str) -> list[tuple[str, str, int]]:
    """(name, declared type, position in primary key or 0)."""
    return [(r[1], (r[2] or "TEXT").upper(), int(r[5])) for r in db.execute(f'PRAGMA table_info("{table}")')]


def _convert(value: Any, declared: str) -> Any:
    if value is None:
        return None
    if declared in ("DATE", "DATETIME") and isinstance(value, str):
        return datetime.fromisoformat(value)
    if declared == "NUMERIC":
        return Decimal(str(value))
    if declared == "TEXT" and not isinstance(value, str):
        return str(value)
    return value


def _ddl(table: str, cols: list[tuple[str, str, int]], flavour: int, q: str) -> str:
    parts = []
    for name, declared, pk in cols:
        kind = TYPES.get(declared, TYPES["TEXT"])[flavour]
        if pk and kind in ("TEXT", "VARCHAR(4000)"):
            kind = "VARCHAR(64)"  # key columns: an indexable length everywhere
        parts.append(f"{q}{name}{q} {kind}")
    keys = [f"{q}{n}{q}" for n, _, pk in sorted(cols, key=lambda c: c[2]) if pk]
    if keys:
        parts.append(f"PRIMARY KEY ({', '.join(keys)})")
    return f"CREATE TABLE {q}{table}{q} ({', '.join(parts)})"


def _rows(db: sqlite3.Connection, table: str, cols: list[tuple[str, str, int]]) -> Iterator[tuple[Any, ...]]:
    names = ", ".join(f'"{n}"' for n, _, _ in cols)
    for row in db.execute(f'SELECT {names} FROM "{table}"'):
        yield tuple(_convert(v, d) for v, (_, d, _) in zip(row, cols, strict=True))


def _load(conn: Any, flavour: int, q: str, source: Path, placeholder: str) -> None:
    db = sqlite3.connect(source)
    try:
        cur = conn.cursor()
        for table in _tables(db):
            cols = _columns(db, table)
            cur.execute(_ddl(table, cols, flavour, q))
            marks = ", ".join([placeholder] * len(cols))
            names = ", ".join(f"{q}{n}{q}" for n, _, _ in cols)
            rows = list(_rows(db, table, cols))
            if rows:
                cur.executemany(f"INSERT INTO {q}{table}{q} ({names}) VALUES ({marks})", rows)
        conn.commit()
    finally:
        db.close()


def load_postgres(dbname: str, source: Path = DEFAULT_SOURCE) -> None:
    """(Re)create database ``dbname`` on the local PostgreSQL and load Northwind into it."""
    import psycopg

    with psycopg.connect(dbname="postgres", autocommit=True, **PG) as admin:  # type: ignore[arg-type]
        admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{dbname}"')
    with psycopg.connect(dbname=dbname, **PG) as conn:  # type: ignore[arg-type]
        _load(conn, 0, '"', source, "%s")


def drop_postgres(dbname: str) -> None:
    import psycopg

    with psycopg.connect(dbname="postgres", autocommit=True, **PG) as admin:  # type: ignore[arg-type]
        admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def load_mariadb(dbname: str, source: Path = DEFAULT_SOURCE) -> None:
    """(Re)create database ``dbname`` on the local MariaDB and load Northwind into it."""
    import pymysql  # type: ignore[import-untyped]

    conn = pymysql.connect(**MARIADB)
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{dbname}`")
            cur.execute(f"CREATE DATABASE `{dbname}` CHARACTER SET utf8mb4")
        conn.select_db(dbname)
        _load(conn, 1, "`", source, "%s")
    finally:
        conn.close()


def drop_mariadb(dbname: str) -> None:
    import pymysql  # type: ignore[import-untyped]

    conn = pymysql.connect(**MARIADB)
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{dbname}`")
    finally:
        conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="the Northwind SQLite file")
    parser.add_argument("--sqlite", type=Path, help="copy the SQLite file here")
    parser.add_argument("--postgres", metavar="DB", help="(re)create this PostgreSQL database")
    parser.add_argument("--mariadb", metavar="DB", help="(re)create this MariaDB database")
    args = parser.parse_args(argv)
    if args.sqlite:
        copy_sqlite(args.sqlite, args.source)
        print(f"northwind: SQLite copy at {args.sqlite}  (Driver=SQLite3;Database={args.sqlite})")
    if args.postgres:
        load_postgres(args.postgres, args.source)
        print(f"northwind: PostgreSQL database {args.postgres}  "
              f"(Driver={{PostgreSQL Unicode}};Server=127.0.0.1;Port=5432;Database={args.postgres};UID=postgres)")
    if args.mariadb:
        load_mariadb(args.mariadb, args.source)
        print(f"northwind: MariaDB database {args.mariadb}  "
              f"(Driver={{MariaDB Unicode}};Server=127.0.0.1;Port=3306;Database={args.mariadb};UID=root)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
