"""Rates like ``100/10s`` and the token bucket every in-flight call of a target shares."""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Callable

from legacy_bridge.config.durations import parse_duration

_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*(\S+)\s*$")


def parse_rate(text: str) -> tuple[float, float]:
    """``'100/10s'`` -> (100, 10.0); ``'5/s'`` -> (5, 1.0).  Raises ValueError with an example."""
    match = _RATE.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a rate (examples: '100/10s', '5/s', '1000/1m')")
    count, window = float(match.group(1)), match.group(2)
    if window[0].isalpha():
        window = "1" + window
    try:
        seconds = parse_duration(window)
    except ValueError:
        raise ValueError(f"{text!r} is not a rate: {window!r} is not a window "
                         "(examples: '100/10s', '5/s', '1000/1m')") from None
    if count <= 0 or seconds <= 0:
        raise ValueError(f"{text!r}: both the count and the window must be positive")
    return count, seconds


class TokenBucket:
    """At most ``count`` calls in any ``window`` seconds, shared by every thread of a target.

    A sliding log of the last ``count`` call times rather than a refilling bucket: a bucket
    allows its burst *plus* its refill inside one window (up to twice the declared rate),
    which is exactly what an API's "100 per 10 s" limit answers with 429.
    ``acquire`` blocks until a call may start.  ``pause(seconds)`` holds every call of the
    target: a 429 seen by one call slows all of them.
    """

    def __init__(self, count: float, window: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.count = max(1, int(count))
        self.window = window
        self._clock, self._sleep = clock, sleep
        self._starts: deque[float] = deque()
        self._not_before = 0.0
        self._lock = threading.Lock()

    def _wait_time(self) -> float:
        now = self._clock()
        if now < self._not_before:
            return self._not_before - now
        starts = self._starts
        while starts and now - starts[0] >= self.window:
            starts.popleft()
        if len(starts) < self.count:
            starts.append(now)
            return 0.0
        return self.window - (now - starts[0])

    def acquire(self, stop: Callable[[], bool] = lambda: False) -> bool:
        """Wait for a free slot; False if ``stop()`` became true while waiting."""
        while True:
            with self._lock:
                wait = self._wait_time()
            if wait <= 0:
                return True
            if stop():
                return False
            self._sleep(min(wait, 0.5))

    def pause(self, seconds: float) -> None:
        with self._lock:
            self._not_before = max(self._not_before, self._clock() + seconds)
