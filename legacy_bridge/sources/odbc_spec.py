"""The ``kind = "odbc"`` source section of a job file, validated once at load."""

from __future__ import annotations

import codecs
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import ConfigDict, Field, field_validator, model_validator

from legacy_bridge.config.durations import Duration
from legacy_bridge.registry import Spec
from legacy_bridge.sources.odbc_sql import check_identifier


class OdbcSpec(Spec):
    """Rows of one table (or query) read over ODBC.

    ``where`` is SQL written by the job's author and trusted as such (it is added as is);
    every identifier (table, schema, columns, cursor, key) is checked and quoted, and every
    value (watermark, bounds) is a bound parameter."""

    kind: Literal["odbc"]
    connection: str = Field(description="pyodbc connection string or 'DSN=...'; use ${env:...} for passwords")
    table: str | None = None
    schema_: str | None = Field(default=None, alias="schema")
    columns: list[str] = Field(default_factory=list, description="columns to read (default: all)")
    where: str | None = Field(default=None, description="trusted SQL condition added to every statement")
    query: str | None = Field(default=None, description="a SELECT read as a subquery instead of a table")
    mode: Literal["incremental", "diff", "full"] = "incremental"
    cursor: list[str] = Field(default_factory=list, description="columns ordered together, e.g. [LastChanged, ID]")
    cursor_fallback: str | None = Field(default=None, description="used when the first cursor column is NULL")
    lookback: Duration = Field(default=0.0, description="re-read this window before the watermark")
    settle: Duration | None = Field(default=None, description="upper bound: database time minus this")
    key: list[str] = Field(default_factory=list, description="row key columns (diff; default: primary key)")
    batch_size: int = Field(default=5000, ge=1, le=1_000_000, description="rows per fetchmany")
    page_rows: int | None = Field(default=None, ge=0, description="rows per statement (0: one statement)")
    encoding: str | None = Field(default=None, description="decoding of SQL_CHAR text, e.g. cp1252")
    trim_char: bool = Field(default=True, description="strip trailing blanks (CHAR padding) from text")
    timezone: str | None = Field(default=None, description="zone of naive timestamps, e.g. Europe/Berlin")
    binary: Literal["bytes", "base64", "hex"] = "bytes"
    columnar: bool = Field(default=True, description="read in Arrow blocks (arrow-odbc) where that gives "
                                                     "exactly the row reader's values; false: row by row")
    login_timeout: Duration = 30.0
    query_timeout: Duration = 0.0
    read_only: bool = True
    deletes: Literal["report", "send"] = "report"
    reconnects: int = Field(default=2, ge=0, le=10, description="reconnect and resume this often per run")
    reconnect_backoff: Duration = 2.0

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("table", "schema_", "cursor_fallback")
    @classmethod
    def _one_ident(cls, value: str | None) -> str | None:
        return None if value is None else check_identifier(value)

    @field_validator("columns", "cursor", "key", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("columns", "cursor", "key")
    @classmethod
    def _idents(cls, value: list[str]) -> list[str]:
        for name in value:
            check_identifier(name)
        if len(set(value)) != len(value):
            raise ValueError("a column is named twice")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except Exception as exc:
                raise ValueError(f"{value!r} is not a time zone name (e.g. Europe/Paris, UTC)") from exc
        return value

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                codecs.lookup(value)
            except LookupError as exc:
                raise ValueError(f"{value!r} is not a known text encoding (e.g. cp1252, latin-1)") from exc
        return value

    @model_validator(mode="after")
    def _shape(self) -> OdbcSpec:
        if (self.table is None) == (self.query is None):
            raise ValueError("give exactly one of `table` or `query`")
        if self.query is not None and (self.schema_ or self.columns):
            raise ValueError("`schema` and `columns` go with `table`, not with `query`")
        if self.mode == "incremental" and not self.cursor:
            raise ValueError("mode incremental needs `cursor` (e.g. cursor = [\"LastChanged\", \"ID\"]); "
                             "tables without a change column use mode = \"diff\"")
        if self.mode == "diff" and self.query is not None and not self.key:
            raise ValueError("mode diff over a `query` needs `key` (no primary key to discover)")
        if self.cursor_fallback and not self.cursor:
            raise ValueError("`cursor_fallback` needs `cursor`")
        if self.lookback and self.mode != "incremental":
            raise ValueError("`lookback` applies to mode incremental only")
        if self.columns:
            missing = [c for c in [*self.key] if c not in self.columns]
            if missing:
                raise ValueError(f"`columns` must include the key column(s) {', '.join(missing)}")
        return self

    def cross_check(self, flow: Any) -> list[str]:
        return []

    @property
    def origin(self) -> str:
        if self.table is None:
            return "query"
        return f"{self.schema_}.{self.table}" if self.schema_ else self.table
