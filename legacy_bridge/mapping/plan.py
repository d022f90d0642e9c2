"""One target field compiled into a plan: where its value comes from, its converter
chain, default, required flag and checks - and the reference interpreter of a plan.

The interpreter (``evaluate``) is the definition of what a mapping does; the generated
fast path (codegen.py) does the same faster and falls back to it when anything fails,
so that the failing field, step and value can be named.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from legacy_bridge.mapping.converters import BuildContext, ConvertError, Step, build_step
from legacy_bridge.mapping.converters.base import shown, text
from legacy_bridge.mapping.paths import Target, parse_target
from legacy_bridge.mapping.spec import FieldSpec
from legacy_bridge.mapping.validate import build_checks

_NO_DEFAULT = object()
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]+)\}|[{}]")


class Failed(Exception):
    """A field failed: which step (None for 'required'), on which value, why."""

    def __init__(self, step: Step | None, value: Any, cause: BaseException | None) -> None:
        super().__init__(step.label if step else "required")
        self.step, self.value, self.cause = step, value, cause


@dataclass
class FieldPlan:
    target: Target
    subject: str  # the name reasons use: the source field, or the target
    kind: str  # "from" | "many" | "value" | "template"
    sources: list[str]  # source fields read (from, many, template placeholders)
    const: Any = None
    template: list[tuple[str, str | None]] = field(default_factory=list)  # (literal, field or None)
    nulls: frozenset[Any] = frozenset({""})
    steps: list[Step] = field(default_factory=list)
    default: Any = _NO_DEFAULT
    required: bool = False
    checks: list[Step] = field(default_factory=list)
    also_reads: list[str] = field(default_factory=list)  # fields named by converters (coalesce)
    spec: FieldSpec | None = None  # as written (the columnar kernels are built from it)

    @property
    def has_default(self) -> bool:
        return self.default is not _NO_DEFAULT

    @property
    def simple(self) -> bool:
        """Can the fast path inline this field (scalar target, one source)?"""
        return self.kind != "many" and not self.target.is_list


def parse_template(tpl: str, path: str, problems: list[str]) -> list[tuple[str, str | None]]:
    parts: list[tuple[str, str | None]] = []
    before = len(problems)
    pos = 0
    for m in _PLACEHOLDER.finditer(tpl):
        literal = tpl[pos:m.start()]
        pos = m.end()
        tok = m.group(0)
        if tok in ("{{", "}}"):
            parts.append((literal + tok[0], None))
        elif m.group(1) is None:
            problems.append(f"{path}.template: unmatched '{tok}' in {tpl!r} (write '{tok}{tok}' for a literal brace)")
        else:
            parts.append((literal, m.group(1).strip()))
    parts.append((tpl[pos:], None))
    if len(problems) == before and not any(name for _, name in parts):
        problems.append(f"{path}.template: {tpl!r} names no field; write e.g. \"{{FNAME}} {{LNAME}}\"")
    return parts


def render(parts: list[tuple[str, str | None]], row: Mapping[str, Any]) -> Any:
    out = []
    for literal, name in parts:
        out.append(literal)
        if name is not None:
            v = row.get(name)
            if v is not None:
                out.append(v if v.__class__ is str else text(v))
    return "".join(out).strip() or None


def _chain(items: list[Any], path: str, ctx: BuildContext, problems: list[str]) -> list[Step]:
    steps: list[Step] = []
    for n, item in enumerate(items):
        where = f"{path}.convert[{n}]"
        try:
            steps.append(build_step(item, where, ctx))
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
    for n, st in enumerate(steps):  # after a split, the rest of the chain applies to each item
        if st.label == "split" and n + 1 < len(steps):
            rest = steps[n + 1:]
            bad = [r.label for r in rest if r.row_aware or r.label == "split"]
            if bad:
                problems.append(f"{rest[0].path}: {', '.join(bad)} cannot follow split")
            return [*steps[: n + 1], _each(rest)]
    return steps


def _each(rest: list[Step]) -> Step:
    """Apply ``rest`` to every item of a list (after split); empty items are dropped."""
    def each(items: Any) -> Any:
        if not isinstance(items, list):
            items = [items]
        out = []
        for item in items:
            x = item
            for st in rest:
                try:
                    x = st.fn(x)
                except ConvertError as exc:
                    raise ConvertError(f"has an item '{shown(x, 40)}' that {exc}") from None
                if x is None:
                    break
            if x is not None:
                out.append(x)
        return out or None
    return Step(each, "+".join(s.label for s in rest), rest[0].path, may_empty=True)


def build_plan(name: str, spec: str | FieldSpec, ctx: BuildContext, problems: list[str]) -> FieldPlan | None:
    path = f"fields.{name}"
    try:
        target = parse_target(name)
    except ValueError as exc:
        problems.append(f"{path}: {exc}")
        return None
    if isinstance(spec, str):
        return FieldPlan(target, spec, "from", [spec])
    if isinstance(spec.from_, list):
        if not target.is_list:
            problems.append(f"{path}.from: several source fields need a list target: name it '{name}[]' "
                            "(or use { coalesce = [...] } to take the first non-empty one)")
        plan = FieldPlan(target, name, "many", list(spec.from_))
    elif spec.from_ is not None:
        plan = FieldPlan(target, spec.from_, "from", [spec.from_])
    elif spec.template is not None:
        parts = parse_template(spec.template, path, problems)
        plan = FieldPlan(target, name, "template", [n for _, n in parts if n], template=parts)
    elif spec.value is not None:
        plan = FieldPlan(target, name, "value", [], const=spec.value)
    elif spec.default is not None:
        plan = FieldPlan(target, name, "value", [], const=None)
    else:
        problems.append(f"{path}: say where the value comes from: 'from', 'value' or 'template'")
        return None
    plan.spec = spec
    plan.nulls = frozenset({"", *(spec.null_if or ())})
    plan.steps = _chain(spec.convert, path, ctx, problems)
    plan.also_reads = [f for st in spec.convert if isinstance(st, dict) and "coalesce" in st
                     for f in ([st["coalesce"]] if isinstance(st["coalesce"], str) else st["coalesce"])
                     if isinstance(f, str)]
    plan.default = _NO_DEFAULT if spec.default is None else spec.default
    plan.required = spec.required
    plan.checks = build_checks(spec, path, problems)
    return plan


def base_ctx(base_dir: Path) -> BuildContext:
    return BuildContext(base_dir=base_dir)


# --- the reference interpreter ----------------------------------------------------------


def _is_null(v: Any, nulls: frozenset[Any]) -> bool:
    if v is None:
        return True
    try:
        return v in nulls
    except TypeError:  # unhashable (a list from XML): never a null token
        return False


def _run(plan: FieldPlan, v: Any, row: Mapping[str, Any]) -> Any:
    if _is_null(v, plan.nulls):
        v = None
    for st in plan.steps:
        if st.row_aware:
            v = _call(st, v, row)
            if _is_null(v, plan.nulls):
                v = None
        elif v is not None:
            v = _call(st, v, None)
    return v


def _call(st: Step, v: Any, row: Mapping[str, Any] | None) -> Any:
    try:
        return st.fn(v, row) if st.row_aware else st.fn(v)
    except Exception as exc:
        raise Failed(st, v, exc) from exc


def evaluate(plan: FieldPlan, row: Mapping[str, Any]) -> Any:
    """The value of one target field for ``row``; raises Failed naming the step."""
    if plan.kind == "many":
        v: Any = []
        for src in plan.sources:
            x = _run(plan, row.get(src), row)
            v.extend(x if isinstance(x, list) else [] if x is None else [x])
    elif plan.kind == "from":
        v = _run(plan, row.get(plan.sources[0]), row)
    elif plan.kind == "template":
        try:
            first = render(plan.template, row)
        except Exception as exc:
            raise Failed(Step(render, "template", f"fields.{plan.target.name}.template"), None, exc) from exc
        v = _run(plan, first, row)
    else:
        v = _run(plan, plan.const, row)
    if v is None or v == []:
        if plan.has_default:
            v = plan.default
        elif plan.required:
            raise Failed(None, None, None)
        else:
            v = None
    if v is not None:
        each = plan.target.is_list and isinstance(v, list)
        v = [_check(plan, x) for x in v] if each else _check(plan, v)
    if plan.target.is_list:
        v = [] if v is None else v if isinstance(v, list) else [v]
    return v


def _check(plan: FieldPlan, v: Any) -> Any:
    for st in plan.checks:
        v = _call(st, v, None)
    return v
