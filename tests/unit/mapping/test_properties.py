"""Properties: round trips of the parsing converters, and no exception ever escaping a
converter or the mapper whatever the input (a bad value is a reject, never a crash)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from legacy_bridge.mapping.converters import BuildContext, ConvertError, build_step
from legacy_bridge.records import Payload, Reject
from tests.unit.mapping.helpers import conv, mapper, run

CTX = BuildContext(base_dir=Path("."))
FORMATS = ["%d/%m/%Y", "%Y%m%d", "%d.%m.%Y", "%m/%d/%Y", "%d-%m-%y", "%d %b %Y", "%Y-%m-%d %H:%M"]


@given(st.dates(min_value=date(1970, 1, 1), max_value=date(2068, 12, 31)), st.sampled_from(FORMATS))
def test_date_format_then_parse_is_the_same_day(d: date, fmt: str) -> None:
    assert conv({"date": fmt}, d.strftime(fmt)) == d.isoformat()


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2899, 12, 31)))
def test_cyymmdd_round_trip(d: date) -> None:
    n = (d.year - 1900) // 100 * 1_000_000 + d.year % 100 * 10_000 + d.month * 100 + d.day
    assert conv("cyymmdd", str(n)) == d.isoformat()
    assert conv("yyyymmdd", d.strftime("%Y%m%d")) == d.isoformat()


@given(st.dates(min_value=date(1900, 3, 1), max_value=date(9999, 12, 31)))
def test_excel_serial_round_trip(d: date) -> None:
    serial = (d - date(1899, 12, 30)).days
    assert conv("excel_serial", serial) == d.isoformat()


@given(st.dates(min_value=date(1904, 1, 1), max_value=date(9999, 12, 31)))
def test_excel_serial_1904_round_trip(d: date) -> None:
    assert conv({"excel_serial": 1904}, (d - date(1904, 1, 1)).days) == d.isoformat()


def _eu(d: Decimal) -> str:
    """Format like a German ERP export: 1.234.567,89 and a trailing minus."""
    s = f"{abs(d):,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")
    return s + ("-" if d < 0 else "")


@given(st.decimals(min_value=-10**12, max_value=10**12, places=2, allow_nan=False, allow_infinity=False))
def test_locale_number_round_trip(d: Decimal) -> None:
    assert conv({"number": {"decimal": ",", "thousands": "."}}, _eu(d)) == d
    assert conv("number", str(d)) == d


@given(st.integers(min_value=-10**15, max_value=10**15), st.integers(min_value=0, max_value=6))
def test_implied_decimals_round_trip(n: int, scale: int) -> None:
    written = str(abs(n)).zfill(12) + ("-" if n < 0 else "")
    assert conv({"implied_decimals": scale}, written) == Decimal(n).scaleb(-scale)


ANY_VALUE = st.one_of(
    st.text(max_size=30), st.integers(), st.floats(), st.decimals(), st.booleans(), st.dates(), st.datetimes(),
    st.lists(st.text(max_size=5), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.binary(max_size=10), st.sampled_from(["", " ", "0", "-", "1-", "(", "N/A", "00000000", "\x00", "€", "١٢"]),
)
CONVERTERS: list[Any] = [
    "strip", {"lstrip": "0"}, "upper", "lower", "title", {"truncate": 3}, {"regex_extract": r"(\d+)"},
    {"regex_replace": [r"\s", ""]}, {"split": ";"}, {"join": ","}, "email", "phone", {"phone": "+33"},
    "date", {"date": "%d/%m/%Y"}, {"date": ["%Y%m%d", "%d %b %Y"]}, {"datetime": "%Y%m%d%H%M", "tz": "Europe/Paris"},
    "datetime", "cyymmdd", "yyyymmdd", "excel_serial", {"excel_serial": 1904}, "number",
    {"number": {"decimal": ",", "thousands": ".", "currency": True}}, {"implied_decimals": 2}, "boolean",
    {"boolean": {"true": ["X"]}}, {"lookup": {"A": 1}}, {"lookup": {"A": 1}, "default": 0},
]


@settings(max_examples=300)
@given(st.sampled_from(CONVERTERS), ANY_VALUE)
def test_a_converter_only_ever_raises_convert_error(item: Any, value: Any) -> None:
    fn = build_step(item, "t", CTX).fn
    try:
        fn(value)
    except ConvertError as exc:
        assert str(exc)  # a reason, never an empty message


SPEC = {"key": "ID", "fields": {
    "a": {"from": "A", "convert": ["strip", "upper"], "max_length": 5},
    "b": {"from": "B", "convert": [{"date": "%d/%m/%Y"}], "required": True},
    "c": {"from": "C", "convert": [{"number": {"decimal": ","}}], "type": "integer", "min": 0},
    "d.e": {"template": "{A} {C}", "convert": ["title"]},
    "f[]": {"from": ["A", "B"], "convert": [{"split": ";"}, "lower"]},
    "g": {"from": "G", "null_if": ["-"], "convert": [{"coalesce": ["A"]}, "email"], "default": "n@a.com"},
    "h": {"from": "H", "convert": ["boolean"], "default": False, "type": "boolean"},
}, "filter": {"field": "S", "not_in": ["X"]}}
ROWS = st.lists(st.dictionaries(st.sampled_from(["ID", "A", "B", "C", "G", "H", "S", "Z"]), ANY_VALUE), max_size=8)


@settings(max_examples=300)
@given(ROWS)
def test_the_mapper_never_raises_and_accounts_for_every_row(rows: list[dict[str, Any]]) -> None:
    m = mapper(SPEC)
    mb = run(m, rows)
    assert len(mb.payloads) + len(mb.rejects) + mb.skipped == len(rows)
    for r in mb.rejects:
        assert r.reason and r.raw is not None and r.position.startswith("line ")
    for p in mb.payloads:  # the generated fast path agrees with the reference interpreter
        slow = m.map_row(rows[p.index], p.index)
        assert isinstance(slow, Payload) and slow.data == p.data and slow.key == p.key
    for r in mb.rejects:
        assert isinstance(m.map_row(r.raw or {}), Reject)
