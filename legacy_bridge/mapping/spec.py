"""The mapping table of a flow, as written in the job file (see docs/mapping.md).

Only the shape is checked here; converters, regexes and lookup files are checked by
``compile_mapping``, which reports every problem of a mapping together.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from legacy_bridge.registry import Spec

FieldType = Literal["string", "integer", "number", "decimal", "boolean", "date", "datetime"]
Scalar = str | int | float | bool
ConvertItem = str | dict[str, Any]

FIELD_KEYS = frozenset({
    "from", "value", "template", "default", "null_if", "convert", "required", "type",
    "pattern", "enum", "min", "max", "max_length",
})


class FieldSpec(Spec):
    """One target field: where its value comes from, how it is converted and checked."""

    from_: str | list[str] | None = Field(
        default=None, alias="from",
        description="source field (for a list target '...[]' several fields may be given)")
    value: Any = Field(default=None, description="a constant value")
    template: str | None = Field(default=None, description="text built from source fields, '{FNAME} {LNAME}'")
    default: Any = Field(default=None, description="value used when the source value is empty")
    null_if: list[Scalar] | None = Field(default=None, description="source values that mean 'no value'")
    convert: list[ConvertItem] = Field(default_factory=list, description="converters applied in order")
    required: bool = False
    type: FieldType | None = None
    pattern: str | None = Field(default=None, description="regular expression the whole value must match")
    enum: list[Scalar] | None = None
    min: int | float | str | None = None
    max: int | float | str | None = None
    max_length: int | None = Field(default=None, ge=0)

    @field_validator("convert", mode="before")
    @classmethod
    def _one_converter(cls, value: Any) -> Any:
        return [value] if isinstance(value, str | dict) else value

    @model_validator(mode="after")
    def _one_source(self) -> FieldSpec:
        given = [k for k, v in (("from", self.from_), ("value", self.value), ("template", self.template))
                 if v is not None]
        if len(given) > 1:
            raise ValueError(f"give only one of 'from', 'value' and 'template' (got {', '.join(given)})")
        return self


class Condition(Spec):
    """One record-level condition of a ``filter``; a record is kept when it holds."""

    field: str
    equals: Scalar | None = None
    not_equals: Scalar | None = None
    in_: list[Scalar] | None = Field(default=None, alias="in")
    not_in: list[Scalar] | None = None
    empty: bool | None = None
    not_empty: bool | None = None
    matches: str | None = Field(default=None, description="regular expression the whole value must match")

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        tests = [k for k in ("equals", "not_equals", "in_", "not_in", "empty", "not_empty", "matches")
                 if getattr(self, k) is not None]
        if len(tests) != 1:
            raise ValueError("a filter condition needs 'field' and exactly one of equals, not_equals, "
                             f"in, not_in, empty, not_empty, matches (got {len(tests)})")
        return self


class MappingSpec(Spec):
    """The mapping of a flow: record key, target fields, filter, dedupe."""

    key: str | list[str] = Field(description="source field(s) identifying a record; composite keys join with '|'")
    fields: dict[str, str | FieldSpec] = Field(default_factory=dict)
    filter: Condition | list[Condition] | None = Field(
        default=None, description="records are kept only when every condition holds; others are skipped")
    dedupe: bool = Field(default=False, description="within a batch, the last record for a key wins")

    @field_validator("fields", mode="before")
    @classmethod
    def _flatten(cls, value: Any) -> Any:
        """TOML turns ``properties.email = ...`` into nested tables: flatten them back to
        dotted target names.  A table is a field when it uses a field key (from, value ...)."""
        if not isinstance(value, dict):
            return value
        flat: dict[str, Any] = {}

        def walk(prefix: str, table: dict[str, Any]) -> None:
            for name, item in table.items():
                target = f"{prefix}{name}"
                if isinstance(item, dict) and item and not (set(item) & FIELD_KEYS):
                    walk(target + ".", item)
                else:
                    flat[target] = item

        walk("", value)
        return flat

    @field_validator("key")
    @classmethod
    def _key_not_empty(cls, value: str | list[str]) -> str | list[str]:
        if not value or (isinstance(value, list) and not all(value)):
            raise ValueError("name at least one source field as the record key")
        return value


__all__ = ["Condition", "FieldSpec", "FieldType", "MappingSpec"]
