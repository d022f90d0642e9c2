"""The odbc source through unixODBC and the real SQLite, PostgreSQL and MariaDB drivers,
reading Northwind and small tables made per test.  Every test runs once per driver."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.fixtures.odbc import OdbcDatabase, drive

pytestmark = pytest.mark.odbc
T0 = datetime(2024, 3, 1, 12, 0, 0)


def make_table(db: OdbcDatabase, rows: list[tuple[int, datetime | None, str]], created: bool = False) -> str:
    """A fresh table (id, changed, note[, created]) with ``rows``; returns its name."""
    name = f"t_{uuid.uuid4().hex[:8]}"
    ts = db.timestamp_type
    extra = f', "created" {ts}' if created else ""
    db.execute(f'CREATE TABLE "{name}" ("id" INTEGER PRIMARY KEY, "changed" {ts}, "note" VARCHAR(40){extra})')
    if rows:
        insert(db, name, rows, created)
    return name


def insert(db: OdbcDatabase, name: str, rows: list[tuple[Any, ...]], created: bool = False) -> None:
    cols = '"id", "changed", "note"' + (', "created"' if created else "")
    marks = ", ".join("?" * (4 if created else 3))
    db.execute(f'INSERT INTO "{name}" ({cols}) VALUES ({marks})', many=rows)


def test_rows_sharing_a_timestamp_across_batch_boundaries_arrive_exactly_once(odbc_db, odbc_store):
    rows = [(i, T0 + timedelta(seconds=(0 if 40 <= i < 160 else i)), f"n{i}") for i in range(1, 201)]
    table = make_table(odbc_db, rows)
    first = drive(odbc_db, odbc_store, batch_size=25, table=table, cursor=["changed", "id"], stop_after=3)
    rest = drive(odbc_db, odbc_store, batch_size=25, table=table, cursor=["changed", "id"])
    ids = first.values("id") + rest.values("id")
    assert sorted(ids) == list(range(1, 201))
    assert len(ids) == len(set(ids))
    # more rows with the very timestamp of the watermark, after it in key order: taken next run
    tie = odbc_store.get_watermark("odbc_test", "f")[0]
    insert(odbc_db, table, [(500, tie, "late tie"), (501, tie, "late tie")])
    again = drive(odbc_db, odbc_store, batch_size=25, table=table, cursor=["changed", "id"])
    assert again.values("id") == [500, 501]


def test_late_commit_with_an_older_timestamp_is_caught_by_lookback_and_sent_once(odbc_db, odbc_store):
    table = make_table(odbc_db, [(i, T0 + timedelta(minutes=i), f"n{i}") for i in range(1, 31)])
    opts = {"table": table, "cursor": ["changed", "id"], "lookback": "15m"}
    assert len(drive(odbc_db, odbc_store, batch_size=10, **opts).rows) == 30
    insert(odbc_db, table, [(99, T0 + timedelta(minutes=25), "committed late")])
    late = drive(odbc_db, odbc_store, batch_size=10, **opts)
    assert late.values("id") == [99]
    assert drive(odbc_db, odbc_store, batch_size=10, **opts).rows == []
    odbc_db.execute(f'UPDATE "{table}" SET "note" = ? WHERE "id" = ?', ["changed in place", 28])
    assert drive(odbc_db, odbc_store, batch_size=10, **opts).values("id") == [28]


def test_rows_inserted_with_a_null_change_column_are_read_through_cursor_fallback(odbc_db, odbc_store):
    # Northwind: 21 orders not shipped yet (ShippedDate NULL)
    opts = {"table": "Orders", "cursor": ["ShippedDate", "OrderID"]}
    without = drive(odbc_db, odbc_store, flow="nofallback", **opts)
    assert len(without.rows) == 830 - 21
    assert without.ctx.notes["null_cursor_rows"] == 21
    withfb = drive(odbc_db, odbc_store, flow="fallback", cursor_fallback="OrderDate", **opts)
    assert sorted(withfb.values("OrderID")) == list(range(10248, 11078))


def test_null_on_insert_then_set_later_is_sent_when_set(odbc_db, odbc_store):
    table = make_table(odbc_db, [(1, None, "new", T0), (2, T0, "old", T0)], created=True)
    opts = {"table": table, "cursor": ["changed", "id"], "cursor_fallback": "created"}
    assert sorted(drive(odbc_db, odbc_store, **opts).values("id")) == [1, 2]
    odbc_db.execute(f'UPDATE "{table}" SET "changed" = ? WHERE "id" = 1', [T0 + timedelta(hours=1)])
    insert(odbc_db, table, [(3, None, "inserted", T0 + timedelta(hours=2))], created=True)
    assert drive(odbc_db, odbc_store, **opts).values("id") == [1, 3]


def test_diff_sends_inserts_and_updates_and_reports_deletes(odbc_db, odbc_store):
    table = f"c_{uuid.uuid4().hex[:8]}"
    odbc_db.execute(f'CREATE TABLE "{table}" AS SELECT * FROM "Customers"')
    opts = {"table": table, "mode": "diff", "key": ["CustomerID"]}
    assert len(drive(odbc_db, odbc_store, batch_size=40, **opts).rows) == 93
    assert drive(odbc_db, odbc_store, batch_size=40, **opts).rows == []
    odbc_db.execute(f'UPDATE "{table}" SET "City" = ? WHERE "CustomerID" = ?', ["Bremen", "ALFKI"])
    odbc_db.execute(f'DELETE FROM "{table}" WHERE "CustomerID" IN (?, ?)', ["BONAP", "WOLZA"])
    odbc_db.execute(f'INSERT INTO "{table}" ("CustomerID", "CompanyName") VALUES (?, ?)', ["ZZNEW", "New Co"])
    run = drive(odbc_db, odbc_store, batch_size=40, **opts)
    assert sorted(run.values("CustomerID")) == ["ALFKI", "ZZNEW"]
    assert [r["City"] for r in run.rows if r["CustomerID"] == "ALFKI"] == ["Bremen"]
    assert sorted(run.ctx.notes["deleted"]) == ["BONAP", "WOLZA"]
    assert sorted(run.batches[-1].checkpoint.deleted_keys) == ["BONAP", "WOLZA"]
    after = drive(odbc_db, odbc_store, batch_size=40, **opts)
    assert after.rows == [] and after.ctx.notes["deleted"] == []


def test_diff_takes_the_primary_key_from_the_driver(odbc_db, odbc_store):
    run = drive(odbc_db, odbc_store, batch_size=500, table="Order Details", mode="diff")
    assert len(run.rows) == 2155
    keys = [k for b in run.batches for k, _ in b.checkpoint.hashes]
    assert '["10248", "11"]' in keys and len(set(keys)) == 2155


def test_values_keep_their_types_and_char_padding_is_trimmed(odbc_db, odbc_store):
    table = f"v_{uuid.uuid4().hex[:8]}"
    odbc_db.execute(f'CREATE TABLE "{table}" ("id" INTEGER PRIMARY KEY, "code" CHAR(8), '
                    f'"amount" DECIMAL(12,4), "at" {odbc_db.timestamp_type})')
    odbc_db.execute(f'INSERT INTO "{table}" VALUES (?, ?, ?, ?)', [1, "AB", Decimal("1234.5600"), T0])
    row = drive(odbc_db, odbc_store, table=table, mode="full", timezone="Europe/Berlin").rows[0]
    assert row["code"] == "AB"
    if odbc_db.kind == "sqlite":  # the SQLite driver reports DECIMAL columns as text: exact, but str
        assert row["amount"] == "1234.56"
    else:
        assert isinstance(row["amount"], Decimal) and row["amount"] == Decimal("1234.56")
    assert row["at"].isoformat() == "2024-03-01T12:00:00+01:00"


def test_a_stopped_run_resumes_after_the_last_committed_batch(odbc_db, odbc_store):
    table = f"big_{uuid.uuid4().hex[:8]}"
    n = 20_000
    fill = {
        "sqlite": f'WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) '
                  f'INSERT INTO "{table}" SELECT i, datetime(\'2024-01-01\', \'+\' || (i / 7) || \' seconds\'), '
                  f'\'row \' || i FROM s',
        "postgres": f'INSERT INTO "{table}" SELECT i, TIMESTAMP \'2024-01-01\' + (i / 7) * INTERVAL \'1 second\', '
                    f'\'row \' || i FROM generate_series(1, {n}) AS i',
        "mariadb": f'INSERT INTO "{table}" SELECT seq, TIMESTAMP \'2024-01-01 00:00:00\' + INTERVAL (seq DIV 7) SECOND, '
                   f'CONCAT(\'row \', seq) FROM seq_1_to_{n}',
    }[odbc_db.kind]
    odbc_db.execute(f'CREATE TABLE "{table}" ("id" INTEGER PRIMARY KEY, "changed" {odbc_db.timestamp_type}, '
                    '"note" VARCHAR(40))')
    odbc_db.execute(fill)
    opts = {"table": table, "cursor": ["changed", "id"], "fetch": 700}
    first = drive(odbc_db, odbc_store, batch_size=1000, stop_after=7, **opts)
    second = drive(odbc_db, odbc_store, batch_size=1000, **opts)
    ids = first.values("id") + second.values("id")
    assert len(first.rows) == 7000
    assert sorted(ids) == list(range(1, n + 1))


def test_a_cursor_column_among_the_data_columns_is_read_from_it_not_selected_twice(odbc_db, odbc_store, monkeypatch):
    # one value less per row through the driver; the cursor tuples (watermark, keyset) are the raw values
    # as before, and a table whose columns changed after they were described is read whole and right
    from legacy_bridge.sources import odbc_read
    from legacy_bridge.sources.odbc import OdbcSpec
    from legacy_bridge.sources.odbc_sql import Window

    table = make_table(odbc_db, [(i, T0 + timedelta(minutes=i % 7), f"n{i}", T0) for i in range(1, 61)], created=True)
    statements: list[str] = []
    real_select = odbc_read.select

    def recording(*args: Any, **kwargs: Any) -> tuple[str, list[Any]]:
        sql, params = real_select(*args, **kwargs)
        statements.append(sql)
        return sql, params

    monkeypatch.setattr(odbc_read, "select", recording)
    spec = OdbcSpec.model_validate({"kind": "odbc", "connection": odbc_db.connection, "table": table,
                                    "cursor": ["changed", "id"], "columnar": False, "batch_size": 25})
    reader = odbc_read.Reader(spec, {"job": "t", "flow": "t", "table": table})
    try:
        exprs = reader.cursor_sql(["changed", "id"], None)
        got = [pair for chunk in reader.chunks(exprs, Window()) for pair in chunk]
        assert [row["id"] for row, _ in got] == sorted(range(1, 61), key=lambda i: (i % 7, i))
        assert all(cursor[1] == row["id"] for row, cursor in got)
        if odbc_db.kind == "sqlite":  # SQLite compares its text dates as strftime(...): selected as before
            assert "AS lb_k0" in statements[-1] and "lb_k1" not in statements[-1]
        else:
            assert all(cursor[0] == row["changed"] for row, cursor in got)
            assert "lb_k" not in statements[-1]
        # a fallback is an expression of its own: selected as an extra column
        with_fallback = reader.cursor_sql(["changed", "id"], "created")
        list(reader.chunks(with_fallback, Window(after=got[-1][1])))
        assert "AS lb_k0" in statements[-1] and "lb_k1" not in statements[-1]
        # the columns change between the description and the read: every cursor value selected again
        odbc_db.execute(f'ALTER TABLE "{table}" ADD "extra" INTEGER')
        again = [pair for chunk in reader.chunks(exprs, Window(after=got[29][1])) for pair in chunk]
        assert [row["id"] for row, _ in again] == [row["id"] for row, _ in got[30:]]
        assert all(cursor[1] == row["id"] for row, cursor in again)
        if odbc_db.kind != "sqlite":  # SQLite's reader is still in the read transaction it began before
            assert "extra" in again[0][0] and "lb_k" in statements[-1]
    finally:
        reader.close()
