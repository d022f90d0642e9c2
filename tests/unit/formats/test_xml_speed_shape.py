"""The fast XML paths read what the plain ones read: compiled field paths against lxml
``findall`` on every real-world XML file and on generated ERP exports, the tree-less
record count against the records actually read, and released records keeping the tree
small (what keeps memory flat).  No timings here: speed is scripts/bench_formats.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from legacy_bridge.errors import FormatError, RowError
from legacy_bridge.formats.xml import XmlFormat, XmlSpec
from tests.unit.formats.test_realworld_files import CASES, REAL

ERP = "urn:example:erp"


def reference_row(elem: Any, spec: XmlSpec) -> dict[str, Any]:
    """What a field path means, by lxml's own ElementPath (the slow, obvious way)."""
    def clark(step: str, wildcard: bool = True) -> str:
        if step in (".", "*", "..") or not step:
            return step
        if ":" in step:
            prefix, local = step.split(":", 1)
            uri = "http://www.w3.org/XML/1998/namespace" if prefix == "xml" else spec.namespaces[prefix]
            return f"{{{uri}}}{local}"
        return f"{{*}}{step}" if wildcard else step

    row: dict[str, Any] = {}
    for name, path in (spec.fields or {}).items():
        many = path.endswith("[]")
        elem_part, _, attr = path.removesuffix("[]").partition("@")
        steps = "/".join(clark(s) for s in elem_part.rstrip("/").split("/") if s)
        nodes = elem.findall(steps) if steps else [elem]
        if attr:
            values = [v for v in (n.get(clark(attr, wildcard=False)) for n in nodes) if v is not None]
        else:
            values = [("".join(n.itertext()).strip() if len(n) else (n.text.strip() if n.text is not None else None))
                      for n in nodes]
        row[name] = values if many else (values[0] if len(values) == 1 else (values or None))
    return row


def reference_rows(path: Path, spec: XmlSpec) -> list[dict[str, Any]]:
    fmt = XmlFormat(spec)
    ends = [e for _, e in etree.iterparse(str(path), events=("end",), resolve_entities=False, no_network=True,
                                          load_dtd=False, remove_comments=True)]  # the whole tree, kept
    return [reference_row(e, spec) for e in ends if isinstance(e.tag, str) and _is_record(fmt, e)]


def _is_record(fmt: XmlFormat, elem: Any) -> bool:
    return etree.QName(elem).localname == etree.QName(fmt._steps[-1].replace("{*}", "")).localname and (
        fmt._steps[-1].startswith("{*}") or elem.tag == fmt._steps[-1]) and fmt._matches(elem)


XML_WITH_FIELDS = sorted(n for n, (spec, exp) in CASES.items() if n.startswith("xml/") and spec.get("fields")
                         and not isinstance(exp, tuple))


@pytest.mark.parametrize("name", XML_WITH_FIELDS)
def test_compiled_fields_read_the_real_world_files_as_findall_does(name: str) -> None:
    spec = XmlSpec.model_validate(CASES[name][0])
    rows = [row for _, row in XmlFormat(spec).rows(str(REAL / name), name)]
    assert rows == reference_rows(REAL / name, spec)


ERP_DOC = f"""<?xml version="1.0"?>
<erp:Export xmlns:erp="{ERP}" xmlns:x="urn:x"><erp:Header><erp:Sender>ERP</erp:Sender></erp:Header>
 <erp:Batch no="1">
  <erp:Customer id="1" status="A"><erp:Name> Émilie Lefèvre </erp:Name>
   <erp:Address kind="bill"><erp:City code="75">Paris</erp:City><erp:Zip>75001</erp:Zip></erp:Address>
   <erp:Address kind="ship"><erp:City code="69">Lyon</erp:City></erp:Address>
   <erp:Phone>1</erp:Phone><erp:Phone>2</erp:Phone><x:Note>n<b>bold</b> tail</x:Note><!-- a comment -->
   <Name>unqualified</Name></erp:Customer>
  <erp:Customer id="2"><erp:Name/><erp:Archive><erp:Customer id="nested"/></erp:Archive></erp:Customer>
 </erp:Batch>
 <erp:Batch no="2"><erp:Customer id="3"><erp:Name>Jürgen</erp:Name><erp:Phone>9</erp:Phone></erp:Customer></erp:Batch>
</erp:Export>"""

