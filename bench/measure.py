"""Run one child process and measure it: wall time, its own peak RSS and its peak private memory.

The peak is the child's ``VmHWM`` (high-water resident set of the program after exec),
polled from /proc every 20 ms; ``ru_maxrss`` is not used because Linux carries the
parent's resident set at fork time into it, so every child would look as big as the harness.

``VmHWM`` also counts the pages of shared libraries mapped from the page cache, and how many of
those a library's first use maps depends on how the page cache holds the file: right after pip
wrote pyarrow, importing it showed 66 MB resident here, and 40 MB after ``drop_caches`` (the same
run of the XML job: 147 MB and 121 MB).  So the largest ``RssAnon`` seen in the same polls, the
memory the process itself allocated, is reported beside it: it does not move with the page cache.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Measurement:
    wall_s: float
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str
    peak_private_mb: float = 0.0  # the largest RssAnon polled (see the module's docstring)

    def records(self) -> int | None:
        """The ``{"records": n}`` line an alternative prints last, if any."""
        for line in reversed(self.stdout.strip().splitlines()):
            if line.startswith("{"):
                try:
                    return int(json.loads(line)["records"])
                except (ValueError, KeyError, TypeError):
                    return None
        return None


def _status_kb(pid: int) -> tuple[int | None, int | None]:
    """(VmHWM, RssAnon) of ``pid`` in kB, from /proc/<pid>/status (None where unreadable)."""
    hwm = anon = None
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    hwm = int(line.split()[1])
                elif line.startswith(b"RssAnon:"):
                    anon = int(line.split()[1])
    except (OSError, ValueError):
        pass
    return hwm, anon


class _Watcher(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_kb, self.anon_kb = pid, 0, 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.look()
            self.done.wait(0.02)

    def look(self) -> None:
        hwm, anon = _status_kb(self.pid)
        self.peak_kb = max(self.peak_kb, hwm or 0)
        self.anon_kb = max(self.anon_kb, anon or 0)


def run_child(cmd: list[str], *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 3600.0,
              cpus: set[int] | None = None) -> Measurement:
    """Run ``cmd`` to its end; output goes to temporary files so a chatty child never blocks."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        if cpus:
            with contextlib.suppress(OSError):
                os.sched_setaffinity(proc.pid, cpus)
        watcher = _Watcher(proc.pid)
        watcher.start()
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            # wait without reaping, so /proc/<pid> stays readable for a last look at the peak
            os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
            wall = time.perf_counter() - start
            watcher.done.set()
            watcher.join()
            watcher.look()  # the last look, at the exited (not yet reaped) child
            proc.wait()
        finally:
            timer.cancel()
            watcher.done.set()
        out.seek(0)
        err.seek(0)
        return Measurement(wall, watcher.peak_kb / 1024, proc.returncode or 0,
                           out.read().decode(errors="replace"), err.read().decode(errors="replace"),
                           peak_private_mb=watcher.anon_kb / 1024)
