"""Alerts: a failed run, rejects above a threshold, no success within ``max_lag``.

One message when an incident opens, one "recovered" message when it closes, nothing in
between however many runs fail meanwhile.  Incidents live in the state store
(``observe/alert_state.py``), so schedulers, watchers and ad-hoc runs share them.

``on_flow_finished`` is the runner hook (installed for ``run``, ``schedule`` and
``watch`` by ``observe.install``); ``check_lag`` evaluates only the lag of a job's
flows, for a scheduler tick when nothing runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from legacy_bridge.observe.alert_state import IncidentBook
from legacy_bridge.observe.logs import get_logger
from legacy_bridge.observe.notify import Alert, deliver
from legacy_bridge.observe.overview import HISTORY_SCAN, first_success

if TYPE_CHECKING:
    from legacy_bridge.config.loader import LoadedJob
    from legacy_bridge.runtime.runner import FlowResult
    from legacy_bridge.state.base import StateStore

KINDS = ("failed", "rejects", "lag")


@dataclass(frozen=True)
class Verdict:
    kind: str
    active: bool
    summary: str


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if text and text.strip() else "no error text"


def _lag_verdict(job: str, flow_spec: Any, store: StateStore, now: datetime) -> Verdict | None:
    max_lag = getattr(flow_spec, "max_lag", None)
    if not max_lag:
        return None
    runs = store.history(job, flow_spec.name, limit=HISTORY_SCAN)
    success = first_success(runs)
    if success is None or success.ended is None:
        if not runs:
            return None  # never ran: nothing to be late for yet
        waited = (now - runs[-1].started).total_seconds()  # since its first run (as far as we look back)
        return Verdict("lag", waited > float(max_lag),
                       f"flow {flow_spec.name} has not succeeded since its first run {waited:.0f}s ago "
                       f"(max_lag {max_lag:.0f}s)")
    lag = (now - success.ended).total_seconds()
    return Verdict("lag", lag > float(max_lag),
                   f"flow {flow_spec.name} last succeeded {lag:.0f}s ago, more than its max_lag of {max_lag:.0f}s "
                   f"(run {success.id} at {success.ended:%Y-%m-%d %H:%M:%S} UTC)")


def verdicts(job: LoadedJob, flow_spec: Any, result: FlowResult, store: StateStore,
             now: datetime | None = None) -> list[Verdict]:
    """What the finished run says about each kind of incident (``active``: the problem is there)."""
    spec = job.spec.alerts
    now = now or datetime.now(UTC)
    out: list[Verdict] = []
    if result.run_id is None:  # the flow did not run (its lease was held elsewhere): no news
        return out
    if "failed" in spec.on:
        out.append(Verdict("failed", result.status == "failed",
                           f"flow {result.flow} failed: {_first_line(result.error)}"))
    if "rejects" in spec.on:
        n = result.counts.rejected
        out.append(Verdict("rejects", n > spec.rejects_threshold,
                           f"flow {result.flow} rejected {n} record(s) in run {result.run_id} "
                           f"(threshold {spec.rejects_threshold}); see `legacy-bridge rejects {job.name} "
                           f"--flow {result.flow}`"))
        if result.status == "failed" and n <= spec.rejects_threshold:
            out.pop()  # a failed run says nothing about whether rejects are back to normal
    if "lag" in spec.on:
        lag = _lag_verdict(job.name, flow_spec, store, now)
        if lag is not None:
            out.append(lag)
    return out


_TITLES = {"failed": "flow failed", "rejects": "rejects above threshold", "lag": "flow is late"}


def _alert(job: str, flow: str, verdict: Verdict, state: str, run_id: int | None,
           opened: datetime | None = None) -> Alert:
    if state == "open":
        title = f"[legacy-bridge] ALERT {job}/{flow}: {_TITLES[verdict.kind]}"
        text = verdict.summary + f"\nnext: `legacy-bridge status {job}`, `legacy-bridge history {job} --flow {flow}`"
    else:
        since = f" (open since {opened:%Y-%m-%d %H:%M:%S} UTC)" if opened else ""
        title = f"[legacy-bridge] RECOVERED {job}/{flow}: {_TITLES[verdict.kind]}{since}"
        text = f"flow {flow} is back to normal: {verdict.summary}"
    return Alert(job=job, flow=flow, kind=verdict.kind, state=state, title=title, text=text, run_id=run_id)


def apply(job: LoadedJob, flow: str, found: list[Verdict], store: StateStore, run_id: int | None) -> list[Alert]:
    """Open, keep or close an incident per verdict; send what changed.  Returns what was sent."""
    spec = job.spec.alerts
    log = get_logger(job=job.name, flow=flow, run=run_id)
    book = IncidentBook(store)
    sent: list[Alert] = []
    for verdict in found:
        if verdict.active:
            book.open(job.name, flow, verdict.kind, verdict.summary, run_id)
            if not book.claim_notification(job.name, flow, verdict.kind):
                continue  # already told
            alert = _alert(job.name, flow, verdict, "open", run_id)
        else:
            closed = book.close(job.name, flow, verdict.kind)
            if closed is None or not closed.notified:
                continue  # nothing was open, or nobody was ever told
            alert = _alert(job.name, flow, verdict, "recovered", run_id, closed.opened)
        problems = deliver(spec, alert)
        channels = sum(bool(x) for x in (spec.webhook, spec.smtp, spec.command))
        for problem in problems:
            log.warning("alert not delivered: %s", problem)
        if channels and len(problems) == channels:
            if alert.state == "open":
                book.unclaim(job.name, flow, verdict.kind)  # try again next time
            continue
        log.info("alert sent: %s", alert.title)
        sent.append(alert)
    return sent


def on_flow_finished(job: LoadedJob, flow_spec: Any, result: FlowResult, store: StateStore) -> None:
    """The runner hook: evaluate and notify (jobs without ``[alerts]`` are left alone)."""
    if job.spec.alerts is None:
        return
    if _is_dry(store, result):
        return
    apply(job, result.flow, verdicts(job, flow_spec, result, store), store, result.run_id)


def _is_dry(store: StateStore, result: FlowResult) -> bool:
    if result.run_id is None:
        return False
    return bool(store.get_run(result.run_id).dry_run)


def check_lag(job: LoadedJob, store: StateStore, now: datetime | None = None) -> list[Alert]:
    """Evaluate only ``max_lag`` for every flow of ``job`` (for a scheduler tick)."""
    if job.spec.alerts is None or "lag" not in job.spec.alerts.on:
        return []
    now = now or datetime.now(UTC)
    sent: list[Alert] = []
    for flow in job.spec.flows:
        if not flow.enabled:
            continue
        lag = _lag_verdict(job.name, flow, store, now)
        if lag is not None:
            sent.extend(apply(job, flow.name, [lag], store, None))
    return sent
