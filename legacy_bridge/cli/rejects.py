"""rejects, replay, preview: the user-facing side of mappings."""

from __future__ import annotations

import argparse
import csv
import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from legacy_bridge.cli.common import add_job_arg, open_job_state, print_json, print_table, to_jsonable
from legacy_bridge.config.loader import load_job
from legacy_bridge.errors import UsageError
from legacy_bridge.runtime.preview import Preview, flatten, preview_flow
from legacy_bridge.runtime.replay import FlowReplay, replay_job
from legacy_bridge.runtime.runner import exit_code
from legacy_bridge.state.base import RejectEntry

FMT = argparse.RawDescriptionHelpFormatter
TABLE_LIMIT = 200
FIXED_COLUMNS = ["id", "job", "flow", "status", "stage", "origin", "position", "key", "field", "value", "reason",
                 "created"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("rejects", help="list the records that were rejected, with file, line and reason",
                       formatter_class=FMT, epilog="examples:\n  legacy-bridge rejects erp_to_crm\n"
                       "  legacy-bridge rejects erp_to_crm --flow orders_drop --status all\n"
                       "  legacy-bridge rejects erp_to_crm --export rejects.csv   (raw fields as extra columns)")
    add_job_arg(p)
    p.add_argument("--flow", help="only this flow")
    p.add_argument("--status", choices=["open", "replayed", "resolved", "all"], default="open")
    p.add_argument("--json", action="store_true", help="JSON for machines, raw records included")
    p.add_argument("--export", metavar="FILE.csv", help="write a CSV (UTF-8 with BOM, opens in Excel)")
    p.add_argument("--limit", type=int, metavar="N", help=f"at most N (table default: {TABLE_LIMIT})")
    p.set_defaults(func=cmd_rejects)

    p = sub.add_parser("replay", help="map stored rejects again with the current mapping and send those that pass",
                       formatter_class=FMT, epilog="examples:\n  legacy-bridge replay erp_to_crm --dry-run\n"
                       "  legacy-bridge replay erp_to_crm --flow orders_drop\n  legacy-bridge replay erp_to_crm --id 12 --id 13\n\n"
                       "exit codes: 0 all replayed, 3 some still fail, 1 a flow could not replay, 2 configuration error")
    add_job_arg(p)
    p.add_argument("--flow", action="append", metavar="F", help="only this flow (repeatable)")
    p.add_argument("--id", action="append", type=int, dest="ids", metavar="N", help="only this reject (repeatable)")
    p.add_argument("--dry-run", action="store_true", help="map and report; send and record nothing")
    p.add_argument("--wait", action="store_true", help="if the flow is running, wait for it to finish")
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("preview", help="show source rows, mapped payloads and rejects side by side; sends nothing",
                       formatter_class=FMT, epilog="examples:\n  legacy-bridge preview erp_to_crm --flow orders_drop\n"
                       "  legacy-bridge preview erp_to_crm --flow customers --limit 5 --json\n"
                       "  legacy-bridge preview erp_to_crm --flow orders_drop --from-start   (data already delivered)")
    add_job_arg(p)
    p.add_argument("--flow", required=True)
    p.add_argument("--limit", type=int, default=20, metavar="N", help="records to read (default 20)")
    p.add_argument("--from-start", action="store_true",
                   help="ignore the checkpoint: read from the beginning, as after a reset")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_preview)


# --- rejects ------------------------------------------------------------------------------------
def cmd_rejects(args: argparse.Namespace) -> int:
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be at least 1")
    job = load_job(args.job, resolve_secrets=False)
    if args.flow:
        job.flow(args.flow)
    status = None if args.status == "all" else args.status
    limit = args.limit if args.limit is not None or args.json or args.export else TABLE_LIMIT
    store = open_job_state(args, job)
    try:
        entries = store.list_rejects(job.name, args.flow, status=status, limit=None if limit is None else limit + 1)
    finally:
        store.close()
    more = limit is not None and len(entries) > limit
    entries = entries[:limit] if limit is not None else entries
    if args.export:
        count = export_csv(entries, Path(args.export))
        print(f"wrote {count} reject{'s' if count != 1 else ''} to {args.export}")
    elif args.json:
        print_json([asdict(e) for e in entries])
    else:
        print_rejects(job.name, entries, args.status, more)
    return 0


def where_of(e: RejectEntry) -> str:
    return f"{e.origin} {e.position}".strip()


def print_rejects(job: str, entries: Sequence[RejectEntry], status: str, more: bool) -> None:
    if not entries:
        print(f"no {'' if status == 'all' else status + ' '}rejects for {job}")
        return
    flows = {e.flow for e in entries}
    headers = ["id", *(["flow"] if len(flows) > 1 else []), "where", "key", "field", "value", "reason",
               *(["status"] if status == "all" else [])]
    rows = [[e.id, *([e.flow] if len(flows) > 1 else []), where_of(e), e.key, e.field, _cut(e.value, 30), e.reason,
             *([e.status] if status == "all" else [])] for e in entries]
    print_table(headers, rows)
    if more:
        print("... more rejects: use --limit N, --json or --export FILE.csv to see them all")
    if status == "open":
        print(f"\nafter fixing the mapping or the data: legacy-bridge replay {job}"
              f"{' --flow ' + next(iter(flows)) if len(flows) == 1 else ''}")


def _cut(value: str | None, width: int) -> str:
    if value is None:
        return ""
    value = value.replace("\n", " ").replace("\r", " ")
    return value if len(value) <= width else value[: width - 3] + "..."


