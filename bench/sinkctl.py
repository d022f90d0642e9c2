"""Start, query and stop the counting sink (legacy_bridge/sandbox/sink.py) as a child process."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

from legacy_bridge.sandbox import procs


class Sink:
    def __init__(self, root: Path, delay_ms: float, cpus: set[int] | None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "legacy_bridge.sandbox.sink", "--delay-ms", str(delay_ms)],
            cwd=root, stdout=subprocess.PIPE, text=True)
        if cpus:
            with contextlib.suppress(OSError):
                os.sched_setaffinity(self.proc.pid, cpus)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.startswith("listening on "):
            self.stop()
            raise RuntimeError(f"the bench sink did not start (it said {line!r})")
        self.url = line.removeprefix("listening on ")

    def _call(self, method: str, path: str) -> Any:
        req = urllib.request.Request(self.url + path, method=method, data=b"" if method == "POST" else None)
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def reset(self) -> None:
        self._call("POST", "/reset")

    def stats(self) -> dict[str, int]:
        return dict(self._call("GET", "/stats"))

    def stop(self) -> None:
        procs.stop(self.proc)
