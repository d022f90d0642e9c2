"""What happens to a file once it is delivered (archive, delete, leave) or cannot be
(quarantine with a ``.reason.txt`` beside it, or leave)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from legacy_bridge.errors import TransportError
from legacy_bridge.registry import Spec
from legacy_bridge.runtime.context import FlowContext
from legacy_bridge.transports.base import Transport


class AfterSpec(Spec):
    success: Literal["archive", "delete", "leave"] = "leave"
    archive_to: str | None = Field(default=None, description="folder (relative to path, or absolute)")
    failure: Literal["quarantine", "leave"] = "quarantine"
    quarantine_to: str = Field(default="quarantine", description="folder (relative to path, or absolute)")


def folders(spec: AfterSpec) -> list[str]:
    """Folders the source must never list as drops."""
    out = [spec.quarantine_to]
    if spec.archive_to:
        out.append(spec.archive_to)
    return out


def success(ctx: FlowContext, t: Transport, spec: AfterSpec, file_id: int, name: str, marker: str | None) -> None:
    try:
        if spec.success == "archive" and spec.archive_to:
            moved = t.move(name, spec.archive_to)
            ctx.store.set_file_status(file_id, "done", name=moved)
            ctx.log.info("archived %s as %s", name, moved)
        elif spec.success == "delete":
            t.delete(name)
            ctx.log.info("deleted %s", name)
        if marker:
            t.delete(marker)
    except TransportError as exc:  # delivered anyway; the ledger keeps it from being sent twice
        ctx.log.warning("%s was delivered but could not be %sd: %s", name, spec.success, exc)


def quarantine(ctx: FlowContext, t: Transport, spec: AfterSpec, file_id: int, name: str, marker: str | None,
               reason: str) -> None:
    moved = name
    if spec.failure == "quarantine":
        try:
            moved = t.move(name, spec.quarantine_to)
            t.write_text(moved + ".reason.txt", reason + "\n")
            if marker:
                t.delete(marker)
        except TransportError as exc:
            ctx.log.error("could not quarantine %s: %s", name, exc)
    ctx.store.set_file_status(file_id, "quarantined", reason=reason, name=moved)
