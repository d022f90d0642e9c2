"""Python values from the mapping -> what APIs expect in JSON.

``as_json``: dates and times as ISO 8601, Decimals as numbers when exact (else strings),
everything else as JSON has it.  ``as_text``: HubSpot's rule that every property value is
a string: bool -> "true"/"false", numbers without float noise (0.1 stays "0.1", 1e20 is
"100000000000000000000", 3.0 is "3"), dates ISO 8601, nested values as compact JSON.
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any


def as_json(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        if not value.is_finite():
            return None
        as_float = float(value)
        return as_float if Decimal(repr(as_float)) == value else str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): as_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [as_json(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


def number_text(value: float | int | Decimal) -> str:
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return format(Decimal(repr(value)), "f")  # repr is already the shortest exact form
    # a Decimal keeps the scale the source gave it: -440,20 from an ERP goes out as "-440.20"
    return format(value, "f") if value.is_finite() else ""


def as_text(value: Any) -> str:
    """One value as a string the way HubSpot documents property values (None -> "")."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return number_text(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return json.dumps(as_json(value), separators=(",", ":"), ensure_ascii=False)


class Encoded:
    """A request body already encoded as JSON bytes (by the columnar path, legacy_bridge/columnar):
    ``dumps`` passes it through unchanged."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __repr__(self) -> str:
        return f"Encoded({len(self.data)} bytes)"


def dumps(body: Any) -> bytes:
    """Compact, deterministic JSON bytes (the idempotency key hashes them)."""
    if isinstance(body, Encoded):
        return body.data
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=_fallback).encode("utf-8")


def _fallback(value: Any) -> Any:
    converted = as_json(value)
    if converted is value:
        return str(value)
    return converted
