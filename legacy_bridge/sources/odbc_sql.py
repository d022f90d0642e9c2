"""Portable SQL for reading a table by keyset: identifier checks, quoting, predicates.

Only ANSI constructs every ODBC driver understands (``OR``/``AND``/``COALESCE``/``ORDER BY``)
are used, so DB2 for i, Progress, Pervasive and old SQL Server read the same statements as
PostgreSQL and SQLite.  Every value is a ``?`` parameter; identifiers come from the job file,
are checked against ``IDENTIFIER`` at load time, and are quoted with the driver's own
quote character.  A row-limit clause (for per-page queries) is added only where the
dialect is known.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

# Letters, digits, '_', '$', '#', '@' (DB2/AS400 names), single inner spaces ("Order Details").
IDENTIFIER = re.compile(r"^[^\W\d][\w$#@]*(?: [\w$#@]+)*$")
MAX_IDENTIFIER = 128

LimitStyle = Literal["limit", "fetch_first", "none"]


def check_identifier(value: str) -> str:
    """``value`` if it is a plain identifier; ``ValueError`` naming what is wrong otherwise."""
    if not isinstance(value, str) or not value:
        raise ValueError("an identifier cannot be empty")
    if len(value) > MAX_IDENTIFIER:
        raise ValueError(f"identifier longer than {MAX_IDENTIFIER} characters")
    if not IDENTIFIER.match(value):
        raise ValueError(
            f"{value!r} is not a plain identifier (letters, digits, _ $ # @ and single inner spaces); "
            "quotes, semicolons, dots and operators are refused - use `query` for anything else"
        )
    return value


@dataclass(frozen=True)
class Dialect:
    """What differs between drivers: the identifier quote and the row-limit syntax."""

    quote: str = '"'
    limit: LimitStyle = "none"

    def ident(self, name: str) -> str:
        check_identifier(name)
        q = self.quote.strip()
        if not q:
            return name  # the driver does not quote identifiers (rare); the pattern keeps it safe
        closing = "]" if q == "[" else q
        return f"{q}{name}{closing}"

    def limit_clause(self, rows: int | None) -> str:
        if not rows or self.limit == "none":
            return ""
        if self.limit == "limit":
            return f" LIMIT {int(rows)}"
        return f" FETCH FIRST {int(rows)} ROWS ONLY"


def dialect_for(dbms_name: str, quote: str) -> Dialect:
    """The dialect for a DBMS name as ``SQLGetInfo(SQL_DBMS_NAME)`` reports it."""
    name = dbms_name.lower()
    if any(n in name for n in ("mariadb", "mysql", "postgres", "sqlite")):
        return Dialect(quote=quote, limit="limit")
    if any(n in name for n in ("db2", "oracle")):
        return Dialect(quote=quote, limit="fetch_first")
    return Dialect(quote=quote, limit="none")


@dataclass(frozen=True)
class Shape:
    """What to read: a table (optionally with columns and a trusted where clause) or a query."""

    table: str | None = None
    schema: str | None = None
    columns: Sequence[str] = ()
    where: str | None = None
    query: str | None = None

    def source(self, d: Dialect) -> str:
        if self.query is not None:
            return f"({self.query})"
        assert self.table is not None
        name = d.ident(self.table)
        return f"{d.ident(self.schema)}.{name}" if self.schema else name

    def select_list(self, d: Dialect) -> str:
        return ", ".join(d.ident(c) for c in self.columns) if self.columns else "lb_src.*"


def plain_refs(d: Dialect, names: Sequence[str]) -> list[str | None]:
    """Each column's name quoted for SQL, or None where it is no plain identifier (a query's output
    name such as "v-c"): such a column is no cursor column (and the Arrow read never packs it)."""
    refs: list[str | None] = []
    for name in names:
        try:
            refs.append(d.ident(name))
        except ValueError:
            refs.append(None)
    return refs


def data_refs(refs: Sequence[str | None]) -> dict[str, int]:
    """The data columns a cursor expression can be read from instead of being selected again: the
    quoted name (``plain_refs``) -> the column's place.  A name that occurs twice is left out.  One
    column less through the driver spares every row a value (psqlODBC: ~190 ns of CPU each)."""
    seen = Counter(refs)
    return {ref: j for j, ref in enumerate(refs) if ref is not None and seen[ref] == 1}


def cursor_exprs(d: Dialect, cursor: Sequence[str], fallback: str | None,
                 text_dates: Sequence[str] = ()) -> list[str]:
    """SQL expressions of the cursor columns; the first gets ``COALESCE(c1, fallback)``.

    ``text_dates``: columns holding dates as text (SQLite): compared in one canonical text
    form, since a bound timestamp parameter is rendered differently from the stored text."""

    def ref(name: str) -> str:
        quoted = d.ident(name)
        return f"strftime('%Y-%m-%d %H:%M:%f', {quoted})" if name in text_dates else quoted

    exprs = [ref(c) for c in cursor]
    if fallback and exprs:
        exprs[0] = f"COALESCE({exprs[0]}, {ref(fallback)})"
    return exprs


def keyset(exprs: Sequence[str], values: Sequence[Any], op: Literal[">", "<="]) -> tuple[str, list[Any]]:
    """``(e1, e2, ...) > (v1, v2, ...)`` (or ``<=``) written without row-value syntax:
    ``e1 > ? OR (e1 = ? AND (e2 > ? OR (e2 = ? AND e3 > ?)))``, with a leading
    ``e1 >= ?`` (``e1 <= ?``) so an index on the first column bounds the range."""
    assert exprs and len(exprs) == len(values)
    strict, last = (">", ">") if op == ">" else ("<", "<=")
    n = len(exprs)
    sql = f"{exprs[-1]} {last} ?"
    params: list[Any] = [values[-1]]
    for i in range(n - 2, -1, -1):
        sql = f"{exprs[i]} {strict} ? OR ({exprs[i]} = ? AND ({sql}))"
        params = [values[i], values[i], *params]
    bound = ">=" if op == ">" else "<="
    return f"{exprs[0]} {bound} ? AND ({sql})", [values[0], *params]


@dataclass(frozen=True)
class Window:
    """Which part of the ordered rows one statement reads."""

    after: Sequence[Any] | None = None  # strictly after this cursor tuple
    since: Any = None  # first cursor expression >= this (the lookback window), when after is None
    upto: Sequence[Any] | None = None  # at most this cursor tuple (fixed at run start)
    upto_first: Any = None  # first cursor expression <= this (database time minus settle)
    not_null: bool = False  # skip rows whose first cursor expression is NULL


def select(d: Dialect, shape: Shape, exprs: Sequence[str], window: Window,
           limit: int | None = None, carried: Sequence[int] | None = None,
           columns: str | None = None) -> tuple[str, list[Any]]:
    """``SELECT <columns>, <cursor exprs> FROM <source> WHERE ... ORDER BY <cursor exprs>``.

    The cursor expressions come last, aliased ``lb_k0``, ``lb_k1``...: the caller splits them
    off each row.  ``carried``: the indexes of the expressions selected (default all; a caller
    that finds a cursor column among the data columns reads it from there instead); ``columns``:
    the select list in place of the shape's (the Arrow path's packed text columns).  Without
    cursor expressions the rows come in the database's order."""
    keep = range(len(exprs)) if carried is None else carried
    extra = "".join(f", {exprs[i]} AS lb_k{i}" for i in keep)
    sql = f"SELECT {columns or shape.select_list(d)}{extra} FROM {shape.source(d)} lb_src"
    conds: list[str] = []
    params: list[Any] = []
    if shape.where:
        conds.append(f"({shape.where})")
    if exprs and window.not_null:
        conds.append(f"{exprs[0]} IS NOT NULL")
    if exprs and window.after is not None:
        text, values = keyset(exprs, window.after, ">")
        conds.append(f"({text})")
        params += values
    elif exprs and window.since is not None:
        conds.append(f"{exprs[0]} >= ?")
        params.append(window.since)
    if exprs and window.upto is not None:
        text, values = keyset(exprs, window.upto, "<=")
        conds.append(f"({text})")
        params += values
    if exprs and window.upto_first is not None:
        conds.append(f"{exprs[0]} <= ?")
        params.append(window.upto_first)
    if conds:
        sql += " WHERE " + " AND ".join(conds)
    if exprs:
        sql += " ORDER BY " + ", ".join(exprs)
    return sql + d.limit_clause(limit), params


def max_query(d: Dialect, shape: Shape, exprs: Sequence[str], i: int) -> str:
    """``SELECT MAX(e_i)`` among rows whose earlier cursor expressions equal the maxima found
    so far (one ``?`` per earlier expression): the largest cursor tuple, column by column."""
    sql = f"SELECT MAX({exprs[i]}) FROM {shape.source(d)} lb_src"
    conds = [f"({shape.where})"] if shape.where else []
    conds += [f"{e} = ?" for e in exprs[:i]]
    if conds:
        sql += " WHERE " + " AND ".join(conds)
    return sql


def count_null_query(d: Dialect, shape: Shape, expr: str) -> str:
    sql = f"SELECT COUNT(*) FROM {shape.source(d)} lb_src WHERE {expr} IS NULL"
    return sql + (f" AND ({shape.where})" if shape.where else "")
