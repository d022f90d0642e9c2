"""The compiled mapping: keys, fields, nested and list targets, filter, dedupe, rejects."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from legacy_bridge.errors import ConfigError, RecordError
from legacy_bridge.mapping import MappingSpec
from tests.unit.mapping.helpers import mapper, run

ORDERS = {
    "key": "ORDER_NO",
    "fields": {
        "order_no": "ORDER_NO",
        "close_date": {"from": "ORDER_DATE", "convert": ["strip", {"date": "%d/%m/%Y"}], "required": True},
        "amount": {"from": "AMOUNT", "convert": [{"number": {"decimal": ",", "thousands": "."}}]},
        "properties.email": {"from": "EMAIL", "convert": ["email"]},
        "properties.owner": {"template": "{FNAME} {LNAME}", "convert": ["title"]},
        "stage": {"from": "STATUS", "convert": [{"lookup": {"O": "open", "W": "won"}}], "default": "open"},
        "pipeline": {"value": "default"},
    },
}


def test_rows_become_payloads_with_nested_targets() -> None:
    mb = run(ORDERS, [{"ORDER_NO": " 10248 ", "ORDER_DATE": "04/07/1996", "AMOUNT": "1.440,00",
                       "EMAIL": "Vins@Example.fr", "FNAME": "paul", "LNAME": "HENRIOT", "STATUS": "W"}])
    assert not mb.rejects
    [p] = mb.payloads
    assert p.key == "10248"
    assert p.index == 0
    assert p.data == {"order_no": " 10248 ", "close_date": "1996-07-04", "amount": Decimal("1440.00"),
                      "properties": {"email": "vins@example.fr", "owner": "Paul Henriot"},
                      "stage": "won", "pipeline": "default"}


def test_a_bad_date_is_a_reject_with_a_business_reason() -> None:
    rows = [{"ORDER_NO": "1", "ORDER_DATE": "01/01/2024"}, {"ORDER_NO": "2", "ORDER_DATE": "31/02/2024"}]
    mb = run(ORDERS, rows)
    assert [p.key for p in mb.payloads] == ["1"]
    [r] = mb.rejects
    assert r.reason == "ORDER_DATE '31/02/2024' is not a date in format %d/%m/%Y"
    assert (r.origin, r.position, r.key, r.field, r.value) == ("drop/ORDERS.csv", "line 3", "2", "ORDER_DATE",
                                                               "31/02/2024")
    assert r.raw is rows[1]
    assert r.stage == "mapping"


def test_required_default_and_null_if() -> None:
    spec = {"key": "ID", "fields": {
        "since": {"from": "D", "null_if": ["0000-00-00", "N/A"], "convert": ["date"]},
        "country": {"from": "C", "default": "FR"},
        "name": {"from": "N", "required": True},
    }}
    mb = run(spec, [{"ID": "1", "D": "0000-00-00", "N": "x"}, {"ID": "2", "D": "N/A", "N": ""},
                    {"ID": "3", "D": "2020-01-02", "C": "DE", "N": "y"}])
    assert [p.data for p in mb.payloads] == [{"since": None, "country": "FR", "name": "x"},
                                             {"since": "2020-01-02", "country": "DE", "name": "y"}]
    [r] = mb.rejects
    assert r.reason == "N is required but empty"
    assert r.field == "N"


def test_empty_or_missing_key_is_a_reject_and_composite_keys_join_with_a_bar() -> None:
    m = mapper({"key": ["COMPANY", "ORDER_NO"], "fields": {"n": "ORDER_NO"}})
    assert m.key_of({"COMPANY": " 01 ", "ORDER_NO": 10248}) == "01|10248"
    with pytest.raises(RecordError, match="the record key ORDER_NO is empty"):
        m.key_of({"COMPANY": "01"})
    mb = run(m, [{"COMPANY": "01", "ORDER_NO": "  "}])
    assert mb.rejects[0].reason == "the record key ORDER_NO is empty"


def test_float_keys_from_databases_drop_the_point_zero() -> None:
    assert mapper({"key": "ID", "fields": {"x": "ID"}}).key_of({"ID": 42.0}) == "42"


def test_list_targets_collect_several_sources_and_split_values() -> None:
    spec = {"key": "ID", "fields": {
        "emails[]": {"from": ["EMAIL1", "EMAIL2"], "convert": ["email"]},
        "tags[]": {"from": "TAGS", "convert": [{"split": ";"}, "upper", {"lookup": {"VIP": "vip", "B2B": "b2b"}}]},
        "contact.phones[]": {"from": "PHONE", "convert": [{"phone": "+33"}]},
    }}
    mb = run(spec, [{"ID": "1", "EMAIL1": "A@x.com", "EMAIL2": "", "TAGS": "vip; b2b", "PHONE": "01 42 68 53 00"},
                    {"ID": "2"}])
    assert [p.data for p in mb.payloads] == [
        {"emails": ["a@x.com"], "tags": ["vip", "b2b"], "contact": {"phones": ["+33142685300"]}},
        {"emails": [], "tags": [], "contact": {"phones": []}},
    ]


def test_a_bad_item_of_a_split_names_the_item() -> None:
    spec = {"key": "ID", "fields": {"tags[]": {"from": "TAGS", "convert": [{"split": ";"}, {"lookup": {"A": 1}}]}}}
    [r] = run(spec, [{"ID": "1", "TAGS": "A;Q"}]).rejects
    assert r.reason.startswith("TAGS 'A;Q' has an item 'Q' that is not a known code")


def test_validation_rules_reject_with_wording() -> None:
    spec = {"key": "ID", "fields": {
        "qty": {"from": "Q", "convert": ["number"], "type": "integer", "min": 1, "max": 1000},
        "zip": {"from": "Z", "pattern": r"\d{5}"},
        "status": {"from": "S", "enum": ["A", "I"]},
        "name": {"from": "N", "max_length": 5},
        "since": {"from": "D", "type": "date", "min": "2000-01-01"},
    }}
    good = {"ID": "0", "Q": "3", "Z": "75001", "S": "A", "N": "Jo", "D": "2001-01-01"}
    cases = [
        ({"Q": "0"}, "Q '0' is below the minimum 1"),
        ({"Q": "1001"}, "Q '1001' is above the maximum 1000"),
        ({"Q": "2.5"}, "Q '2.5' is not a whole number"),
        ({"Z": "7500"}, "Z '7500' does not match the pattern \\d{5}"),
        ({"S": "X"}, "S 'X' is not one of A, I"),
        ({"N": "Jonathan"}, "N 'Jonathan' is longer than 5 characters (8)"),
        ({"D": "1999-12-31"}, "D '1999-12-31' is below the minimum 2000-01-01"),
        ({"D": "31/12/1999"}, "D '31/12/1999' is not a date YYYY-MM-DD"),
    ]
    mb = run(spec, [good] + [{**good, **change} for change, _ in cases])
    assert [p.key for p in mb.payloads] == ["0"]
    assert mb.payloads[0].data["qty"] == 3
    assert [r.reason.split(" (convert")[0] for r in mb.rejects] == [why for _, why in cases]


@pytest.mark.parametrize(("typ", "value", "expected"), [
    ("string", 42, "42"), ("integer", "0042", 42), ("number", "2.5", 2.5), ("decimal", "2.50", Decimal("2.50")),
    ("boolean", "true", True), ("date", "2024-02-29", "2024-02-29"),
    ("datetime", "2024-02-29T10:00:00+01:00", "2024-02-29T10:00:00+01:00"),
])
def test_type_coerces_to_the_json_type(typ: str, value: object, expected: object) -> None:
    [p] = run({"key": "ID", "fields": {"x": {"from": "X", "type": typ}}}, [{"ID": "1", "X": value}]).payloads
    assert p.data["x"] == expected
    assert type(p.data["x"]) is type(expected)


def test_filter_skips_and_counts() -> None:
    spec = {"key": "ID", "fields": {"id": "ID"}, "filter": [
        {"field": "STATUS", "not_in": ["X", "D"]},
        {"field": "EMAIL", "not_empty": True},
    ]}
    rows = [{"ID": "1", "STATUS": "A", "EMAIL": "a"}, {"ID": "2", "STATUS": "X ", "EMAIL": "b"},
            {"ID": "3", "STATUS": "A", "EMAIL": "  "}, {"ID": "4", "STATUS": "D", "EMAIL": "c"}]
    mb = run(spec, rows)
    assert [p.key for p in mb.payloads] == ["1"]
    assert (mb.skipped, len(mb.rejects)) == (3, 0)


@pytest.mark.parametrize(("condition", "kept"), [
    ({"field": "S", "equals": "A"}, ["1"]),
    ({"field": "S", "not_equals": "A"}, ["2", "3"]),
    ({"field": "S", "in": ["A", "B"]}, ["1", "2"]),
    ({"field": "S", "empty": True}, ["3"]),
    ({"field": "S", "matches": "[AB]"}, ["1", "2"]),
    ({"field": "N", "equals": 7}, ["2"]),
])
def test_filter_conditions(condition: dict[str, object], kept: list[str]) -> None:
    rows = [{"ID": "1", "S": "A", "N": 1}, {"ID": "2", "S": "B", "N": 7}, {"ID": "3", "S": ""}]
    assert [p.key for p in run({"key": "ID", "fields": {"i": "ID"}, "filter": condition}, rows).payloads] == kept


def test_dedupe_keeps_the_last_record_for_a_key() -> None:
    spec = {"key": "ID", "fields": {"v": "V"}, "dedupe": True}
    mb = run(spec, [{"ID": "1", "V": "a"}, {"ID": "2", "V": "b"}, {"ID": "1", "V": "c"}])
    assert [(p.key, p.data["v"], p.index) for p in mb.payloads] == [("2", "b", 1), ("1", "c", 2)]
    assert mb.deduped == 1
    assert run({**spec, "dedupe": False}, [{"ID": "1"}, {"ID": "1"}]).deduped == 0


def test_dotted_toml_tables_are_flattened_into_nested_targets() -> None:
    spec = MappingSpec.model_validate({"key": "ID", "fields": {
        "properties": {"email": {"from": "E"}, "name": "N", "address": {"city": "C"}}}})
    assert set(spec.fields) == {"properties.email", "properties.name", "properties.address.city"}


def test_source_fields_lists_everything_read() -> None:
    m = mapper({"key": "ID", "fields": {
        "a": "A", "b": {"template": "{B1} {B2}"}, "c": {"from": "C", "convert": [{"coalesce": ["C2"]}]},
        "d": {"value": 1}, "e[]": {"from": ["E1", "E2"]}}, "filter": {"field": "F", "empty": False}})
    assert m.source_fields() == {"ID", "A", "B1", "B2", "C", "C2", "E1", "E2", "F"}


def test_coalesce_inside_a_field() -> None:
    spec = {"key": "ID", "fields": {"phone": {"from": "MOBILE", "convert": [{"coalesce": ["PHONE"]}, {"phone": "+49"}]}}}
    mb = run(spec, [{"ID": "1", "MOBILE": "", "PHONE": "030 1234567"}])
    assert mb.payloads[0].data == {"phone": "+49301234567"}


def test_py_converter_errors_become_rejects_never_crashes() -> None:
    spec = {"key": "ID", "fields": {"n": {"from": "N", "convert": ["py:math:sqrt"]},
                                    "v": {"from": "V", "convert": ["py:tests.unit.mapping.hooks:vat"]}}}
    mb = run(spec, [{"ID": "1", "N": "4"}, {"ID": "2", "N": 9, "V": "FR1"}, {"ID": "3", "V": "DE123456789"}])
    assert [p.data for p in mb.payloads] == [{"n": None, "v": "DE123456789"}]
    assert [r.reason for r in mb.rejects] == [
        "N '4' could not be converted by py:math:sqrt (TypeError: must be real number, not str)",
        "V 'FR1' is not a VAT number (too short)",
    ]


def test_compile_reports_every_problem_with_its_path(tmp_path: Path) -> None:
    spec = MappingSpec.model_validate({"key": "ID", "fields": {
        "email": {"from": "E", "convert": ["strip", "lowr"]},
        "d": {"from": "D", "convert": [{"date": "%d/%Q"}]},
        "z": {"from": "Z", "pattern": "(", "convert": [{"regex_extract": "["}]},
        "c": {"from": "C", "convert": [{"lookup": "missing.csv"}]},
        "p": {"from": "P", "convert": ["py:no_such_module_xyz:f"]},
        "t": {"from": "T", "convert": [{"truncate": "40"}, "truncate"]},
        "a": "A", "a.b": "B",
        "x": {"template": "{unclosed"},
        "n": {"from": "N", "convert": [{"number": {"decimal": ",", "thousand": "."}}]},
    }, "filter": {"field": "S", "matches": "(["}})
    from legacy_bridge.mapping import compile_mapping

    with pytest.raises(ConfigError) as info:
        compile_mapping(spec, base_dir=tmp_path)
    text = str(info.value)
    for expected in [
        "fields.email.convert[1]: unknown converter 'lowr' (did you mean 'lower'?)",
        "fields.d.convert[0]: '%d/%Q' is not a usable date format",
        "fields.z.pattern: '(' is not a valid regular expression",
        "fields.z.convert[0]: '[' is not a valid regular expression",
        "fields.c.convert[0]: lookup file missing.csv does not exist",
        "fields.p.convert[0]: cannot import module 'no_such_module_xyz'",
        "fields.t.convert[0]: expects a maximum number of characters",
        "fields.t.convert[1]: truncate needs an argument",
        "fields.a.b: 'a' is both a value and an object",
        "fields.x.template: unmatched '{'",
        "fields.n.convert[0]: unknown option(s) thousand",
        "filter.matches: '([' is not a valid regular expression",
    ]:
        assert expected in text
    assert len(info.value.problems) == 12


def test_spec_shape_errors_are_caught_at_load() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="give only one of 'from', 'value' and 'template'"):
        MappingSpec.model_validate({"key": "ID", "fields": {"x": {"from": "A", "value": 1}}})
    with pytest.raises(ValidationError, match="exactly one of equals"):
        MappingSpec.model_validate({"key": "ID", "fields": {}, "filter": {"field": "S"}})
