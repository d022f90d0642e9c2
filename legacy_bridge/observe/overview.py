"""What every flow did and how far behind it is, gathered once from the job files and the
state store, for ``status``, the metrics, the alerts and the dashboard alike."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from legacy_bridge.config.loader import LoadedJob
from legacy_bridge.state.base import RunRecord, StateStore

SUCCESS = ("ok", "rejects")
HEALTH = {"ok": "ok", "rejects": "warn", "running": "ok", "never run": "warn", "disabled": "ok",
          "failed": "fail", "interrupted": "warn", "late": "fail"}
HISTORY_SCAN = 200  # how far back to look for the last success


def now_utc() -> datetime:
    return datetime.now(UTC)


def run_doc(r: RunRecord) -> dict[str, Any]:
    return {
        "run_id": r.id, "job": r.job, "flow": r.flow, "status": r.status,
        "started": r.started, "ended": r.ended, "duration_s": r.duration_s,
        "counts": {"read": r.read, "sent": r.sent, "rejected": r.rejected, "skipped": r.skipped,
                   "retried": r.retried, "files": r.files},
        "watermark_before": r.watermark_before, "watermark_after": r.watermark_after,
        "error": r.error, "host": r.host, "pid": r.pid, "dry_run": r.dry_run,
    }


def last_success(store: StateStore, job: str, flow: str) -> RunRecord | None:
    """The newest finished run that delivered (status ok or rejects), dry runs excluded."""
    return first_success(store.history(job, flow, limit=HISTORY_SCAN))


def first_success(runs: list[RunRecord]) -> RunRecord | None:
    """The first run of ``runs`` (newest first) that delivered and finished, dry runs excluded."""
    return next((r for r in runs if r.status in SUCCESS and not r.dry_run and r.ended is not None), None)


def _age_s(ts: datetime | None, now: datetime) -> float | None:
    return None if ts is None else max(0.0, (now - ts).total_seconds())


def _oldest_waiting(store: StateStore, job: str, flow: str, now: datetime) -> tuple[int, dict[str, Any] | None]:
    """Files of the ledger taken but not delivered yet: how many, and the oldest."""
    waiting = store.list_files(job, flow, status="in_progress")
    if not waiting:
        return 0, None
    oldest = min(waiting, key=lambda f: f.first_seen)
    return len(waiting), {"name": oldest.name, "since": oldest.first_seen,
                          "age_s": _age_s(oldest.first_seen, now),
                          "records_done": oldest.records_done, "records_total": oldest.records_total}


def flow_status(job: LoadedJob, flow: Any, store: StateStore, now: datetime,
                last: RunRecord | None) -> dict[str, Any]:
    """One flow's status document (what ``status --json`` prints per flow); ``last`` is its latest run."""
    name = flow.name
    success = last if last is not None and last.status in SUCCESS and not last.dry_run else None
    success = success or last_success(store, job.name, name)
    lease = store.current_lease(job.name, name)
    max_lag = getattr(flow, "max_lag", None)
    success_at = success.ended if success else None
    lag_s = _age_s(success_at, now)
    late = flow.enabled and max_lag is not None and last is not None and (lag_s is None or lag_s > float(max_lag))
    if lease is not None:
        state = "running"  # an ad-hoc run of a disabled flow too
    elif not flow.enabled:
        state = "disabled"  # switched off in its job file: not a warning, whatever it did before
    elif last is None:
        state = "never run"
    elif late and last.status in SUCCESS:
        state = "late"
    else:
        state = last.status
    files_waiting, oldest = _oldest_waiting(store, job.name, name, now)
    return {
        "job": job.name, "flow": name, "enabled": flow.enabled, "owner": job.spec.owner,
        "source": flow.source.kind, "target": flow.target.kind,
        "schedule": job.spec.schedule, "max_lag_s": max_lag,
        "state": state, "health": "fail" if late else HEALTH.get(state, "warn"),
        "watermark": store.get_watermark(job.name, name),
        "last_success": success_at, "lag_s": lag_s, "late": late,
        "files_waiting": files_waiting, "oldest_file_waiting": oldest,
        "open_rejects": store.count_rejects(job.name, name, status="open"),
        "running": None if lease is None else {"host": lease.host, "pid": lease.pid, "since": lease.acquired},
        "last_run": run_doc(last) if last else None,
    }


def job_status(job: LoadedJob, store: StateStore, now: datetime | None = None) -> list[dict[str, Any]]:
    now = now or now_utc()
    workers = workers_of(store, now, job=job.name)
    last = {r.flow: r for r in store.last_runs(job.name)}  # one query for every flow of the job
    docs = []
    for flow in job.spec.flows:
        doc = flow_status(job, flow, store, now, last.get(flow.name))
        doc["workers"] = workers
        docs.append(doc)
    return docs


# --- heartbeats of running schedulers and watchers -------------------------------------------

STALE_AFTER_S = 60.0  # a heartbeat older than this (or 3 intervals) means the process is gone
_BEAT_FIELDS = ("last_beat", "beat", "updated", "seen", "last_seen", "heartbeat")


def _hb_dict(hb: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(hb) and not isinstance(hb, type):
        return dataclasses.asdict(hb)
    if isinstance(hb, dict):
        return dict(hb)
    return {k: v for k, v in vars(hb).items() if not k.startswith("_")}


def heartbeat_doc(hb: Any, now: datetime) -> dict[str, Any]:
    """A heartbeat as a document with ``age_s`` and ``stale`` (whatever its exact fields)."""
    doc = _hb_dict(hb)
    info = doc.get("info")
    if isinstance(info, dict):  # what the process said about itself (jobs, interval ...)
        doc.update({k: v for k, v in info.items() if k not in doc})
    beat = next((doc[k] for k in _BEAT_FIELDS if isinstance(doc.get(k), datetime)), None)
    if beat is None:  # fall back to the newest timestamp in it
        stamps = [v for v in doc.values() if isinstance(v, datetime)]
        beat = max(stamps) if stamps else None
    age = _age_s(beat, now)
    interval = next((float(doc[k]) for k in ("interval_s", "interval", "ttl_s") if isinstance(doc.get(k), int | float)),
                    None)
    limit = max(STALE_AFTER_S, 3 * interval) if interval else STALE_AFTER_S
    expires = doc.get("expires")
    stale = (expires < now) if isinstance(expires, datetime) else (age is None or age > limit)
    doc["age_s"], doc["stale"] = age, stale
    return doc


def _covers(doc: dict[str, Any], job: str) -> bool:
    jobs = doc.get("jobs", doc.get("job"))
    if jobs is None or jobs == "" or jobs == "*":
        return True
    if isinstance(jobs, str):
        return job in {j.strip() for j in jobs.replace(";", ",").split(",")}
    return job in set(jobs) if isinstance(jobs, list | tuple | set) else True


def workers_of(store: StateStore, now: datetime, job: str | None = None) -> list[dict[str, Any]]:
    """Running schedulers/watchers from the store's heartbeats (empty if the store has none)."""
    lister = getattr(store, "list_heartbeats", None)
    if not callable(lister):
        return []
    docs = [heartbeat_doc(hb, now) for hb in lister()]
    return [d for d in docs if job is None or _covers(d, job)]


def age_text(seconds: float | None) -> str:
    """A duration as people read it on a status screen: 45s, 12m, 3h, 2d ('' when unknown)."""
    if seconds is None:
        return ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"
