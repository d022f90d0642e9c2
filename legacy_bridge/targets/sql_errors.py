"""How the sql target reads a database error: this row's fault (reject it), a transient
failure (retry), or anything else (stop the flow) - and the database's own message.

Row faults: SQLAlchemy ``IntegrityError`` / ``DataError`` (NOT NULL, CHECK, unique, foreign
key, value too long or out of range), and MariaDB's strict-mode codes that PyMySQL reports
otherwise.  Transient: dropped connections, lock and deadlock timeouts (``OperationalError``).
"""

from __future__ import annotations

import re
from typing import Any

from legacy_bridge.observe.redact import redact

ROW_ERRORS = ("IntegrityError", "DataError")
MYSQL_ROW_CODES = frozenset({1048, 1062, 1264, 1265, 1292, 1366, 1406, 1452, 3819, 4025})


class RowRefused(Exception):
    def __init__(self, reason: str, field: str | None) -> None:
        super().__init__(reason)
        self.reason, self.field = reason, field


def _code(exc: Any) -> int | None:
    args: tuple[Any, ...] = tuple(getattr(exc.orig, "args", ()))
    return args[0] if args and isinstance(args[0], int) else None


def is_row_error(exc: Any) -> bool:
    if type(exc).__name__ in ROW_ERRORS:
        return True
    return _code(exc) in MYSQL_ROW_CODES


def is_transient(exc: Any) -> bool:
    name = type(exc).__name__
    return bool(exc.connection_invalidated) or name in ("OperationalError", "InterfaceError", "InternalError")


def message_of(exc: Any) -> str:
    orig = exc.orig
    args: tuple[Any, ...] = tuple(getattr(orig, "args", ()))
    if _code(exc) is not None and len(args) > 1:  # pymysql: (1048, "Column 'x' cannot be null")
        text = f"{args[1]} (MariaDB error {args[0]})"
    else:
        text = str(orig) if orig is not None else str(exc)
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("DETAIL:  Failing row")]
    return redact(" ".join(lines)[:500])


def field_of(exc: Any) -> str | None:
    diag = getattr(exc.orig, "diag", None)  # psycopg: the column of a NOT NULL violation
    name = getattr(diag, "column_name", None)
    if name:
        return str(name)
    message = message_of(exc)
    found = (re.search(r"NOT NULL constraint failed: (?:[\w$#@ ]+\.)?([\w$#@ ]+)", message)
             or re.search(r"[Cc]olumn ['\"`]?([\w$#@ ]+?)['\"`]? ", message))
    return found.group(1) if found else None
