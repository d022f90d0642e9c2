"""One runner per flow: a lease in the state store, renewed while the flow runs.

A lease expires if its holder dies.  A holder on this host whose process is gone
(killed with SIGKILL, say) is taken over at once instead of waiting for expiry.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from types import TracebackType

from legacy_bridge.errors import LeaseHeld
from legacy_bridge.state.base import LeaseInfo, StateStore

HOST = socket.gethostname()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class FlowLease:
    """``with FlowLease(store, job, flow):`` holds the flow; ``lost`` is set if it is taken away."""

    def __init__(self, store: StateStore, job: str, flow: str, *, ttl_s: float = 60.0,
                 wait: bool = False, wait_poll_s: float = 1.0, stop: threading.Event | None = None) -> None:
        self.store, self.job, self.flow = store, job, flow
        self.ttl_s = ttl_s
        self.wait = wait
        self.wait_poll_s = wait_poll_s
        self.stop = stop or threading.Event()
        self.holder = f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self.lost = threading.Event()
        self._done = threading.Event()
        self._renewer: threading.Thread | None = None

    def _try(self) -> LeaseInfo | None:
        other = self.store.acquire_lease(self.job, self.flow, self.holder, self.ttl_s)
        if other is not None and other.host == HOST and other.pid != os.getpid() and not _pid_alive(other.pid):
            self.store.release_lease(self.job, self.flow, other.holder)  # its process is gone
            other = self.store.acquire_lease(self.job, self.flow, self.holder, self.ttl_s)
        return other

    def acquire(self) -> None:
        while True:
            other = self._try()
            if other is None:
                break
            if not self.wait or self.stop.is_set():
                raise LeaseHeld(
                    f"flow {self.flow} of job {self.job} is running in pid {other.pid} on host {other.host} "
                    f"since {other.acquired:%Y-%m-%d %H:%M:%S} UTC",
                    hint="wait for it to finish, or run again with --wait",
                )
            time.sleep(self.wait_poll_s)
        self._renewer = threading.Thread(target=self._renew_loop, name=f"lease-{self.flow}", daemon=True)
        self._renewer.start()

    def _renew_loop(self) -> None:
        interval = max(self.ttl_s / 3.0, 0.05)
        while not self._done.wait(interval):
            try:
                if not self.store.renew_lease(self.job, self.flow, self.holder, self.ttl_s):
                    self.lost.set()
                    self.stop.set()
                    return
            except Exception:  # a passing state-store hiccup: try again next beat
                continue

    def release(self) -> None:
        self._done.set()
        if self._renewer is not None:
            self._renewer.join(timeout=5)
        self.store.release_lease(self.job, self.flow, self.holder)

    def __enter__(self) -> FlowLease:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()
