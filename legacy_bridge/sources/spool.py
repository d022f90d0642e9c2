"""Local copies of remote files, hashed (SHA-256) while they are written.  A partial copy
left by an earlier attempt is continued at its size, so a cut download resumes."""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, TypeVar

from legacy_bridge.errors import TransportError, WorkspaceError
from legacy_bridge.transports.base import RemoteFile, Transport

T = TypeVar("T")

CHUNK = 1 << 20


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def spool_path(folder: Path, file: RemoteFile) -> Path:
    key = hashlib.sha1(f"{file.name}\0{file.size}\0{file.mtime}".encode()).hexdigest()[:20]
    safe = file.name.replace("/", "_")[-80:]
    return folder / f"{key}-{safe}"


def fetch(transport: Transport, file: RemoteFile, folder: Path) -> tuple[str, str]:
    """Download ``file`` into ``folder`` (continuing a partial copy); (local path, sha256)."""
    folder.mkdir(parents=True, exist_ok=True)
    final = spool_path(folder, file)
    part = final.with_name(final.name + ".part")
    if final.exists() and final.stat().st_size == file.size:
        return str(final), sha256_of(str(final))
    digest = hashlib.sha256()
    offset = part.stat().st_size if part.exists() else 0
    if offset > file.size:
        part.unlink()
        offset = 0
    if offset:
        with open(part, "rb") as f:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
    stream: BinaryIO = transport.open(file.name, offset) if offset else transport.open(file.name)  # type: ignore[call-arg]
    try:
        out = _SpoolCopy(part, file.name)
        try:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
        finally:
            out.close()
    finally:
        stream.close()
    got = part.stat().st_size
    if got != file.size:
        raise TransportError(f"{file.name} changed while it was downloaded ({got} bytes read, {file.size} listed)",
                             where={"file": file.name}, hint="it is probably still being written; the next run takes it")
    os.replace(part, final)
    return str(final), digest.hexdigest()


class _SpoolCopy:
    """The local copy being written.  A local failure (disk full, quota, permissions) stops the
    flow with a message naming the spool folder; errors of the remote stream pass through untouched."""

    def __init__(self, part: Path, name: str) -> None:
        self.part, self.name = part, name
        self._out = self._guard(lambda: open(part, "ab"))  # noqa: SIM115 - closed by close()

    def _guard(self, op: Callable[[], T]) -> T:
        try:
            return op()
        except OSError as exc:
            raise WorkspaceError(
                f"cannot write the local copy of {self.name} in the spool folder {self.part.parent}: "
                f"{exc.strerror or exc}", where={"file": self.name},
                hint="free space there or set the source's spool_dir to a larger disk; the next run "
                     "resumes the download where it stopped") from exc

    def write(self, chunk: bytes) -> None:
        self._guard(lambda: self._out.write(chunk))

    def close(self) -> None:
        self._guard(self._out.close)


def discard(path: str) -> None:
    with contextlib.suppress(OSError):
        os.remove(path)
