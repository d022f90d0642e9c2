"""Helpers for the scheduler and watcher tests: job files, drops built from the demo ERP's
orders export, a launcher for real ``legacy-bridge`` processes, and a recording sink.

The sink (kind ``test-sink``) appends every acknowledged payload key to a JSON-lines file
(one ``write`` per call, O_APPEND, so several processes may share it) and can be slowed
down per call, so a test can stop a process while batches are in flight.  It is only
registered by these tests (``install()``, and the launcher below for subprocesses).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

from legacy_bridge.records import Delivery, Payload
from legacy_bridge.registry import Plugin, Spec
from legacy_bridge.runtime.context import FlowContext

ROOT = Path(__file__).resolve().parents[3]
ORDERS = ROOT / "fixtures" / "drop" / "orders"  # built from ../shared/realworld/northwind


class SinkSpec(Spec):
    kind: Literal["test-sink"] = "test-sink"
    path: str
    batch_size: int = 50
    concurrency: int = 2
    delay: float = 0.0  # seconds per call


class Sink:
    def __init__(self, spec: SinkSpec, base_dir: Path) -> None:
        self.max_batch, self.concurrency = spec.batch_size, spec.concurrency
        self.delay = spec.delay
        path = Path(spec.path)
        self.path = path if path.is_absolute() else base_dir / path

    def open(self, ctx: FlowContext) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def send(self, payloads: list[Payload]) -> Delivery:
        time.sleep(self.delay)
        text = "".join(json.dumps({"key": p.key, "pid": os.getpid()}) + "\n" for p in payloads)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, text.encode())
        finally:
            os.close(fd)
        return Delivery(sent=len(payloads), calls=1)

    def describe(self, payloads: list[Payload]) -> list[str]:
        return [f"APPEND {self.path} {len(payloads)} records"]

    def close(self) -> None:
        pass


def install() -> None:
    """Register the sink (idempotent) and rebuild the job model around it."""
    from legacy_bridge.config.models import job_model
    from legacy_bridge.targets import REGISTRY

    plugins = REGISTRY._plugins
    if "test-sink" not in plugins:
        plugins["test-sink"] = Plugin("test-sink", SinkSpec, Sink, "test double")
        job_model.cache_clear()


def delivered(path: Path) -> Counter[str]:
    """How many times each key reached the sink."""
    if not path.exists():
        return Counter()
    return Counter(json.loads(line)["key"] for line in path.read_text().splitlines() if line.strip())


# --- data ------------------------------------------------------------------------------------------

def order_lines() -> tuple[str, list[str]]:
    """(header, data lines) of the demo ERP's order exports (';'-separated, cp1252-safe ASCII)."""
    header, lines = "", []
    for path in sorted(ORDERS.glob("ORDERS_*.csv")):
        text = path.read_text(encoding="cp1252").splitlines()
        header = text[1]
        lines += [line for line in text[2:] if line.strip()]
    return header, lines


def write_drop(folder: Path, name: str, lines: list[str]) -> Path:
    """Write a drop file atomically (a temporary name, then a rename), as a careful ERP does."""
    header, _ = order_lines()
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"{name}.part"
    tmp.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    os.replace(tmp, folder / name)
    return folder / name


def files_job(name: str, *, drop: str = "drop", sink: str = "var/sink.jsonl", schedule: str | None = None,
              min_age: str = "0s", delay: float = 0.0, batch_size: int = 50, concurrency: int = 2,
              extra_source: str = "", catch_up: bool = False, target: str | None = None) -> str:
    """A job with one files flow (the demo ERP's order exports) into the sink, or ``target``."""
    sched = f'schedule = "{schedule}"\ntimezone = "UTC"\ncatch_up = {str(catch_up).lower()}\n' if schedule else ""
    return f'''name = "{name}"
{sched}
[[flows]]
name = "orders"

[flows.source]
kind = "files"
transport = {{ kind = "local" }}
path = "{drop}"
pattern = "ORDERS_*.csv"
format = {{ kind = "csv", delimiter = ";" }}
ready = {{ min_age = "{min_age}" }}
after = {{ success = "archive", archive_to = "archive" }}
{extra_source}
[flows.mapping]
key = "ORDER_NO"
[flows.mapping.fields]
order_no = "ORDER_NO"
customer = "CUSTNO"
amount = "AMOUNT"

[flows.target]
{target or f'kind = "test-sink"{chr(10)}path = "{sink}"{chr(10)}batch_size = {batch_size}{chr(10)}concurrency = {concurrency}{chr(10)}delay = {delay}'}
'''


# --- processes -------------------------------------------------------------------------------------

def start_cli(root: Path, *args: str, log: Path) -> subprocess.Popen[bytes]:
    """``legacy-bridge ARGS`` as a real process in the project folder (with the sink registered)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("LEGACY_BRIDGE_STATE", None)
    env.pop("LEGACY_BRIDGE_JOBS", None)
    out = log.open("ab")
    return subprocess.Popen([sys.executable, "-m", "tests.integration.runtime.support", *args], cwd=root,
                            env=env, stdout=out, stderr=subprocess.STDOUT)


def stop_cli(proc: subprocess.Popen[bytes], timeout: float = 60) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise


def wait_for(check: Callable[[], bool], timeout: float = 60, what: str = "condition") -> None:
    """Poll ``check`` until true (a deadline against hangs, not a speed assertion)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.1)


def chunks(data: bytes, n: int) -> Iterator[bytes]:
    step = max(1, len(data) // n)
    for i in range(0, len(data), step):
        yield data[i:i + step]


if __name__ == "__main__":
    install()
    from legacy_bridge.cli import main

    sys.exit(main())
