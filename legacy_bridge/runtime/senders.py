"""The threads that send a flow's units for targets that cannot begin a call and read its answer
later (runtime/runner.py; the HTTP profiles can, targets/batching.py ``Begun``): a lean pool for
the delivering thread.

``concurrent.futures.ThreadPoolExecutor`` does per call what a pool of a fixed size, fed from
one thread, does not need: a ``Future`` built on a ``Condition`` (an ``RLock`` and a waiter
lock per wait), a work item, two module locks and an idle ``Semaphore`` (a ``Condition`` again),
all in Python.  With a 100-record batch per call that was ~25 us of held GIL per call, a tenth of
the ODBC bench's GIL time.  Here a call is a ``Sending``: one C lock, held until the answer is in,
put on a C ``SimpleQueue``; the senders are started once and each takes the next call when it is free.
"""

from __future__ import annotations

import _thread
import queue
import threading
from collections.abc import Callable
from concurrent.futures import CancelledError
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Generic, Protocol, TypeVar

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class Answer(Protocol[T_co]):
    """What the runner asks of a call in flight: a ``Sending`` or a target's own begun call
    (targets/batching.py ``Begun``)."""

    def done(self) -> bool: ...

    def result(self, timeout: float | None = None) -> T_co: ...

    def exception(self) -> BaseException | None: ...

    def cancel(self) -> bool: ...


class Sending(Generic[T]):
    """One call handed to the senders: ``done``, ``result`` and ``cancel`` as a ``Future`` has them."""

    __slots__ = ("_arg", "_cancelled", "_claim", "_done", "_error", "_fn", "_value")

    def __init__(self, fn: Callable[[Any], T] | None, arg: Any) -> None:
        self._fn, self._arg = fn, arg
        self._done = _thread.allocate_lock()  # held until the answer is in
        self._done.acquire()
        self._value: T | None = None
        self._error: BaseException | None = None
        self._claim = _thread.allocate_lock()  # taken once: by the sender that runs it or by cancel()
        self._cancelled = False

    @classmethod
    def answered(cls, value: T) -> Sending[T]:
        s: Sending[T] = cls(None, None)
        s._value = value
        s._done.release()
        return s

    def done(self) -> bool:
        return not self._done.locked()

    def result(self, timeout: float | None = None) -> T:
        if not self._done.acquire(timeout=-1 if timeout is None else max(0.0, timeout)):
            raise FutureTimeout()
        self._done.release()
        if self._error is not None:
            raise self._error
        if self._cancelled:
            raise CancelledError()
        return self._value  # type: ignore[return-value]

    def exception(self) -> BaseException | None:
        """The call's error once done (None: it succeeded); waits for it like ``result``."""
        self._done.acquire()
        self._done.release()
        return self._error

    def cancel(self) -> bool:
        """Stop the call if no sender took it yet (True); a running or finished one goes on."""
        if self._fn is None or not self._claim.acquire(False):
            return False
        self._cancelled = True
        return True

    def _run(self) -> None:
        if not self._claim.acquire(False):  # cancelled before it ran
            self._fn = self._arg = None
            self._done.release()
            return
        try:
            self._value = self._fn(self._arg)  # type: ignore[misc]
        except BaseException as exc:  # the caller's result() raises it
            self._error = exc
        finally:
            self._fn = self._arg = None
            self._done.release()


class Senders:
    """``size`` threads that run the calls handed to ``submit`` in the order given."""

    def __init__(self, size: int, name: str) -> None:
        self._calls: queue.SimpleQueue[Sending[Any] | None] = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._work, name=f"{name}_{i}", daemon=True)
                         for i in range(max(1, size))]
        for t in self._threads:
            t.start()

    def submit(self, fn: Callable[[Any], T], arg: Any) -> Sending[T]:
        s: Sending[T] = Sending(fn, arg)
        self._calls.put(s)
        return s

    def _work(self) -> None:
        calls = self._calls
        while True:
            s = calls.get()
            if s is None:
                return
            s._run()

    def shutdown(self) -> None:
        """Let the running calls and those still queued finish (cancel a queued one first to stop
        it: a sender then drops it unrun), end the threads."""
        for _ in self._threads:
            self._calls.put(None)
        for t in self._threads:
            t.join()
