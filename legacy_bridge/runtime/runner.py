"""The runner: source batches -> mapping -> target, checkpoints committed in source order
only after the target acknowledged the batch.

Up to ``concurrency`` batches are in flight: sent and not yet committed, whether answered
or not.  A batch's checkpoint, its rejects and its counts are committed in one state-store
transaction once the target has answered for every record of it *and* every earlier batch
has been committed, so the watermark only ever advances over a contiguous run of
acknowledged batches.  A crash can re-send at most the batches in flight
(``concurrency x batch_size`` records); it never skips one.  While mapped units wait to be
sent, the window is filled before the answered batches at its head are committed, so one
transaction commits several (a commit costs more than a call's bookkeeping); when none
wait, an answered batch is committed at once.

Two threads share the work: the run's own thread reads and maps the source, a delivering
thread sends and commits: it writes up to ``concurrency`` calls and reads their answers itself
where the target can (``begin``), else through a pool of ``concurrency`` senders.  Up to two windows of
mapped units wait between them (runtime/handover.py), so the next block is read and mapped
while the sends wait on the API.  A unit mapped ahead but not acknowledged commits nothing:
the next run reads it again.  When reading fails, what is in flight is still acknowledged and
committed before the run fails.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from legacy_bridge.columnar.encode import EncodedPayloads
from legacy_bridge.columnar.vector import VectorMapping
from legacy_bridge.config.loader import LoadedJob
from legacy_bridge.errors import BridgeError, ConfigError, Interrupted, LeaseHeld
from legacy_bridge.mapping import Mapper, compile_mapping
from legacy_bridge.observe import events
from legacy_bridge.observe.logs import get_logger
from legacy_bridge.observe.redact import redact
from legacy_bridge.records import Batch, Checkpoint, Counts, Delivery, MappedBatch, Reject, Row
from legacy_bridge.runtime.context import FlowContext
from legacy_bridge.runtime.deletes import DeletePlan, plan_deletes, send_deletes
from legacy_bridge.runtime.handover import Handover
from legacy_bridge.runtime.locks import FlowLease
from legacy_bridge.runtime.senders import Answer, Senders, Sending
from legacy_bridge.sources import REGISTRY as SOURCES
from legacy_bridge.sources.base import Source
from legacy_bridge.state.base import RunStatus, StateStore
from legacy_bridge.targets import REGISTRY as TARGETS
from legacy_bridge.targets.base import Target

COLUMNAR_DEPTH = 64  # units the hand-over holds with the vectorised mapping (a 5,000-row block is 50 of 100)


@dataclass
class RunOptions:
    flows: list[str] | None = None
    dry_run: bool = False
    full_refresh: bool = False
    wait: bool = False  # wait for a running flow's lease instead of failing
    lease_ttl_s: float = 60.0
    drain_timeout_s: float = 120.0  # on stop: how long in-flight batches may take to finish
    dry_run_out: Callable[[str], None] = print


@dataclass
class FlowResult:
    job: str
    flow: str
    status: RunStatus
    counts: Counts = field(default_factory=Counts)
    run_id: int | None = None
    error: str | None = None
    watermark: Any = None
    duration_s: float = 0.0
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return {"ok": 0, "rejects": 3}.get(self.status, 1)


class _HasExitCode(Protocol):
    @property
    def exit_code(self) -> int: ...


def exit_code(results: Iterable[_HasExitCode]) -> int:
    """One exit code for several flows (runs or replays): 1 if any failed or was interrupted,
    else 3 if any finished with rejects, else 0."""
    codes = {r.exit_code for r in results}
    return 1 if 1 in codes else 3 if 3 in codes else 0


@dataclass
class _InFlight:
    batch: Batch
    mapped: MappedBatch
    future: Answer[Delivery]


class FlowRun:
    """One run of one flow.  Build with the job and flow spec, then ``execute()``."""

    def __init__(self, job: LoadedJob, flow_spec: Any, store: StateStore, options: RunOptions,
                 stop: threading.Event) -> None:
        self.job, self.spec, self.store, self.options, self.stop = job, flow_spec, store, options, stop
        self.counts = Counts()
        self.log = get_logger(job=job.name, flow=flow_spec.name)
        self.deletes: DeletePlan | None = None  # deletes = "send": rows deleted at the source
        self.vector: VectorMapping | None = None  # the vectorised mapping, when the mapping and target allow
        self._source_lock = threading.Lock()  # the source is read on one thread and told of commits on another

    # --- building the parts -------------------------------------------------------------
    def _build(self) -> tuple[Source, Mapper, Target]:
        base = self.job.base_dir
        mapper = compile_mapping(self.spec.mapping, base_dir=base)
        source = SOURCES.build(self.spec.source, base)
        target = TARGETS.build(self.spec.target, base)
        self.vector, why = VectorMapping.build(mapper, getattr(target, "text_encoder", lambda: None)())
        self.log.debug("mapping of columnar batches: %s", "vectorised" if self.vector else f"row by row ({why})")
        return source, mapper, target

    # --- the run ------------------------------------------------------------------------
    def execute(self) -> FlowResult:
        started = time.monotonic()
        name = self.spec.name
        result = FlowResult(job=self.job.name, flow=name, status="failed")
        try:
            with FlowLease(self.store, self.job.name, name, ttl_s=self.options.lease_ttl_s,
                           wait=self.options.wait, stop=self.stop) as lease:
                self._run_leased(result, lease)
        except LeaseHeld as exc:
            result.error = str(exc)
            self.log.error("%s", exc)
        result.duration_s = time.monotonic() - started
        events.flow_finished(self.job, self.spec, result, self.store)
        return result

    def _run_leased(self, result: FlowResult, lease: FlowLease) -> None:
        job, name = self.job.name, self.spec.name
        if self.options.full_refresh and not self.options.dry_run:
            self.store.reset(job, name)
        before = self.store.get_watermark(job, name)
        run_id = self.store.begin_run(job, name, watermark_before=before, dry_run=self.options.dry_run)
        result.run_id = run_id
        self.log = get_logger(job=job, flow=name, run=run_id)
        status: RunStatus = "failed"
        error: str | None = None
        parts: tuple[Source, Mapper, Target] | None = None
        try:
            parts = self._build()
            source, mapper, target = parts
            self.deletes = plan_deletes(self.spec, mapper, target)
            ctx = FlowContext(job=job, flow=name, store=self.store, run_id=run_id,
                              batch_size=target.max_batch, base_dir=self.job.base_dir, log=self.log,
                              full_refresh=self.options.full_refresh, dry_run=self.options.dry_run,
                              stop_event=self.stop, notes=result.notes, columnar=self.vector is not None)
            self.log.info("run started (watermark %s)", _short(before))
            target.open(ctx)
            self._pump(ctx, source, mapper, target)
            if ctx.dry_run:  # nothing was committed batch by batch: record what the dry run saw
                self.store.add_run_counts(run_id, self.counts)
            if lease.lost.is_set():
                raise Interrupted(f"flow {name} lost its lease (another process took over)")
            if self.stop.is_set():
                raise Interrupted("stopped on request after committing the acknowledged batches")
            status = "rejects" if self.counts.rejected else "ok"
        except Interrupted as exc:
            status, error = "interrupted", str(exc)
        except BridgeError as exc:
            exc.located(job=job, flow=name)
            error = str(exc)
            if not exc.hint:
                error += f"\n  next: fix the cause and run `legacy-bridge run {job} --flow {name}`: it resumes from the last checkpoint"
        except Exception as exc:  # a bug or an untranslated library error: say so plainly
            self.log.debug("internal error", exc_info=True)
            error = (f"internal error in flow {name}: {type(exc).__name__}: {redact(str(exc))}\n"
                     f"  next: run again with --log-level debug for the traceback; the checkpoint is intact")
        finally:
            if parts is not None:
                for part in (parts[2], parts[0]):
                    try:
                        part.close()
                    except Exception:
                        self.log.debug("close failed", exc_info=True)
        after = self.store.get_watermark(job, name)
        self.store.finish_run(run_id, status=status, watermark_after=after, error=error)
        result.status, result.error, result.watermark = status, error, after
        result.counts = self.counts
        if error:
            self.log.error("%s", error)
        c = self.counts
        self.log.info("run %s: read %d, sent %d, rejected %d, skipped %d, retried %d",
                      status, c.read, c.sent, c.rejected, c.skipped, c.retried)

    def _pump(self, ctx: FlowContext, source: Source, mapper: Mapper, target: Target) -> None:
        """Read and map the source on this thread; send and commit on another (``_deliver``).  While
        every slot of the window waits on the API, the next block of the source is read and mapped
        here, so units are ready when a slot frees instead of the slots draining while it is mapped.
        The delivery rules are ``_deliver``'s alone: the hand-over keeps source order, and a unit
        mapped but not yet acknowledged is read again by the next run, like one never read."""
        window = max(1, target.concurrency)
        # units cut from columnar blocks share their block's memory, so the hand-over holds about a
        # block of them (fewer wake-ups, and the delivering thread has work while the next block is
        # fetched); units of the row path own their rows, so two windows of them
        depth = 2 * window if self.vector is None else max(2 * window, COLUMNAR_DEPTH)
        units: Handover[tuple[Batch, MappedBatch]] = Handover(depth=depth)
        failed: list[BaseException] = []

        def deliver() -> None:
            try:
                self._deliver(ctx, source, target, window, units)
            except BaseException as exc:  # raised on this thread below
                failed.append(exc)
            finally:
                units.close()  # the reading stops at its next hand-over

        sender = threading.Thread(target=deliver, name=f"deliver-{ctx.flow}", daemon=True)
        sender.start()
        mapped = self._mapped(ctx, source, mapper, target.max_batch)
        reading_failed = True
        try:
            for unit in mapped:
                if not units.put(unit):
                    break
            reading_failed = False
        finally:  # also when reading failed: what was sent is acknowledged and committed first
            mapped.close()
            units.finish()
            sender.join()
            if failed and reading_failed:  # the reading error is the run's; say this one too
                self.log.error("delivering the batches read before that failed too: %s", redact(str(failed[0])))
        if failed:
            raise failed[0]

    def _deliver(self, ctx: FlowContext, source: Source, target: Target, window: int,
                 units: Handover[tuple[Batch, MappedBatch]]) -> None:
        """Send the units, at most ``window`` in flight, and commit them in source order.  A target
        that can begin a call without waiting for its answer (``begin``: the HTTP profiles) has its
        calls written and read here, ``window`` connections at a time; the others' ``send`` runs on a
        pool of ``window`` senders (a thread per call in flight costs a thread switch or more per
        call, and this thread waits on the oldest call anyway)."""
        inflight: deque[_InFlight] = deque()
        begin: Callable[[list[Any]], Answer[Delivery] | None] | None = getattr(target, "begin", None)
        pool: Senders | None = None
        seq = 0
        try:
            for batch, mapped in units:
                seq += 1
                batch.seq = seq
                if ctx.dry_run:
                    self._dry_run(batch, mapped, target)
                    continue
                future: Answer[Delivery] | None = Sending.answered(Delivery()) if not mapped.payloads else None
                if future is None and begin is not None:
                    future = begin(mapped.payloads)
                if future is None:
                    pool = pool or Senders(window, f"send-{ctx.flow}")
                    future = pool.submit(target.send, mapped.payloads)
                inflight.append(_InFlight(batch, mapped, future))
                # a full window waits for its oldest call; otherwise the answered head is committed
                # now only if no unit waits to be sent (one transaction then takes several batches)
                while inflight and (len(inflight) >= window or (not units.waiting() and inflight[0].future.done())):
                    self._settle(inflight, ctx, source, timeout=None)
                if self.stop.is_set():  # the rest, mapped or not, is read again next run
                    break
            while inflight:
                self._settle(inflight, ctx, source,
                             timeout=self.options.drain_timeout_s if self.stop.is_set() else None)
        finally:
            # not committed: those no sender took are not sent, those begun here are not read; all
            # are sent again next run
            for item in inflight:
                item.future.cancel()
            if pool is not None:
                pool.shutdown()

    def _mapped(self, ctx: FlowContext, source: Source, mapper: Mapper,
                size: int) -> Generator[tuple[Batch, MappedBatch], None, None]:
        """The source's batches as mapped target-sized units.  The source is advanced under
        ``_source_lock``, which ``source.committed`` (on the delivering thread) takes too: a source
        is never entered from two threads at once."""
        batches = iter(source.batches(ctx))
        try:
            while True:
                with self._source_lock:
                    whole = next(batches, None)
                if whole is None:
                    return
                yield from self._units(whole, mapper, size)
        finally:
            close = getattr(batches, "close", None)
            if close is not None:
                with self._source_lock:
                    close()

    def _units(self, batch: Batch, mapper: Mapper, size: int) -> Iterator[tuple[Batch, MappedBatch]]:
        """The batch mapped, as target-sized units.  A source batch without ``cut`` is one unit.  A
        columnar batch (``cut``, legacy_bridge/columnar) larger than the target's batch is mapped whole
        by the vectorised mapping when it takes it, then cut into units of at most ``size`` payloads,
        each with the checkpoint after its last row; otherwise cut into units of ``size`` rows first."""
        if batch.cut is None or not batch.rows:
            yield batch, (mapper.map_batch(batch) if batch.rows else MappedBatch(payloads=[]))
            return
        n, cut = len(batch.rows), batch.cut
        vector = self.vector
        if vector is not None and batch.table is not None and vector.takes(batch.table):
            mapped = vector.map_batch(batch)
            payloads = mapped.payloads
            assert isinstance(payloads, EncodedPayloads)
            ends = [payloads.indexes[i] for i in range(size, len(payloads), size)] + [n]
            rejects = sorted(mapped.rejects, key=lambda r: r.row)
            lo = r = 0
            for hi in ends:
                r0 = r
                while r < len(rejects) and rejects[r].row < hi:
                    r += 1
                part = payloads.between(lo, hi)
                unit_rejects = rejects[r0:r]
                skipped = (hi - lo) - len(part) - len(unit_rejects)
                yield self._part(batch, lo, hi, cut), MappedBatch(part, unit_rejects, skipped)  # type: ignore[arg-type]
                lo = hi
            return
        rows = list(batch.rows)  # the row path: Python values once for the whole block
        for lo in range(0, n, size):
            hi = min(n, lo + size)
            part = self._part(batch, lo, hi, cut, rows)
            yield part, mapper.map_batch(part)

    @staticmethod
    def _part(batch: Batch, lo: int, hi: int, cut: Callable[[int], Checkpoint],
              rows: Sequence[Row] | None = None) -> Batch:
        return Batch((batch.rows if rows is None else rows)[lo:hi], batch.origin, cut(hi), batch.positions[lo:hi],
                     batch.position_kind)

    def _settle(self, inflight: deque[_InFlight], ctx: FlowContext, source: Source,
                timeout: float | None) -> None:
        """Commit the acknowledged batches at the head of the window, in source order, in one
        transaction: the oldest is waited for (up to ``timeout``); those behind it are taken only
        if already answered, so no commit waits for a call still on the wire (the crash window
        stays the in-flight batches).  A delivery that failed is left at the head: the next call
        raises it."""
        try:
            ready = [(inflight[0], inflight[0].future.result(timeout=timeout))]
        except FutureTimeout:
            raise Interrupted(f"in-flight batches did not finish within {timeout:.0f}s of the stop request; "
                              "they will be sent again next run") from None
        inflight.popleft()
        while inflight and inflight[0].future.done() and inflight[0].future.exception() is None:
            ready.append((inflight[0], inflight[0].future.result()))
            inflight.popleft()
        self._commit(ready, ctx, source)

    def _outcome(self, item: _InFlight, delivery: Delivery) -> tuple[Checkpoint, list[Reject], Counts, list[str]]:
        """What one acknowledged batch commits: its checkpoint, its rejects (the source's, the
        mapping's and the target's), its counts, and the deleted keys still to be sent."""
        batch, mapped = item.batch, item.mapped
        rejects: list[Reject] = [*batch.rejects, *mapped.rejects]
        for index, reason, field_name in delivery.rejected:
            payload = mapped.payloads[index]
            raw = batch.rows[payload.index] if payload.index < len(batch.rows) else None
            value = raw.get(field_name) if raw is not None and field_name else None
            rejects.append(Reject(reason=reason, origin=batch.origin, position=batch.where(payload.index),
                                  key=payload.key, field=field_name,
                                  value=None if value is None else str(value)[:200], raw=raw, stage="target"))
        counts = Counts(read=len(batch.rows) + len(batch.rejects), sent=delivery.sent, rejected=len(rejects),
                        skipped=mapped.skipped + mapped.deduped, retried=delivery.retried,
                        files=1 if batch.checkpoint.file is not None and batch.checkpoint.file.finished else 0)
        checkpoint, gone = batch.checkpoint, list(batch.checkpoint.deleted_keys) if self.deletes else []
        if gone:  # forgotten only once the target acknowledged their deletes (runtime/deletes.py)
            checkpoint = replace(checkpoint, deleted_keys=())
        return checkpoint, rejects, counts, gone

    def _commit(self, ready: list[tuple[_InFlight, Delivery]], ctx: FlowContext, source: Source) -> None:
        outcomes = [self._outcome(item, delivery) for item, delivery in ready]
        self.store.commit_batches(run_id=ctx.run_id, job=ctx.job, flow=ctx.flow,
                                  items=[(checkpoint, rejects, counts) for checkpoint, rejects, counts, _ in outcomes])
        for (item, _delivery), (_checkpoint, rejects, counts, gone) in zip(ready, outcomes, strict=True):
            self.counts.add(counts)
            events.batch_committed(ctx.job, ctx.flow, counts)
            for reject in rejects:
                self.log.warning("rejected %s%s%s: %s", reject.origin, f" {reject.position}" if reject.position else "",
                                 f" key {reject.key}" if reject.key else "", reject.reason)
            if source.acts_on_commit(item.batch):
                with self._source_lock:
                    source.committed(item.batch, ctx)
            if gone and self.deletes is not None:
                self.counts.add(send_deletes(ctx, self.deletes, gone, item.batch.origin))

    def _dry_run(self, batch: Batch, mapped: MappedBatch, target: Target) -> None:
        c = self.counts
        c.read += len(batch.rows) + len(batch.rejects)
        c.rejected += len(batch.rejects) + len(mapped.rejects)
        c.skipped += mapped.skipped + mapped.deduped
        for reject in [*batch.rejects, *mapped.rejects]:
            self.options.dry_run_out(f"# would reject {reject.origin} {reject.position} {reject.key or ''}: {reject.reason}")
        for line in target.describe(mapped.payloads) if mapped.payloads else []:
            self.options.dry_run_out(redact(line))
        if self.deletes is not None and batch.checkpoint.deleted_keys:
            gone = batch.checkpoint.deleted_keys
            self.options.dry_run_out(redact(f"# would delete {len(gone)} record(s) deleted at the source: "
                                            f"{', '.join(gone[:20])}{' ...' if len(gone) > 20 else ''}"))


def _short(value: Any) -> str:
    """A watermark for the log, written as ``status`` shows it (JSON, not Python's repr)."""
    text = "none" if value is None else value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) < 120 else text[:117] + "..."


def run_job(job: LoadedJob, store: StateStore, options: RunOptions,
            stop: threading.Event | None = None) -> list[FlowResult]:
    """Run the job's flows one after the other (all enabled flows, or ``options.flows``)."""
    stop = stop or threading.Event()
    flows = list(job.spec.flows)
    if options.flows:
        wanted = set(options.flows)
        unknown = wanted - {f.name for f in flows}
        if unknown:
            raise ConfigError(f"job {job.name} has no flow {', '.join(sorted(unknown))}; "
                              f"its flows: {', '.join(f.name for f in flows)}")
        flows = [f for f in flows if f.name in wanted]
    else:
        flows = [f for f in flows if f.enabled]
    results = []
    for flow in flows:
        if stop.is_set():
            break
        results.append(FlowRun(job, flow, store, options, stop).execute())
    return results
