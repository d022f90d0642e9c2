"""Names inside a transport's folder: validation (nothing escapes the root), glob matching,
clash-free target names."""

from __future__ import annotations

import fnmatch
import posixpath
import time
from collections.abc import Sequence

from legacy_bridge.errors import TransportError


def clean_name(name: str, root: str) -> str:
    """``name`` as a normalised ``/``-separated relative name, or ``TransportError`` when it is
    absolute, contains ``..`` or a NUL, or is empty."""
    if not name or "\x00" in name:
        raise TransportError(f"refusing an empty or NUL-containing file name {name!r}", where={"folder": root})
    text = name.replace("\\", "/")
    if text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        raise TransportError(f"refusing absolute file name {name!r}: names must stay inside {root}",
                             where={"folder": root})
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        raise TransportError(f"refusing file name {name!r}: it would escape the declared folder {root}",
                             where={"folder": root}, hint="names may not contain '..'")
    return "/".join(parts)


def matches(name: str, patterns: Sequence[str]) -> bool:
    """True when the base name or the relative path matches one of the globs."""
    base = posixpath.basename(name)
    return any(fnmatch.fnmatchcase(base, p) or fnmatch.fnmatchcase(name, p) for p in patterns)


def stamped(name: str, when: float | None = None) -> str:
    """``ORDERS_1.csv`` -> ``ORDERS_1.20240131T221500Z.csv`` (a clash-free archive name)."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if when is None else when))
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        return f"{name}.{stamp}"
    return f"{stem}.{stamp}.{ext}"


def inside(path: str, root: str) -> bool:
    """Is ``path`` (absolute, normalised) the root or below it?"""
    root = root.rstrip("/") or "/"
    return path == root or path.startswith(root if root.endswith("/") else root + "/")
