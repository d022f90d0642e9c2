"""Typed JSON for watermarks: what goes in comes back out, type and value.

A watermark is a tuple of cursor values (a datetime and a key, say) or any JSON-able
value.  Plain JSON would turn dates into strings, decimals into floats and tuples into
lists; here every such value is written as a tagged object ``{"$t": TAG, "v": ...}``:

* ``datetime`` (naive or aware; a ``zoneinfo`` zone keeps its name), ``date``, ``time``
* ``Decimal`` (exact, NaN and infinities included), ``bytes``, ``tuple``
* floats that JSON cannot hold (NaN, +-inf)
* dicts whose keys are not all strings, or that use the ``$t`` key themselves

None, bool, int, str, finite float, list and ordinary dicts stay plain JSON.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

TAG = "$t"


class CodecError(ValueError):
    """A value cannot be encoded (unsupported type) or a stored text cannot be decoded."""


def _tz_out(tz: tzinfo | None, sample: datetime | None) -> Any:
    if tz is None:
        return None
    if isinstance(tz, ZoneInfo):
        return {"zone": tz.key}
    offset = tz.utcoffset(sample)
    if offset is None:
        return None
    return {"offset": offset.total_seconds()}


def _tz_in(spec: Any) -> tzinfo | None:
    if spec is None:
        return None
    if "zone" in spec:
        return ZoneInfo(spec["zone"])
    offset = timedelta(seconds=spec["offset"])
    return UTC if offset == timedelta(0) else timezone(offset)


def _datetime_out(value: datetime) -> Any:
    naive = value.replace(tzinfo=None)
    return [naive.isoformat(), _tz_out(value.tzinfo, value), value.fold]


def _time_out(value: time) -> Any:
    naive = value.replace(tzinfo=None)
    return [naive.isoformat(), _tz_out(value.tzinfo, None), value.fold]


def _to_json(value: Any) -> Any:
    """``value`` as plain JSON data with tags."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return {TAG: "float", "v": repr(value)}
    if isinstance(value, datetime):  # before date: a datetime is a date
        return {TAG: "datetime", "v": _datetime_out(value)}
    if isinstance(value, date):
        return {TAG: "date", "v": value.isoformat()}
    if isinstance(value, time):
        return {TAG: "time", "v": _time_out(value)}
    if isinstance(value, Decimal):
        return {TAG: "decimal", "v": str(value)}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {TAG: "bytes", "v": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, tuple):
        return {TAG: "tuple", "v": [_to_json(v) for v in value]}
    if isinstance(value, list):
        return [_to_json(v) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and TAG not in value:
            return {k: _to_json(v) for k, v in value.items()}
        return {TAG: "dict", "v": [[_to_json(k), _to_json(v)] for k, v in value.items()]}
    raise CodecError(f"cannot store a {type(value).__name__} in a watermark: {value!r}")


def _datetime_in(v: Any) -> datetime:
    text, tz, fold = v
    return datetime.fromisoformat(text).replace(tzinfo=_tz_in(tz), fold=fold)


def _time_in(v: Any) -> time:
    text, tz, fold = v
    return time.fromisoformat(text).replace(tzinfo=_tz_in(tz), fold=fold)


def _dict_in(v: Any) -> dict[Any, Any]:
    return {_hashable(_from_json(k)): _from_json(x) for k, x in v}


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


_DECODERS: dict[str, Callable[[Any], Any]] = {
    "float": float,
    "datetime": _datetime_in,
    "date": date.fromisoformat,
    "time": _time_in,
    "decimal": Decimal,
    "bytes": lambda v: base64.b64decode(v.encode("ascii")),
    "tuple": lambda v: tuple(_from_json(x) for x in v),
    "dict": _dict_in,
}


def _from_json(data: Any) -> Any:
    if isinstance(data, list):
        return [_from_json(v) for v in data]
    if isinstance(data, dict):
        tag = data.get(TAG)
        if tag is None:
            return {k: _from_json(v) for k, v in data.items()}
        decoder = _DECODERS.get(tag)
        if decoder is None:
            raise CodecError(f"unknown type tag {tag!r} in a stored watermark")
        return decoder(data["v"])
    return data


def encode(value: Any) -> str:
    """``value`` as typed JSON text."""
    return json.dumps(_to_json(value), ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def decode(text: str | None) -> Any:
    """The value ``encode`` was given (``None`` for ``None``)."""
    if text is None:
        return None
    try:
        return _from_json(json.loads(text))
    except (ValueError, KeyError, TypeError) as exc:
        raise CodecError(f"cannot read a stored watermark ({exc}): {text[:200]!r}") from exc


def raw_json(raw: Any) -> str | None:
    """A reject's raw record as plain JSON; values JSON cannot hold become their text."""
    if raw is None:
        return None

    def fallback(value: Any) -> Any:
        if isinstance(value, (bytes, bytearray)):
            return bytes(value).decode("utf-8", "replace")
        if isinstance(value, (datetime, date, time)):
            return value.isoformat()
        return str(value)

    return json.dumps(raw, ensure_ascii=False, default=fallback)
