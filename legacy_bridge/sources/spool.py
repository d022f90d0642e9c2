"""Local copies of remote files, hashed (SHA-256) while they are written.  A partial copy
left by an earlier attempt is continued at its size, so a cut download resumes."""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path
from typing import BinaryIO

from legacy_bridge.errors import TransportError
from legacy_bridge.transports.base import RemoteFile, Transport

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
        with open(part, "ab") as out:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
    finally:
        stream.close()
    got = part.stat().st_size
    if got != file.size:
        raise TransportError(f"{file.name} changed while it was downloaded ({got} bytes read, {file.size} listed)",
                             where={"file": file.name}, hint="it is probably still being written; the next run takes it")
    os.replace(part, final)
    return str(final), digest.hexdigest()


def discard(path: str) -> None:
    with contextlib.suppress(OSError):
        os.remove(path)
