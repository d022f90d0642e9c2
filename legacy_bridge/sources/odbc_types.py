"""Values as drivers return them -> values as rows carry them; keys and content hashes.

pyodbc already returns ``Decimal`` for DECIMAL/NUMERIC (never float), ``date``/``datetime``
for dates and ``str`` decoded per the connection's decoding settings.  What is left:
CHAR padding, naive timestamps that mean a declared time zone, and binary columns.
Converters are built once per result set from ``cursor.description``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any, Literal

Binary = Literal["bytes", "base64", "hex"]
Convert = Callable[[Any], Any]


def _trim(value: Any) -> Any:
    return value.rstrip(" ") if isinstance(value, str) else value


def _zoned(zone: tzinfo) -> Convert:
    def convert(value: Any) -> Any:
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=zone)
        return value

    return convert


def _binary(style: Binary) -> Convert:
    def convert(value: Any) -> Any:
        if isinstance(value, bytes | bytearray | memoryview):
            raw = bytes(value)
            return base64.b64encode(raw).decode("ascii") if style == "base64" else raw.hex()
        return value

    return convert


def converters(description: Sequence[Sequence[Any]], *, trim_char: bool, zone: tzinfo | None,
               binary: Binary) -> list[Convert | None]:
    """One converter per column (None: keep the value as the driver gave it)."""
    out: list[Convert | None] = []
    for col in description:
        kind = col[1]
        if kind is str and trim_char:
            out.append(_trim)
        elif kind is datetime and zone is not None:
            out.append(_zoned(zone))
        elif kind in (bytes, bytearray) and binary != "bytes":
            out.append(_binary(binary))
        else:
            out.append(None)
    return out


def make_row(names: Sequence[str], values: Sequence[Any], convs: Sequence[Convert | None]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for name, value, conv in zip(names, values, convs, strict=False):
        row[name] = value if conv is None or value is None else conv(value)
    return row


def key_text(values: Sequence[Any]) -> str:
    """The stable text of a key: the value itself for one column, a JSON list for several."""
    parts = [_text(v) for v in values]
    return parts[0] if len(parts) == 1 else json.dumps(parts, ensure_ascii=False)


def _text(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str):
        return value.rstrip(" ")
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral_value() else str(value)
    return str(value)


def content_hash(row: dict[str, Any]) -> str:
    """A short digest of a row's content (names and typed values, in column order)."""
    text = repr([(k, _text(v) if v is not None else None, type(v).__name__) for k, v in row.items()])
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
