"""The Arrow read path of the odbc source (sources/odbc_arrow.py) against the row reader, through
unixODBC and the real psqlODBC driver: the same records (order, values, Python types), the same
watermarks, checkpoints that resume exactly after the first n rows, and the row reader wherever
Arrow cannot give the same values."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from legacy_bridge.records import Counts
from legacy_bridge.sources import odbc_arrow
from legacy_bridge.sources.odbc import OdbcSource, OdbcSpec
from legacy_bridge.sources.odbc_arrow import BLOCK_ROWS, PACK_CAP, TEXT_CAP
from legacy_bridge.sources.odbc_read import Reader
from legacy_bridge.sources.odbc_sql import plain_refs
from tests.fixtures.odbc import OdbcDatabase, flow_context

pytest.importorskip("arrow_odbc")
pytestmark = pytest.mark.odbc
N = 25_000  # three Arrow blocks
T0 = datetime(2024, 1, 1)

COLUMNS = """("id" BIGINT PRIMARY KEY, "i4" INTEGER, "i2" SMALLINT, "name" TEXT, "vc" VARCHAR(30), "code" CHAR(6),
  "amount" NUMERIC(12,4), "whole" NUMERIC(10,0), "day" DATE, "changed" TIMESTAMP, "ms" TIMESTAMP(3),
  "ratio" DOUBLE PRECISION, "small" REAL, "flag" BOOLEAN)"""
FILL = """SELECT i, CASE WHEN i % 11 = 0 THEN NULL ELSE i * 7 END, (i % 300)::smallint,
  CASE WHEN i % 13 = 0 THEN NULL WHEN i % 5 = 0 THEN 'Müller 😀 ' || i ELSE 'name ' || i || '  ' END,
  'v' || (i % 97), CASE WHEN i % 17 = 0 THEN NULL ELSE 'C' || (i % 9) END,
  CASE WHEN i % 19 = 0 THEN NULL ELSE (i * 1.2345)::numeric(12,4) - 5000 END, i * 3,
  DATE '2024-01-01' + (i % 400), TIMESTAMP '2024-01-01' + (i / 7) * INTERVAL '1 second' + (i % 3) * INTERVAL '1 microsecond',
  TIMESTAMP '2024-01-01 00:00:00.123' + i * INTERVAL '1 millisecond', i / 3.0, (i / 7.0)::real, i % 2 = 0
