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


class Deleter(Protocol):
    """A target that can also delete (or archive) records by key: ``deletes = "send"``.

    ``delete`` gets at most ``max_batch`` keys (the records' external ids, as the mapping
    makes them).  It returns once every key is deleted or refused for good
    (``Delivery.rejected`` indexes into ``keys``); a key the target does not know counts as
    deleted (a delete is repeated after a crash, so it must be idempotent).  Transient
    failures are retried inside, then ``TargetRetryable``."""

    max_batch: int

    def delete(self, keys: list[str]) -> Delivery: ...


def deleter_of(target: object) -> Deleter | None:
    """``target`` if it can delete records (it has ``delete`` and, where that depends on its
    configuration, ``can_delete`` is true), else None."""
    if not callable(getattr(target, "delete", None)) or not getattr(target, "can_delete", True):
        return None
    return target  # type: ignore[return-value]
