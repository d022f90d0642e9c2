"""From ``--state PATH|URL`` to a connected database, and database errors to ``StateError``.

The store talks to its database through the driver (DB-API), not through SQLAlchemy: a run
that keeps its state in SQLite does not pay SQLAlchemy's import (about 20 MB of memory and
0.15 s at start-up), and the per-batch commit is a few plain statements.

* A bare path or ``sqlite:///PATH``: a SQLite file (parent folder created), WAL mode,
  a busy timeout so concurrent processes wait instead of failing, foreign keys on.
  Write transactions begin with ``BEGIN IMMEDIATE``: they take the write lock up front
  (waiting for it under the busy timeout) instead of failing when upgrading later.
* ``:memory:`` (or ``sqlite://``): a private in-memory SQLite database, for
  single-threaded unit tests.
* ``postgresql://``, ``postgres://`` (and ``postgresql+psycopg://``): PostgreSQL through
  psycopg 3, session time zone UTC.

SQL is written once with ``:name`` parameters and runs on both.  Timestamps go in as
UTC-aware datetimes; SQLite keeps them as naive UTC text (``2024-01-02 03:04:05.000000``,
which sorts and compares correctly), PostgreSQL as ``timestamptz``; ``aware`` reads either.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from legacy_bridge.errors import StateError
from legacy_bridge.observe.redact import redact

BUSY_TIMEOUT_MS = 60_000
POOL_SIZE = 5  # idle connections kept per store (one per thread that used it, in practice)
PING_AFTER_S = 5.0  # a PostgreSQL connection idle longer than this is checked before use


def sqlite_file(url_or_path: str) -> Path | None:
    """The database file a SQLite location names: a path or a sqlite:/// URL (None for a server
    URL or an in-memory database).  Whoever asks whether a store exists asks this."""
    text = url_or_path.strip()
    if text == ":memory:" or ("://" in text and not text.startswith("sqlite:")):
        return None
    if text.startswith("sqlite:"):
        database = _sqlite_database(text)
        return Path(database).expanduser() if database and database != ":memory:" else None
    return Path(text).expanduser().absolute()


def _sqlite_database(url: str) -> str:
    """The file of ``sqlite:///relative``, ``sqlite:////absolute`` (as SQLAlchemy reads them);
    empty for ``sqlite://``."""
    rest = url.split(":", 1)[1]
    if not rest.startswith("//"):
        raise StateError(f"cannot read the state store URL {url!r}", hint="use sqlite:///PATH or a plain path")
    return unquote(rest[3:].split("?", 1)[0]) if rest.startswith("///") else ""


@dataclass(frozen=True)
class Location:
    """Where a store lives.  ``target`` is the SQLite file (or ``:memory:``) or the libpq URI."""

    kind: str  # "sqlite" | "postgresql"
    target: str
    display: str  # what messages show: the password replaced by ***
    host: str = ""
    port: int | None = None
    database: str = ""
    user: str = ""


def locate(url_or_path: str) -> Location:
    """The location a path or URL names (see the module doc)."""
    text = url_or_path.strip()
    if not text:
        raise StateError("the state store location is empty",
                         hint="pass --state PATH|URL or set LEGACY_BRIDGE_STATE")
    if "://" not in text or text.startswith("sqlite:"):
        file = sqlite_file(text)
        if file is None:  # :memory:, sqlite:// or sqlite:///:memory:
            return Location("sqlite", ":memory:", "sqlite:///:memory:")
        file.parent.mkdir(parents=True, exist_ok=True)
        return Location("sqlite", str(file), f"sqlite:///{file}", database=str(file))
    scheme = text.split("://", 1)[0].lower()
    if scheme not in ("postgres", "postgresql", "postgresql+psycopg"):
        raise StateError(
            f"unsupported state store URL scheme {scheme!r}",
            hint="use a file path, sqlite:///PATH or postgresql://USER:PASSWORD@HOST/DB",
        )
    uri = "postgresql://" + text.split("://", 1)[1]
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError as exc:
        raise StateError(f"cannot read the state store URL {redact(text)!r}: {exc}",
                         hint="use postgresql://USER:PASSWORD@HOST:PORT/DATABASE") from exc
    shown = parts._replace(query=_PASSWORD_PARAM.sub(r"\1***", parts.query))
    if parts.password is not None:
        user, _, host = parts.netloc.rpartition("@")
        shown = shown._replace(netloc=f"{user.split(':', 1)[0]}:***@{host}")
    return Location("postgresql", uri, urlunsplit(shown), host=parts.hostname or "", port=port,
                    database=unquote(parts.path.lstrip("/")), user=unquote(parts.username or ""))


_PASSWORD_PARAM = re.compile(r"((?:^|&)password=)[^&]*", re.IGNORECASE)


def _hint(where: Location) -> str:
    if where.kind == "sqlite":
        return (f"check that {where.target} and its folder are writable, the disk is not full, and no other "
                f"program holds a long lock on it (retry once it is free)")
    host = f"{where.host or 'localhost'}:{where.port or 5432}"
    return (f"check that PostgreSQL at {host} is running and reachable, database {where.database!r} exists, "
            f"and user {where.user!r} may write to it")


