"""When the runner maps Arrow blocks (``ctx.columnar``), records the row reader reads come in
blocks of ROW_BLOCK with cut checkpoints, as Arrow text columns where every record has the
same fields; a reject closes a block and travels alone.  The records, their positions, the
rejects and where the ledger ends are exactly those of target-sized batches."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from legacy_bridge.formats import xml_spool
from legacy_bridge.records import Batch
from legacy_bridge.sources.files import ROW_BLOCK
from legacy_bridge.state import open_store
from legacy_bridge.state.base import StateStore
from tests.integration.files.helpers import make_ctx, make_source, run


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    s = open_store(str(tmp_path / "state.db"))
    yield s
    s.close()


def flat(batches: list[Batch]) -> tuple[list[Any], list[Any]]:
    records = [(b.where(i), dict(r)) for b in batches for i, r in enumerate(b.rows)]
    rejects = [(r.position, r.reason) for b in batches for r in b.rejects]
    return records, rejects


def both(tmp_path: Path, store: StateStore, fmt: dict[str, Any], **spec: Any) -> tuple[list[Batch], list[Batch]]:
    out = []
    drop = {f: f.read_bytes() for f in (tmp_path / "drop").iterdir()}  # a broken file is quarantined by a run
    for flow, columnar in (("narrow", False), ("wide", True)):
        for f, data in drop.items():
            f.write_bytes(data)
        ctx = make_ctx(store, tmp_path, batch_size=100, job=flow, flow=flow)
        ctx.columnar = columnar
        out.append(run(make_source(tmp_path, format=fmt, after={"success": "leave"}, **spec), ctx))
    return out[0], out[1]


def test_quoted_csv_with_a_ragged_record_comes_in_blocks_and_a_lone_reject(tmp_path: Path, store: StateStore) -> None:
    (tmp_path / "drop").mkdir()
    lines = ["ID;NAME"] + [f'{i};"Name {i}"' for i in range(12_000)]  # quotes: read row by row
    lines[7_001] = "7000;short;extra;fields"
    (tmp_path / "drop" / "c.csv").write_text("\n".join(lines) + "\n")
    narrow, wide = both(tmp_path, store, {"kind": "csv", "delimiter": ";"})
    assert flat(wide) == flat(narrow) and len(flat(wide)[0]) == 11_999
    assert flat(wide)[1] == [("line 7002", "record has 4 fields, the header has 2")]
    blocks = [b for b in wide if b.cut is not None]
    assert [len(b.rows) for b in blocks] == [ROW_BLOCK, 2_000, 11_999 - ROW_BLOCK - 2_000]
    assert all(b.table is not None and b.table.schema.names == ["ID", "NAME"] for b in blocks)
    lone = next(b for b in wide if b.rejects)
    assert not lone.rows and lone.checkpoint.file is not None and lone.checkpoint.file.records_done == 7_001
    for b in blocks:  # cut(n) is the ledger position after the block's first n records
        assert b.cut is not None and b.checkpoint == b.cut(len(b.rows))
    done = [(b.checkpoint.file.records_done, b.checkpoint.file.finished) for b in (wide[-1], narrow[-1]) if b.checkpoint.file]
    assert done[0] == done[1]  # both end the file at the same place
    assert store.list_files("wide", "wide")[0].status == "done"


def _one_odd_xml(tmp_path: Path, store: StateStore, record: Callable[[int], str], at: int, odd: str) -> list[Batch]:
    """7,000 records ``record(i)``, the one at ``at`` replaced by ``odd``: read row by row and in
    blocks, the same records both ways; the blocks of the block read."""
    (tmp_path / "drop").mkdir()
    records = [record(i) for i in range(7_000)]
    records[at] = odd
    (tmp_path / "drop" / "c.xml").write_text("<Root>" + "".join(records) + "</Root>", encoding="utf-8")
    narrow, wide = both(tmp_path, store, {"kind": "xml", "record": "C"}, pattern=["*.xml"])
    assert flat(wide) == flat(narrow) and len(flat(wide)[0]) == 7_000
    return [b for b in wide if b.cut is not None]


def test_xml_records_with_differing_fields_stay_rows(tmp_path: Path, store: StateStore) -> None:
    """The spool (formats/xml_spool) keeps a lone record of another shape as a row: the tables end
    before it, and the rows from it on come in row blocks, a table where their fields agree."""
    blocks = _one_odd_xml(tmp_path, store, lambda i: f"<C><ID>{i}</ID><NAME>Zoë {i}</NAME></C>",
                          6_500, "<C><ID>6500</ID><NAME>x</NAME><EXTRA>y</EXTRA></C>")
    full, rest = divmod(6_500, xml_spool.BLOCK)  # the spool's tables up to the odd record
    tables = [(xml_spool.BLOCK, True)] * full + ([(rest, True)] if rest else [])
    assert [(len(b.rows), b.table is not None) for b in blocks] == [*tables, (500, False)]
    assert blocks[-1].rows[0] == {"ID": "6500", "NAME": "x", "EXTRA": "y"}


def test_xml_records_with_the_same_fields_in_another_order_stay_rows(tmp_path: Path, store: StateStore) -> None:
    """Columns are taken position by position, so a block is a table only when every record has
    its fields in the same order; the odd one keeps its block as rows, read the same."""
    blocks = _one_odd_xml(tmp_path, store, lambda i: f'<C id="{i}"><ID>{i}</ID><NAME>Zoë {i}</NAME><CITY/></C>',
                          1_234, '<C id="1234"><NAME>n</NAME><ID>1234</ID><CITY/></C>')
    assert [(len(b.rows), b.table is not None) for b in blocks] == [(1_234, True), (5_000, False), (766, True)]
    assert blocks[1].rows[0] == {"@id": "1234", "NAME": "n", "ID": "1234", "CITY": None}
    table = blocks[2].table
    assert table is not None and table.schema.names == ["@id", "ID", "NAME", "CITY"]
    assert table.to_pylist() == [dict(r) for r in blocks[2].rows]
    assert table.to_pylist()[0] == {"@id": "6234", "ID": "6234", "NAME": "Zoë 6234", "CITY": None}


def test_a_truncated_file_sent_in_part_ends_on_its_reject(tmp_path: Path, store: StateStore) -> None:
    (tmp_path / "drop").mkdir()
    (tmp_path / "drop" / "c.csv").write_text("ID;NAME\n" + "".join(f'{i};"n{i}"\n' for i in range(6_000)) + '6000;"cut')
    narrow, wide = both(tmp_path, store, {"kind": "csv", "delimiter": ";"}, partial="send_valid")
    assert flat(wide) == flat(narrow) and len(flat(wide)[0]) == 6_000
    assert "the rest of the file was not sent" in flat(wide)[1][-1][1]
    assert [(b.checkpoint.file.records_done, b.checkpoint.file.finished) for b in (wide[-1], narrow[-1]) if b.checkpoint.file] == [(6_000, True)] * 2
    assert [b.checkpoint.file.finished for b in wide if b.checkpoint.file] == [False, False, True]


def test_the_xml_spool_is_freed_after_a_file_is_sent_or_quarantined(tmp_path: Path, store: StateStore) -> None:
    """A drop read whole, and one quarantined because it breaks half way: neither keeps its spool."""
    (tmp_path / "drop").mkdir()
    records = "".join(f"<C><ID>{i}</ID></C>" for i in range(6_000))
    (tmp_path / "drop" / "a.xml").write_text(f"<R>{records}</R>")
    (tmp_path / "drop" / "b.xml").write_text(f"<R>{records}<C><ID>cut")
    source = make_source(tmp_path, format={"kind": "xml", "record": "C"}, pattern=["*.xml"], order="name",
                         after={"success": "leave", "failure": "quarantine", "quarantine_to": "bad"})
    seen = []
    for name in ("a.xml", "b.xml"):
        ctx = make_ctx(store, tmp_path, batch_size=100, job=name, flow=name)
        ctx.columnar = True
        for f in (tmp_path / "drop").glob("*.xml"):
            if f.name != name:
                f.rename(f.with_suffix(".xml.hold"))
        got = list(source.batches(ctx))  # (not run(): it closes the source, which frees the spool too)
        seen.append((sum(len(b.rows) for b in got), source.format._spool))  # type: ignore[attr-defined]
        for f in (tmp_path / "drop").glob("*.hold"):
            f.rename(f.with_suffix(""))
    assert seen == [(6_000, None), (0, None)]
    assert (tmp_path / "drop" / "bad" / "b.xml").exists()


def test_csv_read_by_pyarrow_comes_in_blocks_of_whole_batches(tmp_path: Path, store: StateStore) -> None:
    """pyarrow cuts a CSV into blocks by bytes (512 KB), so a block would end with a short batch; the
    source moves each block's tail to the head of the next: every block but the last holds whole
    batches of 100, and the records, their lines and the ledger are those of the row path."""
    (tmp_path / "drop").mkdir()
    lines = ["ID;NAME;CITY"] + [f"{i};Zoë Name {i:07d} {'x' * (i % 37)};Münster" for i in range(30_000)]
    (tmp_path / "drop" / "c.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")  # ~1.9 MB: 4 blocks
    narrow, wide = both(tmp_path, store, {"kind": "csv", "delimiter": ";"})
    assert flat(wide) == flat(narrow) and len(flat(wide)[0]) == 30_000
    blocks = [b for b in wide if b.cut is not None]
    sizes = [len(b.rows) for b in blocks]
    assert len(blocks) >= 3 and sum(sizes) == 30_000
    assert all(n % 100 == 0 for n in sizes[:-1]), sizes
    assert [b.positions[0] for b in blocks] == [2 + sum(sizes[:i]) for i in range(len(sizes))]  # line numbers run on
    for b in blocks:
        assert b.cut is not None and b.checkpoint == b.cut(len(b.rows))
        assert b.table is not None and b.table.num_rows == len(b.rows)
    assert wide[-1].checkpoint.file is not None and wide[-1].checkpoint.file.records_done == 30_000
