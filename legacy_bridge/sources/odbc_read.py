"""One ODBC connection and the statements of one flow: bounds, then rows in chunks.

Rows stream with ``fetchmany(batch_size)``.  Where the driver cannot stream (MariaDB
Connector/ODBC before 3.1.17 buffers whole results) the same ordered read is issued page
by page, each page starting strictly after the last cursor tuple of the one before, so
memory stays flat on any table size.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from legacy_bridge.errors import DatabaseError
from legacy_bridge.sources.odbc_conn import Opened, connect, translate
from legacy_bridge.sources.odbc_spec import OdbcSpec
from legacy_bridge.sources.odbc_sql import (
    Shape,
    Window,
    count_null_query,
    cursor_exprs,
    data_refs,
    max_query,
    plain_refs,
    select,
)
from legacy_bridge.sources.odbc_types import converters, make_row

Row = dict[str, Any]
Chunk = list[tuple[Row, tuple[Any, ...]]]


class Reader:
    def __init__(self, spec: OdbcSpec, where: dict[str, Any]) -> None:
        self.spec = spec
        self.where = where
        self.shape = Shape(table=spec.table, schema=spec.schema_, columns=tuple(spec.columns),
                           where=spec.where, query=spec.query)
        self.zone = ZoneInfo(spec.timezone) if spec.timezone else None
        self._opened: Opened | None = None
        self._data: tuple[list[str], dict[str, int]] | None = None  # see _data_columns

    # --- connection ---------------------------------------------------------------------
    def open(self) -> Opened:
        if self._opened is None:
            s = self.spec
            self._opened = connect(s.connection, login_timeout=s.login_timeout, query_timeout=s.query_timeout,
                                   read_only=s.read_only, encoding=s.encoding, fetch_rows=s.batch_size,
                                   where=self.where)
        return self._opened

    def close(self) -> None:
        opened, self._opened = self._opened, None
        if opened is not None:
            with contextlib.suppress(Exception):
                opened.conn.close()

    def page_rows(self) -> int:
        """Rows per statement: the spec's, or paging where the driver buffers whole results."""
        if self.spec.page_rows is not None:
            return self.spec.page_rows
        opened = self.open()
        if ("maodbc" in opened.driver.lower() or "myodbc" in opened.driver.lower()) and _older(
                self._driver_version(), (3, 1, 17)):
            return max(10 * self.spec.batch_size, 10_000)
        return 0

    def _driver_version(self) -> str:
        import pyodbc

        try:
            return str(self.open().conn.getinfo(pyodbc.SQL_DRIVER_VER) or "")
        except pyodbc.Error:
            return ""

    def cursor_sql(self, columns: Sequence[str], fallback: str | None) -> list[str]:
        """The cursor expressions for this driver (SQLite: dates compared as canonical text)."""
        opened = self.open()
        text_dates: list[str] = []
        if columns and "sqlite" in opened.dbms.lower():
            names = [*columns, *([fallback] if fallback else [])]
            text_dates = [n for n, t in zip(names, self._types(names), strict=True) if t in (datetime, date)]
        return cursor_exprs(opened.dialect, columns, fallback, text_dates)

    def _types(self, names: Sequence[str]) -> list[Any]:
        import pyodbc

        d = self.open().dialect
        try:
            return [c[1] for c in self.describe(", ".join(d.ident(n) for n in names))]
        except pyodbc.Error as exc:
            raise translate(exc, f"reading the columns of {self.spec.origin}", self.where) from exc

    def describe(self, select_list: str) -> list[tuple[Any, ...]]:
        """``cursor.description`` of ``SELECT <select_list>`` from the source, read without a row
        (``WHERE 1 = 0``); raises ``pyodbc.Error``."""
        import pyodbc

        cur = self.open().conn.cursor()
        try:
            cur.execute(f"SELECT {select_list} FROM {self.shape.source(self.open().dialect)} lb_src WHERE 1 = 0")
            return list(cur.description)
        finally:
            with contextlib.suppress(pyodbc.Error):
                cur.close()

    # --- single values ------------------------------------------------------------------
    def scalar(self, sql: str, params: Sequence[Any] = (), what: str = "query") -> Any:
        import pyodbc

        conn = self.open().conn
        try:
            cur = conn.cursor()
            try:
                cur.execute(sql, list(params))
                row = cur.fetchone()
                while cur.nextset():  # drain, for drivers that stream
                    pass
            finally:
                cur.close()
        except pyodbc.Error as exc:
            raise translate(exc, what, self.where) from exc
        return None if row is None else row[0]

    def max_cursor(self, exprs: Sequence[str]) -> tuple[Any, ...] | None:
        """The largest cursor tuple now (None: no rows).  Stops at the first NULL maximum."""
        d = self.open().dialect
        found: list[Any] = []
        for i in range(len(exprs)):
            value = self.scalar(max_query(d, self.shape, exprs, i), found, "finding the upper bound")
            if value is None:
                break
            found.append(value)
        return tuple(found) if found else None

    def count_null(self, expr: str) -> int:
        d = self.open().dialect
        return int(self.scalar(count_null_query(d, self.shape, expr), (), "counting NULL cursors") or 0)

    def db_now(self) -> datetime:
        """The database's clock (``{fn NOW()}``), or ours in the declared zone if it has none."""
        try:
            value = self.scalar("SELECT {fn NOW()}", (), "reading the database time")
        except DatabaseError:
            value = None
        if isinstance(value, datetime):
            return value
        return datetime.now(self.zone).replace(tzinfo=None)

    def primary_key(self) -> list[str]:
        import pyodbc

        cur = self.open().conn.cursor()
        try:
            rows = cur.primaryKeys(self.spec.table, schema=self.spec.schema_)
            keyed = sorted((int(r.key_seq or 0), str(r.column_name)) for r in rows)
        except pyodbc.Error as exc:
            raise translate(exc, "reading the primary key", self.where) from exc
        finally:
            cur.close()
        return [name for _, name in keyed]

    # --- rows ---------------------------------------------------------------------------
    def chunks(self, exprs: Sequence[str], window: Window) -> Iterator[Chunk]:
        """Rows in cursor order (chunks of at most ``batch_size``), with their cursor tuples."""
        page = self.page_rows() if exprs else 0
        while True:
            got, last = 0, None
            for chunk in self._statement(exprs, window, page or None):
                got += len(chunk)
                last = chunk[-1][1]
                yield chunk
            if not page or got < page or last is None:
                return
            window = replace(window, after=last, since=None)

    def _statement(self, exprs: Sequence[str], window: Window, limit: int | None) -> Iterator[Chunk]:
        import pyodbc

        opened = self.open()
        described, data = self._data_columns() if exprs else ([], {})
        carried = [i for i, e in enumerate(exprs) if e not in data]
        sql, params = select(opened.dialect, self.shape, exprs, window, limit, carried=carried)
        cur = opened.conn.cursor()
        try:
            try:
                cur.execute(sql, params)
                width = len(cur.description) - len(carried)
                names = [str(c[0]) for c in cur.description[:width]]
                convs = converters(cur.description[:width], trim_char=self.spec.trim_char, zone=self.zone,
                                   binary=self.spec.binary)
            except pyodbc.Error as exc:
                raise translate(exc, f"reading {self.spec.origin}", self.where) from exc
            if len(carried) < len(exprs) and names != described:
                # the columns changed since they were described: again, with every cursor value selected
                self._data = ([], {})
                cur.close()
                yield from self._statement(exprs, window, limit)
                return
            # each cursor value's place in a fetched row: its data column (the raw value, before the
            # converters), or its own column after the data
            extra = {i: width + k for k, i in enumerate(carried)}
            at = [extra[i] if i in extra else data[e] for i, e in enumerate(exprs)]
            tail = at == list(range(width, width + len(exprs)))
            while True:
                try:
                    raw = cur.fetchmany(self.spec.batch_size)
                except pyodbc.Error as exc:
                    raise translate(exc, f"reading {self.spec.origin}", self.where) from exc
                if not raw:
                    return
                if tail:
                    yield [(make_row(names, r[:width], convs), tuple(r[width:])) for r in raw]
                else:
                    yield [(make_row(names, r[:width], convs), tuple([r[j] for j in at])) for r in raw]
        finally:
            with contextlib.suppress(pyodbc.Error):
                cur.close()

    def _data_columns(self) -> tuple[list[str], dict[str, int]]:
        """The data columns' names, and those a cursor expression can be read from (``data_refs``),
        described once per reader."""
        import pyodbc

        if self._data is None:
            d = self.open().dialect
            try:
                names = [str(c[0]) for c in self.describe(self.shape.select_list(d))]
            except pyodbc.Error:
                return [], {}  # every cursor value selected; the statement itself will say what is wrong
            self._data = (names, data_refs(plain_refs(d, names)))
        return self._data


def _older(version: str, than: tuple[int, ...]) -> bool:
    parts = tuple(int(p) for p in re.findall(r"\d+", version)[:3])
    return bool(parts) and parts < than
