"""The real CLI with one fault injected at a point no outside process can time: right after the
SFTP transport has listed the drop folder, before the first file is fetched.

    python -m tests.faults.hooked_cli run JOB
    LB_FAULT_AFTER_LIST="kill_sessions:SSHD_PID"       cut every SFTP connection (server restart)
    LB_FAULT_AFTER_LIST="rename:/abs/src:/abs/dst"     move a listed file away
    LB_FAULT_MID_DOWNLOAD="kill_sessions:SSHD_PID"     cut the connections after the first 1 MB read
    LB_FAULT_KILL_AT_COMMIT="N"                        SIGKILL this process inside the state store's
                                                       Nth commit (writes done, COMMIT not yet sent)

Each fault fires once per process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], list(children.get(pid, []))
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def fire(action: str) -> None:
    kind, _, arg = action.partition(":")
    if kind == "kill_sessions":
        for pid in descendants(int(arg)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    elif kind == "rename":
        src, dst = arg.split(":", 1)
        os.replace(src, dst)
    else:
        raise SystemExit(f"unknown fault {action!r}")


def install(action: str) -> None:
    from legacy_bridge.transports.sftp import SftpTransport

    real = SftpTransport.list
    fired: list[bool] = []

    def listed_then_fault(self: SftpTransport, patterns: Sequence[str], recursive: bool = False) -> Any:
        files = real(self, patterns, recursive)
        if not fired:
            fired.append(True)
            fire(action)
            print(f"fault injected after listing {len(files)} file(s): {action}", file=sys.stderr)
        return files

    SftpTransport.list = listed_then_fault  # type: ignore[method-assign]


def install_mid_download(action: str) -> None:
    from legacy_bridge.transports.sftp import SftpTransport

    real = SftpTransport.open
    fired: list[bool] = []

    class Cut:
        def __init__(self, inner: Any) -> None:
            self.inner, self.read_bytes = inner, 0

        def read(self, n: int = -1) -> bytes:
            data: bytes = self.inner.read(n)
            self.read_bytes += len(data)
            if not fired and self.read_bytes >= 1 << 20:
                fired.append(True)
                fire(action)
                print(f"fault injected after {self.read_bytes} bytes downloaded: {action}", file=sys.stderr)
            return data

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

    def open_with_cut(self: SftpTransport, name: str, offset: int = 0) -> Any:
        return Cut(real(self, name, offset))

    SftpTransport.open = open_with_cut  # type: ignore[method-assign]


def install_kill_at_commit(n: int) -> None:
    """Counts the state store's commits (every transaction, read or write, ends in
    ``Database.commit``): the n-th kill comes after its writes, before COMMIT."""
    from legacy_bridge.state.db import Database

    seen: list[int] = []
    real = Database.commit

    def commit(self: Database, conn: Any) -> None:
        seen.append(1)
        if len(seen) == n:
            os.kill(os.getpid(), signal.SIGKILL)
        real(self, conn)

    Database.commit = commit  # type: ignore[method-assign]


if __name__ == "__main__":
    if os.environ.get("LB_FAULT_AFTER_LIST"):
        install(os.environ["LB_FAULT_AFTER_LIST"])
    if os.environ.get("LB_FAULT_MID_DOWNLOAD"):
        install_mid_download(os.environ["LB_FAULT_MID_DOWNLOAD"])
    if os.environ.get("LB_FAULT_KILL_AT_COMMIT"):
        install_kill_at_commit(int(os.environ["LB_FAULT_KILL_AT_COMMIT"]))
    from legacy_bridge.cli import main

    sys.exit(main(sys.argv[1:]))
