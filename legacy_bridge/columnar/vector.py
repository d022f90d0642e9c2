"""The vectorised mapping: a whole columnar batch mapped and encoded with Arrow kernels.

``VectorMapping.build(mapper, encoder)`` compiles a mapping whose every field has kernels
(see kernels.py) for a target that encodes text records (``encoder``, e.g. HubSpot's
property values, all strings); it returns ``(None, reason)`` otherwise and the row path
maps everything.  ``map_batch`` maps one batch: each field becomes a text column and an
"unsure" mask; the record's JSON is joined from those columns in C; rows any kernel was
unsure of are mapped by the row path (``Mapper.map_one``, the definition) and encoded
one by one.  Payloads keep source order; rejects and skips are those of the row path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from legacy_bridge.columnar import kernels
from legacy_bridge.columnar.encode import EncodedPayloads, as_bytes
from legacy_bridge.columnar.kernels import Array, Mask, empty_to_null, flag, null_where, strip
from legacy_bridge.columnar.scan import EMPTY, either
from legacy_bridge.mapping import Mapper
from legacy_bridge.mapping.plan import FieldPlan
from legacy_bridge.records import Batch, MappedBatch, Payload, Reject
from legacy_bridge.targets.values import as_text

FieldFn = Callable[[Callable[[str], Array], int], tuple[Array, Mask]]


class TextEncoder(Protocol):
    """What a target gives the vectorised mapping: how records become its JSON."""

    def encode(self, keys: Array, names: Sequence[str], values: Sequence[Array]) -> tuple[Array, Mask]:
        """One JSON text per record from the key and the fields' text (null = no value)."""
        ...

    def encode_one(self, payload: Payload) -> bytes:
        """The same JSON for a payload mapped by the row path."""
        ...


@dataclass
class _Field:
    name: str  # the target field
    compute: FieldFn


class VectorMapping:
    def __init__(self, mapper: Mapper, encoder: TextEncoder, fields: list[_Field], sources: set[str]) -> None:
        self.mapper, self.encoder, self.fields, self.sources = mapper, encoder, fields, sources

    # --- building ----------------------------------------------------------------------
    @classmethod
    def build(cls, mapper: Mapper, encoder: TextEncoder | None) -> tuple[VectorMapping | None, str]:
        """The vectorised form of ``mapper`` for ``encoder``, or (None, why not)."""
        if encoder is None:
            return None, "the target takes no text records"
        spec = mapper.spec
        if spec.filter is not None or spec.dedupe:
            return None, "filter and dedupe run on the row path"
        fields: list[_Field] = []
        for plan in mapper.plans:
            compute = _field(plan)
            if isinstance(compute, str):
                return None, f"fields.{plan.target.name}: {compute}"
            fields.append(_Field(plan.target.name, compute))
        return cls(mapper, encoder, fields, mapper.source_fields()), ""

    def takes(self, table: Any) -> bool:
        """Can this batch's columns go through the kernels (text and integer columns only)?"""
        schema = table.schema
        for name in self.sources:
            index = schema.get_field_index(name)
            if index >= 0 and not _text_like(schema.field(index).type):
                return False
        return True

    # --- mapping -----------------------------------------------------------------------
    def map_batch(self, batch: Batch) -> MappedBatch:
        table = batch.table
        n = int(table.num_rows)
        cache: dict[str, Array] = {}

        def column(name: str) -> Array:
            if name not in cache:
                index = table.schema.get_field_index(name)
                if index < 0:
                    cache[name] = pa.nulls(n, pa.string())
                else:
                    col = table.column(index)
                    cache[name] = col if pa.types.is_string(col.type) else pc.cast(col, pa.string())
            return cache[name]

        keys, unsure = self._keys(column)
        values: list[Array] = []
        for f in self.fields:
            value, doubt = f.compute(column, n)
            values.append(value)
            unsure = either(unsure, doubt)
        json, doubt = self.encoder.encode(keys, [f.name for f in self.fields], values)
        unsure = either(unsure, doubt)
        texts: list[bytes | None] = as_bytes(json)  # type: ignore[assignment]
        key_list: list[str | None] = keys.to_pylist()
        block = _Block([f.name for f in self.fields], values)
        doubtful = [] if unsure is None else pc.indices_nonzero(unsure).to_pylist()
        if not doubtful:
            return MappedBatch(EncodedPayloads(key_list, list(range(n)), texts, block))  # type: ignore[arg-type]
        return self._with_row_path(batch, doubtful, key_list, texts, block)

    def _keys(self, column: Callable[[str], Array]) -> tuple[Array, Mask]:
        parts = [strip(column(name)) for name in self.mapper.key_fields]
        missing: Mask = None
        for part in parts:
            missing = either(missing, pc.or_(pc.is_null(part), flag(pc.equal(part, EMPTY))))
        keys = parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, "|")
        return keys, missing

    def _with_row_path(self, batch: Batch, doubtful: list[int], keys: list[str | None], texts: list[bytes | None],
                       block: _Block) -> MappedBatch:
        """Map the rows a kernel was unsure of with the row path, keeping source order."""
        rows = batch.rows
        wanted = set(doubtful)
        out_keys: list[str] = []
        out_index: list[int] = []
        out_text: list[bytes] = []
        overrides: dict[int, Payload] = {}
        rejects: list[Reject] = []
        skipped = 0
        encode_one, map_one = self.encoder.encode_one, self.mapper.map_one
        for i, text in enumerate(texts):
            if i not in wanted:
                out_keys.append(keys[i])  # type: ignore[arg-type]
                out_index.append(i)
                out_text.append(text)  # type: ignore[arg-type]
                continue
            outcome = map_one(rows[i], i)
            if isinstance(outcome, Payload):
                overrides[len(out_keys)] = outcome
                out_keys.append(outcome.key)
                out_index.append(i)
                out_text.append(encode_one(outcome))
            elif outcome is None:
                skipped += 1
            else:
                outcome.origin, outcome.position, outcome.row = batch.origin, batch.where(i), i
                rejects.append(outcome)
        return MappedBatch(EncodedPayloads(out_keys, out_index, out_text, block, overrides), rejects,  # type: ignore[arg-type]
                           skipped)


