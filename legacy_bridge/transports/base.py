"""The transport seam: list, stat, open for streaming read, move, delete - nothing about formats.

A transport is built for one declared folder (``root``).  Every name it takes or
returns is relative to that folder, ``/``-separated, and never escapes it: ``..``,
absolute names and (where resolvable) symlinks pointing outside are refused with a
``TransportError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO, Protocol


@dataclass(frozen=True, slots=True)
class RemoteFile:
    name: str  # relative to the transport's root, '/'-separated
    size: int
    mtime: float  # seconds since the epoch


class Transport(Protocol):
    root: str

    def list(self, patterns: Sequence[str], recursive: bool = False) -> list[RemoteFile]:
        """Regular files under root whose name (or relative path when recursive) matches a glob."""
        ...

    def stat(self, name: str) -> RemoteFile | None:
        """The file's size and mtime, or None when it is gone."""
        ...

    def open(self, name: str) -> BinaryIO:
        """A binary stream for sequential reading (streamed, never loaded whole)."""
        ...

    def move(self, name: str, folder: str) -> str:
        """Move to ``folder`` (relative to root or absolute inside the server's view), by rename.
        On a name clash a timestamp suffix is added.  Returns the new name."""
        ...

    def delete(self, name: str) -> None: ...

    def write_text(self, name: str, text: str) -> None:
        """Write a small text file (a quarantine ``.reason.txt``)."""
        ...

    def close(self) -> None: ...
