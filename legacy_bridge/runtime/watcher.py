"""``legacy-bridge watch JOB``: run a job's file flows whenever files arrive, until stopped.

Per files flow, one thread:

* at start it lists the drop folder and runs the flow on the backlog;
* a local folder has a watchdog observer whose events (debounced) wake the thread; an
  observer that dies is restarted with a warning and the folder listed again;
* the folder is also listed every ``poll_interval`` (the only trigger for SFTP, and
  the safety net for lost events and SMB/NFS mounts, where ``polling = true`` makes
  the observer poll too);
* a wake-up starts a run only when a listed file is not settled in the ledger and old
  enough to pass ``min_age``; the files source decides the rest (done markers,
  stability, the ledger), so a file is delivered once however many events it raised.
* The run is an ordinary ``FlowRun`` under the flow's lease: a scheduled or ad-hoc
  run of the same flow makes the watcher wait, never race.  Within a run the target
  keeps up to ``concurrency`` batches in flight, across files; events arriving during
  a run wake the thread again right after it.
* On stop (SIGTERM) the running flow takes no new batch, commits those in flight, and
  the watcher returns.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from legacy_bridge.config.loader import LoadedJob
from legacy_bridge.errors import BridgeError
from legacy_bridge.observe.logs import get_logger
from legacy_bridge.runtime.drops import Drop, build_transport
from legacy_bridge.runtime.folderevents import FolderEvents
from legacy_bridge.runtime.heartbeat import Heartbeat
from legacy_bridge.runtime.runner import FlowResult, FlowRun, RunOptions
from legacy_bridge.state.base import StateStore
from legacy_bridge.transports.base import Transport


@dataclass
class WatchOptions:
    poll_s: float | None = None  # listing interval; default: the source's poll_interval (30s)
    polling: bool | None = None  # force the polling observer (network mounts)
    debounce_s: float = 0.5  # quiet time after the last event before a run
    max_debounce_s: float = 5.0  # never wait longer than this under a steady stream of events
    retry_s: float = 1.0  # first re-check while files wait (doubles up to the listing interval)
    heartbeat_s: float = 5.0
    lease_ttl_s: float = 60.0


class FlowWatch:
    def __init__(self, job: LoadedJob, flow_spec: Any, drop: Drop, store: StateStore,
                 options: WatchOptions, stop: threading.Event) -> None:
        self.job, self.spec, self.drop, self.store = job, flow_spec, drop, store
        self.options, self.stop = options, stop
        self.wake = threading.Event()
        self.run_stop = threading.Event()
        self.log = get_logger(job=job.name, flow=drop.flow)
        self.interval = options.poll_s or drop.poll_s
        self.backoff = options.retry_s
        self.runs: list[FlowResult] = []
        self._transport: Transport | None = None
        polling = drop.polling if options.polling is None else options.polling
        self.events = (FolderEvents(drop.local_folder, self.wake.set, recursive=drop.recursive,
                                    polling=polling, poll_s=min(2.0, self.interval), job=job.name,
                                    flow=drop.flow) if drop.local_folder is not None else None)

    # --- the loop ---------------------------------------------------------------------------
    def run(self) -> None:
        how = (f"events on {self.drop.local_folder}" + (" (polling)" if self.events and self.events.polling else "")
               if self.events else f"{self.drop.transport_kind} {self.drop.path}")
        self.log.info("watching %s, listing every %.0fs", how, self.interval)
        if self.events is not None:
            self.events.start()
        due = time.monotonic()  # the backlog first
        try:
            while not self.stop.is_set():
                if self.events is not None and self.events.ensure():
                    due = time.monotonic()  # events were missed while it was down: list now
                timeout = min(max(0.0, due - time.monotonic()), 1.0)
                if self.wake.wait(timeout):
                    self._debounce()
                elif time.monotonic() < due:
                    continue
                if self.stop.is_set():
                    break
                due = time.monotonic() + self._check()
        finally:
            if self.events is not None:
                self.events.stop()
            self._close_transport()

    def _debounce(self) -> None:
        """Wait until events stop coming for ``debounce_s`` (at most ``max_debounce_s``)."""
        deadline = time.monotonic() + self.options.max_debounce_s
        while not self.stop.is_set():
            self.wake.clear()
            if not self.wake.wait(self.options.debounce_s) or time.monotonic() >= deadline:
                break
        self.wake.clear()

    # --- one look at the folder --------------------------------------------------------------
    def _check(self) -> float:
        """List, run the flow if something could be taken; return seconds until the next look."""
        try:
            waiting = self.drop.waiting(self._listing_transport(), self.store)
        except BridgeError as exc:
            self.log.warning("cannot list the drop folder (will retry in %.0fs): %s", self.interval, exc)
            self._close_transport()
            return self.interval
        if not waiting:
            self.backoff = self.options.retry_s
            return self.interval
        ready = self.drop.plausibly_ready(waiting)
        if not ready:  # too young for min_age: look again when the first one can pass
            first = min(self.drop.ready_at(f) for f in waiting)
            return min(self.interval, max(0.05, first - time.time() + 0.05))
        result = self._run_flow(len(ready))
        if result is None:
            return self.options.retry_s
        progressed = result.counts.read > 0 or result.counts.files > 0 or result.counts.rejected > 0
        if result.status in ("ok", "rejects") and progressed:
            self.backoff = self.options.retry_s
            return 0.0  # look again at once: more may have come during the run
        # nothing could be taken yet (not stable, no done marker) or the run failed: back off
        wait, self.backoff = self.backoff, min(self.backoff * 2, self.interval)
        return wait

    def _run_flow(self, candidates: int) -> FlowResult | None:
        self.run_stop.clear()  # before looking at stop: request_stop() sets stop first, then run_stop
        if self.stop.is_set():
            return None
        options = RunOptions(flows=[self.drop.flow], wait=True, lease_ttl_s=self.options.lease_ttl_s)
        self.log.debug("%d file(s) may be ready: running the flow", candidates)
        result = FlowRun(self.job, self.spec, self.store, options, self.run_stop).execute()
        self.runs.append(result)
        if result.counts.files or result.counts.read:
            c = result.counts
            self.log.info("delivered %d file(s): read %d, sent %d, rejected %d", c.files, c.read, c.sent,
                          c.rejected)
        return result

    def _listing_transport(self) -> Transport:
        if self._transport is None:
            self._transport = build_transport(self.spec, self.job.base_dir)
        return self._transport

    def _close_transport(self) -> None:
        transport, self._transport = self._transport, None
        if transport is not None:
            try:
                transport.close()
            except Exception:
                self.log.debug("transport close failed", exc_info=True)

    def request_stop(self) -> None:
        self.run_stop.set()
        self.wake.set()


class Watcher:
    """All watched flows of one job, each in its own thread, plus the heartbeat."""

    def __init__(self, job: LoadedJob, watches: list[FlowWatch], store: StateStore,
                 stop: threading.Event, heartbeat_s: float = 5.0) -> None:
        self.job, self.watches, self.store, self.stop = job, watches, store, stop
        self.heartbeat_s = heartbeat_s

    def run(self) -> None:
        info = {"job": self.job.name, "flows": [w.drop.flow for w in self.watches]}
        threads = [threading.Thread(target=w.run, name=f"watch-{w.drop.flow}") for w in self.watches]
        with Heartbeat([self.store], "watcher", info, self.heartbeat_s):
            for t in threads:
                t.start()
            try:
                while not self.stop.wait(1.0):
                    if not any(t.is_alive() for t in threads):
                        break
            finally:
                self.stop.set()
                if any(t.is_alive() for t in threads):
                    get_logger(job=self.job.name).info("stopping: committing the batches in flight")
                for w in self.watches:
                    w.request_stop()
                for t in threads:
                    t.join()
