"""Declared mappings: a flow's ``[mapping]`` table compiled once into a fast function,
with converters for legacy formats, validation, and rejects with business-readable
reasons (see docs/mapping.md)."""

from __future__ import annotations

from legacy_bridge.mapping.compile import Mapper, compile_mapping
from legacy_bridge.mapping.spec import Condition, FieldSpec, MappingSpec

__all__ = ["Condition", "FieldSpec", "Mapper", "MappingSpec", "compile_mapping"]
