"""The fast path: one Python function per mapping, generated from the field plans.

``row_fn(row, i) -> Payload`` reads each source once, calls each compiled converter
directly (no loops over steps, no spec lookups, no per-field try) and builds the
nested payload with one dict display.  It raises on anything unusual (a bad value, an
empty key, a missing required field); the mapper then re-runs that row through the
reference interpreter (plan.evaluate) to name the field, the value and the reason.
Only literal source names (``repr`` of strings) reach the generated text; everything
else is passed in the namespace.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from legacy_bridge.mapping.paths import Tree
from legacy_bridge.mapping.plan import FieldPlan, evaluate, render
from legacy_bridge.records import Payload


class Missing(Exception):
    """Raised by generated code for an empty key or an empty required field."""


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.depth = 1

    def __call__(self, line: str) -> None:
        self.lines.append("    " * self.depth + line)


def _null_test(name: str, plan: FieldPlan) -> str:
    if plan.nulls == frozenset({""}):
        return 'v is None or v == ""'
    return f"v is None or v in {name}"


def _field(w: _Writer, i: int, plan: FieldPlan, ns: dict[str, Any]) -> None:
    if not plan.simple:
        ns[f"F{i}"] = partial(evaluate, plan)
        w(f"f{i} = F{i}(row)")
        return
    if plan.kind == "from":
        w(f"v = g({plan.sources[0]!r})")
    elif plan.kind == "template":
        ns[f"T{i}"] = partial(render, plan.template)
        w(f"v = T{i}(row)")
    else:
        ns[f"C{i}"] = plan.const
        w(f"v = C{i}")
    ns[f"N{i}"] = plan.nulls
    null_test = _null_test(f"N{i}", plan)
    w(f"if {null_test}:")
    w("    v = None")
    base = w.depth
    open_segment = False
    for j, st in enumerate(plan.steps):
        ns[f"S{i}_{j}"] = st.fn
        if st.row_aware:
            w.depth = base
            open_segment = False
            w(f"v = S{i}_{j}(v, row)")
            w(f"if {null_test}:")
            w("    v = None")
            continue
        if not open_segment:
            w("if v is not None:")
            w.depth += 1
            open_segment = True
        w(f"v = S{i}_{j}(v)")
        if st.may_empty and j + 1 < len(plan.steps) and not plan.steps[j + 1].row_aware:
            w("if v is not None:")
            w.depth += 1
    w.depth = base
    if plan.has_default:
        ns[f"D{i}"] = plan.default
        w("if v is None:")
        w(f"    v = D{i}")
    elif plan.required:
        w("if v is None:")
        w("    raise Missing")
    if plan.checks:
        w("if v is not None:")
        for j, st in enumerate(plan.checks):
            ns[f"K{i}_{j}"] = st.fn
            w(f"    v = K{i}_{j}(v)")
    w(f"f{i} = v")


def _display(tree: Tree) -> str:
    items = []
    for name, node in tree.items():
        items.append(f"{name!r}: " + (f"f{node}" if isinstance(node, int) else _display(node)))
    return "{" + ", ".join(items) + "}"


def generate(plans: list[FieldPlan], tree: Tree, key: list[str],
             key_text: Callable[[Any], str]) -> tuple[Callable[[dict[str, Any], int], Payload], str]:
    """The generated row function and its source (kept for debugging and tests)."""
    ns: dict[str, Any] = {"Payload": Payload, "Missing": Missing, "KT": key_text}
    w = _Writer()
    w("g = row.get")
    if len(key) == 1:
        w(f"k = g({key[0]!r})")
        w("if k.__class__ is str:")
        w("    k = k.strip()")
        w("else:")
        w("    k = KT(k)")
        w("if not k:")
        w("    raise Missing")
    else:
        parts = ", ".join(f"KT(g({k!r}))" for k in key)
        w(f"k = ({parts})")
        w("if not all(k):")
        w("    raise Missing")
        w("k = '|'.join(k)")
    for i, plan in enumerate(plans):
        _field(w, i, plan, ns)
    w(f"return Payload(k, {_display(tree)}, i)")
    source = "def row_fn(row, i):\n" + "\n".join(w.lines) + "\n"
    exec(compile(source, "<mapping>", "exec"), ns)
    return ns["row_fn"], source  # type: ignore[no-any-return]
