"""``legacy-bridge schedule [JOB...]``: the long-running scheduler (what the systemd unit runs)."""

from __future__ import annotations

import argparse
import sys
import threading

from legacy_bridge.cli.common import state_url
from legacy_bridge.cli.run import install_stop_handlers
from legacy_bridge.config.loader import jobs_dir
from legacy_bridge.errors import ConfigError
from legacy_bridge.runtime.jobfiles import JobFiles
from legacy_bridge.runtime.runner import RunOptions
from legacy_bridge.runtime.scheduler import Scheduler, SchedulerOptions
from legacy_bridge.runtime.stores import StorePool
from legacy_bridge.state import open_store

EPILOG = """\
examples:
  legacy-bridge schedule                       every job in jobs/ that has a schedule
  legacy-bridge schedule erp_to_crm            one job
  legacy-bridge --log-format json schedule     JSON log lines for a collector

Job files are reloaded when they change; an invalid change is reported and the previous
version stays in service.  SIGTERM (systemctl stop) lets running flows commit the batches
in flight, then exits 0; a second SIGTERM stops at once (exit 1).
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("schedule", help="run jobs on their cron schedules (long-running)",
                       description="Fire every job on its `schedule` (cron, in its `timezone`, plus up to "
                                   "`jitter`), one run of a flow at a time, until stopped.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("job", nargs="*", help="job names or paths (default: every job file in jobs/)")
    p.add_argument("--reload-interval", type=float, default=2.0, metavar="S",
                   help="how often job files are checked for changes (seconds, default 2)")
    p.add_argument("--heartbeat-interval", type=float, default=5.0, metavar="S",
                   help="how often the heartbeat is written to the state store (seconds, default 5)")
    p.set_defaults(func=cmd_schedule)


def job_state_url(args: argparse.Namespace) -> StorePool:
    """A pool opening each job's state store where `run` would (``cli.common.state_url``)."""
    return StorePool(lambda job: state_url(args, job), open_store)


def cmd_schedule(args: argparse.Namespace) -> int:
    stop = threading.Event()
    install_stop_handlers(stop)
    files = JobFiles(args.job or None)
    stores = job_state_url(args)
    options = SchedulerOptions(reload_s=args.reload_interval, heartbeat_s=args.heartbeat_interval,
                               run_options=RunOptions)
    scheduler = Scheduler(files, stores, stop, options)
    try:
        scheduler.start()
        if not scheduler.entries:
            where = ", ".join(args.job) if args.job else str(jobs_dir())
            raise ConfigError(f"nothing to schedule in {where}",
                              hint="give a job a `schedule = \"*/15 * * * *\"` line (and fix the errors above)")
        scheduler.run(started=True)
    finally:
        stores.close()
    print("scheduler stopped", file=sys.stderr)
    return 0
