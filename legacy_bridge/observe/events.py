"""Hooks the runner calls, so observability (metrics, alerts, progress) attaches without the
runner knowing about it.  A hook that fails is logged and never breaks a run."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from legacy_bridge.observe.logs import get_logger

if TYPE_CHECKING:
    from legacy_bridge.config.loader import LoadedJob
    from legacy_bridge.runtime.runner import FlowResult
    from legacy_bridge.state.base import StateStore

FlowFinished = Callable[["LoadedJob", Any, "FlowResult", "StateStore"], None]
BatchCommitted = Callable[[str, str, Any], None]  # job, flow, Counts of the batch

_flow_finished: list[FlowFinished] = []
_batch_committed: list[BatchCommitted] = []


def on_flow_finished(hook: FlowFinished) -> FlowFinished:
    if hook not in _flow_finished:
        _flow_finished.append(hook)
    return hook


def on_batch_committed(hook: BatchCommitted) -> BatchCommitted:
    if hook not in _batch_committed:
        _batch_committed.append(hook)
    return hook


def flow_finished(job: LoadedJob, flow_spec: Any, result: FlowResult, store: StateStore) -> None:
    for hook in list(_flow_finished):
        try:
            hook(job, flow_spec, result, store)
        except Exception as exc:
            get_logger(job=job.name, flow=result.flow).warning("observer %s failed: %s", getattr(hook, "__name__", hook), exc)


def batch_committed(job: str, flow: str, counts: Any) -> None:
    for hook in list(_batch_committed):
        try:
            hook(job, flow, counts)
        except Exception:  # progress display must never break a run
            continue
