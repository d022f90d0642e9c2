"""The mapping table of a flow (placeholder shape; the mappings issue extends it)."""

from __future__ import annotations

from pydantic import Field

from legacy_bridge.registry import Spec


class FieldSpec(Spec):
    from_: str | None = Field(default=None, alias="from")
    value: object | None = None
    required: bool = False


class MappingSpec(Spec):
    key: str | list[str]
    fields: dict[str, str | FieldSpec] = Field(default_factory=dict)
