"""Every converter: what it makes of good values, and how it words a bad one."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from legacy_bridge.mapping.converters import ConvertError
from tests.unit.mapping.helpers import conv


# --- text -------------------------------------------------------------------------------
@pytest.mark.parametrize(("item", "value", "expected"), [
    ("strip", "  ACME  ", "ACME"),
    ("strip", "   ", None),
    ({"strip": " 0"}, " 00120 ", "12"),
    ({"lstrip": "0"}, "000120", "120"),
    ({"rstrip": "."}, "ACME...", "ACME"),
    ("upper", "straße", "STRASSE"),
    ("lower", "ÉCOLE", "école"),
    ("title", "jean-pierre DUPONT", "Jean-Pierre Dupont"),
    ("upper", 42, "42"),
    ({"truncate": 5}, "Northwind", "North"),
    ({"truncate": 40}, "short", "short"),
    ({"regex_extract": r"(\d{5})"}, "F-75001 Paris", "75001"),
    ({"regex_extract": r"[A-Z]{2}\d+"}, "ref: FR123 x", "FR123"),
    ({"regex_extract": r"(?P<n>\d+)-(?P<s>\w+)", "group": "s"}, "12-ab", "ab"),
    ({"regex_replace": [r"\s+", " "]}, "a   b \t c", "a b c"),
    ({"regex_replace": [r"(\d+)/(\d+)", r"\2-\1"]}, "12/34", "34-12"),
    ({"regex_replace": [r".*", ""]}, "gone", None),
    ({"split": ";"}, "a; b;;c ;", ["a", "b", "c"]),
    ({"split": ";"}, " ; ", None),
    ({"join": ", "}, ["a", None, "", "b"], "a, b"),
    ({"join": "-"}, "already text", "already text"),
])
def test_text_converters(item: object, value: object, expected: object) -> None:
    assert conv(item, value) == expected


def test_regex_extract_without_match_is_a_reject() -> None:
    with pytest.raises(ConvertError, match=r"does not contain anything matching \(\\d\{5\}\)"):
        conv({"regex_extract": r"(\d{5})"}, "no zip here")


# --- contact ----------------------------------------------------------------------------
@pytest.mark.parametrize(("value", "expected"), [
    (" Jane.Doe@Example.COM ", "jane.doe@example.com"),
    ("Jane Doe <jane@example.org>", "jane@example.org"),
    ("mailto:info@acme.de", "info@acme.de"),
    ("o'brien+crm@mail.co.uk", "o'brien+crm@mail.co.uk"),
])
def test_email_normalises(value: str, expected: str) -> None:
    assert conv("email", value) == expected


@pytest.mark.parametrize("value", ["jane@", "@example.com", "jane@@x.com", "jane doe@x.com", "jane@localhost",
                                   "jane..doe@x.com", "n/a"])
def test_email_refuses_what_is_not_an_address(value: str) -> None:
    with pytest.raises(ConvertError, match="is not a valid e-mail address"):
        conv("email", value)


@pytest.mark.parametrize(("item", "value", "expected"), [
    ("phone", "+33 1 42 68 53 00", "+33142685300"),
    ("phone", "0049 (30) 1234-567", "+49301234567"),
    ("phone", "+44 (0)20 7946 0958", "+442079460958"),
    ({"phone": "+33"}, "01.42.68.53.00", "+33142685300"),
    ({"phone": "1"}, "(212) 555-1234", "+12125551234"),
    ({"phone": 49}, "030/1234567", "+49301234567"),
])
def test_phone_normalises_to_e164(item: object, value: str, expected: str) -> None:
    assert conv(item, value) == expected


@pytest.mark.parametrize(("item", "value", "words"), [
    ("phone", "01 42 68 53 00", "has no country code"),
    ({"phone": "+33"}, "call me", "is not a phone number"),
    ({"phone": "+33"}, "12", "7 to 15 digits"),
    ("phone", "+33 1 42 68 53 00 12 34 56 78", "7 to 15 digits"),
])
def test_phone_refuses_with_reason(item: object, value: str, words: str) -> None:
    with pytest.raises(ConvertError, match=words):
        conv(item, value)


# --- dates ------------------------------------------------------------------------------
@pytest.mark.parametrize(("item", "value", "expected"), [
    ({"date": "%d/%m/%Y"}, "29/02/2024", "2024-02-29"),
    ({"date": "%d/%m/%Y"}, "1/3/2024", "2024-03-01"),
    ({"date": "%Y%m%d"}, "20240229", "2024-02-29"),
    ({"date": "%d.%m.%Y"}, "30.04.2018", "2018-04-30"),
    ({"date": "%d.%m.%y"}, "30.04.68", "2068-04-30"),
    ({"date": "%d.%m.%y"}, "30.04.69", "1969-04-30"),
    ({"date": "%d %b %Y"}, "05 Mar 2021", "2021-03-05"),  # strptime path
    ({"date": ["%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y"]}, "4/30/2018", "2018-04-30"),
    ({"date": "%Y%m%d"}, 20240229, "2024-02-29"),  # a number from ODBC or Excel, one format or several
    ({"date": ["%Y%m%d", "%d.%m.%Y"]}, 20240229, "2024-02-29"),
    ("date", "2018-04-30", "2018-04-30"),
    ("cyymmdd", "1240229", "2024-02-29"),
    ("cyymmdd", 991231, "1999-12-31"),
    ("cyymmdd", "0", None),
    ("yyyymmdd", 20240229, "2024-02-29"),
    ("yyyymmdd", "00000000", None),
    ("excel_serial", 45351, "2024-02-29"),
    ("excel_serial", "1", "1900-01-01"),
    ("excel_serial", 61, "1900-03-01"),
    ("excel_serial", "45351.5", "2024-02-29T12:00:00"),
    ({"excel_serial": 1904}, 43889, "2024-02-29"),
])
def test_date_converters(item: object, value: object, expected: object) -> None:
    assert conv(item, value) == expected


@pytest.mark.parametrize(("item", "value", "reason"), [
    ({"date": "%d/%m/%Y"}, "31/02/2024", "is not a date in format %d/%m/%Y"),
    ({"date": "%d/%m/%Y"}, "2024-02-01", "is not a date in format %d/%m/%Y"),
    ({"date": ["%d/%m/%Y", "%Y%m%d"]}, "x", "is not a date in any of the formats %d/%m/%Y, %Y%m%d"),
    ("cyymmdd", "1241301", "is not an AS/400 date CYYMMDD"),
    ("cyymmdd", "12402299", "is not an AS/400 date CYYMMDD"),
    ("yyyymmdd", "2024-02-29", "is not a date YYYYMMDD"),
    ("excel_serial", 60, "does not exist"),
    ("excel_serial", "soon", "is not an Excel date serial number"),
])
def test_bad_dates_are_worded(item: object, value: object, reason: str) -> None:
    with pytest.raises(ConvertError) as info:
        conv(item, value)
    assert reason in str(info.value)


def test_datetime_in_a_declared_zone_to_iso() -> None:
    paris = {"datetime": "%d/%m/%Y %H:%M", "tz": "Europe/Paris"}
    assert conv(paris, "29/02/2024 14:30") == "2024-02-29T14:30:00+01:00"
    assert conv(paris, "01/07/2024 14:30") == "2024-07-01T14:30:00+02:00"
    assert conv({**paris, "utc": True}, "01/07/2024 14:30") == "2024-07-01T12:30:00+00:00"
    assert conv({"datetime": "%Y%m%d%H%M%S"}, "20240229143005") == "2024-02-29T14:30:05"
    assert conv("datetime", "2024-02-29T14:30:00") == "2024-02-29T14:30:00"
    with pytest.raises(ConvertError, match="is not a date and time in format %d/%m/%Y %H:%M"):
        conv(paris, "29/02/2024")


# --- numbers and booleans ---------------------------------------------------------------
EU = {"number": {"decimal": ",", "thousands": "."}}


@pytest.mark.parametrize(("item", "value", "expected"), [
    ("number", "1399999.99", Decimal("1399999.99")),
    ("number", "-0.5", Decimal("-0.5")),
    ("number", ".5", Decimal("0.5")),
    ("number", 12, Decimal(12)),
    ("number", 0.1, Decimal("0.1")),
    (EU, "1.399.999,99", Decimal("1399999.99")),
    (EU, "1,7", Decimal("1.7")),
    (EU, "200.000.000", Decimal(200000000)),
    (EU, "123-", Decimal(-123)),
    (EU, "(1.234,50)", Decimal("-1234.50")),
    ({"number": {"thousands": ","}}, "1,399,999.99", Decimal("1399999.99")),
    ({"number": {"thousands": ",", "currency": True}}, "$1,399,999.99", Decimal("1399999.99")),
    ({"number": {"decimal": ",", "thousands": ".", "currency": True}}, "1.399.999,99 €", Decimal("1399999.99")),
    ({"number": {"decimal": ",", "thousands": " "}}, "1 234\u00a0567,5", Decimal("1234567.5")),
    ({"implied_decimals": 2}, "0001234", Decimal("12.34")),
    ({"implied_decimals": 2}, "0001234-", Decimal("-12.34")),
    ({"implied_decimals": 3}, 5, Decimal("0.005")),
    ({"implied_decimals": 0}, "+42", Decimal(42)),
])
def test_number_converters_are_exact(item: object, value: object, expected: Decimal) -> None:
    got = conv(item, value)
    assert isinstance(got, Decimal)
    assert got == expected


@pytest.mark.parametrize(("item", "value"), [
    ("number", "1,7"), ("number", "NaN"), ("number", "1e5"), ("number", "12 apples"),
    (EU, "1.5"),  # a dot here is a thousands separator: 1.5 is a typo, not 15
    (EU, "1.2345,6"), (EU, "€1,399,999.99"), ({"implied_decimals": 2}, "12.34"), ("number", "-"),
])
def test_numbers_refuse_ambiguous_text(item: object, value: str) -> None:
    with pytest.raises(ConvertError, match="is not a"):
        conv(item, value)


def test_number_reason_shows_the_expected_shape() -> None:
    with pytest.raises(ConvertError, match=r"is not a number like 1\.234,56"):
        conv(EU, "abc")


@pytest.mark.parametrize(("item", "value", "expected"), [
    ("boolean", "Y", True), ("boolean", "n", False), ("boolean", "J", True), ("boolean", " 1 ", True),
    ("boolean", "0", False), ("boolean", "X", True), ("boolean", 1, True), ("boolean", False, False),
    ({"boolean": {"true": ["X"]}}, "x", True),
    ({"boolean": {"true": ["A"], "false": ["I"]}}, "I", False),
])
def test_boolean(item: object, value: object, expected: bool) -> None:
    assert conv(item, value) is expected


def test_boolean_refuses_unknown_spelling() -> None:
    with pytest.raises(ConvertError, match=r"is not a yes/no value \(expected X\)"):
        conv({"boolean": {"true": ["X"]}}, "Y")


# --- lookups and coalesce ---------------------------------------------------------------
def test_inline_lookup_with_and_without_default() -> None:
    table = {"A": "Active", "I": "Inactive", "1": "One"}
    assert conv({"lookup": table}, " A ") == "Active"
    assert conv({"lookup": table}, 1) == "One"
    assert conv({"lookup": table, "default": "Unknown"}, "Z") == "Unknown"
    assert conv({"lookup": table, "keep_unknown": True}, "Z") == "Z"
    assert conv({"lookup": table, "ignore_case": True}, "a") == "Active"
    with pytest.raises(ConvertError, match=r"is not a known code in the lookup table \(known: A, I, 1\)"):
        conv({"lookup": table}, "Z")


def test_csv_lookup_two_columns_and_named_columns(tmp_path: Path) -> None:
    (tmp_path / "countries.csv").write_text("code,name,iso3\nFR,France,FRA\nDE,Germany,DEU\n", encoding="utf-8")
    assert conv({"lookup": "countries.csv"}, "FR", tmp_path) == "France"
    assert conv({"lookup": "countries.csv", "key": "iso3", "value": "code"}, "DEU", tmp_path) == "DE"
    with pytest.raises(ConvertError, match=r"is not a known code in countries\.csv"):
        conv({"lookup": "countries.csv"}, "XX", tmp_path)


def test_csv_lookup_on_a_real_file_keeps_leading_zeros() -> None:
    """frictionless__issue-1232.csv: ';'-separated, codes with leading zeros that must not be lost."""
    real = Path("/work/shared/realworld/csv")
    item = {"lookup": "frictionless__issue-1232.csv", "key": "comune", "value": "denominazione_comune",
            "delimiter": ";"}
    assert conv(item, "030151360", real) == "POLPENAZZE DEL GARDA"
    with pytest.raises(ConvertError, match="is not a known code"):
        conv(item, "30151360", real)


def test_coalesce_takes_the_first_non_empty_field() -> None:
    from legacy_bridge.mapping.converters import BuildContext, build_step

    step = build_step({"coalesce": ["MOBILE", "PHONE"]}, "t", BuildContext(Path(".")))
    assert step.row_aware
    assert step.fn(None, {"MOBILE": " ", "PHONE": "0142"}) == "0142"
    assert step.fn("own", {"MOBILE": "x"}) == "own"
    assert step.fn("", {}) is None


# --- python functions -------------------------------------------------------------------
def test_py_function_is_resolved_and_called() -> None:
    assert conv("py:os.path:basename", "/a/b.txt") == "b.txt"
    assert conv({"py:textwrap:shorten": {"width": 10, "placeholder": "..."}}, "hello big world") == "hello..."
