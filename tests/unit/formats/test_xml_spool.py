"""XML read once: after ``check``, ``blocks`` and ``rows`` read the spool (formats/xml_spool), and
they give exactly what a plain parse gives (``rows`` on a format that never checked the file):
on the real-world XML files, on records of changing shapes, nested ones and rejects, on texts
padded with every kind of Unicode space, from any start, and for a file broken half way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from legacy_bridge.errors import PartialFileError, RowError
from legacy_bridge.formats import xml_spool
from legacy_bridge.formats.xml import XmlFormat, XmlSpec
from tests.unit.formats.test_realworld_files import CASES, REAL
from tests.unit.formats.test_xml_speed_shape import FLAT_DOC


def plain(path: Path, spec: XmlSpec, start: int = 0) -> list[tuple[int, Any]]:
    """What a parse gives: a format that never checked the file reads it."""
    return [_comparable(item) for item in XmlFormat(spec).rows(str(path), path.name, start)]


def _comparable(item: tuple[int, Any]) -> tuple[int, Any]:
    pos, row = item
    return (pos, ("error", row.message, row.where)) if isinstance(row, RowError) else (pos, row)


def spooled(path: Path, spec: XmlSpec, start: int = 0) -> tuple[int, list[tuple[int, Any]], list[Any]]:
    """(records counted, what blocks + rows give from ``start`` - as the files source reads them -, the tables)."""
    fmt = XmlFormat(spec)
    count = fmt.check(str(path), path.name).records
    out: list[tuple[int, Any]] = []
    tables = []
    index = start
    for positions, table in fmt.blocks(str(path), path.name, start):
        assert list(positions) == list(range(index + 1, index + 1 + table.num_rows))
        out += zip(positions, table.to_pylist(), strict=True)
        tables.append(table)
        index += table.num_rows
    out += [_comparable(item) for item in fmt.rows(str(path), path.name, index)]
    assert fmt._spool is None  # released once read
    return count, out, tables


XML_WITHOUT_FIELDS = sorted(n for n, (spec, exp) in CASES.items() if n.startswith("xml/") and not spec.get("fields")
                            and not isinstance(exp, tuple))


@pytest.mark.parametrize("name", XML_WITHOUT_FIELDS)
def test_the_spool_reads_the_real_world_files_as_a_parse_does(name: str) -> None:
    spec = XmlSpec.model_validate({k: v for k, v in CASES[name][0].items() if k != "kind"})
    count, got, _tables = spooled(REAL / name, spec)
    assert got == plain(REAL / name, spec) and count == len(got) > 0


def _shapes_doc(path: Path) -> None:
    """Runs of records in several shapes: long ones (tables), short ones, nested and entity records."""
    recs: list[str] = []
    recs += [f'<R id="{i}"><A> a{i} </A><B/><C>c</C></R>' for i in range(1_200)]  # a long run
    recs += ["<R><A>x</A><A>twice</A></R>", "<R><A><deep>1</deep></A></R>", "<R>&e;<A>1</A></R>",
             "<R><A>&e;</A></R>", "<R/>", '<R a="1" b="2"/>']
    recs += [f"<R><A>{i}</A>{'<B>b</B>' if i % 2 else ''}</R>" for i in range(700)]  # shapes alternate
    recs += [f'<R id="{i}"><A>{i}</A><B/><C>c</C></R>' for i in range(600)]  # another long run, other attributes
    recs += [f'<R id="{i}" k="v"><A>{i}</A><B/><C>c</C></R>' for i in range(30)]  # short, at the end
    path.write_text('<!DOCTYPE X [<!ENTITY e "E">]><X xmlns:n="urn:n">' + "\n".join(recs) + "</X>", encoding="utf-8")


def test_runs_of_one_shape_are_tables_and_the_rest_rows_read_the_same(tmp_path: Path) -> None:
    path = tmp_path / "shapes.xml"
    _shapes_doc(path)
    spec = XmlSpec(record="R")
    count, got, tables = spooled(path, spec)
    assert got == plain(path, spec) and count == len(got) == 2_536
    assert [t.num_rows for t in tables] == [1_200]  # then a row: rows() reads on (tables included)
    assert tables[0].schema.names == ["@id", "A", "B", "C"] and tables[0].to_pylist()[0] == {
        "@id": "0", "A": "a0", "B": None, "C": "c"}
    errors = [row for _pos, row in got if isinstance(row, tuple)]
    assert len(errors) == 2 and all("&e;" in e[1] and e[2]["file"] == "shapes.xml" for e in errors)


def test_the_spool_keeps_short_runs_as_rows(tmp_path: Path) -> None:
    """Entries in record order: tables for the long runs, rows in between (no table per record); a
    short run at the end is one block either way, a table unless rows come just before it."""
    path = tmp_path / "shapes.xml"
    _shapes_doc(path)
    fmt = XmlFormat(XmlSpec(record="R"))
    fmt.check(str(path), "shapes.xml")
    assert fmt._spool is not None
    kinds = [(first, "rows" if isinstance(p, list) else "table", len(p) if isinstance(p, list) else p.num_rows)
             for first, p in fmt._spool.entries()]
    assert kinds == [(0, "table", 1_200), (1_200, "rows", 706), (1_906, "table", 600), (2_506, "table", 30)]


@pytest.mark.parametrize("start", [0, 1, 1_199, 1_200, 1_203, 1_906, 2_000, 2_535, 2_536])
def test_reading_from_any_start_gives_what_a_parse_gives(tmp_path: Path, start: int) -> None:
    path = tmp_path / "shapes.xml"
    _shapes_doc(path)
    spec = XmlSpec(record="R")
    assert spooled(path, spec, start)[1] == plain(path, spec, start)


def test_the_nested_and_namespaced_records_read_as_a_parse_does(tmp_path: Path) -> None:
    path = tmp_path / "flat.xml"
    path.write_text(FLAT_DOC, encoding="utf-8")
    for record in ("Rec", "x:Rec", "/x:Export/x:Rec", "City"):
        spec = XmlSpec(record=record, namespaces={"x": "urn:x"})
        count, got, _ = spooled(path, spec)
        assert got == plain(path, spec) and count == len(got)


PY_SPACE = [c for c in map(chr, range(0x110000)) if c.isspace()]  # what str.strip() strips
SPACES = [c for c in PY_SPACE if c not in "\x0b\x0c\x1c\x1d\x1e\x1f"]  # (not allowed in XML 1.0)


def test_arrow_strips_exactly_what_python_strips() -> None:
    """The spool strips a block's texts with utf8_trim_whitespace, the row reader with str.strip()."""
    import pyarrow as pa
    import pyarrow.compute as pc

    every = [chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000]
    trimmed = pc.utf8_trim_whitespace(pa.array([f"x{c}" for c in every])).to_pylist()
    assert [c for c, t in zip(every, trimmed, strict=True) if t == "x"] == PY_SPACE


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.text(st.sampled_from([*SPACES, "a", "é", "字", " ", "&", "<"]), max_size=6),
                          st.booleans()), min_size=1, max_size=40))
