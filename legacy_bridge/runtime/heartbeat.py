"""A heartbeat in the state store for a long-running scheduler or watcher.

``status`` lists the heartbeats and flags a stale one (its process died or hangs).
A heartbeat that cannot be written (the state store is briefly unreachable) is
logged once and tried again at the next beat; it never stops the work.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from legacy_bridge.observe.logs import get_logger
from legacy_bridge.state.base import StateStore


class Heartbeat:
    """``with Heartbeat(stores, "scheduler", {"jobs": [...]}):`` beats every ``interval_s``."""

    def __init__(self, stores: Iterable[StateStore], kind: str, info: dict[str, Any],
                 interval_s: float = 5.0) -> None:
        self.stores = list(stores)
        self.kind = kind
        self.info = dict(info)  # the store records host, pid, started and last beat itself
        self.interval_s = interval_s
        self._ids: list[tuple[StateStore, int]] = []
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False
        self.log = get_logger()

    def start(self) -> None:
        for store in self.stores:
            try:
                self._ids.append((store, store.beat(self.kind, self.info)))
            except Exception as exc:
                self.log.warning("cannot record the %s heartbeat in %s: %s", self.kind, store.display_url, exc)
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-{self.kind}", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._done.wait(self.interval_s):
            for store, beat_id in self._ids:
                try:
                    store.heartbeat(beat_id, self.info)
                    self._failing = False
                except Exception as exc:
                    if not self._failing:
                        self.log.warning("heartbeat not written (will retry): %s", exc)
                    self._failing = True

    def update(self, info: dict[str, Any]) -> None:
        """New facts for the next beat (e.g. the jobs served after a reload)."""
        self.info = {**self.info, **info}

    def stop(self) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        for store, beat_id in self._ids:
            try:
                store.end_heartbeat(beat_id)
            except Exception as exc:
                self.log.warning("cannot close the %s heartbeat: %s", self.kind, exc)
        self._ids.clear()

    def __enter__(self) -> Heartbeat:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
