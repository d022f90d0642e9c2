"""Replay: map stored rejects again with the CURRENT mapping and send those that now pass.

Per flow, under the flow's lease (a replay never races a run of the same flow):

* the open rejects (all, or the ``ids`` asked for) are read again under the lease;
* each stored raw record goes through the compiled mapping's reference interpreter;
* records that now map are sent to the flow's target in batches of its size; once the
  target has answered for a batch, ONE state-store transaction marks the acknowledged
  records ``replayed`` and updates those the target refused;
* a record that still fails keeps its reject row, **same id, still open**, with its
  reason, field, value, key and stage replaced by the new outcome (origin, line and raw
  record stay).  So ``rejects`` always shows why a record fails *now*, and
  ``replay --id N`` keeps working after a replay;
* a record the current mapping's ``filter`` now skips is marked ``resolved`` (nothing to
  send, on purpose); with ``dedupe``, an older record superseded by a newer reject of the
  same key is marked ``resolved`` too, and only the newest is sent;
* a reject without a raw record (a line the source could not read) cannot be replayed:
  it stays open ("fix the file and drop it again").

Replays do not touch watermarks, the file ledger or run history.  ``dry_run`` maps and
reports without sending or writing anything (and without taking the lease).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from legacy_bridge.config.loader import LoadedJob
from legacy_bridge.errors import BridgeError, ConfigError, LeaseHeld
from legacy_bridge.mapping import Mapper, compile_mapping
from legacy_bridge.observe.logs import get_logger
from legacy_bridge.observe.redact import redact
from legacy_bridge.records import Payload, Reject
from legacy_bridge.runtime.context import FlowContext
from legacy_bridge.runtime.locks import FlowLease
from legacy_bridge.state.base import RejectEntry, RejectStatus, StateStore
from legacy_bridge.targets import REGISTRY as TARGETS

Outcome = Literal["replayed", "failing", "resolved", "unsent"]
NO_RAW = "cannot be replayed: the source could not read this record, so no raw record was kept; " \
         "fix the file and drop it again"


@dataclass
class Item:
    """What happened to one reject in a replay."""

    id: int
    origin: str
    position: str
    key: str | None
    outcome: Outcome  # unsent: mapped, but the flow stopped before the target answered
    reason: str = ""  # why it still fails, or why it was resolved


@dataclass
class FlowReplay:
    job: str
    flow: str
    items: list[Item] = field(default_factory=list)
    error: str | None = None

    def count(self, outcome: Outcome) -> int:
        return sum(1 for i in self.items if i.outcome == outcome)

    @property
    def exit_code(self) -> int:
        """Like ``run``: 0 all replayed, 3 some still fail, 1 the flow could not replay."""
        if self.error:
            return 1
        return 3 if any(i.outcome in ("failing", "unsent") for i in self.items) else 0


def replay_job(job: LoadedJob, store: StateStore, *, flows: Sequence[str] | None = None,
               ids: Sequence[int] | None = None, dry_run: bool = False, wait: bool = False,
               lease_ttl_s: float = 60.0, stop: threading.Event | None = None) -> list[FlowReplay]:
    """Replay the open rejects of the job's flows (``flows``: these only; default every flow
    holding open rejects).  ``ids`` limits the replay to these reject ids."""
    stop = stop or threading.Event()
    specs = list(job.spec.flows)
    if flows:
        specs = [job.flow(name) for name in flows]  # ConfigError naming the known flows
    results = []
    for spec in specs:
        if stop.is_set():
            break
        if not flows and not store.list_rejects(job.name, spec.name, status="open", ids=ids, limit=1):
            continue
        results.append(_FlowReplayer(job, spec, store, dry_run, stop).run(ids, wait, lease_ttl_s))
    return results


class _FlowReplayer:
    def __init__(self, job: LoadedJob, spec: Any, store: StateStore, dry_run: bool, stop: threading.Event) -> None:
        self.job, self.spec, self.store, self.dry_run, self.stop = job, spec, store, dry_run, stop
        self.result = FlowReplay(job.name, spec.name)
        self.log = get_logger(job=job.name, flow=spec.name, command="replay")

    def run(self, ids: Sequence[int] | None, wait: bool, ttl: float) -> FlowReplay:
        try:
            if self.dry_run:
                self._replay(ids, None)
            else:
                with FlowLease(self.store, self.job.name, self.spec.name, ttl_s=ttl, wait=wait,
                               stop=self.stop) as lease:
                    self._replay(ids, lease)
        except ConfigError:
            raise  # the mapping or the target section is wrong: exit 2 with every problem
        except LeaseHeld as exc:
            self.result.error = str(exc)
        except BridgeError as exc:
            exc.located(job=self.job.name, flow=self.spec.name)
            self.result.error = str(exc) + ("" if exc.hint else
                                            f"\n  next: fix the cause and run `legacy-bridge replay {self.job.name} "
                                            f"--flow {self.spec.name}` again; what was replayed is recorded")
        if self.result.error:
            self.log.error("%s", self.result.error)
        return self.result

    def _replay(self, ids: Sequence[int] | None, lease: FlowLease | None) -> None:
        entries = self.store.list_rejects(self.job.name, self.spec.name, status="open", ids=ids)
        if not entries:
            return
        mapper = compile_mapping(self.spec.mapping, base_dir=self.job.base_dir)
        statuses: dict[int, RejectStatus] = {}
        still_open: list[tuple[int, Reject]] = []
        ready: list[tuple[RejectEntry, Payload]] = []
        for entry in entries:
            self._map_one(mapper, entry, statuses, still_open, ready)
        ready = self._dedupe(mapper, ready, statuses)
        if not self.dry_run and (statuses or still_open):
            self.store.settle_rejects(self.job.name, self.spec.name, statuses=statuses, still_open=still_open)
        if self.dry_run:
            for entry, payload in ready:
                self._add(entry, "replayed", key=payload.key, reason="would be sent")
            return
        if ready:
            assert lease is not None
            self._send(ready, lease)

    def _map_one(self, mapper: Mapper, entry: RejectEntry, statuses: dict[int, RejectStatus],
                 still_open: list[tuple[int, Reject]], ready: list[tuple[RejectEntry, Payload]]) -> None:
        if entry.raw is None:
            self._add(entry, "failing", reason=NO_RAW)
            return
        outcome = mapper.map_row(dict(entry.raw), len(ready))
        if outcome is None:
            statuses[entry.id] = "resolved"
            self._add(entry, "resolved", reason="the mapping's filter now skips this record")
        elif isinstance(outcome, Reject):
            still_open.append((entry.id, outcome))
            self._add(entry, "failing", key=outcome.key, reason=outcome.reason)
        else:
            ready.append((entry, outcome))

    def _dedupe(self, mapper: Mapper, ready: list[tuple[RejectEntry, Payload]],
                statuses: dict[int, RejectStatus]) -> list[tuple[RejectEntry, Payload]]:
        if not mapper.spec.dedupe:
            return ready
        newest: dict[str, tuple[RejectEntry, Payload]] = {}
        for entry, payload in ready:  # oldest first: the newest reject of a key wins
            older = newest.pop(payload.key, None)
            if older is not None:
                statuses[older[0].id] = "resolved"
                self._add(older[0], "resolved", key=payload.key,
                          reason=f"superseded by the newer reject #{entry.id} of the same key")
            newest[payload.key] = (entry, payload)
        return [(e, Payload(p.key, p.data, i)) for i, (e, p) in enumerate(newest.values())]

    def _send(self, ready: list[tuple[RejectEntry, Payload]], lease: FlowLease) -> None:
        target = TARGETS.build(self.spec.target, self.job.base_dir)
        ctx = FlowContext(job=self.job.name, flow=self.spec.name, store=self.store, run_id=0,
                          batch_size=target.max_batch, base_dir=self.job.base_dir, log=self.log,
                          stop_event=self.stop)
        size = max(1, target.max_batch)
        done = 0
        try:
            target.open(ctx)
            for start in range(0, len(ready), size):
                if self.stop.is_set() or lease.lost.is_set():
                    break
                chunk = ready[start:start + size]
                self._send_chunk(target, chunk)
                done = start + len(chunk)
        finally:
            for entry, payload in ready[done:]:
                self._add(entry, "unsent", key=payload.key, reason="not sent: the replay stopped before it")
            try:
                target.close()
            except Exception:
                self.log.debug("closing the target failed", exc_info=True)
        if lease.lost.is_set():
            self.result.error = (f"flow {self.spec.name} lost its lease during the replay; the records not "
                                 "sent stay open: run the replay again")

    def _send_chunk(self, target: Any, chunk: list[tuple[RejectEntry, Payload]]) -> None:
        payloads = [Payload(p.key, p.data, i) for i, (_, p) in enumerate(chunk)]
        delivery = target.send(payloads)
        refused = {index: (reason, fld) for index, reason, fld in delivery.rejected}
        statuses: dict[int, RejectStatus] = {}
        still_open: list[tuple[int, Reject]] = []
        for i, (entry, payload) in enumerate(chunk):
            if i in refused:
                reason, fld = refused[i]
                raw = entry.raw or {}
                value = raw.get(fld) if fld else None
                still_open.append((entry.id, Reject(reason=reason, key=payload.key, field=fld,
                                                    value=None if value is None else str(value)[:200],
                                                    stage="target")))
            else:
                statuses[entry.id] = "replayed"
        self.store.settle_rejects(self.job.name, self.spec.name, statuses=statuses, still_open=still_open)
        for i, (entry, payload) in enumerate(chunk):
            if i in refused:
                self._add(entry, "failing", key=payload.key, reason=f"the target refused it: {refused[i][0]}")
            else:
                self._add(entry, "replayed", key=payload.key)

    def _add(self, entry: RejectEntry, outcome: Outcome, *, key: str | None = None, reason: str = "") -> None:
        self.result.items.append(Item(entry.id, entry.origin, entry.position, key or entry.key, outcome,
                                      redact(reason)))
