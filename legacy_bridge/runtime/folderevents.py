"""A watchdog observer on one drop folder that only says "something changed here".

Events are hints, never the truth: they are lost on overflow, never come on SMB/NFS
mounts, and stop when the share disappears.  The watcher therefore also lists the
folder periodically, and restarts a dead observer (``ensure()``), listing again to
catch up on what it missed.  ``polling = true`` uses watchdog's PollingObserver
(a stat of the folder every few seconds), which works on network mounts.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from typing import Any

from legacy_bridge.observe.logs import get_logger

# our own reads (the source opening a file) must not wake the watcher again
_IGNORED = {"opened", "closed_no_write"}


class FolderEvents:
    def __init__(self, folder: str, on_change: Callable[[], None], *, recursive: bool = False,
                 polling: bool = False, poll_s: float = 2.0, job: str | None = None,
                 flow: str | None = None) -> None:
        self.folder = folder
        self.on_change = on_change
        self.recursive = recursive
        self.polling = polling
        self.poll_s = poll_s
        self.log = get_logger(job=job, flow=flow)
        self._observer: Any = None
        self._warned = False
        self.restarts = 0

    def _handler(self) -> Any:
        from watchdog.events import FileSystemEvent, FileSystemEventHandler

        on_change = self.on_change

        class Handler(FileSystemEventHandler):  # type: ignore[misc]
            def on_any_event(self, event: FileSystemEvent) -> None:
                if event.event_type not in _IGNORED:
                    on_change()

        return Handler()

    def start(self) -> bool:
        """Start observing; False (with a warning, once) when the folder cannot be watched now."""
        from watchdog.observers import Observer
        from watchdog.observers.polling import PollingObserver

        if not os.path.isdir(self.folder):
            self._warn(f"drop folder {self.folder} is not there; listing it until it comes back")
            return False
        observer = PollingObserver(timeout=self.poll_s) if self.polling else Observer()
        try:
            observer.schedule(self._handler(), self.folder, recursive=self.recursive)
            observer.daemon = True
            observer.start()
        except OSError as exc:  # inotify limits, permissions, a vanished mount
            self._warn(f"cannot watch {self.folder} ({exc}); relying on the periodic listing")
            with contextlib.suppress(Exception):
                observer.stop()
            return False
        self._observer = observer
        self._warned = False
        return True

    def _warn(self, message: str) -> None:
        if not self._warned:
            self.log.warning("%s", message)
        self._warned = True

    def alive(self) -> bool:
        observer = self._observer
        if observer is None or not observer.is_alive():
            return False
        if not os.path.isdir(self.folder):  # the share went away under the observer
            return False
        return all(emitter.is_alive() for emitter in observer.emitters)

    def ensure(self) -> bool:
        """Restart a dead observer.  True when it was (re)started: the caller lists the
        folder at once, since events were missed meanwhile."""
        if self.alive():
            return False
        had_one = self._observer is not None
        self.stop()
        if had_one:
            self.log.warning("the observer of %s stopped (did the share disappear?); restarting it and "
                             "listing the folder to catch up", self.folder)
        if not self.start():
            return False
        if had_one:
            self.restarts += 1
        return True

    def stop(self) -> None:
        observer, self._observer = self._observer, None
        if observer is None:
            return
        try:
            observer.stop()
            observer.join(timeout=5)
        except Exception:
            self.log.debug("observer stop failed", exc_info=True)
