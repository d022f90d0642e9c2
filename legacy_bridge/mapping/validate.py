"""Per-field validation: ``type`` (which also coerces to that JSON type), ``pattern``,
``enum``, ``min``/``max`` and ``max_length``, each compiled into a check step.

A check sees only non-empty values (after conversion and ``default``); ``required``
is handled by the mapper.  A failing check raises ``ConvertError`` whose message
completes "FIELD 'value' ...".
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from legacy_bridge.mapping.converters.base import ConvertError, Step, shown, text
from legacy_bridge.mapping.spec import FieldSpec

_INT = re.compile(r"[+-]?\d+", re.ASCII)
_DEC = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def to_string(v: Any) -> Any:
    return v if v.__class__ is str else text(v)


def _finite(v: Any) -> bool:
    return (isinstance(v, Decimal) and v.is_finite()) or (v.__class__ is float and math.isfinite(v))


def to_integer(v: Any) -> Any:
    if v.__class__ is int:
        return v
    if isinstance(v, str) and _INT.fullmatch(v.strip()):
        return int(v)
    if _finite(v) and v == int(v):
        return int(v)
    raise ConvertError("is not a whole number")


def to_number(v: Any) -> Any:
    if v.__class__ is int or (v.__class__ is float and math.isfinite(v)):
        return v
    if isinstance(v, Decimal) and v.is_finite():
        return float(v)
    if isinstance(v, str) and _DEC.fullmatch(v.strip()):
        f = float(v)
        if math.isfinite(f):
            return f
    raise ConvertError("is not a number (use the number converter for 1.234,56 and the like)")


def to_decimal(v: Any) -> Any:
    if isinstance(v, Decimal):
        if v.is_finite():
            return v
    elif v.__class__ is int:
        return Decimal(v)
    elif v.__class__ is float and math.isfinite(v):
        return Decimal(repr(v))
    elif isinstance(v, str) and _DEC.fullmatch(v.strip()):
        return Decimal(v.strip())
    raise ConvertError("is not a decimal number (use the number converter for 1.234,56 and the like)")


def to_boolean(v: Any) -> Any:
    if v is True or v is False:
        return v
    s = text(v).strip().lower() if isinstance(v, str | int) else ""
    if s in ("true", "1"):
        return True
    if s in ("false", "0"):
        return False
    raise ConvertError("is not true or false (use the boolean converter for Y/N, J/N, X ...)")


def to_date(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.date().isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, str) and _ISO_DATE.fullmatch(v):
        try:
            return date.fromisoformat(v).isoformat()
        except ValueError:
            pass
    raise ConvertError("is not a date YYYY-MM-DD (convert it with { date = \"%d/%m/%Y\" } or similar)")


def to_datetime(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, date):
        return datetime(v.year, v.month, v.day).isoformat()
    if isinstance(v, str) and len(v) >= 16 and _ISO_DATE.match(v):
        try:
            return datetime.fromisoformat(v).isoformat()
        except ValueError:
            pass
    raise ConvertError("is not an ISO 8601 date and time (convert it with { datetime = \"...\" })")


TYPES: dict[str, Callable[[Any], Any]] = {
    "string": to_string, "integer": to_integer, "number": to_number, "decimal": to_decimal,
    "boolean": to_boolean, "date": to_date, "datetime": to_datetime,
}


def _bound(spec: FieldSpec, which: str) -> tuple[Decimal | str, bool]:
    """A min/max bound and whether it compares numbers (True) or ISO text (False)."""
    raw = getattr(spec, which)
    numeric_type = spec.type in ("integer", "number", "decimal")
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        if spec.type in ("date", "datetime", "string", "boolean"):
            raise ValueError(f"{which} {raw!r} is a number but the field's type is {spec.type}")
        return Decimal(repr(raw)), True
    if numeric_type:
        try:
            return Decimal(str(raw)), True
        except InvalidOperation:
            raise ValueError(f"{which} {raw!r} is not a number") from None
    return str(raw), False


def _numeric(v: Any) -> Decimal:
    try:
        if isinstance(v, Decimal):
            d = v
        elif isinstance(v, int | float) and not isinstance(v, bool):
            d = Decimal(repr(v)) if isinstance(v, float) else Decimal(v)
        else:
            d = Decimal(text(v).strip())
        if d.is_finite():
            return d
    except (InvalidOperation, ConvertError):
        pass
    raise ConvertError("is not a number, so it cannot be compared with min/max")


def _range_check(bound: Decimal | str, numeric: bool, low: bool) -> Callable[[Any], Any]:
    words = f"is below the minimum {bound}" if low else f"is above the maximum {bound}"

    def check(v: Any) -> Any:
        x: Any = _numeric(v) if numeric else text(v)
        if (x < bound) if low else (x > bound):
            raise ConvertError(words)
        return v

    return check


def build_checks(spec: FieldSpec, path: str, problems: list[str]) -> list[Step]:
    """The check steps of one field, in order; config problems are appended to ``problems``."""
    steps: list[Step] = []
    if spec.type is not None:
        steps.append(Step(TYPES[spec.type], f"type {spec.type}", f"{path}.type"))
    if spec.pattern is not None:
        try:
            match = re.compile(spec.pattern).fullmatch
        except re.error as exc:
            problems.append(f"{path}.pattern: {spec.pattern!r} is not a valid regular expression: {exc}")
        else:
            steps.append(Step(_pattern_check(match, spec.pattern), "pattern", f"{path}.pattern"))
    if spec.enum is not None:
        steps.append(Step(_enum_check(spec.enum), "enum", f"{path}.enum"))
    for which, low in (("min", True), ("max", False)):
        if getattr(spec, which) is None:
            continue
        try:
            bound, numeric = _bound(spec, which)
        except ValueError as exc:
            problems.append(f"{path}.{which}: {exc}")
            continue
        steps.append(Step(_range_check(bound, numeric, low), which, f"{path}.{which}"))
    if spec.max_length is not None:
        steps.append(Step(_length_check(spec.max_length), "max_length", f"{path}.max_length"))
    return steps


def _pattern_check(match: Callable[[str], Any], pattern: str) -> Callable[[Any], Any]:
    def check(v: Any) -> Any:
        if match(v if v.__class__ is str else text(v)) is None:
            raise ConvertError(f"does not match the pattern {pattern}")
        return v
    return check


def _enum_check(allowed: list[Any]) -> Callable[[Any], Any]:
    texts = frozenset(text(a) for a in allowed)
    listed = ", ".join(shown(a, 20) for a in allowed[:12]) + (" ..." if len(allowed) > 12 else "")

    def check(v: Any) -> Any:
        if (v if v.__class__ is str else text(v)) not in texts:
            raise ConvertError(f"is not one of {listed}")
        return v
    return check


def _length_check(size: int) -> Callable[[Any], Any]:
    def check(v: Any) -> Any:
        n = len(v) if isinstance(v, list) else len(v if v.__class__ is str else text(v))
        if n > size:
            raise ConvertError(f"is longer than {size} {'items' if isinstance(v, list) else 'characters'} ({n})")
        return v
    return check
