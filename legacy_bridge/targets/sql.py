"""``kind = "sql"``: upsert into a table of a modern database (SQLAlchemy), for teams whose
"modern API" is a database.

```toml
[flows.target]
kind = "sql"
url = "${env:WAREHOUSE_URL}"     # postgresql+psycopg://... | mysql+pymysql://... | sqlite:///var/out.db
schema = "crm"                   # optional
table = "customers"
key_column = "erp_id"            # the record's key is written to this column ...
# key = ["erp_id"]               # ... and the upsert is keyed by these columns (default [key_column])
create = false                   # true: create a missing table from the first batch's fields
batch_size = 500
concurrency = 2
```

Each ``send`` is one transaction: PostgreSQL ``INSERT ... ON CONFLICT (key) DO UPDATE``,
MariaDB/MySQL ``INSERT ... ON DUPLICATE KEY UPDATE``, SQLite ``ON CONFLICT``.  A row the
database refuses (NOT NULL, CHECK, too long, bad value) makes the batch roll back; it is
then sent in halves until the bad row is isolated and rejected with the database's own
message, the others are kept.  Dropped connections and lock timeouts are retried with
backoff (``max_attempts``), then ``TargetRetryable`` stops the flow with its checkpoint
intact.  Identifiers are validated and quoted; every value is a bound parameter; Decimals
and dates go in typed, nested values as JSON.  ``delete(keys)`` removes rows by key
(``deletes = "send"`` on a diff-mode source).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from legacy_bridge.config.durations import Duration
from legacy_bridge.errors import TargetError, TargetRetryable
from legacy_bridge.observe.redact import redact, register_secret
from legacy_bridge.records import Delivery, Payload
from legacy_bridge.registry import Spec
from legacy_bridge.runtime.context import FlowContext
from legacy_bridge.targets import sql_table
from legacy_bridge.targets.http import jittered_backoff
from legacy_bridge.targets.sql_errors import RowRefused, field_of, is_row_error, is_transient, message_of
from legacy_bridge.targets.values import as_json


class SqlSpec(Spec):
    kind: Literal["sql"]
    url: SecretStr = Field(description="SQLAlchemy URL; use ${env:...} - it holds the password")
    table: str
    schema_: str | None = Field(None, alias="schema")
    key_column: str | None = Field("erp_id", description="column receiving each record's key (None: not written)")
    key: list[str] = Field(default_factory=list, description="conflict columns (default: [key_column])")
    create: bool = Field(False, description="create a missing table from the first batch's fields")
    batch_size: int = Field(500, ge=1, le=10_000)
    concurrency: int = Field(2, ge=1, le=32)
    max_attempts: int = Field(5, ge=1, le=100, description="tries per batch for dropped connections and locks")
    backoff_base: Duration = 0.5
    backoff_max: Duration = 10.0

    @field_validator("table", "schema_", "key_column")
    @classmethod
    def _ident(cls, value: str | None) -> str | None:
        return None if value is None else sql_table.check_name(value)

    @field_validator("key", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("key")
    @classmethod
    def _idents(cls, value: list[str]) -> list[str]:
        for name in value:
            sql_table.check_name(name)
        return value

    @model_validator(mode="after")
    def _shape(self) -> SqlSpec:
        if not self.key and not self.key_column:
            raise ValueError("give `key` (the conflict columns) when key_column is empty")
        return self

    @property
    def conflict(self) -> list[str]:
        return list(self.key) or [str(self.key_column)]

    @property
    def where(self) -> str:
        return f"{self.schema_}.{self.table}" if self.schema_ else self.table


def cell(value: Any, dialect: str, json_column: bool) -> Any:
    """A payload value as the driver binds it."""
    if isinstance(value, dict | list) and not json_column:
        return json.dumps(as_json(value), ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, dict | list):
        return as_json(value)
    if isinstance(value, datetime) and value.tzinfo is not None and dialect != "postgresql":
        return value.astimezone(UTC).replace(tzinfo=None)  # MariaDB/SQLite DATETIME: UTC, naive
    return value


class SqlTarget:
    max_batch: int
    concurrency: int

    def __init__(self, spec: SqlSpec, base_dir: Path) -> None:
        self.spec = spec
        self.max_batch = spec.batch_size
        self.concurrency = spec.concurrency
        self.base_dir = base_dir
        self.engine: Any = None
        self.table: Any = None
        self.flow = ""
        self._lock = threading.Lock()
        self._rng = random.Random()

    # --- Target protocol ---------------------------------------------------------------
    def open(self, ctx: FlowContext) -> None:
        import sqlalchemy as sa

        self.flow = f"{ctx.job}/{ctx.flow}"
        url = self._url()
        kwargs: dict[str, Any] = {"pool_pre_ping": True}
        if url.get_backend_name() == "sqlite":
            kwargs["connect_args"] = {"timeout": 30}
        else:
            kwargs.update(pool_size=self.concurrency, max_overflow=1)
        try:
            self.engine = sa.create_engine(url, **kwargs)
            self.table = self._attempt("find table", lambda: sql_table.reflect(
                self.engine, sa.MetaData(), self.spec.table, self.spec.schema_, self.spec.conflict))
        except ImportError as exc:
            raise TargetError(f"sql target: the database driver for {url.drivername} is not installed ({exc})",
                              hint="pip install the driver (psycopg[binary] for PostgreSQL, pymysql for "
                                   "MariaDB/MySQL) or legacy_bridge's extra") from exc
        if self.table is None and not self.spec.create:
            raise TargetError(f"sql target: table {self.spec.where} does not exist in {self._shown_url()}",
                              where={"flow": self.flow},
                              hint="create it (with a primary key or unique index on the key) or set "
                                   "create = true on the target")

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()

    def send(self, payloads: list[Payload]) -> Delivery:
        rows = self._rows(payloads)
        self._ensure_table(rows)
        delivery = Delivery()
        self._deliver(rows, list(range(len(rows))), delivery)
        return delivery

    def delete(self, keys: list[str]) -> Delivery:
        """Delete the rows of ``keys`` (one transaction); rows already gone count as deleted."""
        import sqlalchemy as sa

        delivery = Delivery()
        if self.table is None:  # never created: nothing to delete
            delivery.sent = len(keys)
            return delivery
        conflict = self.spec.conflict
        parts: list[tuple[int, list[str]]] = []
        for i, key in enumerate(keys):
            values = [key] if len(conflict) == 1 else key.split("|")
            if len(values) != len(conflict):
                delivery.rejected.append((i, f"key {key!r} does not have {len(conflict)} parts "
                                             f"for ({', '.join(conflict)})", None))
            else:
                parts.append((i, values))
        if parts:
            cols = [self.table.c[c] for c in conflict]
            cond = (cols[0].in_([v[0] for _, v in parts]) if len(cols) == 1
                    else sa.tuple_(*cols).in_([tuple(v) for _, v in parts]))
            self._attempt("delete rows", lambda: self._run(self.table.delete().where(cond), None), delivery)
        delivery.sent += len(parts)
        return delivery

    def describe(self, payloads: list[Payload]) -> list[str]:
        rows = self._rows(payloads)
        verb = {"postgresql": "INSERT ... ON CONFLICT", "sqlite": "INSERT ... ON CONFLICT"}.get(
            self._url().get_backend_name(), "INSERT ... ON DUPLICATE KEY UPDATE")
        body = json.dumps([as_json(r) for r in rows], ensure_ascii=False, default=str)
        return [f"UPSERT {self._shown_url()} {self.spec.where} key ({', '.join(self.spec.conflict)}) "
                f"[{verb}] {body}"]

    # --- rows ------------------------------------------------------------------------------
    def _url(self) -> Any:
        from sqlalchemy.engine import make_url

        raw = self.spec.url.get_secret_value()
        try:
            url = make_url(raw)
        except Exception as exc:
            raise TargetError(f"sql target: {redact(raw)} is not a SQLAlchemy URL ({type(exc).__name__})",
                              hint="write it as dialect+driver://user:password@host:port/database") from None
        if url.password:
            register_secret(str(url.password))
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            path = Path(url.database)
            if not path.is_absolute():
                url = url.set(database=str(self.base_dir / path))
        return url

    def _shown_url(self) -> str:
        return redact(str(self._url().render_as_string(hide_password=True)))

    def _rows(self, payloads: list[Payload]) -> list[dict[str, Any]]:
        """One dict per payload (the key in key_column), the last one per conflict key kept."""
        kc = self.spec.key_column
        latest: dict[tuple[Any, ...], dict[str, Any]] = {}
        for p in payloads:
            row = {**p.data, kc: p.key} if kc else dict(p.data)
            latest.pop(ident := tuple(row.get(c) for c in self.spec.conflict), None)
            latest[ident] = row
        return list(latest.values())

    def _ensure_table(self, rows: list[dict[str, Any]]) -> None:
        if self.table is not None:
            return
        import sqlalchemy as sa

        with self._lock:
            if self.table is None:
                self.table = self._attempt("create table", lambda: sql_table.create(
                    self.engine, sa.MetaData(), self.spec.table, self.spec.schema_, self.spec.conflict, rows))

    def _statement(self, names: list[str]) -> Any:
        dialect = self.engine.dialect.name
        table = self.table
        conflict = self.spec.conflict
        update = [n for n in names if n not in conflict]
        if dialect in ("postgresql", "sqlite"):
            from sqlalchemy.dialects import postgresql, sqlite

            stmt: Any = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
            if not update:
                return stmt.on_conflict_do_nothing(index_elements=[table.c[c] for c in conflict])
            return stmt.on_conflict_do_update(index_elements=[table.c[c] for c in conflict],
                                              set_={n: stmt.excluded[n] for n in update})
        if dialect in ("mysql", "mariadb"):
            from sqlalchemy.dialects.mysql import insert as my_insert

            mstmt = my_insert(table)
            first = update or conflict[:1]
            return mstmt.on_duplicate_key_update({n: mstmt.inserted[n] for n in first})
        raise TargetError(f"sql target: no upsert for database {dialect!r} (PostgreSQL, MariaDB/MySQL and "
                          "SQLite are supported)", hint="write to one of those, or use the rest/jsonl target")

    def _bound(self, rows: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
        import sqlalchemy as sa

        names: list[str] = []
        for row in rows:
            names.extend(n for n in row if n not in names)
        unknown = [n for n in names if n not in self.table.c]
        if unknown:
            raise TargetError(f"sql target: table {self.spec.where} has no column {', '.join(unknown)}",
                              where={"flow": self.flow},
                              hint="add the column(s) to the table, or rename/remove the field in the mapping")
        dialect = self.engine.dialect.name
        json_cols = {n for n in names if isinstance(self.table.c[n].type, sa.JSON)}
        return names, [{n: cell(r.get(n), dialect, n in json_cols) for n in names} for r in rows]

    # --- delivery ----------------------------------------------------------------------------
    def _deliver(self, rows: list[dict[str, Any]], indexes: list[int], delivery: Delivery) -> None:
        if not rows:
            return
        names, bound = self._bound(rows)
        try:
            self._attempt("upsert", lambda: self._run(self._statement(names), bound), delivery)
        except RowRefused as refused:
            if len(rows) == 1:
                delivery.rejected.append((indexes[0], refused.reason, refused.field))
                return
            half = len(rows) // 2
            self._deliver(rows[:half], indexes[:half], delivery)
            self._deliver(rows[half:], indexes[half:], delivery)
            return
        delivery.sent += len(rows)

    def _run(self, statement: Any, params: list[dict[str, Any]] | None) -> None:
        with self.engine.begin() as conn:
            if params is None:
                conn.execute(statement)
            else:
                conn.execute(statement, params)

    def _attempt(self, what: str, action: Callable[[], Any], delivery: Delivery | None = None) -> Any:
        """Run ``action``; retry dropped connections and locks; raise RowRefused for bad data."""
        import sqlalchemy.exc as sa_exc

        failures = 0
        while True:
            if delivery is not None:
                delivery.calls += 1
            try:
                return action()
            except sa_exc.DBAPIError as exc:
                if is_row_error(exc):
                    raise RowRefused(message_of(exc), field_of(exc)) from exc
                if not is_transient(exc):
                    raise TargetError(f"sql target: {what} on {self.spec.where} failed: {message_of(exc)}",
                                      where={"flow": self.flow or None},
                                      hint="check the table, the permissions of the database user and the "
                                           "target configuration; the checkpoint is intact") from exc
                failures += 1
                if failures >= self.spec.max_attempts:
                    raise TargetRetryable(
                        f"sql target: {what} on {self.spec.where} at {self._shown_url()} still failing after "
                        f"{failures} attempts: {message_of(exc)}", where={"flow": self.flow or None},
                        hint="the checkpoint is intact: run the job again when the database is reachable") from exc
                if delivery is not None:
                    delivery.retried += 1
                time.sleep(jittered_backoff(failures - 1, self.spec.backoff_base, self.spec.backoff_max, self._rng))


def build(spec: SqlSpec, base_dir: Path) -> SqlTarget:
    return SqlTarget(spec, base_dir)
