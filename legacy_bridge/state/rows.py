"""Database rows (dicts by column name) to the store's record types (and back, for rejects)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from legacy_bridge.records import Reject
from legacy_bridge.state import codec
from legacy_bridge.state.base import FileEntry, HeartbeatInfo, LeaseInfo, RejectEntry, RunRecord
from legacy_bridge.state.db import aware


def run_record(m: Mapping[str, Any]) -> RunRecord:
    return RunRecord(
        id=m["id"], job=m["job"], flow=m["flow"], started=aware(m["started"]), ended=_maybe(m["ended"]),
        status=m["status"], read=m["read"], sent=m["sent"], rejected=m["rejected"],
        skipped=m["skipped"], retried=m["retried"], files=m["files"],
        watermark_before=codec.decode(m["watermark_before"]),
        watermark_after=codec.decode(m["watermark_after"]),
        error=m["error"], host=m["host"], pid=m["pid"], dry_run=bool(m["dry_run"]),
    )


def file_entry(m: Mapping[str, Any]) -> FileEntry:
    return FileEntry(
        id=m["id"], job=m["job"], flow=m["flow"], name=m["name"], size=m["size"], mtime=m["mtime"],
        sha256=m["sha256"], status=m["status"], records_total=m["records_total"],
        records_done=m["records_done"], rejects=m["rejects"], encoding=m["encoding"],
        reason=m["reason"], first_seen=aware(m["first_seen"]), updated=aware(m["updated"]),
    )


def reject_entry(m: Mapping[str, Any]) -> RejectEntry:
    raw = m["raw"]
    return RejectEntry(
        id=m["id"], job=m["job"], flow=m["flow"], run_id=m["run_id"], origin=m["origin"],
        position=m["position"], key=m["key"], field=m["field"], value=m["value"], reason=m["reason"],
        raw=json.loads(raw) if raw is not None else None, stage=m["stage"], status=m["status"],
        created=aware(m["created"]),
    )


def lease_info(m: Mapping[str, Any]) -> LeaseInfo:
    return LeaseInfo(job=m["job"], flow=m["flow"], holder=m["holder"], host=m["host"], pid=m["pid"],
                     acquired=aware(m["acquired"]), expires=aware(m["expires"]))


def heartbeat_info(m: Mapping[str, Any]) -> HeartbeatInfo:
    info = m["info"]
    return HeartbeatInfo(id=m["id"], kind=m["kind"], host=m["host"], pid=m["pid"], started=aware(m["started"]),
                         last_beat=aware(m["last_beat"]), info=json.loads(info) if info else {})


def _maybe(value: Any) -> datetime | None:
    return None if value is None else aware(value)


def _text(value: Any) -> str | None:
    return value if value is None or isinstance(value, str) else str(value)


def reject_rows(rejects: Sequence[Reject], *, job: str, flow: str, run_id: int,
                now: datetime) -> list[dict[str, Any]]:
    """Parameter rows for inserting ``rejects`` (raw as JSON, odd values as text)."""
    return [
        {
            "job": job, "flow": flow, "run_id": run_id, "origin": r.origin or "", "position": r.position or "",
            "key": _text(r.key), "field": _text(r.field), "value": _text(r.value), "reason": r.reason,
            "raw": codec.raw_json(r.raw), "stage": r.stage, "status": "open", "created": now,
        }
        for r in rejects
    ]
