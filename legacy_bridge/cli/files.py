"""files: the file ledger of a job - which drops were delivered, resumed or quarantined."""

from __future__ import annotations

import argparse
from typing import Any

from legacy_bridge.cli.common import add_job_arg, open_job_state, print_json, print_table
from legacy_bridge.config.loader import load_job
from legacy_bridge.errors import UsageError
from legacy_bridge.state.base import FileEntry, FileStatus


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("files", help="the file ledger: file, status, records, rejects, when",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="examples:\n  legacy-bridge files erp_to_crm\n"
                              "  legacy-bridge files erp_to_crm --flow orders_drop --status quarantined --json")
    add_job_arg(p)
    p.add_argument("--flow")
    p.add_argument("--status", choices=["in_progress", "done", "quarantined"])
    p.add_argument("--limit", type=int, default=100)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_files)


def file_doc(e: FileEntry) -> dict[str, Any]:
    return {"id": e.id, "job": e.job, "flow": e.flow, "file": e.name, "status": e.status, "size": e.size,
            "sha256": e.sha256, "records_total": e.records_total, "records_done": e.records_done,
            "rejects": e.rejects, "encoding": e.encoding, "reason": e.reason, "first_seen": e.first_seen,
            "updated": e.updated}


def cmd_files(args: argparse.Namespace) -> int:
    job = load_job(args.job, resolve_secrets=False)
    if args.flow:
        job.flow(args.flow)
    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    status: FileStatus | None = args.status
    store = open_job_state(args, job)
    try:
        entries = store.list_files(job.name, args.flow, status=status, limit=args.limit)
    finally:
        store.close()
    if args.json:
        print_json([file_doc(e) for e in entries])
        return 0
    rows = []
    for e in entries:
        records = f"{e.records_done}/{e.records_total}" if e.records_total is not None else str(e.records_done)
        reason = (e.reason or "").splitlines()[0][:60] if e.reason else ""
        rows.append([e.flow, e.name, e.status, records, e.rejects, e.encoding or "",
                     f"{e.updated:%Y-%m-%d %H:%M:%S}", reason])
    print_table(["FLOW", "FILE", "STATUS", "RECORDS", "REJECTS", "ENCODING", "UPDATED (UTC)", "REASON"], rows)
    if not entries:
        print("no files in the ledger yet" + (f" for flow {args.flow}" if args.flow else ""))
    return 0