class _Block:
    """The mapped text columns of one batch, turned into Python values only when a payload's
    ``data`` is asked for (rejects, associations, dry runs)."""

    def __init__(self, names: list[str], values: list[Array]) -> None:
        self.names, self.values = names, values
        self._lists: list[list[Any]] | None = None

    def data(self, row: int) -> dict[str, Any]:
        if self._lists is None:
            self._lists = [v.to_pylist() for v in self.values]
        return {name: column[row] for name, column in zip(self.names, self._lists, strict=True)}


def _text_like(t: Any) -> bool:
    return bool(pa.types.is_string(t) or pa.types.is_integer(t) or pa.types.is_null(t))


def _field(plan: FieldPlan) -> FieldFn | str:
    """The vectorised form of one field plan (mirrors plan.evaluate), or why there is none."""
    spec = plan.spec
    if not plan.simple or len(plan.target.parts) > 1:
        return "list and nested targets run on the row path"
    steps: list[kernels.KernelStep] = []
    for item in (spec.convert if spec is not None else []):
        parts = kernels.item_parts(item)
        step = None if parts is None else kernels.build(*parts)
        if step is None:
            return f"converter {item!r} has no vectorised form"
        if steps and not steps[-1].text_out:
            return "a number or boolean converter followed by another converter"
        steps.append(step)
    text_out = not steps or steps[-1].text_out
    checks = _checks(spec, text_out)
    if isinstance(checks, str):
        return checks
    nulls = sorted(t for t in plan.nulls if isinstance(t, str))
    default = None if not plan.has_default else as_text(plan.default)
    if plan.has_default and checks and not isinstance(plan.default, str):
        return "a non-text default with checks"
    if plan.kind == "value":
        if plan.const is not None and not isinstance(plan.const, str) and steps:
            return "a non-text constant with converters"
        const = None if plan.const is None else as_text(plan.const) if not steps else plan.const
    elif plan.kind == "template":
        template = plan.template
    source = plan.sources[0] if plan.kind == "from" else None
    required = plan.required
    nulled = _nuller(nulls)

    def compute(column: Callable[[str], Array], n: int) -> tuple[Array, Mask]:
        if source is not None:
            v = column(source)
        elif plan.kind == "template":
            pieces: list[Any] = []
            for literal, name in template:
                pieces.append(literal)
                if name is not None:
                    pieces.append(pc.fill_null(column(name), EMPTY))
            v = empty_to_null(strip(pc.binary_join_element_wise(*pieces, EMPTY)))
        else:
            v = pa.array([const] * n, pa.string())
        v = nulled(v)
        unsure: Mask = None
        for step in steps:
            v, doubt = step.fn(v)
            unsure = either(unsure, doubt)
        if default is not None:
            v = pc.fill_null(v, default)
        elif required:
            unsure = either(unsure, pc.is_null(v))
        for check in checks:
            unsure = either(unsure, flag(pc.and_(pc.is_valid(v), pc.invert(flag(check(v))))))
        return v, unsure
    return compute


def _nuller(nulls: list[str]) -> Callable[[Array], Array]:
    """The field's ``null_if`` as a kernel; its value set is made once, not for every block."""
    if nulls == [""]:
        return empty_to_null
    null_set = pa.array(nulls, pa.string())
    return lambda v: null_where(flag(pc.is_in(v, value_set=null_set)), v)


def _checks(spec: Any, text_out: bool) -> list[Callable[[Array], Array]] | str:
    """The field's checks as predicates (true = passes); only on text values."""
    if spec is None:
        return []
    checks: list[Callable[[Array], Array]] = []
    if spec.type not in (None, "string") or spec.min is not None or spec.max is not None:
        return "type, min and max checks run on the row path"
    if not text_out and (spec.type or spec.pattern or spec.enum or spec.max_length is not None):
        return "checks on a number or boolean run on the row path"
    if spec.pattern is not None:
        pattern = "^(?:" + spec.pattern + ")$"
        try:
            pc.match_substring_regex(pa.array(["x"]), pattern)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return f"pattern {spec.pattern!r} has no RE2 form"
        checks.append(lambda v: pc.match_substring_regex(v, pattern))
    if spec.enum is not None:
        if not all(isinstance(e, str) for e in spec.enum):
            return "an enum of non-text values"
        allowed = pa.array(list(spec.enum), pa.string())
        checks.append(lambda v: pc.is_in(v, value_set=allowed))
    if spec.max_length is not None:
        size = spec.max_length
        checks.append(lambda v: pc.less_equal(pc.utf8_length(v), size))
    return checks
