"""status and history: what every flow did and how far behind it is."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

from legacy_bridge.cli.common import add_job_arg, load_jobs, open_job_state, print_json, print_table
from legacy_bridge.config.loader import load_job
from legacy_bridge.errors import UsageError
from legacy_bridge.state.base import RunRecord


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser("status", help="last run of every flow", formatter_class=fmt,
                       epilog="examples:\n  legacy-bridge status\n  legacy-bridge status erp_to_crm --json")
    add_job_arg(p, nargs="?")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("history", help="past runs of a job", formatter_class=fmt,
                       epilog="examples:\n  legacy-bridge history erp_to_crm --flow customers --limit 5 --json")
    add_job_arg(p)
    p.add_argument("--flow")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_history)



def run_doc(r: RunRecord) -> dict[str, Any]:
    return {
        "run_id": r.id, "job": r.job, "flow": r.flow, "status": r.status,
        "started": r.started, "ended": r.ended, "duration_s": r.duration_s,
        "counts": {"read": r.read, "sent": r.sent, "rejected": r.rejected, "skipped": r.skipped,
                   "retried": r.retried, "files": r.files},
        "watermark_before": r.watermark_before, "watermark_after": r.watermark_after,
        "error": r.error, "host": r.host, "pid": r.pid, "dry_run": r.dry_run,
    }


def _age(ts: datetime | None) -> str:
    if ts is None:
        return ""
    seconds = (datetime.now(UTC) - ts).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit} ago"
    return f"{seconds:.0f}s ago"


def cmd_status(args: argparse.Namespace) -> int:
    jobs = load_jobs([args.job] if args.job else None)
    docs: list[dict[str, Any]] = []
    for job in jobs:
        store = open_job_state(args, job)
        try:
            last = {r.flow: r for r in store.last_runs(job.name)}
            for flow in job.spec.flows:
                run = last.get(flow.name)
                lease = store.current_lease(job.name, flow.name)
                docs.append({
                    "job": job.name, "flow": flow.name, "enabled": flow.enabled,
                    "source": flow.source.kind, "target": flow.target.kind,
                    "watermark": store.get_watermark(job.name, flow.name),
                    "open_rejects": len(store.list_rejects(job.name, flow.name, status="open")),
                    "running": None if lease is None else {"host": lease.host, "pid": lease.pid, "since": lease.acquired},
                    "last_run": run_doc(run) if run else None,
                })
        finally:
            store.close()
    if args.json:
        print_json(docs)
        return 0
    rows = []
    for d in docs:
        run = d["last_run"]
        counts = run["counts"] if run else {}
        state = "running" if d["running"] else (run["status"] if run else "never run")
        rows.append([d["job"], d["flow"], state, _age(run["ended"] or run["started"]) if run else "",
                     counts.get("read", ""), counts.get("sent", ""), counts.get("rejected", ""),
                     d["open_rejects"], _short(d["watermark"])])
    print_table(["JOB", "FLOW", "LAST RUN", "WHEN", "READ", "SENT", "REJECTED", "OPEN REJECTS", "WATERMARK"], rows)
    return 0


def _short(value: Any) -> str:
    if value is None:
        return ""
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= 40 else text[:37] + "..."


def cmd_history(args: argparse.Namespace) -> int:
    job = load_job(args.job, resolve_secrets=False)
    if args.flow:
        job.flow(args.flow)
    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    store = open_job_state(args, job)
    try:
        runs = store.history(job.name, args.flow, limit=args.limit)
    finally:
        store.close()
    if args.json:
        print_json([run_doc(r) for r in runs])
        return 0
    rows = [[r.id, r.flow, r.status, f"{r.started:%Y-%m-%d %H:%M:%S}",
             f"{r.duration_s:.1f}s" if r.duration_s is not None else "", r.read, r.sent, r.rejected,
             (r.error or "").splitlines()[0][:60] if r.error else ""] for r in runs]
    print_table(["RUN", "FLOW", "STATUS", "STARTED (UTC)", "DURATION", "READ", "SENT", "REJECTED", "ERROR"], rows)
    return 0


