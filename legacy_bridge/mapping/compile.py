"""``compile_mapping(spec, base_dir=...) -> Mapper``: a declared mapping compiled once.

``Mapper.map_batch`` maps a source batch into payloads and rejects.  Every row goes
through the generated fast path under one ``try``; a row that raises is re-run by the
reference interpreter, which names the failing field, value and reason (or, for an
unusual value the fast path could not take, simply maps it).  Bad data never raises.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from legacy_bridge.errors import ConfigError, RecordError
from legacy_bridge.mapping.codegen import generate
from legacy_bridge.mapping.converters.base import ConvertError, shown, text
from legacy_bridge.mapping.filters import compile_filter
from legacy_bridge.mapping.paths import build_tree
from legacy_bridge.mapping.plan import Failed, FieldPlan, base_ctx, build_plan, evaluate
from legacy_bridge.mapping.spec import MappingSpec
from legacy_bridge.records import Batch, MappedBatch, Payload, Reject, Row

VALUE_LIMIT = 200  # characters of an offending value kept in a reject


class KeyMissing(Exception):
    def __init__(self, field: str, value: Any) -> None:
        super().__init__(field)
        self.field, self.value = field, value


def key_text(value: Any) -> str:
    """A key part as text: stripped strings, integral numbers without '.0'; '' when empty."""
    if value is None:
        return ""
    if value.__class__ is str:
        return value.strip()  # type: ignore[no-any-return]
    try:
        return text(value).strip()
    except ConvertError:
        return ""


class Mapper:
    """A compiled mapping.  Build it with ``compile_mapping``."""

    def __init__(self, spec: MappingSpec, plans: list[FieldPlan], keep: Callable[[Row], bool] | None,
                 row_fn: Callable[[Row, int], Payload], source: str) -> None:
        self.spec = spec
        self.key_fields = [spec.key] if isinstance(spec.key, str) else list(spec.key)
        self._plans = plans
        self._keep = keep
        self._row_fn = row_fn
        self.generated_source = source
        self._dedupe = spec.dedupe

    # --- the contract -----------------------------------------------------------------
    def key_of(self, row: Mapping[str, Any]) -> str:
        """The record's external id: the key field(s) as text, composite keys joined with '|'.
        Raises RecordError when a key field is empty."""
        try:
            return self._key(row)
        except KeyMissing as exc:
            raise RecordError(f"the record key {exc.field} is empty", field=exc.field, value=exc.value) from None

    def source_fields(self) -> set[str]:
        """Every source field the mapping reads (key, fields, templates, coalesce, filter)."""
        names = set(self.key_fields)
        for plan in self._plans:
            if plan.kind != "value":
                names.update(plan.sources)
            names.update(plan.also_reads)
        conditions = self.spec.filter if isinstance(self.spec.filter, list) else [self.spec.filter]
        names.update(c.field for c in conditions if c is not None)
        return names

    @property
    def plans(self) -> list[FieldPlan]:
        return self._plans

    def map_one(self, row: Row, index: int) -> Payload | Reject | None:
        """One row as ``map_batch`` maps it (fast path, then the interpreter if that raises);
        a reject's origin and position are left to the caller."""
        try:
            if self._keep is not None and not self._keep(row):
                return None
            return self._row_fn(row, index)
        except Exception:
            return self._slow(row, index)

    def map_batch(self, batch: Batch) -> MappedBatch:
        row_fn, keep = self._row_fn, self._keep
        payloads: list[Payload] = []
        rejects: list[Reject] = []
        append = payloads.append
        skipped = 0
        for i, row in enumerate(batch.rows):
            try:
                if keep is not None and not keep(row):
                    skipped += 1
                    continue
                append(row_fn(row, i))
            except Exception:
                outcome = self._slow(row, i)
                if isinstance(outcome, Payload):
                    append(outcome)
                elif outcome is None:
                    skipped += 1
                else:
                    outcome.origin, outcome.position, outcome.row = batch.origin, batch.where(i), i
                    rejects.append(outcome)
        deduped = 0
        if self._dedupe and payloads:
            last: dict[str, Payload] = {}
            for p in payloads:
                if p.key in last:
                    del last[p.key]  # re-insert: the survivor keeps its own (later) place
                    deduped += 1
                last[p.key] = p
            payloads = list(last.values())
        return MappedBatch(payloads=payloads, rejects=rejects, skipped=skipped, deduped=deduped)

    def map_row(self, row: Row, index: int = 0) -> Payload | Reject | None:
        """One row through the reference interpreter: a payload, a reject, or None (filtered)."""
        return self._slow(row, index)

    # --- the slow path ----------------------------------------------------------------
    def _key(self, row: Mapping[str, Any]) -> str:
        parts = []
        for name in self.key_fields:
            k = key_text(row.get(name))
            if not k:
                raise KeyMissing(name, row.get(name))
            parts.append(k)
        return "|".join(parts)

    def _slow(self, row: Row, index: int) -> Payload | Reject | None:
        try:
            if self._keep is not None and not self._keep(row):
                return None
        except Exception as exc:
            return self._reject(row, None, f"the filter could not be checked on this record ({type(exc).__name__})",
                                None, None)
        try:
            key = self._key(row)
        except KeyMissing as exc:
            return self._reject(row, None, f"the record key {exc.field} is empty", exc.field, exc.value)
        data: dict[str, Any] = {}
        for plan in self._plans:
            try:
                value = evaluate(plan, row)
            except Failed as failed:
                if isinstance(failed.value, list) and plan.kind == "from":  # an item after split:
                    failed.value = row.get(plan.sources[0])  # show the value as the source has it
                return self._reject(row, key, reason(plan, failed), plan.subject, failed.value)
            node = data
            for part in plan.target.parts[:-1]:
                node = node.setdefault(part, {})
            node[plan.target.parts[-1]] = value
        return Payload(key, data, index)

    @staticmethod
    def _reject(row: Row, key: str | None, why: str, field: str | None, value: Any) -> Reject:
        shown_value = None if value is None else shown(value, VALUE_LIMIT)
        return Reject(reason=why, key=key, field=field, value=shown_value, raw=row, stage="mapping")


