"""The vectorised mapping gives what the row path gives: the same request bytes, the same
rejects (row, reason, field, value) and the same skips, for every value hypothesis finds.

The row path is the definition (mapping/compile.py); a kernel may only be exact or unsure.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from legacy_bridge.columnar.encode import EncodedPayloads
from legacy_bridge.columnar.rows import ColumnRows
from legacy_bridge.columnar.vector import VectorMapping
from legacy_bridge.mapping import MappingSpec, compile_mapping
from legacy_bridge.records import Batch, Checkpoint, MappedBatch
from legacy_bridge.targets.profiles.hubspot import HubSpotRecords, HubSpotSpec, HubSpotTarget
from legacy_bridge.targets.values import dumps

COUNTRIES = {"FR": "France", "DE": "Germany", "DK": "Denmark"}
STATUS = {"A": "active", "I": "inactive", "B": 7}

BENCH_LIKE: dict[str, Any] = {
    "key": "CUSTNO",
    "fields": {
        "erp_id": "CUSTNO",
        "name": {"from": "NAME", "convert": ["strip"], "required": True},
        "email": {"from": "EMAIL", "convert": ["email"]},
        "zip": {"from": "ZIP", "convert": ["strip"], "pattern": "^[0-9]{5}$"},
        "city": {"from": "CITY", "convert": ["strip", "title"]},
        "country": {"from": "COUNTRY", "convert": [{"lookup": COUNTRIES}]},
        "since": {"from": "CREATED", "convert": [{"date": "%d/%m/%Y"}]},
        "balance": {"from": "BALANCE", "convert": [{"number": {"decimal": ",", "thousands": "."}}]},
        "status": {"from": "STATUS", "convert": [{"lookup": STATUS, "default": "unknown"}]},
    },
}
VARIANTS: list[dict[str, Any]] = [
    BENCH_LIKE,
    {"key": ["CUSTNO", "ZIP"], "fields": {
        "label": {"template": "{NAME} ({CITY})"},
        "source": {"value": "erp"},
        "up": {"from": "NAME", "convert": ["upper", {"truncate": 6}]},
        "low": {"from": "CITY", "convert": ["lower"], "max_length": 8},
        "day": {"from": "CREATED", "convert": [{"date": "%y-%m-%d"}], "default": "1970-01-01"},
        "amount": {"from": "BALANCE", "convert": [{"number": {"thousands": "'"}}]},
        "code": {"from": "STATUS", "null_if": ["-", "n/a"], "enum": ["A", "I"]},
        "country": {"from": "COUNTRY", "convert": [{"lookup": COUNTRIES, "keep_unknown": True}]},
        "trimmed": {"from": "EMAIL", "convert": [{"strip": "x"}, "rstrip"]},
    }},
]

LONG_EMAILS = ["a@" + "b" * 63 + ".fr", "a@" + "b" * 64 + ".fr", "a@b." + "c" * 63, "a@b." + "c" * 64,
               "jean.dupont.du.service.comptabilite@filiale-" + "x" * 20 + ".example.fr"]
ALPHABET = st.sampled_from([*"aZé ß\tªº\"\\/\n,.'-0123456789@xİ", "\u0131", "\x01", "ǅ", "😀", "\xa0"])
VALUES = st.one_of(
    st.none(), st.just(""), st.text(ALPHABET, max_size=12),
    st.sampled_from(["12/05/2024", "29/02/2023", "29/02/2024", "31/04/2024", "1/5/2024", " 07/11/1999 ",
                     "24-02-29", "70-01-01", "1.234,50", "-0,5", "007", "1'234.5", "12.5", "0", "-0",
                     "FR", " DE ", "XX", "A", "B", "I", "-", "n/a", "75001", "7500",
                     "Jean.Dupont@Example.COM", "bad@", "ÉMILE@exemple.fr", "müller", "o'neil",
                     # leap years by the century rules, and the year 0 the row path refuses
                     "29/02/1900", "29/02/2000", "29/02/2100", "29/02/0000", "01/01/0000", "00/01/2024",
                     "01/13/2024", "68-02-29", "70-02-29", "00-02-29",
                     # a domain label and a top-level domain at and past their 63 characters
                     *LONG_EMAILS]))
COLUMNS = ["CUSTNO", "NAME", "EMAIL", "ZIP", "CITY", "COUNTRY", "CREATED", "BALANCE", "STATUS"]
ROWS = st.lists(st.fixed_dictionaries({c: VALUES for c in COLUMNS}), min_size=1, max_size=40)


def _both(spec: dict[str, Any], rows: list[dict[str, Any]], nulls: str) -> tuple[Any, ...]:
    mapper = compile_mapping(MappingSpec.model_validate(spec), base_dir=Path("."))
    encoder = HubSpotRecords("erp_id", nulls)
    vector, why = VectorMapping.build(mapper, encoder)
    assert vector is not None, why
    table = pa.RecordBatch.from_pylist(rows, schema=pa.schema([(c, pa.string()) for c in COLUMNS]))
    batch = Batch(ColumnRows(table), "drop/c.csv", Checkpoint(), range(2, 2 + len(rows)), table=table)
    fast = vector.map_batch(batch)
    slow = mapper.map_batch(Batch(list(rows), "drop/c.csv", Checkpoint(), list(range(2, 2 + len(rows)))))
    return fast, slow, encoder


def _rejects(mapped: MappedBatch) -> list[tuple[Any, ...]]:
    return [(r.position, r.reason, r.field, r.value, r.key) for r in mapped.rejects]


@pytest.mark.parametrize("spec", VARIANTS, ids=["bench-like", "variants"])
@pytest.mark.parametrize("nulls", ["clear", "omit"])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=ROWS)
def test_vector_mapping_equals_the_row_path(spec: dict[str, Any], nulls: str, rows: list[dict[str, Any]]) -> None:
    fast, slow, encoder = _both(spec, rows, nulls)
    assert isinstance(fast.payloads, EncodedPayloads)
    assert [p.index for p in fast.payloads] == [p.index for p in slow.payloads]
    assert fast.payloads.keys == [p.key for p in slow.payloads]
    assert fast.payloads.texts == [encoder.encode_one(p) for p in slow.payloads]
    assert _rejects(fast) == _rejects(slow)
    assert fast.skipped == slow.skipped


def test_the_request_body_is_byte_identical(tmp_path: Path) -> None:
    """Same bytes, so the same idempotency key whichever path sent the batch."""
    rows = [{c: v for c, v in zip(COLUMNS, values, strict=True)} for values in [
        ["1", " Zoë \"Z\" ", "zoe@ex.fr", "75001", "paris", "FR", "01/02/2024", "1.234,50", "A"],
        ["2", "Ana\\B", None, "7500", "ÅRHUS", "XX", "31/02/2024", "x", "Q"],
        ["3", "Line\nbreak", "A@B.CO", "12345", "köln", "DE", "29/02/2024", "-0,5", "B"]]]
    fast, slow, _ = _both(BENCH_LIKE, rows, "clear")
    target = HubSpotTarget(HubSpotSpec.model_validate({"kind": "hubspot", "base_url": "http://127.0.0.1:1",
                                                      "object": "contacts", "id_property": "erp_id"}))
    try:
        assert dumps(target.request(fast.payloads).body) == dumps(target.request(slow.payloads).body)
        half = fast.payloads[1:]
        assert dumps(target.request(half).body) == dumps(target.request(slow.payloads[1:]).body)
        assert fast.payloads[0].data["name"] == "Zoë \"Z\""
    finally:
        target.close()


def test_between_rebases_rows_and_keeps_overrides() -> None:
    rows = [{c: None for c in COLUMNS} | {"CUSTNO": str(i), "NAME": "x" if i % 3 else "\x01ctl"} for i in range(10)]
    fast, slow, encoder = _both(BENCH_LIKE, rows, "clear")
    part = fast.payloads.between(3, 7)
    assert [p.index for p in part] == [0, 1, 2, 3]
    assert [p.key for p in part] == ["3", "4", "5", "6"]
    assert part.texts == [encoder.encode_one(p) for p in slow.payloads[3:7]]
    assert [p.data["name"] for p in part] == ["\x01ctl", "x", "x", "\x01ctl"]


def test_the_strip_set_is_what_python_strips() -> None:
    from legacy_bridge.columnar.kernels import PY_SPACE
    python_strips = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())
    assert python_strips == PY_SPACE


@pytest.mark.parametrize("kind", ["upper", "lower", "title"])
def test_the_case_byte_scan_never_clears_an_unsafe_value(kind: str) -> None:
    """A block passes the byte scan only when no value holds a character whose case change
    differs between Python and Arrow: every such character is caught by the scan."""
    from legacy_bridge.columnar.kernels import case_unsure
    for code in [*range(0x80, 0x250), 0x1E9E, 0x2126, 0x1F600]:
        value = pa.array([f"a{chr(code)}b"], pa.string())
        py = getattr(str, kind)(value[0].as_py())
        arrow = {"upper": pa.compute.utf8_upper, "lower": pa.compute.utf8_lower,
                 "title": pa.compute.utf8_title}[kind](value)[0].as_py()
        if py != arrow:
            mask = case_unsure(value, kind)
            assert mask is not None and mask[0].as_py(), (kind, hex(code))


def test_the_email_kernel_vouches_for_common_addresses_only_up_to_its_length_bound() -> None:
    """The kernel's pattern leaves the label and top-level-domain bounds (63 characters) to a
    length guard: what it vouches for is what the row path accepts; longer addresses are unsure."""
    from legacy_bridge.columnar.kernels import build
    from legacy_bridge.mapping.converters.contact import _EMAIL

    step = build("email", None, {})
    assert step is not None
    values = ["Jean.Dupont@Example.COM", "x@" + "b" * 57 + ".fr", *LONG_EMAILS, "bad@", None]
    out, unsure = step.fn(pa.array(values, pa.string()))
    flags = unsure.to_pylist()
    assert flags[:2] == [False, False]  # ordinary addresses stay on the fast path (65 bytes: the bound)
    assert flags[2:] == [True] * (len(LONG_EMAILS) + 1) + [False]
    for value, text, doubt in zip(values, out.to_pylist(), flags, strict=True):
        if value is not None and not doubt:
            assert _EMAIL.fullmatch(value.strip().lower()) and text == value.strip().lower()
