"""What an ODBC source holds: tables, columns, types, primary keys, row counts, cursor candidates,
and a starter ``[[flows]]`` block for one table.  Uses only ODBC catalog calls
(SQLTables, SQLColumns, SQLPrimaryKeys) and ``COUNT(*)``, so it works on any driver."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from legacy_bridge.errors import DatabaseError
from legacy_bridge.observe.redact import redact
from legacy_bridge.sources.odbc_conn import connect, translate
from legacy_bridge.sources.odbc_sql import IDENTIFIER, Dialect

_TIME_TYPES = re.compile(r"(?i)timestamp|datetime|rowversion|date|time")
_VERSION_TYPES = re.compile(r"(?i)rowversion|^timestamp$")  # SQL Server's TIMESTAMP is a row version
_CHANGE_NAMES = re.compile(r"(?i)chang|modif|updat|upd_?|chg|last|stamp|^ts$|edit|mtime|_at$")
_CREATE_NAMES = re.compile(r"(?i)creat|insert|added|entered|crt")
_INT_TYPES = re.compile(r"(?i)int|serial|identity|counter|numeric\(\d+,\s*0\)|decimal\(\d+,\s*0\)")


@dataclass
class ColumnInfo:
    name: str
    type_name: str
    size: int | None
    nullable: bool


@dataclass
class TableInfo:
    name: str
    schema: str | None
    kind: str
    columns: list[ColumnInfo] = field(default_factory=list)
    primary_key: list[str] = field(default_factory=list)
    rows: int | None = None

    @property
    def change_columns(self) -> list[str]:
        """Timestamp / row-version columns, those named like 'last changed' first."""
        found = [c for c in self.columns if _TIME_TYPES.search(c.type_name) or _VERSION_TYPES.search(c.type_name)]
        found.sort(key=lambda c: (not _CHANGE_NAMES.search(c.name), bool(_CREATE_NAMES.search(c.name))))
        return [c.name for c in found]

    @property
    def created_column(self) -> str | None:
        return next((c for c in self.change_columns if _CREATE_NAMES.search(c)), None)

    @property
    def increasing_key(self) -> str | None:
        """A single-column integer primary key (usually increasing: good for insert-only tables)."""
        if len(self.primary_key) != 1:
            return None
        col = next((c for c in self.columns if c.name == self.primary_key[0]), None)
        return col.name if col is not None and _INT_TYPES.search(col.type_name) else None

    @property
    def cursor_candidates(self) -> list[str]:
        out = list(self.change_columns)
        if self.increasing_key:
            out.append(f"{self.increasing_key} (increasing key)")
        return out

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "schema": self.schema, "kind": self.kind, "rows": self.rows,
                "primary_key": self.primary_key, "cursor_candidates": self.cursor_candidates,
                "columns": [vars(c) for c in self.columns]}


def discover(connection: str, *, schema: str | None = None, table: str | None = None, counts: bool = True,
             login_timeout: float = 30.0) -> list[TableInfo]:
    import pyodbc

    where = {"command": "discover odbc"}
    opened = connect(connection, login_timeout=login_timeout, query_timeout=0, read_only=True, encoding=None,
                     fetch_rows=1000, where=where)
    conn = opened.conn
    try:
        catalog = _current_catalog(conn, opened.dbms)
        cur = conn.cursor()
        try:
            found = [TableInfo(str(r.table_name), r.table_schem, str(r.table_type))
                     for r in cur.tables(table=table, catalog=catalog, schema=schema, tableType="TABLE,VIEW")]
        except pyodbc.Error as exc:
            raise translate(exc, "listing tables", where) from exc
        found = [t for t in found if not _system(t)]
        for info in found:
            _describe(conn, info, catalog, opened.dialect, counts, where)
        return found
    finally:
        conn.close()


def _current_catalog(conn: Any, dbms: str) -> str | None:
    import pyodbc

    if "maria" in dbms.lower() or "mysql" in dbms.lower():
        return str(conn.getinfo(pyodbc.SQL_DATABASE_NAME) or "") or None
    return None


def _system(info: TableInfo) -> bool:
    return (info.schema or "").lower() in ("information_schema", "pg_catalog", "sys") or \
        info.name.startswith("sqlite_")


def _describe(conn: Any, info: TableInfo, catalog: str | None, dialect: Dialect, counts: bool,
              where: dict[str, Any]) -> None:
    import pyodbc

    cur = conn.cursor()
    try:
        info.columns = [ColumnInfo(str(c.column_name), str(c.type_name), c.column_size, bool(c.nullable))
                        for c in cur.columns(table=info.name, catalog=catalog, schema=info.schema)]
        if info.kind.upper() == "TABLE":
            keys = cur.primaryKeys(info.name, catalog=catalog, schema=info.schema).fetchall()
            info.primary_key = [str(r.column_name) for r in sorted(keys, key=lambda r: int(r.key_seq or 0))]
        if counts and IDENTIFIER.match(info.name) and (info.schema is None or IDENTIFIER.match(info.schema)):
            name = dialect.ident(info.name)
            source = f"{dialect.ident(info.schema)}.{name}" if info.schema else name
            row = cur.execute(f"SELECT COUNT(*) FROM {source}").fetchone()
            info.rows = int(row[0]) if row else None
    except pyodbc.Error as exc:
        raise DatabaseError(f"describing {info.name} failed: {redact(str(exc))}", where=where) from exc
    finally:
        cur.close()


def starter_flow(info: TableInfo, connection: str) -> str:
    """A ``[[flows]]`` block to paste into a job file and adjust."""
    lines = ["[[flows]]", f'name = "{_flow_name(info.name)}"', "", "[flows.source]", 'kind = "odbc"',
             f"connection = {_toml_str(redact(connection))}", f"table = {_toml_str(info.name)}"]
    if info.schema:
        lines.append(f"schema = {_toml_str(info.schema)}")
    change, key = info.change_columns, info.primary_key
    changed = next((c for c in change if c != info.created_column), None)
    if changed and key:
        lines += ['mode = "incremental"', f"cursor = {_toml_list([changed, *key])}"]
        nullable = next((c.nullable for c in info.columns if c.name == changed), False)
        if info.created_column and nullable:
            lines.append(f"cursor_fallback = {_toml_str(info.created_column)}")
        lines.append('lookback = "15m"')
    elif info.increasing_key:
        lines += ['mode = "incremental"  # insert-only table: updates are not seen',
                  f"cursor = {_toml_list([info.increasing_key])}"]
    else:
        lines.append('mode = "diff"  # no change column: full scan with a hash per row')
        lines.append(f"key = {_toml_list(key)}" if key else 'key = ["..."]  # no primary key: name a unique column')
    lines += ["batch_size = 5000", "", "[flows.mapping]", f"key = {_toml_str(key[0] if key else '...')}",
              "[flows.mapping.fields]"]
    lines += [f"{_field(c.name)} = {_toml_str(c.name)}" for c in info.columns[:40]]
    lines += ["", "[flows.target]", 'kind = "..."  # your target']
    return "\n".join(lines) + "\n"


def _flow_name(name: str) -> str:
    text = re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_").lower() or "table"
    return text if text[0].isalpha() else f"t_{text}"


def _field(name: str) -> str:
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    text = re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_").lower()
    return text if text and text[0].isalpha() else f"f_{text}"


def _toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(_toml_str(v) for v in values) + "]"
