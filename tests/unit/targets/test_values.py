"""Values as HubSpot wants them (strings) and as JSON APIs want them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from legacy_bridge.targets.profiles.hubspot import properties
from legacy_bridge.targets.values import as_json, as_text


@pytest.mark.parametrize(("value", "text"), [
    (None, ""), ("Berlin", "Berlin"), (True, "true"), (False, "false"), (0, "0"), (10248, "10248"),
    (0.1, "0.1"), (32.38, "32.38"), (3.0, "3"), (1e20, "100000000000000000000"), (1.5e-7, "0.00000015"),
    (Decimal("19.90"), "19.90"),
        (Decimal("-440.20"), "-440.20"), (Decimal("100"), "100"), (date(2016, 7, 4), "2016-07-04"),
    (datetime(2016, 7, 4, 8, 30, tzinfo=UTC), "2016-07-04T08:30:00+00:00"),
    ({"a": [1, 2]}, '{"a":[1,2]}'),
])
def test_property_values_are_strings_without_float_noise(value: object, text: str) -> None:
    assert as_text(value) == text


def test_nulls_clear_or_are_left_out() -> None:
    data = {"name": "Alfreds", "fax": None}
    assert properties(data, "clear") == {"name": "Alfreds", "fax": ""}
    assert properties(data, "omit") == {"name": "Alfreds"}


def test_json_values_keep_numbers_and_iso_dates() -> None:
    assert as_json({"d": date(2020, 1, 2), "n": Decimal("1.25"), "big": Decimal("0.1000000000000000000001")}) == {
        "d": "2020-01-02", "n": 1.25, "big": "0.1000000000000000000001"}
