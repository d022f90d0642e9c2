"""Identifiers from job files are checked and quoted; values are always parameters."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from legacy_bridge.config.loader import validation_problems
from legacy_bridge.sources.odbc_spec import OdbcSpec
from legacy_bridge.sources.odbc_sql import Dialect, Shape, Window, cursor_exprs, keyset, select

BASE = {"kind": "odbc", "connection": "Driver=SQLite3;Database=x.sqlite"}


@pytest.mark.parametrize("key,value", [
    ("table", 'Customers"; DROP TABLE Customers; --'),
    ("table", "Customers WHERE 1=1"),  # an operator
    ("schema", "dbo.sys"),
    ("cursor", ["LastChanged", "id) OR (1=1"]),
    ("cursor_fallback", "Created--"),
    ("key", ["CustomerID;"]),
    ("columns", ["a", "b`c"]),
])
def test_an_identifier_with_injected_sql_is_refused_naming_its_key(key, value):
    raw = {**BASE, "table": "Customers", "cursor": ["LastChanged"], key: value}
    with pytest.raises(ValidationError) as info:
        OdbcSpec.model_validate(raw)
    problems = validation_problems(info.value, raw)
    assert any(p.startswith(key) and "not a plain identifier" in p for p in problems), problems


def test_plain_names_with_spaces_and_erp_characters_are_accepted():
    spec = OdbcSpec.model_validate({**BASE, "table": "Order Details", "mode": "diff",
                                    "key": ["ORDNO#", "LINE$"], "schema": "QS36F"})
    assert spec.table == "Order Details" and spec.key == ["ORDNO#", "LINE$"]


def test_each_driver_quotes_with_its_own_character():
    assert Dialect('"').ident("Order Details") == '"Order Details"'
    assert Dialect("`").ident("Order Details") == "`Order Details`"
    assert Dialect("[").ident("X") == "[X]"


def test_a_composite_cursor_becomes_a_portable_keyset_with_bound_values():
    sql, params = keyset(["a", "b", "c"], [1, 2, 3], ">")
    assert sql == "a >= ? AND (a > ? OR (a = ? AND (b > ? OR (b = ? AND (c > ?)))))"
    assert params == [1, 1, 1, 2, 2, 3]
    sql, params = keyset(["a", "b"], [5, 6], "<=")
    assert sql == "a <= ? AND (a < ? OR (a = ? AND (b <= ?)))"
    assert params == [5, 5, 5, 6]


def test_the_fallback_and_the_order_use_the_same_expressions():
    d = Dialect('"', "limit")
    exprs = cursor_exprs(d, ["Changed", "ID"], "Created")
    sql, params = select(d, Shape(table="T", where="Status <> 'X'"), exprs,
                         Window(after=("2024-01-01", 7), upto=("2024-02-01", 9), not_null=True), 100)
    assert 'COALESCE("Changed", "Created")' in sql
    assert sql.endswith('ORDER BY COALESCE("Changed", "Created"), "ID" LIMIT 100')
    assert "(Status <> 'X')" in sql and "2024" not in sql
    assert params == ["2024-01-01", "2024-01-01", "2024-01-01", 7, "2024-02-01", "2024-02-01", "2024-02-01", 9]


@pytest.mark.parametrize("raw,needle", [
    ({"table": "T", "query": "SELECT 1"}, "exactly one of"),
    ({"table": "T"}, "needs `cursor`"),
    ({"query": "SELECT * FROM T", "mode": "diff"}, "needs `key`"),
    ({"table": "T", "mode": "diff", "lookback": "15m"}, "incremental only"),
    ({"table": "T", "cursor": ["C"], "timezone": "Mars/Olympus"}, "time zone"),
    ({"table": "T", "cursor": ["C"], "encoding": "klingon"}, "encoding"),
])
def test_inconsistent_options_are_refused_at_load(raw, needle):
    with pytest.raises(ValidationError) as info:
        OdbcSpec.model_validate({**BASE, **raw})
    assert needle in str(info.value)
