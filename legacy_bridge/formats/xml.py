"""XML documents with a repeating record element, streamed with lxml ``iterparse``.

``record`` is a tag (``Order``, ``cac:InvoiceLine``) or a simple path (``Orders/Order``,
``/ORDERS05/IDOC/E1EDP01``); unprefixed names match any namespace, prefixed ones use the
``namespaces`` map.  ``fields`` maps output names to relative paths: ``cbc:ID`` (text),
``@currencyID`` (an attribute of the record), ``cac:Price/cbc:PriceAmount/@currencyID``,
``cbc:Note[]`` (always a list).  A path matching several elements gives a list.  Without
``fields`` a record becomes a dict: child element texts by local name (repeated
children as lists, elements with children as nested dicts) and the record's attributes as ``@name``.

The parser never resolves entities, loads DTDs or touches the network, and keeps
libxml2's depth and size limits (no huge_tree): entity bombs and absurd nesting make
the file a reject.  Records are cleared as they are consumed, so memory stays flat.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from legacy_bridge.errors import FormatError, RowError
from legacy_bridge.formats.base import FileCheck
from legacy_bridge.records import PositionKind, Row
from legacy_bridge.registry import Spec


class XmlSpec(Spec):
    kind: Literal["xml"] = "xml"
    record: str = Field(description="the repeating element: a tag or a simple path like Orders/Order")
    namespaces: dict[str, str] = Field(default_factory=dict, description="prefix -> namespace URI")
    fields: dict[str, str] | None = Field(default=None, description="output name -> relative path")

    @model_validator(mode="after")
    def _prefixes_known(self) -> XmlSpec:
        paths = [self.record, *(self.fields or {}).values()]
        for path in paths:
            for step in path.replace("@", "/").replace("[]", "").split("/"):
                prefix = step.partition(":")[0] if ":" in step else None
                if prefix and prefix != "xml" and prefix not in self.namespaces:
                    raise ValueError(f"prefix {prefix!r} in {path!r} is not in namespaces")
        return self


_XML_NS = "http://www.w3.org/XML/1998/namespace"


class _Broken(FormatError):
    def __init__(self, message: str, *, records_before: int, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.records_before = records_before


class XmlFormat:
    position_kind: PositionKind = "record"

    def __init__(self, spec: XmlSpec) -> None:
        self.spec = spec
        steps = [s for s in spec.record.split("/") if s]
        self._anchored = spec.record.startswith("/")
        self._steps = [self._clark(s) for s in steps]
        self._fields = [(name, *self._compile(path)) for name, path in (spec.fields or {}).items()]

    # --- names ---------------------------------------------------------------------------------
    def _clark(self, step: str, wildcard: bool = True) -> str:
        if step in (".", "*") or step.startswith("{"):
            return step
        if ":" in step:
            prefix, local = step.split(":", 1)
            uri = _XML_NS if prefix == "xml" else self.spec.namespaces[prefix]
            return f"{{{uri}}}{local}"
        return f"{{*}}{step}" if wildcard else step

    def _compile(self, path: str) -> tuple[str | None, str | None, bool]:
        """(element path or None for the record itself, attribute or None, always a list)."""
        many = path.endswith("[]")
        path = path.removesuffix("[]")
        elem_part, _, attr = path.partition("@")
        elem_part = elem_part.rstrip("/")
        elem = "/".join(self._clark(s) for s in elem_part.split("/") if s) or None
        return elem, (self._clark(attr, wildcard=False) if attr else None), many

    def _matches(self, elem: Any) -> bool:
        node = elem
        for step in reversed(self._steps[:-1]):
            node = node.getparent()
            if node is None or not _tag_matches(node.tag, step):
                return False
        return not self._anchored or node.getparent() is None

    # --- reading -------------------------------------------------------------------------------------
    def _iter(self, path: str, display: str) -> Iterator[Any]:
        from lxml import etree

        context = etree.iterparse(path, events=("end",), tag=self._steps[-1], resolve_entities=False,
                                  no_network=True, load_dtd=False, huge_tree=False, remove_comments=True,
                                  remove_pis=True)
        count = 0
        try:
            for _event, elem in context:
                if len(self._steps) > 1 and not self._matches(elem):
                    continue
                count += 1
                yield elem
                elem.clear(keep_tail=True)
                parent = elem.getparent()
                if parent is not None:
                    while elem.getprevious() is not None:
                        del parent[0]
        except etree.XMLSyntaxError as exc:
            line = exc.lineno if exc.lineno else None
            raise _Broken(f"{display} is not well-formed XML after record {count}: {exc.msg}",
                          records_before=count, where={"file": display, "line": line},
                          hint="the file may be truncated or corrupt; ask for it again") from exc
        except OSError as exc:
            raise FormatError(f"cannot read {display}: {exc}", where={"file": display}) from exc

    def check(self, path: str, display_name: str) -> FileCheck:
        count = sum(1 for _ in self._iter(path, display_name))
        notes = [] if count else [f"no <{self.spec.record}> records found"]
        return FileCheck(records=count, encoding=None, notes=notes)

    def rows(self, path: str, display_name: str, start: int = 0) -> Iterator[tuple[int, Row | RowError]]:
        for index, elem in enumerate(self._iter(path, display_name)):
            if index < start:
                continue
            try:
                row = self._row(elem) if self._fields else _flat(elem)
            except (ValueError, TypeError) as exc:
                yield index + 1, RowError(f"cannot read record: {exc}", where={"file": display_name,
                                                                                "record": index + 1})
                continue
            yield index + 1, row

    def _row(self, elem: Any) -> Row:
        row: Row = {}
        for name, path, attr, many in self._fields:
            nodes = [elem] if path is None else elem.findall(path)
            values = [(n.get(attr) if attr else _text(n)) for n in nodes]
            if attr:
                values = [v for v in values if v is not None]
            row[name] = values if many else (values[0] if len(values) == 1 else (values or None))
        return row


def _tag_matches(tag: Any, step: str) -> bool:
    if not isinstance(tag, str):
        return False
    if step.startswith("{*}"):
        return tag.rpartition("}")[2] == step[3:]
    return bool(tag == step)


def _local(tag: Any) -> str:
    return str(tag).rpartition("}")[2]


def _unexpanded(node: Any) -> None:
    """A value holding an entity reference is unknown (entities are never expanded: XXE), so
    reading it is an error - the record becomes a reject instead of going out half empty."""
    from lxml import etree

    entity = next(node.iter(etree.Entity), None)
    if entity is not None:
        raise ValueError(f"<{_local(node.tag)}> holds the entity reference {entity.text}, which is never "
                         "expanded (entities declared in a DTD are not resolved, for safety)")


def _text(node: Any) -> str | None:
    if len(node):
        _unexpanded(node)
        return "".join(t for t in node.itertext() if isinstance(t, str)).strip()
    return node.text.strip() if node.text is not None else None


def _flat(elem: Any) -> Row:
    from lxml import etree

    row: Row = {f"@{_local(k)}": v for k, v in elem.attrib.items()}
    for child in elem:
        if child.tag is etree.Entity:
            _unexpanded(elem)
        if not isinstance(child.tag, str):
            continue  # comments, processing instructions
        name = _local(child.tag)
        value: Any = _flat(child) if len(child) else _text(child)
        if name in row:
            prev = row[name]
            row[name] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            row[name] = value
    return row


def build(spec: XmlSpec, base_dir: Path) -> XmlFormat:
    return XmlFormat(spec)
