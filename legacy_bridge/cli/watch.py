"""``legacy-bridge watch JOB``: process files as they arrive (``python -m legacy_bridge.jobs.X --watch``)."""

from __future__ import annotations

import argparse
import sys
import threading

from legacy_bridge.cli.common import add_job_arg, open_job_state
from legacy_bridge.cli.run import install_stop_handlers
from legacy_bridge.config.loader import load_job
from legacy_bridge.errors import ConfigError
from legacy_bridge.observe.logs import get_logger
from legacy_bridge.runtime.drops import drop_of
from legacy_bridge.runtime.watcher import FlowWatch, Watcher, WatchOptions

EPILOG = """\
examples:
  legacy-bridge watch erp_to_crm                        every files flow of the job
  legacy-bridge watch erp_to_crm --flow orders_drop     one flow
  legacy-bridge watch erp_to_crm --polling              drop folder on an SMB/NFS mount
  python -m legacy_bridge.jobs.erp_to_crm --watch       the same through the job module

Files waiting at start are processed first.  A file is taken once it is complete (the
source's min_age, done marker and ignore rules) and delivered once, whatever events
it raised.  SIGTERM lets the running flow commit the batches in flight, then exits 0.
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("watch", help="process files as they arrive in drop folders (long-running)",
                       description="Watch the drop folders of a job's files flows (local: events plus a "
                                   "periodic listing; SFTP: polling) and run the flow when files arrive.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_job_arg(p)
    p.add_argument("--flow", action="append", metavar="F", help="watch only this flow (repeatable)")
    p.add_argument("--poll-interval", type=float, metavar="S",
                   help="list the folders every S seconds (default: the source's poll_interval, or 30)")
    p.add_argument("--polling", action="store_true",
                   help="poll local folders instead of using file-system events (SMB/NFS mounts)")
    p.add_argument("--heartbeat-interval", type=float, default=5.0, metavar="S",
                   help="how often the heartbeat is written to the state store (seconds, default 5)")
    p.set_defaults(func=cmd_watch)


def cmd_watch(args: argparse.Namespace) -> int:
    job = load_job(args.job)
    wanted = set(args.flow or [])
    for name in wanted:
        job.flow(name)  # ConfigError naming the flows when unknown
    log = get_logger(job=job.name)
    options = WatchOptions(poll_s=args.poll_interval, polling=True if args.polling else None,
                           heartbeat_s=args.heartbeat_interval)
    flows = [f for f in job.spec.flows if (f.name in wanted if wanted else f.enabled)]
    drops = [(f, drop_of(job.name, f, job.base_dir)) for f in flows]
    for flow, drop in drops:
        if drop is None:
            log.warning("flow %s reads %s, not files: not watched (schedule it, or run it with "
                        "`legacy-bridge run %s --flow %s`)", flow.name, flow.source.kind, job.name, flow.name)
    watched = [(f, d) for f, d in drops if d is not None]
    if not watched:
        raise ConfigError(f"job {job.name} has no files flow to watch",
                          hint="watch mode is for file drops (source kind = \"files\")")
    stop = threading.Event()
    install_stop_handlers(stop)
    store = open_job_state(args, job)
    try:
        watches = [FlowWatch(job, flow, drop, store, options, stop) for flow, drop in watched]
        Watcher(job, watches, store, stop, heartbeat_s=options.heartbeat_s).run()
    finally:
        store.close()
    print(f"watcher of {job.name} stopped", file=sys.stderr)
    return 0
