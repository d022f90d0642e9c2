"""status and history: what every flow did and how far behind it is."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from typing import Any

from legacy_bridge.cli.common import add_job_arg, load_jobs, open_job_state, print_json, print_table
from legacy_bridge.config.loader import load_job
from legacy_bridge.errors import UsageError
from legacy_bridge.observe.overview import age_text, job_status, run_doc

__all__ = ["cmd_history", "cmd_status", "gather_status", "register", "run_doc"]

_COLOURS = {"fail": "\033[31m", "warn": "\033[33m", "ok": "\033[32m"}
_RESET = "\033[0m"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser("status", help="last run of every flow, lag, rejects waiting, running workers",
                       formatter_class=fmt,
                       description="Per job and flow: the last run and its result, counts, how far behind it is "
                                   "(time since the last success, oldest file waiting), rejects waiting, and "
                                   "the schedulers/watchers running (stale ones flagged).",
                       epilog="examples:\n  legacy-bridge status\n  legacy-bridge status erp_to_crm --json")
    add_job_arg(p, nargs="?")
    p.add_argument("--json", action="store_true", help="a JSON list, one document per flow")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("history", help="past runs of a job", formatter_class=fmt,
                       description="Past runs, newest first, with duration, counts and errors.",
                       epilog="examples:\n  legacy-bridge history erp_to_crm\n"
                              "  legacy-bridge history erp_to_crm --flow customers --limit 5 --json")
    add_job_arg(p)
    p.add_argument("--flow", help="only this flow")
    p.add_argument("--limit", type=int, default=20, help="at most N runs (default 20)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_history)


def gather_status(args: argparse.Namespace, job_refs: list[str] | None) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for job in load_jobs(job_refs):
        store = open_job_state(args, job)
        try:
            docs.extend(job_status(job, store))
        finally:
            store.close()
    return docs


def _since(ts: datetime | None) -> str:
    return "" if ts is None else age_text((datetime.now(UTC) - ts).total_seconds()) + " ago"


def _paint(text: str, health: str) -> str:
    if not sys.stdout.isatty() or os.environ.get("NO_COLOR"):
        return text
    return f"{_COLOURS.get(health, '')}{text}{_RESET}"


def _status_row(d: dict[str, Any]) -> list[Any]:
    run = d["last_run"]
    counts = run["counts"] if run else {}
    lag = age_text(d["lag_s"]) if d["lag_s"] is not None else ("never" if run else "")
    if d["late"]:
        lag += " LATE"
    oldest = d["oldest_file_waiting"]
    waiting = f"{d['files_waiting']} (oldest {age_text(oldest['age_s'])})" if oldest else ""
    state = d["state"].upper() if d["health"] == "fail" else d["state"]
    return [d["job"], d["flow"], _paint(state, d["health"]), _since(run["ended"] or run["started"]) if run else "",
            counts.get("read", ""), counts.get("sent", ""), counts.get("rejected", ""), lag, waiting,
            d["open_rejects"], _short(d["watermark"])]


def cmd_status(args: argparse.Namespace) -> int:
    docs = gather_status(args, [args.job] if args.job else None)
    if args.json:
        print_json(docs)
        return 0
    print_table(["JOB", "FLOW", "LAST RUN", "WHEN", "READ", "SENT", "REJECTED", "LAG", "FILES WAITING",
                 "OPEN REJECTS", "WATERMARK"], [_status_row(d) for d in docs])
    workers: dict[str, dict[str, Any]] = {}
    for d in docs:
        for w in d["workers"]:
            workers[json.dumps(w, default=str, sort_keys=True)] = w
    if workers:
        print()
        rows = [[w.get("kind", w.get("role", "")), w.get("host", ""), w.get("pid", ""),
                 age_text(w["age_s"]) + " ago" if w["age_s"] is not None else "",
                 _paint("STALE", "fail") if w["stale"] else "alive"] for w in workers.values()]
        print_table(["WORKER", "HOST", "PID", "LAST HEARTBEAT", "STATE"], rows)
    for d in docs:
        if d["health"] == "fail" and d["last_run"] and d["last_run"]["error"]:
            first = d["last_run"]["error"].splitlines()[0]
            print(f"\n{d['job']}/{d['flow']}: {first}")
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
             f"{r.duration_s:.1f}s" if r.duration_s is not None else "", r.read, r.sent, r.rejected, r.retried,
             (r.error or "").splitlines()[0][:80] if r.error else ""] for r in runs]
    print_table(["RUN", "FLOW", "STATUS", "STARTED (UTC)", "DURATION", "READ", "SENT", "REJECTED", "RETRIED",
                 "ERROR"], rows)
    return 0
