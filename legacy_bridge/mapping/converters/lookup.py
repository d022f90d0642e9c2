"""Lookup tables (inline or from a CSV file) and ``coalesce`` of several source fields."""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from legacy_bridge.mapping.converters.base import BuildContext, ConvertError, shown, str_list, text

_MISSING = object()


def _load_csv(path: Path, shown_path: str, opts: Mapping[str, Any]) -> dict[str, Any]:
    key_col, value_col = opts.get("key"), opts.get("value")
    delimiter = opts.get("delimiter", ",")
    encoding = opts.get("encoding", "utf-8-sig")
    for name, item in (("key", key_col), ("value", value_col), ("delimiter", delimiter), ("encoding", encoding)):
        if item is not None and not isinstance(item, str):
            raise ValueError(f"'{name}' must be text, got {item!r}")
    try:
        with path.open(newline="", encoding=encoding) as fh:
            reader = csv.reader(fh, delimiter=delimiter)
            header = next(reader, None)
            if not header:
                raise ValueError(f"lookup file {shown_path} is empty: it needs a header row and two columns")
            header = [h.strip() for h in header]
            cols = []
            for wanted, fallback in ((key_col, 0), (value_col, 1)):
                if wanted is None:
                    if len(header) < 2:
                        raise ValueError(f"lookup file {shown_path} needs two columns (code, value)")
                    cols.append(fallback)
                elif wanted in header:
                    cols.append(header.index(wanted))
                else:
                    raise ValueError(f"lookup file {shown_path} has no column {wanted!r} (columns: {', '.join(header)})")
            table: dict[str, Any] = {}
            for line, row in enumerate(reader, start=2):
                if not row or all(not c.strip() for c in row):
                    continue
                if len(row) <= max(cols):
                    raise ValueError(f"lookup file {shown_path} line {line} has {len(row)} column(s)")
                table[row[cols[0]].strip()] = row[cols[1]]
            return table
    except FileNotFoundError:
        raise ValueError(f"lookup file {shown_path} does not exist (paths are relative to the job file)") from None
    except (OSError, UnicodeDecodeError, LookupError, csv.Error) as exc:
        raise ValueError(f"lookup file {shown_path} cannot be read: {exc}") from None


def build_lookup(arg: Any, opts: Mapping[str, Any], ctx: BuildContext) -> Callable[[Any], Any]:
    if isinstance(arg, dict):
        extra = set(opts) & {"key", "value", "delimiter", "encoding"}
        if extra:
            raise ValueError(f"{', '.join(sorted(extra))} only apply to a lookup file")
        table = {str(k).strip(): v for k, v in arg.items()}
        where = "the lookup table"
    elif isinstance(arg, str):
        path = Path(arg) if Path(arg).is_absolute() else ctx.base_dir / arg
        table = _load_csv(path, arg, opts)
        where = arg
    else:
        raise ValueError(f"expects an inline table {{ A = \"Active\" }} or a CSV file name, got {arg!r}")
    ignore_case = opts.get("ignore_case", False)
    keep = opts.get("keep_unknown", False)
    if not isinstance(ignore_case, bool) or not isinstance(keep, bool):
        raise ValueError("'ignore_case' and 'keep_unknown' must be true or false")
    default = opts.get("default", _MISSING)
    if keep and default is not _MISSING:
        raise ValueError("give either 'default' or 'keep_unknown', not both")
    if ignore_case:
        table = {k.casefold(): v for k, v in table.items()}
    sample = ", ".join(shown(k, 20) for k in list(table)[:8]) + (" ..." if len(table) > 8 else "")
    reason = f"is not a known code in {where} (known: {sample})"
    get = table.get

    def lookup(value: Any) -> Any:
        s = (value if value.__class__ is str else text(value)).strip()
        found = get(s.casefold() if ignore_case else s, _MISSING)
        if found is not _MISSING:
            return found
        if keep:
            return value
        if default is not _MISSING:
            return default
        raise ConvertError(reason)

    return lookup


def build_coalesce(arg: Any, opts: Mapping[str, Any], ctx: BuildContext) -> Callable[..., Any]:
    fields = str_list(arg, "the source fields to try in order, e.g. [\"MOBILE\", \"PHONE\"]")

    def coalesce(value: Any, row: Mapping[str, Any]) -> Any:
        if value is not None and value != "":
            return value
        for name in fields:
            other = row.get(name)
            if other is not None and (other.__class__ is not str or other.strip()):
                return other
        return None

    return coalesce
