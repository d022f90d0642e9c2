"""The source seam: batches in source order, each with the checkpoint it makes true."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from legacy_bridge.records import Batch
from legacy_bridge.runtime.context import FlowContext


class Source(Protocol):
    def batches(self, ctx: FlowContext) -> Iterator[Batch]:
        """Yield batches of at most ``ctx.batch_size`` rows, resuming after the flow's
        committed checkpoint (``ctx.store``).  Stops early when ``ctx.stopping()``."""
        ...

    def committed(self, batch: Batch, ctx: FlowContext) -> None:
        """Called after ``batch``'s checkpoint was committed (e.g. archive a finished file), on the
        delivering thread, under the lock the reading thread holds while it advances ``batches``."""
        ...

    def acts_on_commit(self, batch: Batch) -> bool:
        """Whether ``committed`` has anything to do for ``batch``; False spares the delivering thread
        the lock, which it would otherwise wait for while the reading thread fetches the next block.
        Asked without the lock, while ``batches`` may be running: it looks at the batch alone."""
        ...

    def close(self) -> None: ...
