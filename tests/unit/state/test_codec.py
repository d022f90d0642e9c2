"""Watermarks round-trip exactly through their typed JSON text."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from legacy_bridge.state import codec

VALUES: list[Any] = [
    None, True, False, 0, -1, 2**80, 0.1, -0.0, 1e308, float("inf"), float("-inf"), "", "Zoë \u2028 \"q\"",
    Decimal("1.10"), Decimal("-0"), Decimal("1E-30"), Decimal("NaN"), Decimal("Infinity"),
    date(1, 1, 1), date(9999, 12, 31), time(0, 0), time(12, 30, 1, 5, tzinfo=UTC),
    datetime(2024, 2, 29, 23, 59, 59, 999999), datetime(2024, 1, 1, tzinfo=timezone(timedelta(hours=5, minutes=45))),
    datetime(2024, 10, 27, 2, 30, tzinfo=ZoneInfo("Europe/Berlin"), fold=1),
    b"", b"\x00\x01\xfe\xff", (), (1,), ((1, 2), [3, (4,)]), [], [None, "x"],
    {"a": 1, "b": (date(2024, 1, 1), Decimal("2"))}, {"$t": "looks like a tag"}, {1: "int key", (2, 3): "tuple"},
]


def _same(a: Any, b: Any) -> bool:
    """Equal and of the same types all the way down (NaN equals NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, Decimal):
        return str(a) == str(b)
    if isinstance(a, (datetime, time)):
        return bool(a == b and a.tzinfo == b.tzinfo and a.fold == b.fold and a.isoformat() == b.isoformat())
    if isinstance(a, float) and a != a:
        return bool(b != b)
    if isinstance(a, float):
        return bool(a == b and str(a) == str(b))
    return bool(a == b)


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_every_watermark_type_round_trips_exactly(value: Any) -> None:
    text = codec.encode(value)
    json.loads(text)  # standard JSON: no NaN or Infinity tokens
    assert _same(codec.decode(text), value)


def test_plain_json_stays_readable() -> None:
    assert codec.encode(["C-1", 5, None]) == '["C-1",5,null]'
    assert codec.decode(None) is None


def test_an_unsupported_type_is_refused_with_its_name() -> None:
    with pytest.raises(codec.CodecError, match="cannot store a set"):
        codec.encode({1, 2})


def test_a_damaged_text_is_a_codec_error() -> None:
    with pytest.raises(codec.CodecError, match="cannot read a stored watermark"):
        codec.decode('{"$t": "martian", "v": 1}')
    with pytest.raises(codec.CodecError):
        codec.decode("{not json")


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(), st.binary(),
    st.decimals(allow_nan=False), st.dates(), st.times(timezones=st.none() | st.timezones()),
    st.datetimes(timezones=st.none() | st.timezones()),
)
watermarks = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.lists(inner, max_size=4).map(tuple)
    | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)


@given(watermarks)
def test_any_watermark_round_trips(value: Any) -> None:
    assert _same(codec.decode(codec.encode(value)), value)
