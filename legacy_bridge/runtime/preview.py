"""Preview: the first source rows of a flow, their mapped payloads and rejects, side by side.

For whoever writes a mapping.  Nothing is sent (the target is not even built) and the
state store is only read, through ``PeekStore``, which refuses every write: no file is
registered in the ledger, no watermark moves, no file is archived or quarantined (the
source runs in a dry-run context and ``committed`` is never called).  By default the
preview starts where the next run would; ``from_start`` ignores the checkpoint (as if
the flow had been reset) to look at data already delivered.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter, ValidationError

from legacy_bridge.config.loader import LoadedJob, validation_problems
from legacy_bridge.config.refs import key_path, resolve_refs
from legacy_bridge.errors import ConfigError
from legacy_bridge.mapping import compile_mapping
from legacy_bridge.observe.logs import get_logger
from legacy_bridge.records import Batch, Payload, Reject, Row
from legacy_bridge.runtime.context import FlowContext
from legacy_bridge.runtime.peekstore import PeekStore
from legacy_bridge.sources import REGISTRY as SOURCES
from legacy_bridge.state.base import StateStore


@dataclass
class PreviewRow:
    origin: str
    position: str  # "line 14", "" for tables
    source: Row | None  # None: the source could not read the record
    key: str | None = None
    payload: dict[str, Any] | None = None
    reject: Reject | None = None
    skipped: bool = False  # the mapping's filter skips it on purpose

    @property
    def verdict(self) -> str:
        return "skipped" if self.skipped else "rejected" if self.reject is not None else "mapped"


@dataclass
class Preview:
    job: str
    flow: str
    rows: list[PreviewRow] = field(default_factory=list)
    from_start: bool = False
    notes: dict[str, Any] = field(default_factory=dict)  # what the source said (files read ...)


def preview_flow(job: LoadedJob, flow: str, store: StateStore | None, *, limit: int = 20,
                 from_start: bool = False) -> Preview:
    """Read at most ``limit`` records of ``flow``'s source and map them; send and write nothing.
    ``store``: the job's state store to start from (None: as if the flow never ran)."""
    spec = job.flow(flow)
    mapper = compile_mapping(spec.mapping, base_dir=job.base_dir)
    source = SOURCES.build(source_spec(job, flow), job.base_dir)
    result = Preview(job.name, flow, from_start=from_start)
    log = get_logger(job=job.name, flow=flow, command="preview")
    ctx = FlowContext(job=job.name, flow=flow, store=PeekStore(store, from_start=from_start), run_id=0,
                      batch_size=max(1, limit), base_dir=job.base_dir, log=log, full_refresh=from_start,
                      dry_run=True, stop_event=threading.Event(), notes=result.notes)
    batches = source.batches(ctx)
    try:
        for batch in batches:
            _add_batch(result, batch, mapper, limit)
            if len(result.rows) >= limit:
                break
    finally:
        close = getattr(batches, "close", None)
        if callable(close):
            close()  # closes the file or cursor the source was reading
        source.close()
    return result


def source_spec(job: LoadedJob, flow: str) -> Any:
    """The flow's source section with its ``${env:...}``/``${file:...}`` references resolved
    (only those: a preview needs no target credentials).  ``job`` may be loaded unresolved."""
    index = next(i for i, f in enumerate(job.spec.flows) if f.name == flow)
    raw = job.raw["flows"][index]["source"]
    problems: list[str] = []
    where = ("flows", index, "source")
    resolved = resolve_refs(raw, job.base_dir, problems, where)
    if not problems:
        try:
            return TypeAdapter(SOURCES.spec_type()).validate_python(resolved)
        except ValidationError as exc:
            problems = [f"{key_path(where)}.{p}" for p in validation_problems(exc, resolved)]
    raise ConfigError(f"the source of flow {flow} cannot be used", problems=problems,
                      hint=f"check the environment, then `legacy-bridge validate {job.name}`")


def _add_batch(result: Preview, batch: Batch, mapper: Any, limit: int) -> None:
    items: list[tuple[int, PreviewRow]] = []
    for reject in batch.rejects:  # records the source itself could not read
        items.append((_number(reject.position),
                      PreviewRow(reject.origin or batch.origin, reject.position, None, reject=reject)))
    for i, row in enumerate(batch.rows):
        if len(items) >= limit + len(batch.rejects):
            break
        outcome = mapper.map_row(row, i)
        item = PreviewRow(batch.origin, batch.where(i), row)
        if outcome is None:
            item.skipped = True
        elif isinstance(outcome, Payload):
            item.key, item.payload = outcome.key, outcome.data
        else:
            item.key, item.reject = outcome.key, outcome
        items.append((_number(item.position), item))
    items.sort(key=lambda pair: pair[0])  # source order, unreadable records in their place
    result.rows.extend(item for _, item in items[: max(0, limit - len(result.rows))])


def _number(position: str) -> int:
    number = position.rpartition(" ")[2]
    return int(number) if number.isdigit() else 0


def flatten(data: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """A payload as (dotted name, value) pairs, in payload order."""
    out: list[tuple[str, Any]] = []
    for name, value in data.items():
        if isinstance(value, dict):
            out.extend(flatten(value, f"{prefix}{name}."))
        else:
            out.append((f"{prefix}{name}", value))
    return out
