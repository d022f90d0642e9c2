"""Field paths compiled once into a tree of child steps, walked once per record.

``erp:Name``, ``Address/City``, ``Address/City/@code`` become steps of a small trie; a
record's children are visited once, each tag resolved against a step through a per-tag
cache, so no path is parsed or compiled per record.  Paths beyond plain steps (``*``,
``..``, ``//``, predicates) keep lxml's ``findall`` (its compiled-path cache).

An entity reference that was not expanded (entities are never resolved, for safety) in
a value being read makes the record a reject: its value is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from legacy_bridge.records import Row


class EntityInValue(ValueError):
    """A value read holds an entity reference that was not expanded."""


@dataclass(slots=True)
class _Step:
    children: list[tuple[str, _Step]] = field(default_factory=list)
    leaves: list[tuple[int, str | None]] = field(default_factory=list)  # (field index, attribute or None)
    cache: dict[str, tuple[_Step, ...]] = field(default_factory=dict)

    def child(self, step: str) -> _Step:
        for s, node in self.children:
            if s == step:
                return node
        node = _Step()
        self.children.append((step, node))
        return node

    def resolve(self, tag: str) -> tuple[_Step, ...]:
        found = tuple(node for step, node in self.children if tag_matches(tag, step))
        self.cache[tag] = found
        return found


def tag_matches(tag: Any, step: str) -> bool:
    if not isinstance(tag, str):
        return False
    if step.startswith("{*}"):
        return tag.rpartition("}")[2] == step[3:]
    return bool(tag == step)


class FieldReader:
    """``read(record) -> Row`` for fields given as (name, element steps or a findall path, attribute, many)."""

    def __init__(self, fields: list[tuple[str, list[str] | str | None, str | None, bool]]) -> None:
        self._root = _Step()
        self._slow: list[tuple[int, str, str | None]] = []
        self._out: list[tuple[str, int, bool]] = []
        for index, (name, steps, attr, many) in enumerate(fields):
            self._out.append((name, index, many))
            if isinstance(steps, str):
                self._slow.append((index, steps, attr))
                continue
            node = self._root
            for step in steps or []:
                node = node.child(step)
            node.leaves.append((index, attr))
        self._count = len(fields)

    def read(self, elem: Any) -> Row:
        out: list[list[Any]] = [[] for _ in range(self._count)]
        root = self._root
        for index, attr in root.leaves:
            _take(elem, attr, out[index])
        if root.children:
            _walk(elem, root, out)
        for index, path, attr in self._slow:
            for node in elem.findall(path):
                _take(node, attr, out[index])
        row: Row = {}
        for name, index, many in self._out:
            values = out[index]
            row[name] = values if many else (values[0] if len(values) == 1 else (values or None))
        return row


def _walk(elem: Any, node: _Step, out: list[list[Any]]) -> None:
    """Visit ``elem``'s children once, collecting the fields below ``node`` (the hot loop: inlined)."""
    cache = node.cache
    for child in elem:
        tag = child.tag  # comments and PIs are removed by the parser; entity nodes never match a step
        subs = cache.get(tag)
        if subs is None:
            subs = node.resolve(tag)
        for sub in subs:
            for index, attr in sub.leaves:
                if attr is not None:
                    value = child.get(attr)
                    if value is not None:
                        out[index].append(value)
                elif len(child):
                    out[index].append(text_of(child))
                else:
                    text = child.text
                    out[index].append(text.strip() if text is not None else None)
            if sub.children:
                _walk(child, sub, out)


def _take(node: Any, attr: str | None, into: list[Any]) -> None:
    if attr is not None:
        value = node.get(attr)
        if value is not None:
            into.append(value)
        return
    into.append(text_of(node))


def text_of(node: Any) -> str | None:
    """The element's text, stripped; with child elements, all its text joined."""
    if len(node):
        from lxml import etree

        entity = next(node.iter(etree.Entity), None)
        if entity is not None:
            raise EntityInValue(f"the value holds the entity reference {entity.text}, which is never expanded: "
                                "entities declared in a DTD are never resolved, for safety")
        return "".join(t for t in node.itertext() if isinstance(t, str)).strip()
    text = node.text
    return text.strip() if text is not None else None
