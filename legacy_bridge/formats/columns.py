"""Column names shared by the tabular formats: blanks named, duplicates refused or suffixed."""

from __future__ import annotations

from typing import Any, Literal

from legacy_bridge.errors import FormatError

DuplicateRule = Literal["reject", "suffix"]


def column_names(raw: list[Any], display: str, where: dict[str, Any], rule: DuplicateRule) -> list[str]:
    """Header cells -> unique names.  Blank cells become ``column_<n>`` (1-based).  Duplicates
    are a ``FormatError`` naming them and their columns (``reject``), or get ``_2``, ``_3``."""
    names = [str(v).strip() if v is not None and str(v).strip() else f"column_{i + 1}" for i, v in enumerate(raw)]
    seen: dict[str, list[int]] = {}
    for i, n in enumerate(names):
        seen.setdefault(n, []).append(i + 1)
    dupes = {n: cols for n, cols in seen.items() if len(cols) > 1}
    if not dupes:
        return names
    if rule == "reject":
        text = "; ".join(f"{n!r} in columns {', '.join(map(str, c))}" for n, c in dupes.items())
        raise FormatError(f"duplicate column names in the header of {display}: {text}", where=where,
                          hint="name the columns with format.columns = [...] or set "
                               "format.duplicate_headers = \"suffix\"")
    out, counts = [], dict.fromkeys(dupes, 0)
    for n in names:
        if n in counts:
            counts[n] += 1
            out.append(n if counts[n] == 1 else f"{n}_{counts[n]}")
        else:
            out.append(n)
    return out
