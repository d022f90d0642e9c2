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
the file a reject.  Records are cleared as they are consumed (with what precedes them,
at every level), so memory stays flat.  Field paths are compiled once (``xml_fields``).
``check`` parses without building a tree: a target parser that only counts records.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from legacy_bridge.errors import FormatError, PartialFileError, RowError
from legacy_bridge.formats import xml_spool
from legacy_bridge.formats.base import FileCheck, file_key
from legacy_bridge.formats.xml_fields import FieldReader, tag_matches
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


class XmlFormat:
    position_kind: PositionKind = "record"

    def __init__(self, spec: XmlSpec) -> None:
        self.spec = spec
        steps = [s for s in spec.record.split("/") if s]
        self._anchored = spec.record.startswith("/")
        self._steps = [self._clark(s) for s in steps]
        self._reader = FieldReader([(name, *self._compile(path)) for name, path in (spec.fields or {}).items()]
                                   ) if spec.fields else None
        self._spool: xml_spool.Spool | None = None  # the last file checked, read once (records without fields)

    # --- names ---------------------------------------------------------------------------------
    def _clark(self, step: str, wildcard: bool = True) -> str:
        if step in (".", "*") or step.startswith("{"):
            return step
        if ":" in step:
            prefix, local = step.split(":", 1)
            uri = _XML_NS if prefix == "xml" else self.spec.namespaces[prefix]
            return f"{{{uri}}}{local}"
        return f"{{*}}{step}" if wildcard else step

    def _compile(self, path: str) -> tuple[list[str] | str | None, str | None, bool]:
        """(element steps - or a findall path when not plain steps - or None for the record itself,
        attribute or None, always a list).  Empty steps are dropped (``a//b`` reads as ``a/b``)."""
        many = path.endswith("[]")
        path = path.removesuffix("[]")
        elem_part, _, attr = path.partition("@")
        steps = [s for s in elem_part.rstrip("/").split("/") if s and s != "."]
        attribute = self._clark(attr, wildcard=False) if attr else None
        if any(s in ("*", "..") or "[" in s for s in steps):
            return "/".join(self._clark(s) for s in steps), attribute, many
        return [self._clark(s) for s in steps] or None, attribute, many

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

        record = self._steps[-1]
        context = etree.iterparse(path, events=("end",), tag=record, resolve_entities=False,
                                  no_network=True, load_dtd=False, huge_tree=False, remove_comments=True,
                                  remove_pis=True)
        matches = self._matches if len(self._steps) > 1 else None  # (a record given as a tag: all match)
        count = 0
        try:
            for _event, elem in context:
                if matches is not None and not matches(elem):
                    continue
                count += 1
                yield elem
                _release(elem, record)
        except (etree.XMLSyntaxError, OSError) as exc:
            raise _unreadable(display, count, exc) from exc

    def check(self, path: str, display_name: str) -> FileCheck:
        if self._reader is None:
            count = self._spooled_check(path, display_name)
        else:
            count = self._count(path, display_name)
        notes = [] if count else [f"no <{self.spec.record}> records found"]
        return FileCheck(records=count, encoding=None, notes=notes)

    def _spooled_check(self, path: str, display: str) -> int:
        """Records in the file, read once into the spool that ``blocks`` and ``rows`` then read
        (xml_spool); a file broken after some records keeps them (``partial = "send_valid"``)."""
        self.release()
        spool = xml_spool.Spool(file_key(path, display))
        try:
            xml_spool.read_flat(self._iter(path, display), spool, _read_flat)
        except PartialFileError:
            self._spool = spool
            raise
        except BaseException:
            spool.close()
            raise
        self._spool = spool
        return spool.records

    def _spooled(self, path: str, display: str) -> xml_spool.Spool | None:
        """The spool of this very file (same path, size and mtime), if ``check`` read it."""
        spool = self._spool  # (only a format without fields ever has one)
        if spool is None:
            return None
        try:
            return spool if spool.key == file_key(path, display) else None
        except FormatError:
            return None

    def release(self) -> None:
        """Free the spool (the files source is done with the file, or checks another)."""
        if self._spool is not None:
            self._spool.close()
            self._spool = None

    def blocks(self, path: str, display_name: str, start: int = 0) -> Iterator[tuple[range, Any]]:
        """The records from index ``start`` on as Arrow blocks of text columns, from the spool that
        ``check`` wrote; they end before the first record kept as a row (``rows`` reads on from it).
        Nothing when the file was not checked, or records are read by ``fields``."""
        spool = self._spooled(path, display_name)
        if spool is None:
            return
        end = start
        try:
            for positions, table in xml_spool.blocks(spool, start):
                end = positions[-1]
                yield positions, table
        finally:
            if end >= spool.records:  # every record went out as a block: rows() will not read the spool
                self.release()

    def _count(self, path: str, display: str) -> int:
        """Records in the file, by a parse that builds no tree (well-formedness included)."""
        from lxml import etree

        counter = (_PathCounter(self._steps, self._anchored) if len(self._steps) > 1 or self._anchored
                   else _TagCounter(self._steps[-1]))
        parser = etree.XMLParser(target=counter,  # type: ignore[arg-type]  # a duck-typed target (start/end/close)
                                 resolve_entities=False, no_network=True, load_dtd=False,
                                 huge_tree=False)
        try:
            etree.parse(path, parser)  # (not feed(): only a whole-document parse keeps the depth limit)
        except (etree.XMLSyntaxError, OSError) as exc:
            raise _unreadable(display, counter.count, exc) from exc
        return counter.count

    def rows(self, path: str, display_name: str, start: int = 0) -> Iterator[tuple[int, Row | RowError]]:
        spool = self._spooled(path, display_name)
        if spool is not None:  # read once by check: the spool holds what the parse would give
            try:
                yield from xml_spool.read_back(spool, start, display_name)
            finally:
                self.release()
            return
        read = self._reader.read if self._reader is not None else _flat
        for index, elem in enumerate(self._iter(path, display_name)):
            if index < start:
                continue
            try:
                row = read(elem)
            except (ValueError, TypeError) as exc:  # EntityInValue included
                yield index + 1, RowError(_cannot_read(exc), where={"file": display_name, "record": index + 1})
                continue
            yield index + 1, row


