"""Local folders (and network mounts): plain directory scans, no inotify."""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, Literal

from legacy_bridge.errors import TransportError
from legacy_bridge.registry import Spec
from legacy_bridge.transports.base import RemoteFile
from legacy_bridge.transports.paths import clean_name, inside, matches, stamped


class LocalSpec(Spec):
    kind: Literal["local"] = "local"


class LocalTransport:
    """Files below one local folder.  Every name is relative to ``root``."""

    def __init__(self, root: str | Path) -> None:
        self.root = str(Path(root).absolute())
        self._real_root = os.path.realpath(self.root)

    # --- names ----------------------------------------------------------------------------
    def _path(self, name: str) -> str:
        rel = clean_name(name, self.root)
        full = os.path.join(self.root, *rel.split("/"))
        real = os.path.realpath(full)
        if not inside(real, self._real_root):
            raise TransportError(f"refusing {name!r}: it is a link to {real}, outside the declared folder",
                                 where={"folder": self.root})
        return full

    def local_path(self, name: str) -> str:
        """The file's path on this machine (formats read it in place, no spooling)."""
        return self._path(name)

    def _folder(self, folder: str) -> str:
        path = folder if os.path.isabs(folder) else os.path.join(self.root, folder)
        return os.path.normpath(path)

    def _rel(self, path: str) -> str:
        if inside(path, self.root):
            return os.path.relpath(path, self.root).replace(os.sep, "/")
        return path

    # --- listing ----------------------------------------------------------------------------
    def _walk(self, folder: str, prefix: str, recursive: bool) -> Iterator[tuple[str, os.stat_result]]:
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            raise TransportError(f"folder {folder} does not exist", where={"folder": self.root},
                                 hint="create it or fix `path` in the job file") from None
        except OSError as exc:
            raise TransportError(f"cannot list {folder}: {exc.strerror or exc}", where={"folder": self.root}) from exc
        for entry in entries:
            rel = f"{prefix}{entry.name}"
            try:
                if entry.is_symlink() and not inside(os.path.realpath(entry.path), self._real_root):
                    continue  # never follow a link out of the declared folder
                if entry.is_dir():
                    if recursive:
                        yield from self._walk(entry.path, rel + "/", recursive)
                elif entry.is_file():
                    yield rel, entry.stat()
            except OSError:
                continue  # vanished between listing and stat

    def list(self, patterns: Sequence[str], recursive: bool = False) -> list[RemoteFile]:
        return [RemoteFile(rel, st.st_size, st.st_mtime)
                for rel, st in self._walk(self.root, "", recursive) if matches(rel, patterns)]

    def stat(self, name: str) -> RemoteFile | None:
        try:
            st = os.stat(self._path(name))
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise TransportError(f"cannot stat {name}: {exc.strerror or exc}", where={"folder": self.root}) from exc
        return RemoteFile(clean_name(name, self.root), st.st_size, st.st_mtime)

    def open(self, name: str, offset: int = 0) -> BinaryIO:
        try:
            stream = open(self._path(name), "rb")  # noqa: SIM115 - the caller closes it
        except OSError as exc:
            raise TransportError(f"cannot open {name}: {exc.strerror or exc}", where={"folder": self.root}) from exc
        if offset:
            stream.seek(offset)
        return stream

    # --- changes -------------------------------------------------------------------------------
    def move(self, name: str, folder: str) -> str:
        src = self._path(name)
        dest_dir = self._folder(folder)
        base = posixpath.basename(clean_name(name, self.root))
        try:
            os.makedirs(dest_dir, exist_ok=True)
            dest = os.path.join(dest_dir, base)
            if os.path.exists(dest):
                dest = os.path.join(dest_dir, stamped(base))
            os.replace(src, dest)
        except OSError as exc:
            raise TransportError(f"cannot move {name} to {dest_dir}: {exc.strerror or exc}",
                                 where={"folder": self.root}, hint="check the folder exists and is writable") from exc
        return self._rel(dest)

    def delete(self, name: str) -> None:
        try:
            os.remove(self._path(name))
        except FileNotFoundError:
            return
        except OSError as exc:
            raise TransportError(f"cannot delete {name}: {exc.strerror or exc}", where={"folder": self.root}) from exc

    def write_text(self, name: str, text: str) -> None:
        path = self._path(name) if not os.path.isabs(name) else os.path.normpath(name)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as out:
                out.write(text)
        except OSError as exc:
            raise TransportError(f"cannot write {name}: {exc.strerror or exc}", where={"folder": self.root}) from exc

    def close(self) -> None:
        return None


def build(spec: LocalSpec, root: str, base_dir: Path) -> LocalTransport:
    path = Path(root)
    return LocalTransport(path if path.is_absolute() else base_dir / path)