def export_csv(entries: Sequence[RejectEntry], path: Path) -> int:
    """One line per reject; the raw record's fields follow as extra columns (a raw field
    whose name clashes with a fixed column is written ``raw.<name>``)."""
    raw_names: dict[str, None] = {}
    for e in entries:
        raw_names.update(dict.fromkeys(e.raw or {}))
    header = FIXED_COLUMNS + [f"raw.{n}" if n in FIXED_COLUMNS else n for n in raw_names]
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for e in entries:
            fixed = [e.id, e.job, e.flow, e.status, e.stage, e.origin, e.position, e.key, e.field, e.value,
                     e.reason, e.created.isoformat()]
            raw = e.raw or {}
            writer.writerow([_cell(v) for v in fixed] + [_cell(raw.get(n)) for n in raw_names])
    return len(entries)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


# --- replay -------------------------------------------------------------------------------------
def cmd_replay(args: argparse.Namespace) -> int:
    job = load_job(args.job)
    store = open_job_state(args, job)
    try:
        results = replay_job(job, store, flows=args.flow, ids=args.ids, dry_run=args.dry_run, wait=args.wait)
    finally:
        store.close()
    print_replay(job.name, results, args.dry_run)
    return exit_code(results)


def print_replay(job: str, results: Sequence[FlowReplay], dry_run: bool) -> None:
    print(f"{job}{' (dry run: nothing sent, nothing recorded)' if dry_run else ''}")
    if not results or not any(r.items or r.error for r in results):
        print("  no open rejects to replay")
        return
    label = {"replayed": "would send" if dry_run else "replayed", "failing": "still fails",
             "resolved": "resolved", "unsent": "not sent"}
    for r in results:
        print(f"  {r.flow}: {'would send' if dry_run else 'replayed'} {r.count('replayed')}, "
              f"still failing {r.count('failing')}, resolved {r.count('resolved')}"
              + (f", not sent {r.count('unsent')}" if r.count("unsent") else ""))
        for item in sorted(r.items, key=lambda i: i.id):
            where = f"{item.origin} {item.position}".strip()
            line = f"    #{item.id:<5} {label[item.outcome]:<11} {where}" + (f"  key {item.key}" if item.key else "")
            print(line + (f": {item.reason}" if item.reason and item.outcome != "replayed" else ""))
        if r.error:
            for line in r.error.splitlines():
                print(f"    {line}")
    if any(r.count("failing") for r in results) and not dry_run:
        print(f"  records that still fail stay open with their new reason: legacy-bridge rejects {job}")


# --- preview ------------------------------------------------------------------------------------
def cmd_preview(args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    job = load_job(args.job, resolve_secrets=False)  # the preview resolves its source's references only
    job.flow(args.flow)
    store = None
    state = _existing_state(args, job)
    if state and not args.from_start:
        store = open_job_state(args, job)
    try:
        result = preview_flow(job, args.flow, store, limit=args.limit, from_start=args.from_start)
    finally:
        if store is not None:
            store.close()
    if args.json:
        print_json(preview_json(result))
    else:
        print_preview(result)
    return 0


def _existing_state(args: argparse.Namespace, job: Any) -> bool:
    """Open the state store only if it exists (a preview must not create var/state.db)."""
    from legacy_bridge.cli.common import state_url
    from legacy_bridge.state.db import sqlite_file

    url = state_url(args, job)
    file = sqlite_file(url)  # None: a server (it exists, or opening it says why not) or :memory:
    return file.exists() if file is not None else url.strip() != ":memory:"


def preview_json(result: Preview) -> list[dict[str, Any]]:
    out = []
    for row in result.rows:
        reject = None if row.reject is None else {"field": row.reject.field, "value": row.reject.value,
                                                  "reason": row.reject.reason, "stage": row.reject.stage}
        out.append({"origin": row.origin, "position": row.position, "verdict": row.verdict, "key": row.key,
                    "source": row.source, "payload": row.payload, "reject": reject})
    return to_jsonable(out)  # type: ignore[no-any-return]


def print_preview(result: Preview, width: int = 38) -> None:
    print(f"{result.job} / {result.flow}: preview of {len(result.rows)} record{'s' if len(result.rows) != 1 else ''}"
          f"{' from the start' if result.from_start else ''} (nothing sent, nothing recorded)")
    if not result.rows:
        hint = "" if result.from_start else "; add --from-start to look at data already delivered"
        print(f"  nothing to read: no new rows or files{hint}")
        return
    for row in result.rows:
        head = f"{row.origin} {row.position}".strip()
        print(f"\n== {head}" + (f"  key {row.key}" if row.key else "") + f"  [{row.verdict}]")
        left = [(k, _show(v)) for k, v in (row.source or {}).items()]
        right = [(k, _show(v)) for k, v in flatten(row.payload or {})]
        lw = max([len(k) for k, _ in left] + [6])
        rw = max([len(k) for k, _ in right] + [7])
        print(f"   {'source'.ljust(lw)}  {''.ljust(width)}  |  payload")
        for i in range(max(len(left), len(right))):
            lk, lv = left[i] if i < len(left) else ("", "")
            rk, rv = right[i] if i < len(right) else ("", "")
            print(f"   {lk.ljust(lw)}  {_cut(lv, width).ljust(width)}  |  {rk.ljust(rw)}  {_cut(rv, width)}".rstrip())
        if row.reject is not None:
            print(f"   REJECTED: {row.reject.reason}")
        elif row.skipped:
            print("   skipped by the mapping's filter")


def _show(value: Any) -> str:
    if value is None:
        return "(empty)"
    if isinstance(value, list | dict):
        return json.dumps(to_jsonable(value), ensure_ascii=False)
    return str(value)