def _cannot_read(exc: Exception) -> str:
    return f"cannot read record: {exc}"


def _read_flat(elem: Any) -> Row | xml_spool.Failed:
    """A record without fields, for the spool: as ``rows`` reads it, a failure kept as its message."""
    try:
        return _flat(elem)
    except (ValueError, TypeError) as exc:
        return xml_spool.Failed(_cannot_read(exc))


class _TagCounter(dict[str, None]):
    """A parser target: counts the ends of record elements (a record given as a tag).

    Its ``end`` is the dict's own lookup, in C: the tags seen that are not records become keys,
    so their ends cost no Python call; a record's tag is never a key, so each record's end
    reaches ``__missing__``, which counts it.  (Every element of the file ends once: a Python
    ``end`` per element was most of the time of ``check``.)"""

    _MAX_TAGS = 10_000  # distinct other tags kept as keys; beyond that they are still right, only slower

    def __init__(self, tag: str) -> None:
        super().__init__()
        self.count = 0
        self._tag = tag
        self._bare: str | None = None
        self._suffix = ""
        if tag.startswith("{*}"):  # any namespace, or none: compare the local name
            self._bare, self._suffix = tag[3:], "}" + tag[3:]
        self.end = self.__getitem__

    def __missing__(self, tag: str) -> None:
        bare = self._bare
        if (tag == self._tag) if bare is None else (tag.endswith(self._suffix) or tag == bare):
            self.count += 1
        elif len(self) < self._MAX_TAGS:
            self[tag] = None

    def close(self) -> int:
        return self.count


class _PathCounter:
    """The same for a record given as a path: keeps the names of the open elements."""

    def __init__(self, steps: list[str], anchored: bool) -> None:
        self.count = 0
        self._path = steps
        self._anchored = anchored
        self._open: list[str] = []

    def start(self, tag: str, attrib: Any) -> None:
        self._open.append(tag)

    def end(self, tag: str) -> None:
        open_, path = self._open, self._path
        if len(open_) >= len(path) and (not self._anchored or len(open_) == len(path)) and all(
                tag_matches(t, s) for t, s in zip(open_[-len(path):], path, strict=True)):
            self.count += 1
        open_.pop()

    def close(self) -> int:
        return self.count


def _release(elem: Any, record: str) -> None:
    """Free a consumed record and everything before it, at every level up to the root (or up
    to an enclosing element that may itself be a record still being read)."""
    elem.clear(keep_tail=True)
    node, parent = elem, elem.getparent()
    while parent is not None:
        while node.getprevious() is not None:
            del parent[0]
        above = parent.getparent()
        if above is None or tag_matches(parent.tag, record):  # (the root: nothing before it to free)
            return
        node, parent = parent, above


_tag_matches = tag_matches


def _local(tag: Any) -> str:
    return str(tag).rpartition("}")[2]


def _unreadable(display: str, count: int, exc: Exception) -> FormatError:
    """The error for a file the parser gave up on after ``count`` records (both parse passes)."""
    from lxml import etree

    if isinstance(exc, etree.XMLSyntaxError):
        return PartialFileError(f"{display} is not well-formed XML after record {count}: {exc.msg}",
                                records_before=count, where={"file": display, "line": exc.lineno or None},
                                hint="the file may be truncated or corrupt; ask for it again")
    return FormatError(f"cannot read {display}: {exc}", where={"file": display})


def _unexpanded(node: Any) -> None:
    """A value holding an entity reference is unknown (entities are never expanded: XXE), so
    reading it is an error - the record becomes a reject instead of going out half empty."""
    from lxml import etree

    entity = next(node.iter(etree.Entity), None)
    if entity is not None:
        raise ValueError(f"<{_local(node.tag)}> holds the entity reference {entity.text}, which is never "
                         "expanded (entities declared in a DTD are not resolved, for safety)")


def _flat(elem: Any) -> Row:
    """The record as a dict (the hot loop: a leaf child's text is read inline)."""
    items = elem.items()  # (no .attrib: that builds a proxy per record)
    row: Row = {f"@{_local(k)}": v for k, v in items} if items else {}
    for child in elem:
        tag = child.tag
        if not isinstance(tag, str):  # comments, processing instructions, entity references
            from lxml import etree

            if tag is etree.Entity:
                _unexpanded(elem)
            continue
        name = tag.rpartition("}")[2] if "}" in tag else tag
        if len(child):
            value: Any = _flat(child)
        else:
            text = child.text
            value = text.strip() if text is not None else None
        if name in row:
            prev = row[name]
            row[name] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            row[name] = value
    return row


def build(spec: XmlSpec, base_dir: Path) -> XmlFormat:
    return XmlFormat(spec)
