"""What every converter shares: the error a bad value raises, the compiled step, the
definition of a converter in the registry, and small helpers.

A converter is built once from its job-file arguments into a plain function
``value -> value``.  It never sees an empty value (None or ''): the mapper skips the
chain for those.  A bad value raises ``ConvertError`` with the end of a sentence a
business user can read: ``is not a date in format %d/%m/%Y``; the mapper puts the
field name and the value in front of it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

Fn = Callable[[Any], Any]


class ConvertError(Exception):
    """A value cannot be converted; the message completes "FIELD 'value' ..."."""


@dataclass(frozen=True, slots=True)
class Step:
    """One compiled converter of a field's chain."""

    fn: Callable[..., Any]
    label: str  # what the user wrote: "date", "lookup", "py:pkg.mod:func"
    path: str  # where the user wrote it: "fields.email.convert[1]"
    may_empty: bool = False  # may return None (the rest of the chain is then skipped)
    row_aware: bool = False  # called as fn(value, row), also for empty values (coalesce)


@dataclass(frozen=True)
class BuildContext:
    """What a converter builder may use: the folder relative paths start from."""

    base_dir: Path


Builder = Callable[[Any, Mapping[str, Any], BuildContext], Callable[..., Any]]


@dataclass(frozen=True)
class Converter:
    """A converter in the registry.

    ``arg``: 'none' (a bare name, ``"upper"``), 'optional' or 'required' (the value of
    its key in a table, ``{ truncate = 40 }``).  ``options``: the other keys allowed
    beside it (``{ datetime = "%Y%m%d%H%M", tz = "Europe/Paris" }``).
    """

    name: str
    build: Builder
    arg: str = "none"
    options: frozenset[str] = field(default_factory=frozenset)
    may_empty: bool = False
    row_aware: bool = False
    summary: str = ""


def text(value: Any) -> str:
    """A value as text: strings as they are, numbers without surprises."""
    if value.__class__ is str:
        return value  # type: ignore[no-any-return]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list | tuple | dict | set):
        raise ConvertError(f"is a {type(value).__name__}, not a single value")
    return str(value)


def shown(value: Any, limit: int = 80) -> str:
    """A value as a reason shows it: text, cut at ``limit`` characters."""
    try:
        s = value if isinstance(value, str) else text(value)
    except Exception:
        s = repr(value)
    return s if len(s) <= limit else s[: limit - 3] + "..."


def need(arg: Any, kind: type | tuple[type, ...], what: str) -> Any:
    """Check a builder argument's type, or raise a config problem saying what is expected."""
    if isinstance(arg, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise ValueError(f"expects {what}, got {arg!r}")
    if not isinstance(arg, kind):
        raise ValueError(f"expects {what}, got {arg!r}")
    return arg


def str_list(arg: Any, what: str) -> list[str]:
    """A string or a list of strings, as a list."""
    if isinstance(arg, str):
        return [arg]
    if isinstance(arg, list) and arg and all(isinstance(a, str) for a in arg):
        return list(arg)
    raise ValueError(f"expects {what} (a string or a list of strings), got {arg!r}")
