"""One open state store per URL for long-running processes that serve several jobs."""

from __future__ import annotations

import threading
from collections.abc import Callable

from legacy_bridge.config.loader import LoadedJob
from legacy_bridge.state.base import StateStore


class StorePool:
    """``pool.get(job)``: the job's state store, opened once per distinct URL and shared by
    the threads running its flows (the store is safe to use from several threads)."""

    def __init__(self, url_for: Callable[[LoadedJob], str], opener: Callable[[str], StateStore]) -> None:
        self.url_for = url_for
        self.opener = opener
        self._stores: dict[str, StateStore] = {}
        self._lock = threading.Lock()

    def get(self, job: LoadedJob) -> StateStore:
        url = self.url_for(job)
        with self._lock:
            store = self._stores.get(url)
            if store is None:
                store = self._stores[url] = self.opener(url)
            return store

    def all(self) -> list[StateStore]:
        with self._lock:
            return list(self._stores.values())

    def close(self) -> None:
        with self._lock:
            stores, self._stores = list(self._stores.values()), {}
        for store in stores:
            store.close()
