"""From ``--state PATH|URL`` to a configured SQLAlchemy engine, and database errors to
``StateError``.

* A bare path or ``sqlite:///PATH``: a SQLite file (parent folder created), WAL mode,
  a busy timeout so concurrent processes wait instead of failing, foreign keys on.
  Write transactions begin with ``BEGIN IMMEDIATE``: they take the write lock up front
  (waiting for it under the busy timeout) instead of failing when upgrading later.
* ``:memory:`` (or ``sqlite://``): a private in-memory SQLite database, for
  single-threaded unit tests.
* ``postgresql://``, ``postgres://`` (and ``postgresql+psycopg://``): PostgreSQL through
  psycopg 3, session time zone UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from legacy_bridge.errors import StateError
from legacy_bridge.observe.redact import redact

BUSY_TIMEOUT_MS = 60_000
IMMEDIATE = "legacy_bridge_immediate"  # connection execution option: begin a write transaction


def sqlite_file(url_or_path: str) -> Path | None:
    """The database file a SQLite location names: a path or a sqlite:/// URL (None for a server
    URL or an in-memory database).  Whoever asks whether a store exists asks this."""
    text = url_or_path.strip()
    if text == ":memory:" or ("://" in text and not text.startswith("sqlite:")):
        return None
    if text.startswith("sqlite:"):
        database = make_url(text).database
        return Path(database).expanduser() if database and database != ":memory:" else None
    return Path(text).expanduser().absolute()


def _sqlite_url(url_or_path: str) -> URL:
    file = sqlite_file(url_or_path)
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
    if url_or_path.startswith("sqlite:"):
        return make_url(url_or_path)
    return URL.create("sqlite", database=str(file))


def normalise_url(url_or_path: str) -> URL:
    """The SQLAlchemy URL for a path or URL (see the module doc)."""
    text = url_or_path.strip()
    if not text:
        raise StateError("the state store location is empty",
                         hint="pass --state PATH|URL or set LEGACY_BRIDGE_STATE")
    if text == ":memory:":  # one private in-memory database (single-threaded unit tests)
        return URL.create("sqlite", database=":memory:")
    if "://" not in text or text.startswith("sqlite:"):
        return _sqlite_url(text)
    scheme = text.split("://", 1)[0].lower()
    if scheme in ("postgres", "postgresql"):
        text = "postgresql+psycopg://" + text.split("://", 1)[1]
    elif not scheme.startswith("postgresql+"):
        raise StateError(
            f"unsupported state store URL scheme {scheme!r}",
            hint="use a file path, sqlite:///PATH or postgresql://USER:PASSWORD@HOST/DB",
        )
    try:
        return make_url(text)
    except ArgumentError as exc:
        raise StateError(f"cannot read the state store URL {redact(text)!r}: {exc}",
                         hint="use postgresql://USER:PASSWORD@HOST:PORT/DATABASE") from exc


def display(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def _sqlite_engine(url: URL) -> Engine:
    memory = url.database in (None, "", ":memory:")
    engine = create_engine(
        url,
        connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        poolclass=StaticPool if memory else None,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see _on_begin)
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if not memory:
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(IMMEDIATE)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _postgres_engine(url: URL) -> Engine:
    connect_args: dict[str, Any] = {"options": "-c timezone=UTC"}
    if "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = 10
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args)


def make_engine(url: URL) -> Engine:
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    return _postgres_engine(url)


def hint_for(url: URL) -> str:
    if url.get_backend_name() == "sqlite":
        where = url.database or ":memory:"
        return (f"check that {where} and its folder are writable, the disk is not full, and no other "
                f"program holds a long lock on it (retry once it is free)")
    host = f"{url.host or 'localhost'}:{url.port or 5432}"
    return (f"check that PostgreSQL at {host} is running and reachable, database {url.database!r} exists, "
            f"and user {url.username!r} may write to it")


def translate(exc: BaseException, *, store: str, operation: str, hint: str,
              where: Mapping[str, Any] | None = None) -> StateError:
    """A ``StateError`` for ``exc`` (to raise ``from exc``)."""
    if isinstance(exc, StateError):
        return exc
    detail = getattr(exc, "orig", None) or exc
    text = " ".join(str(detail).split())[:500]
    if isinstance(exc, (SQLAlchemyError, OSError)):
        message = f"state store {store}: cannot {operation}: {text}"
    else:
        message = f"state store {store}: cannot {operation}: {type(exc).__name__}: {text}"
    return StateError(message, where=where, hint=hint)
