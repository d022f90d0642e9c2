"""``legacy-bridge schedule``: fire each job on its cron schedule until asked to stop.

* A job runs in its own worker thread; a job still running at its next slot is not
  started again: the slot is skipped with a log line (never queued up).  Flows held by
  another process (a watcher, an ad-hoc run) are skipped for that slot: the lease is
  the guard, this check only keeps the log quiet.
* ``catch_up = true``: if the latest slot before start has no run, it runs once at start.
* Job files are reloaded when they change; an invalid change is reported and the
  previous version stays in service.
* On stop (SIGTERM) no job is started any more; running flows take no new batch,
  finish and commit the batches in flight, and the scheduler returns.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from legacy_bridge.config.loader import LoadedJob
from legacy_bridge.errors import BridgeError
from legacy_bridge.observe.logs import get_logger
from legacy_bridge.runtime.cron import CronSchedule
from legacy_bridge.runtime.heartbeat import Heartbeat
from legacy_bridge.runtime.jobfiles import Change, JobFiles
from legacy_bridge.runtime.runner import RunOptions, exit_code, run_job
from legacy_bridge.runtime.stores import StorePool

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Entry:
    """One scheduled job: its version in service, its schedule and its worker."""

    path: Path
    job: LoadedJob
    cron: CronSchedule
    next_slot: datetime
    fire_at: datetime
    worker: threading.Thread | None = None
    running_since: datetime | None = None
    stop: threading.Event = field(default_factory=threading.Event)

    def busy(self) -> bool:
        return self.worker is not None and self.worker.is_alive()


@dataclass
class SchedulerOptions:
    reload_s: float = 2.0  # how often job files are checked for changes
    heartbeat_s: float = 5.0
    max_sleep_s: float = 1.0
    lag_check_s: float = 60.0  # how often flows are checked against their max_lag (alerts)
    run_options: Callable[[], RunOptions] = RunOptions


class Scheduler:
    def __init__(self, files: JobFiles, stores: StorePool, stop: threading.Event,
                 options: SchedulerOptions | None = None, clock: Clock = utcnow) -> None:
        self.files, self.stores, self.stop = files, stores, stop
        self.options = options or SchedulerOptions()
        self.clock = clock
        self.entries: dict[Path, Entry] = {}
        self._workers: list[tuple[str, threading.Thread, threading.Event]] = []
        self.log = get_logger()

    # --- schedule bookkeeping ----------------------------------------------------------------
    def _entry(self, path: Path, job: LoadedJob, now: datetime) -> Entry | None:
        spec = job.spec
        if not spec.schedule:
            self.log.warning("job %s (%s) has no schedule: not scheduled (run it with `legacy-bridge run %s`)",
                             job.name, path, job.name)
            return None
        cron = CronSchedule(spec.schedule, spec.timezone, spec.jitter)
        slot = cron.next_after(now)
        return Entry(path, job, cron, next_slot=slot, fire_at=slot + timedelta(seconds=cron.jitter()))

    def _apply(self, change: Change, now: datetime, *, starting: bool) -> None:
        log = get_logger(job=change.job.name if change.job else change.path.stem)
        old = self.entries.get(change.path)
        if change.kind == "invalid":
            kept = "keeping its previous version in service" if old else "not scheduled until it is fixed"
            log.error("job file %s is invalid, %s:\n%s", change.path, kept, change.error)
            return
        if change.kind == "removed":
            if old is not None:
                del self.entries[change.path]
                log.warning("job file %s is gone: job %s is no longer scheduled%s", change.path, old.job.name,
                            " (its running flows finish first)" if old.busy() else "")
            return
        assert change.job is not None
        try:
            entry = self._entry(change.path, change.job, now)
        except BridgeError as exc:
            log.error("job %s cannot be scheduled: %s", change.job.name, exc)
            return
        if entry is None:
            self.entries.pop(change.path, None)
            return
        if old is not None:  # a running worker keeps running the version it started with
            entry.worker, entry.running_since, entry.stop = old.worker, old.running_since, old.stop
            if old.cron.expression == entry.cron.expression and old.cron.timezone == entry.cron.timezone:
                entry.next_slot, entry.fire_at = old.next_slot, old.fire_at
        self.entries[change.path] = entry
        verb = "scheduled" if starting or old is None else "reloaded"
        log.info("job %s %s (%s): next run %s", entry.job.name, verb, entry.cron.expression,
                 entry.cron.describe(entry.fire_at))

    def _catch_up(self, entry: Entry, now: datetime) -> None:
        if not entry.job.spec.catch_up:
            return
        slot = entry.cron.latest_at_or_before(now)
        runs = [r for r in self.stores.get(entry.job).last_runs(entry.job.name) if not r.dry_run]
        last = max((r.started for r in runs), default=None)
        if last is None or last < slot:
            get_logger(job=entry.job.name).info(
                "job %s missed its slot of %s (last run %s): catching up now", entry.job.name,
                entry.cron.describe(slot), "never" if last is None else entry.cron.describe(last))
            self._fire(entry, now)

    # --- firing ----------------------------------------------------------------------------
    def _fire(self, entry: Entry, now: datetime) -> None:
        log = get_logger(job=entry.job.name)
        if self.stop.is_set():
            return
        if entry.busy():
            log.warning("job %s is still running (since %s): skipping the slot of %s", entry.job.name,
                        entry.cron.describe(entry.running_since or now), entry.cron.describe(now))
            return
        entry.stop = threading.Event()
        if self.stop.is_set():
            entry.stop.set()
        entry.running_since = now
        entry.worker = threading.Thread(target=self._work, args=(entry.job, entry.stop),
                                        name=f"job-{entry.job.name}", daemon=False)
        entry.worker.start()
        self._workers = [w for w in self._workers if w[1].is_alive()] + [(entry.job.name, entry.worker, entry.stop)]

    def _work(self, job: LoadedJob, stop: threading.Event) -> None:
        log = get_logger(job=job.name)
        try:
            store = self.stores.get(job)
            options = self.options.run_options()
            free = []
            for flow in job.spec.flows:
                if not flow.enabled or (options.flows and flow.name not in options.flows):
                    continue
                lease = store.current_lease(job.name, flow.name)
                if lease is None:
                    free.append(flow.name)
                else:
                    log.info("flow %s is running in pid %d on host %s since %s: skipped this time",
                             flow.name, lease.pid, lease.host, f"{lease.acquired:%H:%M:%S} UTC")
            if not free:
                return
            options.flows = free
            results = run_job(job, store, options, stop)
            code = exit_code(results)
            summary = ", ".join(f"{r.flow} {r.status} (read {r.counts.read}, sent {r.counts.sent}, "
                                f"rejected {r.counts.rejected})" for r in results)
            (log.info if code == 0 else log.warning)("job %s finished: %s", job.name, summary or "nothing run")
        except BridgeError as exc:
            log.error("job %s could not run: %s", job.name, exc)
        except Exception as exc:  # never let one job take the scheduler down
            log.error("job %s failed with an internal error: %s: %s", job.name, type(exc).__name__, exc,
                      exc_info=True)

    def _advance(self, entry: Entry, now: datetime) -> None:
        entry.next_slot = entry.cron.next_after(max(now, entry.next_slot))
        entry.fire_at = entry.next_slot + timedelta(seconds=entry.cron.jitter())

    # --- the loop --------------------------------------------------------------------------
    def start(self) -> None:
        """Load the job files, log every job's next run, and run missed slots (catch_up)."""
        now = self.clock()
        for change in self.files.scan():
            self._apply(change, now, starting=True)
        for entry in list(self.entries.values()):
            try:
                self.stores.get(entry.job)  # open it now: a wrong state URL shows at start
                self._catch_up(entry, now)
            except BridgeError as exc:
                get_logger(job=entry.job.name).error("job %s: %s", entry.job.name, exc)

    def tick(self) -> float:
        """Fire what is due; return how long to sleep before the next look."""
        now = self.clock()
        for entry in list(self.entries.values()):
            if entry.fire_at <= now:
                self._fire(entry, now)
                self._advance(entry, now)
                get_logger(job=entry.job.name).debug("next run %s", entry.cron.describe(entry.fire_at))
        nearest = min((e.fire_at for e in self.entries.values()), default=now + timedelta(days=1))
        return max(0.01, min((nearest - self.clock()).total_seconds(), self.options.max_sleep_s))

    def run(self, *, started: bool = False) -> None:
        """Until ``stop`` is set; then wait for the running jobs to commit and return."""
        if not started:
            self.start()
        names = sorted(e.job.name for e in self.entries.values())
        beat = Heartbeat(self.stores.all(), "scheduler", {"jobs": names}, self.options.heartbeat_s)
        beat.start()
        next_reload = self.clock() + timedelta(seconds=self.options.reload_s)
        next_lag_check = self.clock()
        try:
            while not self.stop.is_set():
                if self.clock() >= next_lag_check:
                    self._check_lag()
                    next_lag_check = self.clock() + timedelta(seconds=self.options.lag_check_s)
                if self.clock() >= next_reload:
                    now = self.clock()
                    changes = self.files.scan()
                    for change in changes:
                        self._apply(change, now, starting=False)
                    if changes:
                        beat.update({"jobs": sorted(e.job.name for e in self.entries.values())})
                    next_reload = now + timedelta(seconds=self.options.reload_s)
                self.stop.wait(self.tick())
        finally:
            self.shutdown()
            beat.stop()

    def _check_lag(self) -> None:
        """A flow that has not succeeded within its max_lag alerts even when nothing runs."""
        from legacy_bridge.observe.alerts import check_lag

        for entry in list(self.entries.values()):
            try:
                check_lag(entry.job, self.stores.get(entry.job))
            except Exception as exc:  # alerting must never stop the scheduler
                get_logger(job=entry.job.name).warning("lag check failed: %s", exc)

    def running(self) -> list[str]:
        return [name for name, worker, _ in self._workers if worker.is_alive()]

    def shutdown(self) -> None:
        """Ask every running job to stop after its in-flight batches, and wait for them."""
        busy = self.running()
        if busy:
            self.log.info("stopping: waiting for %s to commit the batches in flight", ", ".join(busy))
        for _, _, stop in self._workers:
            stop.set()
        for _, worker, _ in self._workers:
            worker.join()
