"""Small helpers for the mapping tests: build one converter, map rows with a mapping."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from legacy_bridge.mapping import MappingSpec, compile_mapping
from legacy_bridge.mapping.compile import Mapper
from legacy_bridge.mapping.converters import BuildContext, build_step
from legacy_bridge.records import Batch, Checkpoint, MappedBatch


def conv(item: Any, value: Any, base_dir: Path = Path(".")) -> Any:
    """Run one converter (as written in a job file) on one value."""
    return build_step(item, "test", BuildContext(base_dir=base_dir)).fn(value)


def mapper(spec: dict[str, Any], base_dir: Path = Path(".")) -> Mapper:
    return compile_mapping(MappingSpec.model_validate(spec), base_dir=base_dir)


def run(spec: dict[str, Any] | Mapper, rows: list[dict[str, Any]], base_dir: Path = Path(".")) -> MappedBatch:
    m = spec if isinstance(spec, Mapper) else mapper(spec, base_dir)
    return m.map_batch(Batch(rows=rows, origin="drop/ORDERS.csv", checkpoint=Checkpoint(),
                             positions=[n + 2 for n in range(len(rows))]))
