"""`legacy-bridge discover odbc` lists Northwind's tables with keys, counts and cursor candidates,
and prints a [[flows]] block that validates as an odbc source."""

from __future__ import annotations

import json
import tomllib

import pytest

from legacy_bridge.cli import main
from legacy_bridge.sources.odbc_spec import OdbcSpec

pytestmark = pytest.mark.odbc


def test_discover_lists_tables_with_primary_keys_row_counts_and_cursor_candidates(odbc_db, capsys):
    assert main(["discover", "odbc", "--connection", odbc_db.connection, "--json"]) == 0
    tables = {t["name"]: t for t in json.loads(capsys.readouterr().out)}
    assert tables["Orders"]["rows"] == 830 and tables["Orders"]["primary_key"] == ["OrderID"]
    assert tables["Order Details"]["primary_key"] == ["OrderID", "ProductID"]
    assert "OrderDate" in tables["Orders"]["cursor_candidates"]
    assert tables["Customers"]["cursor_candidates"] == []  # no change column: a diff table


def test_discover_prints_a_starter_flow_that_validates(odbc_db, capsys):
    assert main(["discover", "odbc", "--connection", odbc_db.connection, "--table", "Customers"]) == 0
    out = capsys.readouterr().out
    block = tomllib.loads(out[out.index("[[flows]]"):])
    source = block["flows"][0]["source"]
    assert source["mode"] == "diff" and source["key"] == ["CustomerID"]
    assert OdbcSpec.model_validate(source).table == "Customers"


def test_a_password_in_the_connection_string_is_not_printed(odbc_db, capsys):
    if odbc_db.kind != "sqlite":
        pytest.skip("SQLite ignores PWD, the others would refuse the login")
    conn = odbc_db.connection + ";PWD=hunter2secret"
    assert main(["discover", "odbc", "--connection", conn, "--table", "Orders"]) == 0
    out = capsys.readouterr().out
    assert "hunter2secret" not in out and "PWD=***" in out
