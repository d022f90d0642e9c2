"""A bounded hand-over of items from one thread to another, in order.

The runner reads and maps the source on its own thread and hands the mapped units to the
thread that sends them and commits their checkpoints (runtime/runner.py).  ``put`` blocks once
``depth`` items wait, until the consumer has taken them down to half of that: the producer is
woken once per half-depth of items, not once per item (every wake-up is a thread switch, which
costs more than the hand-over itself).  ``finish`` says no more items will come; ``close`` is the
consumer giving up (``put`` returns False from then on, so the producer stops at its next one).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Handover(Generic[T]):
    def __init__(self, depth: int) -> None:
        self._items: deque[T] = deque()
        self._depth = max(1, depth)
        self._low = self._depth // 2
        lock = threading.Lock()
        self._taken = threading.Condition(lock)  # the producer waits here for the low-water mark
        self._given = threading.Condition(lock)  # the consumer waits here for an item
        self._finished = self._closed = False

    def put(self, item: T) -> bool:
        """Hand ``item`` over; when ``depth`` items wait, first wait until no more than half of
        them do.  False if the consumer closed."""
        with self._taken:
            if len(self._items) >= self._depth:
                while len(self._items) > self._low and not self._closed:
                    self._taken.wait()
            if self._closed:
                return False
            self._items.append(item)
            if len(self._items) == 1:
                self._given.notify()
            return True

    def finish(self) -> None:
        """No more items: the consumer takes what waits, then its iteration ends."""
        with self._given:
            self._finished = True
            self._given.notify()

    def close(self) -> None:
        """The consumer takes no more: a waiting and every later ``put`` returns False."""
        with self._taken:
            self._closed = True
            self._items.clear()
            self._taken.notify()

    def waiting(self) -> int:
        """Items handed over and not yet taken (a glance, without the lock)."""
        return len(self._items)

    def __iter__(self) -> Iterator[T]:
        while True:
            with self._given:
                while not self._items and not self._finished and not self._closed:
                    self._given.wait()
                if not self._items:
                    return
                item = self._items.popleft()
                if len(self._items) == self._low:
                    self._taken.notify()
            yield item