ERP_FIELDS = {"id": "@id", "status": "@status", "name": "erp:Name", "any_name": "Name", "city": "erp:Address/erp:City",
              "city_code": "erp:Address/erp:City/@code", "kinds": "erp:Address/@kind", "zip": "erp:Address/erp:Zip[]",
              "phones": "erp:Phone[]", "note": "x:Note", "missing": "erp:Nope", "missing_list": "erp:Nope[]",
              "all_text": ".", "star": "erp:Address/*", "deep": ".//erp:City"}


@pytest.mark.parametrize("record", ["erp:Customer", "Customer", "erp:Batch/erp:Customer", "/erp:Export/erp:Batch/erp:Customer"])
def test_compiled_fields_match_findall_on_a_namespaced_export(tmp_path: Path, record: str) -> None:
    path = tmp_path / "erp.xml"
    path.write_text(ERP_DOC)
    spec = XmlSpec(record=record, namespaces={"erp": ERP, "x": "urn:x"}, fields=ERP_FIELDS)
    fmt = XmlFormat(spec)
    rows = [row for _, row in fmt.rows(str(path), "erp.xml")]
    assert rows == reference_rows(path, spec)
    assert fmt.check(str(path), "erp.xml").records == len(rows)
    first = rows[0]
    assert first["name"] == "Émilie Lefèvre" and first["any_name"] == ["Émilie Lefèvre", "unqualified"]
    assert first["city"] == ["Paris", "Lyon"] and first["city_code"] == ["75", "69"] and first["zip"] == ["75001"]
    assert first["phones"] == ["1", "2"] and first["note"] == "nbold tail" and first["missing_list"] == []


def test_the_count_follows_the_record_path(tmp_path: Path) -> None:
    path = tmp_path / "erp.xml"
    path.write_text(ERP_DOC)
    counts = {record: XmlFormat(XmlSpec(record=record, namespaces={"erp": ERP})).check(str(path), "e").records
              for record in ["erp:Customer", "erp:Batch/erp:Customer", "/erp:Export/erp:Batch/erp:Customer",
                             "/erp:Batch/erp:Customer", "Archive/Customer", "erp:Batch"]}
    assert counts == {"erp:Customer": 4, "erp:Batch/erp:Customer": 3, "/erp:Export/erp:Batch/erp:Customer": 3,
                      "/erp:Batch/erp:Customer": 0, "Archive/Customer": 1, "erp:Batch": 2}


def test_a_truncated_file_counts_the_records_before_the_break(tmp_path: Path) -> None:
    path = tmp_path / "cut.xml"
    path.write_text(ERP_DOC[: ERP_DOC.index('<erp:Customer id="3">') + 30])
    with pytest.raises(FormatError, match=r"cut\.xml is not well-formed XML after record 3") as caught:
        XmlFormat(XmlSpec(record="Customer")).check(str(path), "cut.xml")
    assert getattr(caught.value, "records_before", None) == 3


def test_consumed_records_are_released_at_every_level(tmp_path: Path) -> None:
    """Records spread over many parents (IDoc-like): the tree stays small while streaming."""
    path = tmp_path / "idocs.xml"
    with path.open("w") as f:
        f.write("<ORDERS05>")
        for i in range(20_000):
            f.write(f"<IDOC><EDI_DC40><DOCNUM>{i}</DOCNUM></EDI_DC40>")
            f.writelines(f"<E1EDP01><POSEX>{i}-{j}</POSEX><MENGE>1</MENGE></E1EDP01>" for j in range(3))
            f.write("</IDOC>")
        f.write("</ORDERS05>")
    fmt = XmlFormat(XmlSpec(record="IDOC/E1EDP01", fields={"pos": "POSEX"}))
    largest = 0
    for n, elem in enumerate(fmt._iter(str(path), "idocs.xml")):
        if n % 97 == 0:
            largest = max(largest, sum(1 for _ in elem.getroottree().iter()))
    assert n + 1 == 60_000 == fmt.check(str(path), "idocs.xml").records
    assert largest < 5_000, largest  # the parser's read-ahead only, not 220,000 elements
    assert [r for _, r in fmt.rows(str(path), "i", start=59_998)] == [{"pos": "19999-1"}, {"pos": "19999-2"}]


