"""Target field names: ``properties.email`` builds nested objects, ``tags[]`` builds a list.

The targets of a mapping form a tree; leaves are field indexes.  ``[]`` is allowed on
the last part of a name only (``contact.phones[]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

Tree = dict[str, Union[int, "Tree"]]


@dataclass(frozen=True)
class Target:
    name: str  # as written: "contact.phones[]"
    parts: tuple[str, ...]  # ("contact", "phones")
    is_list: bool


def parse_target(name: str) -> Target:
    """Split a target name, or raise ValueError saying what is wrong with it."""
    is_list = name.endswith("[]")
    body = name[:-2] if is_list else name
    parts = tuple(body.split("."))
    if not body or any(not p.strip() for p in parts):
        raise ValueError(f"target name {name!r} has an empty part (write e.g. 'properties.email')")
    if any("[" in p or "]" in p for p in parts):
        raise ValueError(f"target name {name!r}: '[]' may only end a name (e.g. 'tags[]')")
    return Target(name, parts, is_list)


def build_tree(targets: list[Target], problems: list[str]) -> Tree:
    """The nested shape of the payload; clashes ('a' and 'a.b') are added to ``problems``."""
    tree: Tree = {}
    for index, target in enumerate(targets):
        node = tree
        for depth, part in enumerate(target.parts):
            last = depth == len(target.parts) - 1
            here = node.get(part)
            if last:
                if here is not None:
                    problems.append(f"fields.{target.name}: '{'.'.join(target.parts)}' is given twice "
                                    "or is also an object of other fields")
                else:
                    node[part] = index
            else:
                if isinstance(here, int):
                    problems.append(f"fields.{target.name}: '{'.'.join(target.parts[:depth + 1])}' is "
                                    "both a value and an object of other fields")
                    break
                if here is None:
                    here = node[part] = {}
                node = here
    return tree
