"""The jsonl target: append ``{"key": ..., "data": {...}}`` lines to a file (debugging, audits).

```toml
[flows.target]
kind = "jsonl"
path = "var/out/customers.jsonl"   # relative to the project folder
batch_size = 500
```
Lines are flushed after every batch (an acknowledged batch is in the OS) and fsynced on close.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import IO, Literal

from pydantic import Field

from legacy_bridge.errors import TargetError
from legacy_bridge.records import Delivery, Payload
from legacy_bridge.registry import Spec
from legacy_bridge.runtime.context import FlowContext
from legacy_bridge.targets.values import as_json


class JsonlSpec(Spec):
    kind: Literal["jsonl"]
    path: str = Field(description="file to append to; relative paths start at the project folder")
    batch_size: int = Field(500, ge=1, le=100_000)


class JsonlTarget:
    max_batch: int
    concurrency = 1

    def __init__(self, spec: JsonlSpec, base_dir: Path) -> None:
        self.spec = spec
        self.max_batch = spec.batch_size
        path = Path(spec.path)
        self.path = path if path.is_absolute() else base_dir / path
        self._file: IO[str] | None = None
        self._lock = threading.Lock()

    def open(self, ctx: FlowContext) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
        except OSError as exc:
            raise TargetError(f"jsonl target: cannot open {self.path} for appending: {exc.strerror or exc}",
                              where={"job": ctx.job, "flow": ctx.flow},
                              hint="check the folder exists and is writable, or change target.path") from exc

    @staticmethod
    def line(payload: Payload) -> str:
        return json.dumps({"key": payload.key, "data": as_json(payload.data)}, ensure_ascii=False,
                          separators=(",", ":"), default=str) + "\n"

    def send(self, payloads: list[Payload]) -> Delivery:
        if self._file is None:
            raise TargetError("jsonl target used before open()")
        text = "".join(self.line(p) for p in payloads)
        with self._lock:
            try:
                self._file.write(text)
                self._file.flush()
            except OSError as exc:
                raise TargetError(f"jsonl target: cannot write {self.path}: {exc.strerror or exc}",
                                  hint="free disk space or fix permissions, then run the job again") from exc
        return Delivery(sent=len(payloads), calls=1)

    def describe(self, payloads: list[Payload]) -> list[str]:
        return [f"APPEND {self.path} {self.line(p).rstrip()}" for p in payloads]

    def close(self) -> None:
        with self._lock:
            if self._file is not None and not self._file.closed:
                self._file.flush()
                os.fsync(self._file.fileno())
                self._file.close()
            self._file = None


def build(spec: JsonlSpec, base_dir: Path) -> JsonlTarget:
    return JsonlTarget(spec, base_dir)