def translate(exc: BaseException, *, store: str, operation: str, hint: str,
              where: Mapping[str, Any] | None = None) -> StateError:
    """A ``StateError`` for ``exc`` (to raise ``from exc``)."""
    if isinstance(exc, StateError):
        return exc
    text = " ".join(str(exc).split())[:500]
    if isinstance(exc, (OSError, ValueError)) or type(exc).__module__.startswith(("sqlite3", "psycopg")):
        message = f"state store {store}: cannot {operation}: {text}"
    else:
        message = f"state store {store}: cannot {operation}: {type(exc).__name__}: {text}"
    return StateError(message, where=where, hint=hint)


def aware(value: str | datetime) -> datetime:
    """A timestamp column's value as a UTC-aware datetime (SQLite gives text, PostgreSQL aware)."""
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _utc_text(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r} given to the state store; use UTC-aware datetimes")
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(sep=" ", timespec="microseconds")[:26]  # without the "+00:00"


def dicts(cursor: Any) -> list[dict[str, Any]]:
    """The cursor's remaining rows as dicts, by column name."""
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def first(cursor: Any) -> dict[str, Any] | None:
    """The cursor's next row as a dict, or None."""
    row = cursor.fetchone()
    return None if row is None else dict(zip([d[0] for d in cursor.description], row, strict=True))


