"""Opening ODBC connections with the right driver options, and translating pyodbc errors.

pyodbc is imported here, inside the functions, so the rest of the toolkit works without it.
psqlODBC holds a whole result set in memory unless ``UseDeclareFetch=1``; MariaDB
Connector/ODBC streams only with ``NO_CACHE=1`` and a forward-only cursor (3.1.17 and
later; older versions ignore the keys and the source reads by pages instead).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from legacy_bridge.errors import DatabaseError, DatabaseRetryable
from legacy_bridge.observe.redact import redact
from legacy_bridge.sources.odbc_sql import Dialect, dialect_for

_DRIVER = re.compile(r"(?i)(?:^|;)\s*driver\s*=\s*(\{[^}]*\}|[^;]*)")
_RETRY_TEXT = re.compile(
    r"(?i)server closed the connection|terminating connection|connection.*(?:lost|reset|refused|closed)|"
    r"lost connection|gone away|communication link|could not send|no connection to the server|"
    r"connection was killed|broken pipe|server has gone|query execution was interrupted|SSL SYSCALL"
)
_RETRY_STATES = ("08", "HYT", "40001", "57P", "HY008")


def has_key(conn_str: str, key: str) -> bool:
    return re.search(rf"(?i)(?:^|;)\s*{re.escape(key)}\s*=", conn_str) is not None


def driver_of(conn_str: str) -> str:
    m = _DRIVER.search(conn_str)
    return m.group(1).strip("{} ").lower() if m else ""


def with_driver_options(conn_str: str, driver_name: str, fetch_rows: int) -> str:
    """The connection string plus the streaming options of its driver (unless already set)."""
    name = driver_name.lower()
    extra: list[str] = []
    if "postgres" in name or "psqlodbc" in name:
        if not has_key(conn_str, "UseDeclareFetch"):
            extra.append("UseDeclareFetch=1")
        if not has_key(conn_str, "Fetch"):
            extra.append(f"Fetch={max(100, fetch_rows)}")
    elif "maria" in name or "maodbc" in name or "mysql" in name:
        if not has_key(conn_str, "NO_CACHE") and not has_key(conn_str, "STREAMRS"):
            extra.append("NO_CACHE=1")
        if not has_key(conn_str, "FORWARDONLY"):
            extra.append("FORWARDONLY=1")
    if not extra:
        return conn_str
    return conn_str.rstrip("; ") + ";" + ";".join(extra)


@dataclass
class Opened:
    conn: Any  # pyodbc.Connection
    driver: str
    dbms: str
    dialect: Dialect


def sqlstate(exc: BaseException) -> str:
    args = getattr(exc, "args", ())
    return str(args[0]) if args and isinstance(args[0], str) and len(args[0]) == 5 else ""


def translate(exc: BaseException, what: str, where: dict[str, Any]) -> DatabaseError:
    """A pyodbc error as ``DatabaseRetryable`` (connection dropped, timeout) or ``DatabaseError``."""
    state = sqlstate(exc)
    text = redact(str(exc.args[1] if len(getattr(exc, "args", ())) > 1 else exc))
    if state.startswith(_RETRY_STATES) or _RETRY_TEXT.search(text):
        return DatabaseRetryable(
            f"{what}: the database connection dropped or timed out [{state or '?'}]: {text}",
            where=where, hint="nothing to fix if it was a restart or a network blip: run again, it resumes "
                              "from the last checkpoint; check the database and network if it repeats")
    hint = "check the table, column and where-clause names (`legacy-bridge discover odbc --connection ...` " \
           "lists them)" if state.startswith("42") else None
    if state.startswith("28"):
        hint = "check the user name and password in the connection string (or the secret it refers to)"
    if state == "IM002":
        hint = "the ODBC driver or DSN is not registered: run scripts/setup-odbc and check `odbcinst -q -d`"
    return DatabaseError(f"{what} failed [{state or '?'}]: {text}", where=where, hint=hint)


def connect(conn_str: str, *, login_timeout: float, query_timeout: float, read_only: bool,
            encoding: str | None, fetch_rows: int, where: dict[str, Any]) -> Opened:
    """Connect, add the driver's streaming options, and set timeouts and decoding."""
    try:
        import pyodbc
    except ImportError as exc:  # pragma: no cover - pyodbc is a core dependency
        raise DatabaseError("pyodbc is not installed", hint="pip install 'legacy-bridge'") from exc
    full = with_driver_options(conn_str, driver_of(conn_str), fetch_rows)
    try:
        conn = _open(pyodbc, full, login_timeout, read_only)
        driver = str(conn.getinfo(pyodbc.SQL_DRIVER_NAME) or "")
        if full == conn_str and with_driver_options(conn_str, driver, fetch_rows) != conn_str:
            conn.close()  # a DSN: now that the driver is known, open again with its options
            conn = _open(pyodbc, with_driver_options(conn_str, driver, fetch_rows), login_timeout, read_only)
        dbms = str(conn.getinfo(pyodbc.SQL_DBMS_NAME) or "")
        quote = str(conn.getinfo(pyodbc.SQL_IDENTIFIER_QUOTE_CHAR) or '"')
        if query_timeout:
            conn.timeout = int(max(1, query_timeout))
        if encoding:
            conn.setdecoding(pyodbc.SQL_CHAR, encoding=encoding)
            conn.setencoding(encoding=encoding)
    except pyodbc.Error as exc:
        raise translate(exc, "connecting to the source database", where) from exc
    return Opened(conn=conn, driver=driver, dbms=dbms, dialect=dialect_for(dbms, quote))


def _open(pyodbc: Any, conn_str: str, login_timeout: float, read_only: bool) -> Any:
    kwargs: dict[str, Any] = {"autocommit": True, "timeout": int(login_timeout)}
    if read_only:
        try:
            return pyodbc.connect(conn_str, readonly=True, **kwargs)
        except pyodbc.Error as exc:
            if sqlstate(exc) not in ("HYC00", "HY092", "HY024", "S1C00"):
                raise  # read-only intent is a hint: drivers that do not support it connect without
    return pyodbc.connect(conn_str, **kwargs)
