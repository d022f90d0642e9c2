"""A live progress line per flow on an interactive terminal (stderr): records and files so
far and the rate.  Off when stderr is not a terminal; log lines clear it before printing."""

from __future__ import annotations

import logging
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

_SPIN = "|/-\\"
_BAR = 20


@dataclass
class _Flow:
    started: float = field(default_factory=time.monotonic)
    read: int = 0
    sent: int = 0
    rejected: int = 0
    files: int = 0
    ticks: int = 0


class ProgressDisplay:
    """Fed by the runner's hooks; redraws at most every ``min_interval_s``."""

    def __init__(self, stream: TextIO | None = None, min_interval_s: float = 0.2) -> None:
        self.stream = stream or sys.stderr
        self.min_interval_s = min_interval_s
        self._flows: dict[tuple[str, str], _Flow] = {}
        self._lock = threading.Lock()
        self._drawn = False
        self._last_draw = 0.0

    def line(self, job: str, flow: str, state: _Flow, done: str | None = None) -> str:
        elapsed = max(time.monotonic() - state.started, 1e-6)
        rate = state.read / elapsed
        if done is None:
            pos = state.ticks % (2 * _BAR - 2)
            pos = pos if pos < _BAR else 2 * _BAR - 2 - pos
            bar = "[" + " " * pos + "=" + " " * (_BAR - pos - 1) + "]"
            head = f"{_SPIN[state.ticks % 4]} {job}/{flow} {bar}"
        else:
            head = f"  {job}/{flow} {done}"
        return (f"{head} read {state.read:,} sent {state.sent:,} rejected {state.rejected:,} "
                f"files {state.files} ({rate:,.0f} rec/s, {elapsed:.0f}s)")

    def batch(self, job: str, flow: str, counts: Any) -> None:
        with self._lock:
            state = self._flows.setdefault((job, flow), _Flow())
            state.read += counts.read
            state.sent += counts.sent
            state.rejected += counts.rejected
            state.files += counts.files
            state.ticks += 1
            now = time.monotonic()
            if now - self._last_draw >= self.min_interval_s:
                self._draw(self.line(job, flow, state))
                self._last_draw = now

    def finished(self, job: str, flow: str, status: str) -> None:
        with self._lock:
            state = self._flows.pop((job, flow), None)
            if state is None:
                return
            self._draw(self.line(job, flow, state, done=status))
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False

    def _draw(self, text: str) -> None:
        self.stream.write("\r\033[K" + text)
        self.stream.flush()
        self._drawn = True

    def clear(self) -> None:
        """Wipe the progress line (a log line is about to be printed)."""
        with self._lock:
            if self._drawn:
                self.stream.write("\r\033[K")
                self.stream.flush()
                self._drawn = False


class ClearProgress(logging.Filter):
    """A logging filter that clears the progress line before a log line is written."""

    def __init__(self, display: ProgressDisplay) -> None:
        super().__init__()
        self.display = display

    def filter(self, record: logging.LogRecord) -> bool:
        self.display.clear()
        return True
