"""The record filter: declarative conditions on source values, no code.

A record is kept when every condition holds; the others are counted as skipped.
Values are compared as text with surrounding spaces removed (``'X '`` equals ``"X"``;
a number 7 equals ``"7"``); a missing field is empty.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from legacy_bridge.mapping.converters.base import text
from legacy_bridge.mapping.spec import Condition
from legacy_bridge.records import Row

Predicate = Callable[[Row], bool]


def as_text(value: Any) -> str:
    if value is None:
        return ""
    if value.__class__ is str:
        return value.strip()  # type: ignore[no-any-return]
    try:
        return text(value).strip()
    except Exception:
        return str(value).strip()


def _condition(c: Condition, path: str, problems: list[str]) -> Predicate | None:
    name = c.field
    if c.equals is not None:
        want = as_text(c.equals)
        return lambda row: as_text(row.get(name)) == want
    if c.not_equals is not None:
        avoid = as_text(c.not_equals)
        return lambda row: as_text(row.get(name)) != avoid
    if c.in_ is not None:
        allowed = frozenset(as_text(v) for v in c.in_)
        return lambda row: as_text(row.get(name)) in allowed
    if c.not_in is not None:
        banned = frozenset(as_text(v) for v in c.not_in)
        return lambda row: as_text(row.get(name)) not in banned
    if c.empty is not None:
        want_empty = c.empty
        return lambda row: (as_text(row.get(name)) == "") is want_empty
    if c.not_empty is not None:
        want_full = c.not_empty
        return lambda row: (as_text(row.get(name)) != "") is want_full
    assert c.matches is not None
    try:
        match = re.compile(c.matches).fullmatch
    except re.error as exc:
        problems.append(f"{path}.matches: {c.matches!r} is not a valid regular expression: {exc}")
        return None
    return lambda row: match(as_text(row.get(name))) is not None


def compile_filter(spec: Condition | list[Condition] | None, problems: list[str]) -> Predicate | None:
    """One predicate for the whole filter (None when there is no filter)."""
    if spec is None:
        return None
    conditions = spec if isinstance(spec, list) else [spec]
    preds = []
    for n, c in enumerate(conditions):
        path = f"filter[{n}]" if isinstance(spec, list) else "filter"
        p = _condition(c, path, problems)
        if p is not None:
            preds.append(p)
    if not preds:
        return None
    if len(preds) == 1:
        return preds[0]
    return lambda row: all(p(row) for p in preds)
