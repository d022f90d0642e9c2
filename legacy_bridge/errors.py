"""One exception tree for the whole toolkit.

The branch says where an error came from (config, transport, format, database,
mapping, target, state); the class says what the runner does with it:

* ``Retryable``  - transient: retry with backoff, then stop the flow (checkpoint intact);
* ``RecordError`` - this record is bad: reject it, keep going;
* ``FileError``  - this file is bad: quarantine it, keep going with other files;
* everything else - stop the flow with its checkpoint intact.

Messages are written for an operator at 3 a.m.: what failed, where, and what to
do next.  ``where`` holds the location (job, flow, file, line, field ...) and
``hint`` the next command to run.  Third-party exceptions are translated once,
at the seam, with the original kept as ``__cause__``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class BridgeError(Exception):
    """Base of every error legacy_bridge raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, where: Mapping[str, Any] | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where: dict[str, Any] = {k: v for k, v in (where or {}).items() if v is not None}
        self.hint = hint

    def located(self, **where: Any) -> BridgeError:
        """Add location keys that are not set yet (inner code knows the line, outer the job)."""
        for key, value in where.items():
            if value is not None:
                self.where.setdefault(key, value)
        return self

    def __str__(self) -> str:
        from legacy_bridge.observe.redact import redact

        parts = [self.message]
        if self.where:
            parts.append("(" + ", ".join(f"{k} {v}" for k, v in self.where.items()) + ")")
        text = " ".join(parts)
        if self.hint:
            text += f"\n  next: {self.hint}"
        return redact(text)


# --- what the runner does -------------------------------------------------------------


class Retryable(BridgeError):
    """Transient: the same operation may succeed if tried again later."""


class RecordError(BridgeError):
    """One record cannot be processed; it becomes a reject and the flow goes on."""

    def __init__(self, message: str, *, field: str | None = None, value: Any = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.field = field
        self.value = value


class FileError(BridgeError):
    """One file cannot be processed; it is quarantined with this reason and other files go on."""


# --- where it came from -----------------------------------------------------------------


class ConfigError(BridgeError):
    """A job file or command line is wrong.  ``problems`` lists every problem found."""

    exit_code = 2

    def __init__(self, message: str, *, problems: list[str] | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.problems = problems or []

    def __str__(self) -> str:
        head = super().__str__()
        if not self.problems:
            return head
        from legacy_bridge.observe.redact import redact

        return head + "\n" + "\n".join(redact(f"  - {p}") for p in self.problems)


class UsageError(ConfigError):
    """The command line is wrong."""


class TransportError(BridgeError):
    """Listing, reading or moving files failed (local folder or SFTP)."""


class TransportRetryable(TransportError, Retryable):
    """A connection dropped or timed out; reconnect and try again."""


class HostKeyError(TransportError):
    """The SFTP server's host key is unknown or has changed."""


class WorkspaceError(BridgeError):
    """A local work folder (the spool) cannot be written: disk full, quota, permissions.  Not the
    file's fault, so no file is skipped or quarantined for it: the flow stops, checkpoint intact."""


class FormatError(FileError):
    """A file's bytes could not be read as the declared format (whole file)."""


class PartialFileError(FormatError):
    """The file breaks off after ``records_before`` good records (truncated, an unbalanced quote,
    malformed XML): with ``partial = "send_valid"`` those are sent, then the file is quarantined."""

    def __init__(self, message: str, *, records_before: int, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.records_before = records_before


class RowError(RecordError):
    """One row of a file could not be decoded or split (ragged, NUL byte, bad bytes)."""


class DatabaseError(BridgeError):
    """A source database (ODBC) failed."""


class DatabaseRetryable(DatabaseError, Retryable):
    """The database connection dropped or a query timed out."""


class MappingError(RecordError):
    """A record failed a mapping rule or a validation."""


class TargetError(BridgeError):
    """The target API refused in a way that stops the flow (auth, configuration, exhausted retries)."""


class TargetRetryable(TargetError, Retryable):
    """429, 5xx, timeouts, dropped connections."""


class StateError(BridgeError):
    """The state store failed or holds something unexpected."""


class LeaseHeld(StateError):
    """Another process runs this flow right now."""


class Interrupted(BridgeError):
    """The run was asked to stop (SIGINT/SIGTERM) and stopped cleanly."""