def test_an_entity_in_a_field_that_is_read_makes_a_reject_and_elsewhere_does_not(tmp_path: Path) -> None:
    path = tmp_path / "ent.xml"
    path.write_text('<!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]><r><rec id="1"><a>&e;</a><b>ok</b></rec></r>')
    read_a = list(XmlFormat(XmlSpec(record="rec", fields={"a": "a"})).rows(str(path), "ent.xml"))
    assert isinstance(read_a[0][1], RowError) and "&e;" in read_a[0][1].message
    assert list(XmlFormat(XmlSpec(record="rec", fields={"b": "b", "id": "@id"})).rows(str(path), "ent.xml")) == [
        (1, {"b": "ok", "id": "1"})]


FLAT_DOC = """<?xml version="1.0"?>
<!DOCTYPE x:Export [<!ENTITY co "ACME">]>
<x:Export xmlns:x="urn:x" xmlns:y="urn:y">
 <x:Rec id=" 1 " y:kind="A"><x:Name>  Zoë  </x:Name><y:Tel>1</y:Tel><Tel>2</Tel><y:Tel/>
  <!-- between --><?pi skip?><Empty/><Blank>   </Blank><Data><![CDATA[ <raw> ]]></Data>
  <x:Addr x:type="bill"><City>Lyon</City><Zip>69001</Zip><Zip>69002</Zip></x:Addr>
  <x:Addr><City/></x:Addr></x:Rec>
 <x:Rec id="2">&co;<Name>after</Name></x:Rec>
 <x:Rec id="3"><Addr><City>&co;</City></Addr></x:Rec>
 <x:Rec id="4"/>
</x:Export>"""


def test_a_record_without_fields_is_a_dict_of_its_children(tmp_path: Path) -> None:
    """Local names for namespaced tags and attributes, attributes first, repeated children as a list,
    children with children as dicts, stripped text, None for an empty element; an entity reference
    anywhere in the record (its own text included) makes it a reject naming the element holding it."""
    path = tmp_path / "flat.xml"
    path.write_text(FLAT_DOC, encoding="utf-8")
    rows = list(XmlFormat(XmlSpec(record="Rec")).rows(str(path), "flat.xml"))
    first = rows[0][1]
    assert first == {"@id": " 1 ", "@kind": "A", "Name": "Zoë", "Tel": ["1", "2", None], "Empty": None, "Blank": "",
                     "Data": "<raw>", "Addr": [{"@type": "bill", "City": "Lyon", "Zip": ["69001", "69002"]},
                                               {"City": None}]}
    assert isinstance(first, dict) and list(first) == ["@id", "@kind", "Name", "Tel", "Empty", "Blank", "Data", "Addr"]
    errors = [(i, r.message) for i, r in rows[1:3] if isinstance(r, RowError)]
    assert [(i, m.partition(" holds")[0]) for i, m in errors] == [(2, "cannot read record: <Rec>"),
                                                                  (3, "cannot read record: <City>")]
    assert all("&co;" in m for _, m in errors) and rows[3] == (4, {"@id": "4"})
    assert XmlFormat(XmlSpec(record="Rec")).check(str(path), "flat.xml").records == 4


@pytest.mark.parametrize("record", ["Rec", "x:Rec"])
def test_the_count_stays_right_past_the_tags_the_counter_remembers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   record: str) -> None:
    """The tag counter keeps the other tags it has seen (a C-level lookup) up to a bound; past it,
    the count is the same."""
    from legacy_bridge.formats import xml as xml_format

    path = tmp_path / "many.xml"
    path.write_text('<Root xmlns:x="urn:x" xmlns:y="urn:y">' + "".join(
        f"<x:Rec><T{i}>{i}</T{i}><Rec/></x:Rec><y:Rec/><Recs/><xRec/>" for i in range(50)) + "</Root>")
    spec = XmlSpec(record=record, namespaces={"x": "urn:x"})
    read = sum(1 for _ in XmlFormat(spec).rows(str(path), "many.xml"))
    assert read == (150 if record == "Rec" else 50)
    for bound in (10_000, 3, 0):
        monkeypatch.setattr(xml_format._TagCounter, "_MAX_TAGS", bound)
        assert XmlFormat(spec).check(str(path), "many.xml").records == read
