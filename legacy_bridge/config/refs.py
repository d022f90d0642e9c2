"""Secret references in job files: ``${env:NAME}`` and ``${file:PATH}``.

Job files never contain secrets; they reference them.  References are resolved when
a job is loaded to run.  Every resolved value whose name looks secret (and every
``${file:}`` value) is registered for redaction, so it never reaches a log line, an
error or the state store.  An unset variable or unreadable file is a configuration
error naming the key path.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from legacy_bridge.observe.redact import register_secret

REF = re.compile(r"\$\{(?P<scheme>env|file):(?P<arg>[^}]+)\}")
_SECRETISH = re.compile(r"(?i)(pass|pwd|secret|token|key|credential|auth|cert)")


def is_reference(value: object) -> bool:
    """True for a string still holding ``${env:...}``/``${file:...}`` (a job loaded without
    resolving secrets, for status or the catalog); content checks skip such values."""
    return isinstance(value, str) and REF.search(value) is not None


def key_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """('flows', 1, 'target', 'batch_size') -> 'flows[1].target.batch_size'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def resolve_refs(data: Any, base_dir: Path, problems: list[str], loc: tuple[Any, ...] = ()) -> Any:
    """Return ``data`` with every reference in every string replaced by its value.
    Problems are appended (with their key path), never raised one by one."""
    if isinstance(data, dict):
        return {k: resolve_refs(v, base_dir, problems, (*loc, k)) for k, v in data.items()}
    if isinstance(data, list):
        return [resolve_refs(v, base_dir, problems, (*loc, i)) for i, v in enumerate(data)]
    if not isinstance(data, str) or "${" not in data:
        return data

    def substitute(match: re.Match[str]) -> str:
        scheme, arg = match.group("scheme"), match.group("arg").strip()
        secretish = bool(_SECRETISH.search(arg) or _SECRETISH.search(key_path(loc)))
        if scheme == "env":
            value = os.environ.get(arg)
            if value is None:
                problems.append(f"{key_path(loc)}: environment variable {arg} is not set (referenced as ${{env:{arg}}})")
                return match.group(0)
        else:
            path = Path(os.path.expanduser(arg))
            path = path if path.is_absolute() else base_dir / path
            try:
                value = path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                problems.append(f"{key_path(loc)}: cannot read secret file {path}: {exc.strerror or exc}")
                return match.group(0)
            secretish = True
        if secretish:
            register_secret(value)
        return value

    return REF.sub(substitute, data)