def in_list(prefix: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    """``(:p0, :p1, ...)`` and its parameters, for ``column IN`` a list of values."""
    params = {f"{prefix}{i}": v for i, v in enumerate(values)}
    return "(" + ", ".join(f":{name}" for name in params) + ")", params


class Database:
    """One store's connections: a small pool, transactions, and statements with ``:name``
    parameters.  Every statement goes through ``execute``/``execute_many`` and every commit
    through ``commit`` (the places tests watch)."""

    kind = ""
    errors: tuple[type[BaseException], ...] = ()

    def __init__(self, where: Location) -> None:
        self.where = where
        self.display = where.display
        self.hint = _hint(where)
        self._idle: list[tuple[Any, float]] = []
        self._lock = threading.Lock()
        self._closed = False

    # --- the dialect's part ----------------------------------------------------------------------
    def _connect(self) -> Any:
        raise NotImplementedError

    def _begin(self, cursor: Any, write: bool) -> None:
        """Start a transaction on a fresh cursor."""

    def _usable(self, conn: Any, idle_s: float) -> bool:
        return True

    def _sql(self, sql: str) -> str:
        return sql

    def _params(self, params: Mapping[str, Any]) -> Mapping[str, Any]:
        return params

    def stream(self, sql: str, params: Mapping[str, Any], size: int) -> Iterator[tuple[Any, ...]]:
        """The rows of one query, fetched ``size`` at a time in a read transaction."""
        with self.transaction() as cursor:
            self.execute(cursor, sql, params)
            while rows := cursor.fetchmany(size):
                yield from rows

    # --- statements -----------------------------------------------------------------------------
    def execute(self, cursor: Any, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        """Run one statement; returns the cursor (``rowcount``, ``fetch*``)."""
        if params is None:
            cursor.execute(self._sql(sql))
        else:
            cursor.execute(self._sql(sql), self._params(params))
        return cursor

    def execute_many(self, cursor: Any, sql: str, rows: Iterable[Mapping[str, Any]]) -> Any:
        cursor.executemany(self._sql(sql), [self._params(r) for r in rows])
        return cursor

    def insert_id(self, cursor: Any, sql: str, params: Mapping[str, Any]) -> int:
        """Run an INSERT into a table with an ``id`` key; the new row's id."""
        found = self.execute(cursor, sql + " RETURNING id", params).fetchone()
        return int(found[0])

    # --- connections and transactions -------------------------------------------------------------
    @contextmanager
    def connection(self) -> Iterator[Any]:
        """A connection of the pool for the block.  Whether a pooled one is still good (not broken,
        not left inside a transaction) is asked when it is taken again (``_usable``)."""
        conn = None
        with self._lock:
            while self._idle and conn is None:
                conn, since = self._idle.pop()
                if not self._usable(conn, time.monotonic() - since):
                    _quietly_close(conn)
                    conn = None
        if conn is None:
            conn = self._connect()
        try:
            yield conn
        finally:
            self._give_back(conn)

    def _give_back(self, conn: Any) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < POOL_SIZE:
                self._idle.append((conn, time.monotonic()))
                return
        _quietly_close(conn)

    @contextmanager
    def transaction(self, write: bool = False) -> Iterator[Any]:
        """A cursor inside one transaction, committed when the block ends, rolled back on error.
        ``write`` takes SQLite's write lock at the start (``BEGIN IMMEDIATE``)."""
        with self.connection() as conn:
            cursor = conn.cursor()
            try:
                self._begin(cursor, write)
                yield cursor
                self.commit(conn)
            except BaseException:
                _quietly(conn.rollback)
                raise
            finally:
                _quietly(cursor.close)

    def commit(self, conn: Any) -> None:
        conn.commit()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn, _since in idle:
            _quietly_close(conn)


def _quietly(call: Any) -> None:
    """Cleanup after the real error, which is what propagates."""
    with suppress(Exception):
        call()


def _quietly_close(conn: Any) -> None:
    _quietly(conn.close)


def _use_wal(conn: Any) -> None:
    """Put the file in WAL mode, waiting out other processes doing the same.

    Converting a file to WAL needs it exclusively, and SQLite does not call the busy handler
    for that: processes opening a fresh store at once got "database is locked" at once, busy
    timeout or not.  WAL is a property of the file, so the mode is read first (no conversion,
    no exclusive lock once any process has done it) and a busy conversion is retried with
    back-off within the busy timeout.  A conversion SQLite refuses without an error (a file
    system without shared memory) leaves the file in the mode it had, as before.
    """
    import sqlite3

    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    pause = 0.001
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            busy = getattr(exc, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
            if not busy or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


class SqliteDatabase(Database):
    kind = "sqlite"

    def __init__(self, where: Location) -> None:
        import sqlite3

        self.errors = (sqlite3.Error,)
        super().__init__(where)
        self._memory = where.target == ":memory:"
        self._shared: Any = None  # the one connection of an in-memory database
        self._shared_lock = threading.RLock()

    def _connect(self) -> Any:
        import sqlite3

        conn = sqlite3.connect(self.where.target, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                               check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if not self._memory:
                _use_wal(conn)
                conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
        except BaseException:
            conn.close()
            raise
        return conn

    @contextmanager
    def connection(self) -> Iterator[Any]:
        if not self._memory:
            with super().connection() as conn:
                yield conn
            return
        with self._shared_lock:  # one private database: every user shares its one connection
            if self._shared is None:
                self._shared = self._connect()
            yield self._shared

    def _begin(self, cursor: Any, write: bool) -> None:
        cursor.execute("BEGIN IMMEDIATE" if write else "BEGIN")

    def _usable(self, conn: Any, idle_s: float) -> bool:
        return not conn.in_transaction  # a transaction left open (its rollback failed) is not reused

    def _params(self, params: Mapping[str, Any]) -> Mapping[str, Any]:
        for v in params.values():
            if isinstance(v, datetime):
                return {k: _utc_text(v) if isinstance(v, datetime) else v for k, v in params.items()}
        return params

    def insert_id(self, cursor: Any, sql: str, params: Mapping[str, Any]) -> int:
        return int(self.execute(cursor, sql, params).lastrowid)

    def close(self) -> None:
        super().close()
        with self._shared_lock:
            if self._shared is not None:
                _quietly_close(self._shared)
                self._shared = None


_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


class PostgresDatabase(Database):
    kind = "postgresql"

    def __init__(self, where: Location) -> None:
        try:
            import psycopg
        except ImportError as exc:
            raise StateError(f"state store {where.display}: PostgreSQL needs psycopg 3, which is not installed",
                             hint="pip install 'legacy-bridge[postgres]' (or keep the state in a SQLite file)") from exc
        self.errors = (psycopg.Error,)
        super().__init__(where)
        self._converted: dict[str, str] = {}

    def _connect(self) -> Any:
        import psycopg

        query = urlsplit(self.where.target).query
        extra: dict[str, Any] = {} if "connect_timeout=" in query else {"connect_timeout": 10}
        return psycopg.connect(self.where.target, options="-c timezone=UTC", **extra)

    def _usable(self, conn: Any, idle_s: float) -> bool:
        import psycopg

        if conn.closed or conn.broken or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            return False  # (a transaction left open: its rollback failed)
        if idle_s < PING_AFTER_S:
            return True
        try:  # the server may have restarted since: ask before trusting it with a transaction
            conn.execute("SELECT 1")
            conn.rollback()
        except Exception:  # any failure means: take a new connection
            return False
        return True

    def _sql(self, sql: str) -> str:
        found = self._converted.get(sql)
        if found is None:
            found = self._converted[sql] = _NAMED.sub(r"%(\1)s", sql.replace("%", "%%"))
        return found

    def stream(self, sql: str, params: Mapping[str, Any], size: int) -> Iterator[tuple[Any, ...]]:
        """A server-side cursor: psycopg's client cursor would hold every row of the result."""
        with self.connection() as conn:
            try:
                with conn.cursor(name="legacy_bridge_stream") as cursor:
                    cursor.itersize = size
                    cursor.execute(self._sql(sql), params)
                    yield from cursor
                self.commit(conn)
            except BaseException:
                _quietly(conn.rollback)
                raise


def connect(where: Location) -> Database:
    """The database at ``where`` (no connection is made until the first transaction)."""
    return SqliteDatabase(where) if where.kind == "sqlite" else PostgresDatabase(where)
