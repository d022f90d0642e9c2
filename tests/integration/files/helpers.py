"""Driving a files source the way the runner does: commit each batch, then ``committed``."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from legacy_bridge.records import Batch, Counts
from legacy_bridge.runtime.context import FlowContext
from legacy_bridge.sources.files import FilesSource, FilesSpec
from legacy_bridge.state.base import StateStore


def make_source(base: Path, **spec: Any) -> FilesSource:
    data = {"kind": "files", "transport": {"kind": "local"}, "path": "drop", "format": {"kind": "csv"}, **spec}
    return FilesSource(FilesSpec.model_validate(data), base)


def make_ctx(store: StateStore, base: Path, batch_size: int = 2, job: str = "job", flow: str = "flow") -> FlowContext:
    run_id = store.begin_run(job, flow)
    return FlowContext(job=job, flow=flow, store=store, run_id=run_id, batch_size=batch_size, base_dir=base,
                       log=logging.LoggerAdapter(logging.getLogger("test.files"), {}),
                       stop_event=threading.Event())


def run(source: FilesSource, ctx: FlowContext, commit_limit: int | None = None) -> list[Batch]:
    """All batches; only the first ``commit_limit`` are committed (a crash after them)."""
    out: list[Batch] = []
    for batch in source.batches(ctx):
        out.append(batch)
        if commit_limit is not None and len(out) > commit_limit:
            break
        counts = Counts(read=len(batch.rows) + len(batch.rejects), sent=len(batch.rows),
                        rejected=len(batch.rejects))
        ctx.store.commit_batch(run_id=ctx.run_id, job=ctx.job, flow=ctx.flow, checkpoint=batch.checkpoint,
                               rejects=batch.rejects, counts=counts)
        source.committed(batch, ctx)
    source.close()
    return out


def rows_of(batches: list[Batch]) -> list[dict[str, Any]]:
    return [row for b in batches for row in b.rows]
