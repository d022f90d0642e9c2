"""The files source over a local folder with the real SQLite state store."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from legacy_bridge.state import open_store
from legacy_bridge.state.base import StateStore
from tests.integration.files.helpers import make_ctx, make_source, rows_of, run

ORDERS = "ORDER_NO;CUSTOMER;NOTE\r\n1;Müller;plain\r\n2;Dupont;\"two\r\nlines\"\r\n3;Smith;x\r\n4;Lee;y\r\n5;Ng;z\r\n"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    s = open_store(str(tmp_path / "state.db"))
    yield s
    s.close()


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    folder = tmp_path / "drop"
    folder.mkdir()
    return folder


def write(path: Path, text: str, encoding: str = "utf-8", mtime: float | None = None) -> Path:
    path.write_bytes(text.encode(encoding))
    stamp = mtime if mtime is not None else time.time() - 3600
    os.utime(path, (stamp, stamp))
    return path


CSV = {"kind": "csv", "delimiter": ";", "encoding": "cp1252"}


def test_a_drop_is_delivered_in_batches_with_line_numbers_and_archived(tmp_path: Path, drop: Path,
                                                                       store: StateStore) -> None:
    write(drop / "ORDERS_1.csv", ORDERS, "cp1252")
    source = make_source(tmp_path, format=CSV, after={"success": "archive", "archive_to": "archive"})
    batches = run(source, make_ctx(store, tmp_path, batch_size=2))

    assert [len(b.rows) for b in batches] == [2, 2, 1]
    assert [r["ORDER_NO"] for r in rows_of(batches)] == ["1", "2", "3", "4", "5"]
    assert rows_of(batches)[0]["CUSTOMER"] == "Müller"
    assert rows_of(batches)[1]["NOTE"] == "two\r\nlines"
    assert [p for b in batches for p in b.positions] == [2, 3, 5, 6, 7]  # the quoted field spans lines 3-4
    assert {b.origin for b in batches} == {"ORDERS_1.csv"}
    assert [b.checkpoint.file.records_done for b in batches if b.checkpoint.file] == [2, 4, 5]
    assert [b.checkpoint.file.finished for b in batches if b.checkpoint.file] == [False, False, True]
    assert not (drop / "ORDERS_1.csv").exists() and (drop / "archive" / "ORDERS_1.csv").exists()
    [entry] = store.list_files("job", "flow")
    assert (entry.status, entry.records_done, entry.records_total) == ("done", 5, 5)


def test_a_delivered_file_is_not_sent_again_but_new_content_under_the_same_name_is(
        tmp_path: Path, drop: Path, store: StateStore) -> None:
    write(drop / "ORDERS.csv", ORDERS, "cp1252")
    source = make_source(tmp_path, format=CSV)
    assert len(rows_of(run(source, make_ctx(store, tmp_path)))) == 5
    assert rows_of(run(make_source(tmp_path, format=CSV), make_ctx(store, tmp_path))) == []

    os.utime(drop / "ORDERS.csv")  # touched, same bytes: recognised by its SHA-256
    assert rows_of(run(make_source(tmp_path, format=CSV), make_ctx(store, tmp_path))) == []

    write(drop / "ORDERS.csv", "ORDER_NO;CUSTOMER;NOTE\r\n6;New;n\r\n", "cp1252")
    again = rows_of(run(make_source(tmp_path, format=CSV), make_ctx(store, tmp_path)))
    assert [r["ORDER_NO"] for r in again] == ["6"]
    assert len(store.list_files("job", "flow")) == 2


def test_a_crash_in_the_middle_resumes_at_the_first_unacknowledged_batch(tmp_path: Path, drop: Path,
                                                                           store: StateStore) -> None:
    write(drop / "ORDERS.csv", ORDERS, "cp1252")
    first = run(make_source(tmp_path, format=CSV), make_ctx(store, tmp_path, 2), commit_limit=1)
    assert [r["ORDER_NO"] for r in first[0].rows] == ["1", "2"]
    [entry] = store.list_files("job", "flow")
    assert (entry.status, entry.records_done) == ("in_progress", 2)

    rest = run(make_source(tmp_path, format=CSV), make_ctx(store, tmp_path, 2))
    assert [r["ORDER_NO"] for r in rows_of(rest)] == ["3", "4", "5"]
    assert [p for b in rest for p in b.positions] == [5, 6, 7]
    assert store.list_files("job", "flow")[0].status == "done"


def test_unreadable_rows_become_rejects_with_file_and_line_and_count_as_records(
        tmp_path: Path, drop: Path, store: StateStore) -> None:
    (drop / "bad.csv").write_bytes(b"a;b\r\n1;2\r\n3;4;5\r\n6;\x007\r\n8;\xff\xfe\r\n9;10\r\n")
    batches = run(make_source(tmp_path, format={"kind": "csv", "delimiter": ";"}), make_ctx(store, tmp_path, 10))
    assert [r["a"] for r in rows_of(batches)] == ["1", "9"]
    rejects = [(r.origin, r.position, r.stage) for b in batches for r in b.rejects]
    assert rejects == [("bad.csv", "line 3", "source"), ("bad.csv", "line 4", "source"), ("bad.csv", "line 5", "source")]
    reasons = [r.reason for b in batches for r in b.rejects]
    assert "3 fields" in reasons[0] and "NUL" in reasons[1] and "utf-8" in reasons[2]
    assert batches[-1].checkpoint.file is not None and batches[-1].checkpoint.file.records_done == 5


def test_a_corrupt_file_is_quarantined_with_its_reason_and_the_others_go_on(tmp_path: Path, drop: Path,
                                                                             store: StateStore) -> None:
    write(drop / "a_broken.xml", "<orders><order><id>1</id></order><order><id>2</id>", mtime=time.time() - 7200)
    write(drop / "b_good.xml", "<orders><order><id>3</id></order></orders>")
    source = make_source(tmp_path, pattern="*.xml", format={"kind": "xml", "record": "order"},
                         after={"failure": "quarantine", "quarantine_to": "failed"})
    batches = run(source, make_ctx(store, tmp_path))
    assert rows_of(batches) == [{"id": "3"}]
    assert (drop / "failed" / "a_broken.xml").exists()
    reason = (drop / "failed" / "a_broken.xml.reason.txt").read_text()
    assert "a_broken.xml" in reason and "not well-formed" in reason
    statuses = {e.name: (e.status, e.reason) for e in store.list_files("job", "flow")}
    assert statuses["failed/a_broken.xml"][0] == "quarantined"
    assert statuses["b_good.xml"][0] == "done"


def test_send_valid_sends_the_records_before_the_damage_then_quarantines(tmp_path: Path, drop: Path,
                                                                         store: StateStore) -> None:
    write(drop / "cut.xml", "<orders><order><id>1</id></order><order><id>2</id></order><order><id>")
    source = make_source(tmp_path, pattern="*.xml", format={"kind": "xml", "record": "order"}, partial="send_valid")
    batches = run(source, make_ctx(store, tmp_path, 10))
    assert rows_of(batches) == [{"id": "1"}, {"id": "2"}]
    assert "rest of the file was not sent" in batches[-1].rejects[0].reason
    assert (drop / "quarantine" / "cut.xml").exists()
    assert store.list_files("job", "flow")[0].status == "quarantined"


def test_a_header_only_file_is_marked_done_with_one_empty_batch(tmp_path: Path, drop: Path,
                                                                store: StateStore) -> None:
    write(drop / "empty.csv", "ORDER_NO;CUSTOMER\r\n")
    batches = run(make_source(tmp_path, format=CSV, after={"success": "delete"}), make_ctx(store, tmp_path))
    assert len(batches) == 1 and batches[0].rows == []
    assert batches[0].checkpoint.file is not None and batches[0].checkpoint.file.finished
    assert store.list_files("job", "flow")[0].status == "done"
    assert not (drop / "empty.csv").exists()


def test_done_markers_gate_files_and_are_consumed(tmp_path: Path, drop: Path, store: StateStore) -> None:
    write(drop / "A.csv", "x\r\n1\r\n")
    write(drop / "B.csv", "x\r\n2\r\n")
    write(drop / "B.ok", "")
    source = make_source(tmp_path, ready={"done_marker": "{stem}.ok"})
    assert rows_of(run(source, make_ctx(store, tmp_path))) == [{"x": "2"}]
    assert not (drop / "B.ok").exists() and (drop / "A.csv").exists()


def test_temporary_names_are_ignored(tmp_path: Path, drop: Path, store: StateStore) -> None:
    for name in ("x.csv.tmp", "x.part", "~lock.csv", ".hidden.csv", "real.csv"):
        write(drop / name, "x\r\n1\r\n")
    batches = run(make_source(tmp_path), make_ctx(store, tmp_path))
    assert {b.origin for b in batches} == {"real.csv"}


def test_a_file_still_growing_is_left_for_the_next_run(tmp_path: Path, drop: Path, store: StateStore) -> None:
    growing = write(drop / "growing.csv", "x\r\n1\r\n", mtime=time.time())
    write(drop / "still.csv", "x\r\n2\r\n")

    def append() -> None:
        time.sleep(0.2)
        with open(growing, "a") as f:
            f.write("3\r\n")

    writer = threading.Thread(target=append)
    writer.start()
    batches = run(make_source(tmp_path, ready={"min_age": "1s"}), make_ctx(store, tmp_path))
    writer.join()
    assert {b.origin for b in batches} == {"still.csv"}
    later = run(make_source(tmp_path, ready={"min_age": "0.2s"}), make_ctx(store, tmp_path))
    assert rows_of(later) == [{"x": "1"}, {"x": "3"}]


def test_files_are_taken_oldest_first(tmp_path: Path, drop: Path, store: StateStore) -> None:
    write(drop / "b.csv", "x\r\nb\r\n", mtime=time.time() - 500)
    write(drop / "a.csv", "x\r\na\r\n", mtime=time.time() - 100)
    write(drop / "c.csv", "x\r\nc\r\n", mtime=time.time() - 900)
    assert [b.origin for b in run(make_source(tmp_path), make_ctx(store, tmp_path))] == ["c.csv", "b.csv", "a.csv"]


def test_excel_batches_name_the_sheet_and_use_row_numbers(tmp_path: Path, drop: Path, store: StateStore) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Prices"
    ws.append(["SKU", "PRICE"])
    ws.append(["A1", 9.5])
    ws.append([])
    ws.append(["B2", 3])
    wb.save(drop / "prices.xlsx")
    batches = run(make_source(tmp_path, format={"kind": "excel"}), make_ctx(store, tmp_path, 10))
    assert rows_of(batches) == [{"SKU": "A1", "PRICE": 9.5}, {"SKU": "B2", "PRICE": 3}]
    assert batches[0].origin == "prices.xlsx[Prices]" and batches[0].positions == [2, 4]
    assert batches[0].where(1) == "row 4"