FROM generate_series(1, {n}) AS i"""


@pytest.fixture
def pg(odbc_db: OdbcDatabase) -> OdbcDatabase:
    if odbc_db.kind != "postgres":
        pytest.skip("the Arrow path serves psqlODBC (other drivers: see test_other_drivers_read_row_by_row)")
    return odbc_db


def make_table(db: OdbcDatabase, n: int = N) -> str:
    table = f"a_{uuid.uuid4().hex[:8]}"
    db.execute(f'CREATE TABLE "{table}" {COLUMNS}')
    db.execute(f'INSERT INTO "{table}" {FILL.format(n=n)}')
    return table


@dataclass
class Run:
    rows: list[dict[str, Any]]
    batches: list[Any]

    @property
    def columnar(self) -> bool:
        return bool(self.batches) and all(b.cut is not None for b in self.batches)


def run(db: OdbcDatabase, store: Any, *, unit: int = 1000, stop_after_rows: int | None = None,
        flow: str = "f", on_unit: Any = None, **options: Any) -> Run:
    """Read the source as the runner does: a splittable (columnar) batch is cut into units of
    ``unit`` rows, each committed with ``cut(end)``; stop (as a user would) after ``stop_after_rows``."""
    spec = OdbcSpec.model_validate({"kind": "odbc", "connection": db.connection, **options})
    source = OdbcSource(spec, Path.cwd())
    ctx = flow_context(store, flow=flow, batch_size=unit)
    rows: list[dict[str, Any]] = []
    batches: list[Any] = []
    try:
        for batch in source.batches(ctx):
            batches.append(batch)
            n = len(batch.rows)
            if batch.cut is not None:
                assert batch.table.num_rows == n and batch.checkpoint == batch.cut(n)
                units = [(batch.rows[lo:min(n, lo + unit)], batch.cut(min(n, lo + unit))) for lo in range(0, n, unit)]
            else:
                units = [(batch.rows, batch.checkpoint)]
            for part, checkpoint in units:
                store.commit_batch(run_id=ctx.run_id, job=ctx.job, flow=ctx.flow, checkpoint=checkpoint,
                                   rejects=[], counts=Counts(read=len(part)))
                rows.extend(part)
                if on_unit is not None:
                    on_unit(len(rows))
                if stop_after_rows is not None and len(rows) >= stop_after_rows:
                    ctx.stop_event.set()
                    break
            if ctx.stopping():
                break
    finally:
        source.close()
    return Run(rows, batches)


def typed(rows: list[dict[str, Any]]) -> list[list[tuple[str, Any, type]]]:
    return [[(k, v, type(v)) for k, v in row.items()] for row in rows]


def test_arrow_blocks_give_the_row_readers_records_in_order_with_their_types(pg, odbc_store):
    table = make_table(pg)
    arrow = run(pg, odbc_store, flow="arrow", table=table, mode="full", key=["id"])
    rows = run(pg, odbc_store, flow="rows", table=table, mode="full", key=["id"], columnar=False)
    assert arrow.columnar and not rows.columnar
    sizes = [BLOCK_ROWS] * (N // BLOCK_ROWS) + ([N % BLOCK_ROWS] if N % BLOCK_ROWS else [])
    assert len(arrow.rows) == N and [len(b.rows) for b in arrow.batches] == sizes
    assert arrow.batches[0].table.schema.names == list(rows.rows[0])  # data columns only, no cursor
    assert typed(arrow.rows) == typed(rows.rows)
    sample = arrow.rows[4]  # id 5: padded text trimmed, Decimal with its scale, naive timestamps
    assert sample["name"] == "Müller 😀 5" and sample["code"] == "C5"
    assert str(sample["amount"]) == "-4993.8275" and str(sample["whole"]) == "15"
    assert sample["changed"] == T0 + timedelta(microseconds=2) and sample["ms"] == datetime(2024, 1, 1, 0, 0, 0, 128000)
    assert arrow.rows[10]["i4"] is None and isinstance(sample["small"], float)


def test_incremental_watermarks_match_the_row_path_and_the_next_run_takes_only_new_rows(pg, odbc_store):
    table = make_table(pg)
    opts = {"table": table, "cursor": ["changed", "id"]}
    arrow = run(pg, odbc_store, flow="arrow", **opts)
    rows = run(pg, odbc_store, flow="rows", columnar=False, **opts)
    assert arrow.columnar and typed(arrow.rows) == typed(rows.rows)
    mark = odbc_store.get_watermark("odbc_test", "arrow")
    last = rows.rows[-1]
    tie = last["changed"]
    assert mark == odbc_store.get_watermark("odbc_test", "rows") == [tie, last["id"]]
    pg.execute(f'INSERT INTO "{table}" ("id", "changed", "name") VALUES (?, ?, ?), (?, ?, ?)',
               [N + 1, tie, "same stamp, later key", N + 2, tie + timedelta(hours=1), "later"])
    again = run(pg, odbc_store, flow="arrow", **opts)
    assert [r["id"] for r in again.rows] == [N + 1, N + 2] and again.columnar
    assert run(pg, odbc_store, flow="arrow", **opts).rows == []


@pytest.mark.parametrize("stop_at", [7_000, 10_000, 13_500])
def test_a_run_stopped_after_k_rows_resumes_at_row_k(pg, odbc_store, stop_at):
    table = make_table(pg)
    opts = {"table": table, "cursor": ["changed", "id"]}
    first = run(pg, odbc_store, unit=500, stop_after_rows=stop_at, **opts)
    assert len(first.rows) == stop_at
    assert odbc_store.get_watermark("odbc_test", "f")[1] == first.rows[-1]["id"]
    rest = run(pg, odbc_store, unit=500, **opts)
    everything = run(pg, odbc_store, flow="all", columnar=False, **opts)
    assert typed(first.rows + rest.rows) == typed(everything.rows)


def test_cursor_columns_outside_the_data_columns_or_behind_a_fallback_resume_exactly(pg, odbc_store):
    # a cursor column that is a data column is read from it (fetched once); "changed" left out of
    # `columns`, or behind COALESCE, is fetched as an extra column: both kinds in one cursor
    table = make_table(pg)
    pg.execute(f'UPDATE "{table}" SET "changed" = NULL WHERE "id" % 9 = 0')
    for flow, opts in {"narrow": {"columns": ["id", "name"], "cursor": ["changed", "id"]},
                       "fallback": {"cursor": ["changed", "id"], "cursor_fallback": "ms"}}.items():
        opts = {"table": table, **opts}
        first = run(pg, odbc_store, flow=flow, unit=500, stop_after_rows=6_000, **opts)
        rest = run(pg, odbc_store, flow=flow, unit=500, **opts)
        everything = run(pg, odbc_store, flow=flow + "_rows", columnar=False, **opts)
        assert first.columnar and rest.columnar and len(first.rows) == 6_000
        assert list(first.rows[0]) == (opts.get("columns") or list(everything.rows[0]))
        assert typed(first.rows + rest.rows) == typed(everything.rows)
        assert odbc_store.get_watermark("odbc_test", flow) == odbc_store.get_watermark("odbc_test", flow + "_rows")


def test_a_connection_killed_mid_read_is_reopened_and_the_arrow_read_resumes_exactly(pg, odbc_store, caplog):
    # the next block is being fetched on arrow-odbc's own thread (fetch_concurrently) when the
    # server ends the session: the error still says "connection dropped", the read reconnects
    # and goes on after the last row handed out
    table = make_table(pg)
    killed: list[int] = []

    def kill_once(rows: int) -> None:
        if rows >= 6_000 and not killed:
            killed.append(pg.kill_readers())

    opts = {"table": table, "cursor": ["changed", "id"], "reconnect_backoff": 0.05}
    got = run(pg, odbc_store, flow="killed", unit=500, on_unit=kill_once, **opts)
    want = run(pg, odbc_store, flow="rows", columnar=False, **opts)
    assert killed and killed[0] >= 1
    assert "connection dropped" in caplog.text and "reconnecting in" in caplog.text
    assert got.columnar and typed(got.rows) == typed(want.rows)  # nothing lost, nothing twice
    assert odbc_store.get_watermark("odbc_test", "killed") == odbc_store.get_watermark("odbc_test", "rows")


def test_lookback_and_diff_read_row_by_row(pg, odbc_store):
    table = make_table(pg, 3000)
    looked = run(pg, odbc_store, flow="lb", table=table, cursor=["changed", "id"], lookback="5m")
    diffed = run(pg, odbc_store, flow="diff", table=table, mode="diff")
    assert not looked.columnar and not diffed.columnar
    assert len(looked.rows) == len(diffed.rows) == 3000


def test_columns_arrow_cannot_reproduce_keep_the_flow_on_the_row_reader(pg, odbc_store):
    table = f"o_{uuid.uuid4().hex[:8]}"
    pg.execute(f'CREATE TABLE "{table}" ("id" INTEGER PRIMARY KEY, "any_scale" NUMERIC, "blob" BYTEA, '
               '"wide" NUMERIC(50,2))')
    pg.execute(f'INSERT INTO "{table}" VALUES (1, 1.5, NULL, 1.25), (2, 123456789012345678901234567890.123456789, '
               "'\\x0102', NULL)")
    for column in ("any_scale", "blob", "wide"):
        got = run(pg, odbc_store, flow=column, table=table, columns=["id", column], mode="full", key=["id"])
        assert not got.columnar
        want = run(pg, odbc_store, flow=column + "_rows", table=table, columns=["id", column], mode="full",
                   key=["id"], columnar=False)
        assert typed(got.rows) == typed(want.rows)
    assert str(run(pg, odbc_store, flow="s", table=table, mode="full", key=["id"]).rows[0]["any_scale"]) == "1.5"


def test_a_value_longer_than_the_declared_size_hands_over_to_the_row_reader_in_place(pg, odbc_store):
    table = make_table(pg)
    pg.execute(f'UPDATE "{table}" SET "name" = repeat(?, 20000) WHERE "id" = 15000', ["ä"])
    opts = {"table": table, "cursor": ["changed", "id"]}
    got = run(pg, odbc_store, flow="mixed", **opts)
    want = run(pg, odbc_store, flow="rows", columnar=False, **opts)
    assert got.batches[0].cut is not None and got.batches[-1].cut is None  # Arrow first, rows from the long value on
    assert typed(got.rows) == typed(want.rows)
    assert [len(r["name"]) for r in got.rows if r["id"] == 15000] == [20000]
    assert odbc_store.get_watermark("odbc_test", "mixed") == odbc_store.get_watermark("odbc_test", "rows")


def test_a_value_longer_than_the_text_cap_but_within_the_declared_size_stays_on_the_arrow_path(pg, odbc_store):
    # TEXT is declared 8190 wide; the first try binds TEXT_CAP bytes, and a longer value (here 3,000
    # two-byte characters, 6,000 bytes) makes the read start again with the declared sizes, by Arrow
    table = make_table(pg)
    long_name = "ä" * 3000
    assert TEXT_CAP < len(long_name.encode()) < 8190
    pg.execute(f'UPDATE "{table}" SET "name" = ? WHERE "id" = 15000', [long_name])
    opts = {"table": table, "cursor": ["changed", "id"]}
    got = run(pg, odbc_store, flow="capped", **opts)
    want = run(pg, odbc_store, flow="rows", columnar=False, **opts)
    assert got.columnar  # every batch came by Arrow, none by the row reader
    assert typed(got.rows) == typed(want.rows)
    assert sorted(r["id"] for r in got.rows) == list(range(1, N + 1))  # nothing read twice, nothing skipped
    assert [r["name"] for r in got.rows if r["id"] == 15000] == [long_name]
    assert odbc_store.get_watermark("odbc_test", "capped") == odbc_store.get_watermark("odbc_test", "rows")


def packed_columns(db: OdbcDatabase, **source: Any) -> list[str] | None:
    """The columns the Arrow read of ``source`` (table or query) packs into one value per row (None: none)."""
    spec = OdbcSpec.model_validate({"kind": "odbc", "connection": db.connection, "mode": "full", "key": ["id"],
                                    **source})
    reader = Reader(spec, {"job": "t", "flow": "t", "table": spec.origin})
    try:
        described = odbc_arrow._describe(reader, [])
        refs = plain_refs(reader.open().dialect, [name for name, *_ in described])
        packing = odbc_arrow._packing(reader, described, refs)
        return None if packing is None else [packing.names[j] for j in packing.packed]
    finally:
        reader.close()


UNPACKED = "reading on with the text columns unpacked"


def test_text_varchar_and_char_columns_travel_packed_and_come_back_exactly(pg, odbc_store, caplog):
    # one value per row through the driver instead of one per column; NULL and '' stay apart, CHAR
    # keeps its padding until trim_char, and other types (JSON here) are fetched as columns
    table = make_table(pg)
    pg.execute(f'ALTER TABLE "{table}" ADD COLUMN "doc" JSON, ADD COLUMN "note" TEXT')
    pg.execute(f"""UPDATE "{table}" SET "doc" = json_build_object('i', "id"),
                   "note" = CASE "id" % 3 WHEN 0 THEN '' WHEN 1 THEN NULL ELSE 'a;b|c"d' END""")
    # trailing blanks of TEXT go too with trim_char (spaces only, as str.rstrip(" ") trims them), after
    # multi-byte characters as after ASCII ones
    pg.execute(f"""UPDATE "{table}" SET "note" = CASE "id" WHEN 6 THEN '  x 	 ' WHEN 9 THEN 'Zoë 日本  '
                   ELSE '   ' END WHERE "id" IN (6, 9, 12)""")
    assert packed_columns(pg, table=table) == ["name", "vc", "code", "note"]
    caplog.set_level(logging.DEBUG, "tests.odbc")
    for trim in (True, False):
        opts = {"table": table, "mode": "full", "key": ["id"], "trim_char": trim}
        arrow = run(pg, odbc_store, flow=f"arrow{trim}", **opts)
        rows = run(pg, odbc_store, flow=f"rows{trim}", columnar=False, **opts)
        assert arrow.columnar and typed(arrow.rows) == typed(rows.rows)
        assert [r["note"] for r in arrow.rows[:3]] == [None, 'a;b|c"d', ""]
        assert arrow.rows[4]["code"] == ("C5" if trim else "C5    ") and arrow.rows[16]["code"] is None
        assert [arrow.rows[i]["note"] for i in (5, 8, 11)] == (["  x \t", "Zoë 日本", ""] if trim
                                                              else ["  x \t ", "Zoë 日本  ", "   "])
    assert UNPACKED not in caplog.text


def test_more_text_columns_than_one_bigint_flags_and_names_with_spaces_come_back_exactly(pg, odbc_store):
    # 70 text columns: the first 62 are packed (their NULL flags fill one BIGINT), the rest fetched
    # as columns of their own; a name with an inner space is quoted like any other
    table = f"w_{uuid.uuid4().hex[:8]}"
    names = [f"Col {i}" for i in range(70)]
    pg.execute(f'CREATE TABLE "{table}" ("id" INTEGER PRIMARY KEY, ' + ", ".join(f'"{n}" TEXT' for n in names) + ")")
    values = ", ".join(f"CASE WHEN (i + {k}) % 7 = 0 THEN NULL ELSE 'v{k}-' || i END" for k in range(70))
    pg.execute(f'INSERT INTO "{table}" SELECT i, {values} FROM generate_series(1, 3000) AS i')
    packed = packed_columns(pg, table=table)
    assert packed == names[:odbc_arrow.MAX_PACKED]
    opts = {"table": table, "mode": "full", "key": ["id"]}
    arrow = run(pg, odbc_store, flow="wide", **opts)
    rows = run(pg, odbc_store, flow="wide_rows", columnar=False, **opts)
    assert arrow.columnar and typed(arrow.rows) == typed(rows.rows)
    assert arrow.rows[5]["Col 1"] is None and arrow.rows[5]["Col 69"] == "v69-6"  # (6 + 1) % 7 == 0


def test_a_query_source_is_packed_too_and_its_computed_text_comes_back_exactly(pg, odbc_store):
    table = make_table(pg)
    query = (f'SELECT "id", "changed", "name", upper("vc") AS "VC", "code", '
             f'"name" || \'/\' || "vc" AS "both", "amount" FROM "{table}"')
    assert packed_columns(pg, query=query) == ["name", "VC", "code", "both"]
    opts = {"query": query, "cursor": ["changed", "id"]}
    arrow = run(pg, odbc_store, flow="q", **opts)
    rows = run(pg, odbc_store, flow="q_rows", columnar=False, **opts)
    assert arrow.columnar and typed(arrow.rows) == typed(rows.rows) and len(arrow.rows) == N


def test_a_query_column_whose_name_is_no_plain_identifier_stays_on_the_arrow_path_unpacked(pg, odbc_store):
    # "v-c" cannot be quoted as a name: it is no cursor column and the statement keeps lb_src.*
    table = make_table(pg, 3000)
    query = f'SELECT "id", "changed", "name", "vc" AS "v-c", "code" FROM "{table}"'
    opts = {"query": query, "cursor": ["changed", "id"]}
    assert packed_columns(pg, query=query) is None
    arrow = run(pg, odbc_store, flow="odd", **opts)
    rows = run(pg, odbc_store, flow="odd_rows", columnar=False, **opts)
    assert arrow.columnar and typed(arrow.rows) == typed(rows.rows) and len(arrow.rows) == 3000
    assert odbc_store.get_watermark("odbc_test", "odd") == odbc_store.get_watermark("odbc_test", "odd_rows")


def test_a_value_holding_the_packing_separator_reads_on_unpacked_from_there(pg, odbc_store, caplog):
    table = make_table(pg)
    odd = "a\x1fb"
    pg.execute(f'UPDATE "{table}" SET "vc" = ? WHERE "id" = 12000', [odd])
    caplog.set_level(logging.DEBUG, "tests.odbc")
    opts = {"table": table, "cursor": ["changed", "id"]}
    got = run(pg, odbc_store, flow="sep", **opts)
    want = run(pg, odbc_store, flow="rows", columnar=False, **opts)
    assert UNPACKED in caplog.text and got.columnar  # still by Arrow, the columns fetched one by one
    assert typed(got.rows) == typed(want.rows)
    assert sorted(r["id"] for r in got.rows) == list(range(1, N + 1))  # nothing read twice, nothing skipped
    assert [r["vc"] for r in got.rows if r["id"] == 12000] == [odd]
    assert odbc_store.get_watermark("odbc_test", "sep") == odbc_store.get_watermark("odbc_test", "rows")


def test_a_packed_row_wider_than_its_cap_reads_on_unpacked_at_the_text_cap(pg, odbc_store, caplog):
    # nine 500-byte values: each fits TEXT_CAP, together they pass PACK_CAP
    table = make_table(pg)
    extra = [f"t{i}" for i in range(9)]
    pg.execute(f'ALTER TABLE "{table}" ' + ", ".join(f'ADD COLUMN "{c}" TEXT' for c in extra))
    pg.execute(f'UPDATE "{table}" SET ' + ", ".join(f"\"{c}\" = repeat('{i}', 500)" for i, c in enumerate(extra))
               + ' WHERE "id" = 9000')
    assert TEXT_CAP > 500 and PACK_CAP < 9 * 500
    caplog.set_level(logging.DEBUG, "tests.odbc")
    opts = {"table": table, "cursor": ["changed", "id"]}
    got = run(pg, odbc_store, flow="wide", **opts)
    want = run(pg, odbc_store, flow="rows", columnar=False, **opts)
    assert UNPACKED in caplog.text and "declared column sizes" not in caplog.text and got.columnar
    assert typed(got.rows) == typed(want.rows)
    assert [r["t8"] for r in got.rows if r["id"] == 9000] == ["8" * 500]


def test_other_drivers_read_row_by_row(odbc_db, odbc_store):
    if odbc_db.kind == "postgres":
        pytest.skip("psqlODBC reads by Arrow (the tests above)")
    got = run(odbc_db, odbc_store, table="Orders", cursor=["OrderDate", "OrderID"], unit=100)
    assert not got.columnar and len(got.rows) == 830
