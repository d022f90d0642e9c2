"""The target seam: deliver payloads, say which were refused for good.

``send`` is called from up to ``concurrency`` threads at once with lists of at most
``max_batch`` payloads.  It returns only when every payload is either acknowledged
or rejected permanently (``Delivery.rejected``).  Transient failures are retried
inside ``send``; when retries are exhausted it raises ``TargetRetryable`` and the
runner stops the flow with its checkpoint intact.
"""

from __future__ import annotations

from typing import Protocol

from legacy_bridge.records import Delivery, Payload
from legacy_bridge.runtime.context import FlowContext


class Target(Protocol):
    max_batch: int  # payloads per call
    concurrency: int  # calls in flight

    def open(self, ctx: FlowContext) -> None: ...

    def send(self, payloads: list[Payload]) -> Delivery: ...

    def describe(self, payloads: list[Payload]) -> list[str]:
        """What ``send`` would do, for --dry-run: one line (method URL body) per call, secrets redacted."""
        ...

    def close(self) -> None: ...