def reason(plan: FieldPlan, failed: Failed) -> str:
    """The business-readable reason: "ORDER_DATE '31/02/2024' is not a date in format %d/%m/%Y"."""
    subject = plan.subject
    if failed.step is None:
        return f"{subject} is required but empty"
    value = f"{subject} '{shown(failed.value)}'"
    cause, label = failed.cause, failed.step.label
    if isinstance(cause, ConvertError):
        return f"{value} {cause}"
    if isinstance(cause, RecordError):
        return f"{value} {cause.message}"
    if label.startswith("py:") and isinstance(cause, ValueError):
        return f"{value} {cause}"  # the job's function words the end of the sentence
    return f"{value} could not be converted by {label} ({type(cause).__name__}: {cause})"


def compile_mapping(spec: MappingSpec, *, base_dir: Path) -> Mapper:
    """Compile a mapping once; ConfigError lists every problem with its key path."""
    problems: list[str] = []
    ctx = base_ctx(base_dir)
    plans = [p for name, fs in spec.fields.items() if (p := build_plan(name, fs, ctx, problems)) is not None]
    tree = build_tree([p.target for p in plans], problems)
    keep = compile_filter(spec.filter, problems)
    if not spec.fields:
        problems.append("fields: the mapping has no fields; add e.g. erp_id = \"CustomerID\"")
    if problems:
        raise ConfigError(f"the mapping has {len(problems)} problem(s)", problems=problems,
                          hint="fix the mapping in the job file, then run `legacy-bridge validate JOB`")
    key = [spec.key] if isinstance(spec.key, str) else list(spec.key)
    row_fn, source = generate(plans, tree, key, key_text)
    return Mapper(spec, plans, keep, row_fn, source)