def test_texts_are_stripped_as_python_strips_them(tmp_path: Path, values: list[tuple[str, bool]]) -> None:
    from xml.sax.saxutils import escape

    path = tmp_path / "ws.xml"
    cell = {"\r": "&#13;"}  # (a raw CR would be read as a line end)
    recs = [f"<R><T>{escape(v, cell)}</T><U>{'' if empty else 'u'}</U></R>" for v, empty in values]
    path.write_text("<X>" + "".join(recs) + "</X>", encoding="utf-8")
    spec = XmlSpec(record="R")
    count, got, tables = spooled(path, spec)
    assert got == plain(path, spec) and count == len(values)
    assert [row["T"] for _pos, row in got] == [v.strip() if v else None for v, _ in values]  # (<T/> has no text)
    assert sum(t.num_rows for t in tables) == len(values)  # one shape: all of it tables


def test_a_file_broken_half_way_keeps_its_records_before_the_break(tmp_path: Path) -> None:
    path = tmp_path / "cut.xml"
    path.write_text("<X>" + "".join(f"<R><A>{i}</A></R>" for i in range(7_000)) + "<R><A>cut")
    fmt = XmlFormat(XmlSpec(record="R"))
    with pytest.raises(PartialFileError) as caught:
        fmt.check(str(path), "cut.xml")
    assert caught.value.records_before == 7_000
    blocks = list(fmt.blocks(str(path), "cut.xml", 10))  # (partial = "send_valid" sends these)
    sizes = [min(xml_spool.BLOCK, 7_000 - first) for first in range(0, 7_000, xml_spool.BLOCK)]
    assert [len(p) for p, _ in blocks] == [sizes[0] - 10, *sizes[1:]]  # from record 10 to the break
    assert blocks[-1][1].to_pylist()[-1] == {"A": "6999"}


def test_a_changed_file_is_read_again_not_from_the_spool(tmp_path: Path) -> None:
    path = tmp_path / "f.xml"
    path.write_text("<X><R><A>1</A></R></X>")
    fmt = XmlFormat(XmlSpec(record="R"))
    assert fmt.check(str(path), "f.xml").records == 1
    path.write_text("<X><R><A>2</A></R><R><A>3</A></R></X>")
    assert list(fmt.blocks(str(path), "f.xml")) == []
    assert list(fmt.rows(str(path), "f.xml")) == [(1, {"A": "2"}), (2, {"A": "3"})]


def test_a_large_spool_moves_to_an_unnamed_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xml_spool, "IN_MEMORY", 64 * 1024)
    path = tmp_path / "big.xml"
    path.write_text("<X>" + "".join(f"<R><A>{i}</A><B>{'b' * 50}</B></R>" for i in range(12_000)) + "</X>")
    fmt = XmlFormat(XmlSpec(record="R"))
    fmt.check(str(path), "big.xml")
    assert fmt._spool is not None and getattr(fmt._spool.file, "_rolled", None) is True
    assert list(tmp_path.iterdir()) == [path]  # nothing named beside the drop
    got = [row for _, table in fmt.blocks(str(path), "big.xml") for row in table.to_pylist()]
    assert len(got) == 12_000 and got[11_999] == {"A": "11999", "B": "b" * 50}
    assert fmt._spool is None  # every record went out as a block: released
