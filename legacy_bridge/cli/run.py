"""``legacy-bridge run JOB``: run a job's flows once (the shared entry of python -m legacy_bridge.jobs.X)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from legacy_bridge.cli.common import add_job_arg, open_job_state
from legacy_bridge.config.loader import load_job
from legacy_bridge.runtime.runner import FlowResult, RunOptions, exit_code, run_job


def add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--flow", action="append", metavar="F", help="run only this flow (repeatable)")
    parser.add_argument("--dry-run", action="store_true",
                        help="read and map, print the requests that would be sent; send and commit nothing")
    parser.add_argument("--full-refresh", action="store_true",
                        help="forget the watermark, file ledger and hashes first and send everything again")
    parser.add_argument("--wait", action="store_true", help="if the flow is running elsewhere, wait for it")
    parser.add_argument("--once", action="store_true", help="run once and exit (the default)")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("run", help="run a job's flows once",
                       description="Run every enabled flow of a job once, resuming from its checkpoints.",
                       epilog="examples:\n  legacy-bridge run erp_to_crm\n  legacy-bridge run jobs/erp_to_crm.toml --flow customers --dry-run",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    add_job_arg(p)
    add_run_options(p)
    p.set_defaults(func=cmd_run)


def install_stop_handlers(stop: threading.Event) -> None:
    """First SIGINT/SIGTERM: take no new batch, finish and commit those in flight.  Second: stop now."""

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        print(f"\n{signal.Signals(signum).name}: finishing the batches in flight, then stopping "
              "(again to stop at once)", file=sys.stderr)

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGTERM, handler)


def cmd_run(args: argparse.Namespace) -> int:
    job = load_job(args.job)
    store = open_job_state(args, job)
    stop = threading.Event()
    install_stop_handlers(stop)
    options = RunOptions(flows=args.flow, dry_run=args.dry_run, full_refresh=args.full_refresh, wait=args.wait)
    try:
        results = run_job(job, store, options, stop)
    finally:
        store.close()
    print_summary(job.name, results, dry_run=args.dry_run)
    return exit_code(results)


def print_summary(job: str, results: list[FlowResult], *, dry_run: bool = False) -> None:
    title = f"{job}{' (dry run: nothing sent, nothing committed)' if dry_run else ''}"
    print(title)
    for r in results:
        c = r.counts
        extra = "".join(f", {k} {v}" for k, v in r.notes.items() if isinstance(v, int | str))
        print(f"  {r.flow:<20} {r.status:<11} read {c.read}, sent {c.sent}, rejected {c.rejected}, "
              f"skipped {c.skipped}, retried {c.retried}, files {c.files}{extra} ({r.duration_s:.1f}s)")
        if r.error:
            for line in r.error.splitlines():
                print(f"      {line}")
    if any(r.counts.rejected for r in results):
        print(f"  rejected records are kept: see `legacy-bridge rejects {job}`")
