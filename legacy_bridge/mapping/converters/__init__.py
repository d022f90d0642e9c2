"""The converter registry: every name a ``convert`` chain may use (docs/mapping.md).

A chain item is a bare name (``"upper"``), a table whose one converter key holds the
argument and whose other keys are options (``{ datetime = "%Y%m%d %H%M", tz = "Europe/Paris" }``),
or a function reference ``"py:package.module:function"``.
"""

from __future__ import annotations

import difflib
from typing import Any

from legacy_bridge.mapping.converters import contact, dates, lookup, numbers, python, text
from legacy_bridge.mapping.converters.base import BuildContext, Converter, ConvertError, Step

_O = frozenset
CONVERTERS: dict[str, Converter] = {c.name: c for c in [
    Converter("strip", text.build_strip, "optional", may_empty=True, summary="remove surrounding spaces"),
    Converter("lstrip", text.build_lstrip, "optional", may_empty=True, summary="remove leading characters"),
    Converter("rstrip", text.build_rstrip, "optional", may_empty=True, summary="remove trailing characters"),
    Converter("upper", text.build_upper, summary="UPPER CASE"),
    Converter("lower", text.build_lower, summary="lower case"),
    Converter("title", text.build_title, summary="Title Case"),
    Converter("truncate", text.build_truncate, "required", summary="cut to a maximum length"),
    Converter("regex_extract", text.build_regex_extract, "required", _O({"group"}), may_empty=True,
              summary="keep the part matching a regular expression"),
    Converter("regex_replace", text.build_regex_replace, "required", may_empty=True,
              summary="replace what matches a regular expression"),
    Converter("split", text.build_split, "required", may_empty=True, summary="text to a list"),
    Converter("join", text.build_join, "required", may_empty=True, summary="list to text"),
    Converter("email", contact.build_email, summary="normalise and check an e-mail address"),
    Converter("phone", contact.build_phone, "optional", summary="normalise a phone number to +<digits>"),
    Converter("date", dates.build_date, "optional", summary="date from explicit formats to YYYY-MM-DD"),
    Converter("datetime", dates.build_datetime, "optional", _O({"tz", "utc"}),
              summary="date and time to ISO 8601, in a declared time zone"),
    Converter("cyymmdd", dates.build_cyymmdd, may_empty=True, summary="AS/400 CYYMMDD date"),
    Converter("yyyymmdd", dates.build_yyyymmdd, may_empty=True, summary="YYYYMMDD number date"),
    Converter("excel_serial", dates.build_excel_serial, "optional", summary="Excel serial day number"),
    Converter("number", numbers.build_number, "optional", _O({"decimal", "thousands", "currency"}),
              summary="locale number to an exact decimal"),
    Converter("implied_decimals", numbers.build_implied_decimals, "required",
              summary="0001234 with 2 implied decimals to 12.34"),
    Converter("boolean", numbers.build_boolean, "optional", _O({"true", "false"}),
              summary="Y/N, J/N, 1/0, X/blank to true/false"),
    Converter("lookup", lookup.build_lookup, "required",
              _O({"default", "keep_unknown", "ignore_case", "key", "value", "delimiter", "encoding"}),
              may_empty=True, summary="code to value, from an inline table or a CSV file"),
    Converter("coalesce", lookup.build_coalesce, "required", may_empty=True, row_aware=True,
              summary="first non-empty of this and other source fields"),
]}


def build_step(item: Any, path: str, ctx: BuildContext) -> Step:
    """Compile one chain item, or raise ValueError naming the problem (``path`` is added by the caller)."""
    if isinstance(item, str):
        name, arg, opts = item, None, {}
    elif isinstance(item, dict):
        names = [k for k in item if k in CONVERTERS or k.startswith("py:")]
        if len(names) != 1:
            unknown = [k for k in item if k not in CONVERTERS]
            hint = _did_you_mean(unknown[0]) if unknown and not names else ""
            raise ValueError(f"a converter table needs exactly one converter name, got {sorted(item)}{hint}")
        name = names[0]
        arg = item[name]
        opts = {k: v for k, v in item.items() if k != name}
    else:
        raise ValueError(f"a converter is a name or a table, got {item!r}")
    if name.startswith("py:"):
        if opts:
            raise ValueError(f"{name} takes its keyword arguments as a table: {{ \"{name}\" = {{ ... }} }}")
        return Step(python.resolve(name, arg), name, path, may_empty=True)
    conv = CONVERTERS.get(name)
    if conv is None:
        raise ValueError(f"unknown converter {name!r}{_did_you_mean(name)}")
    if conv.arg == "none" and arg is not None:
        raise ValueError(f"{name} takes no argument: write \"{name}\"")
    if conv.arg == "required" and arg is None:
        raise ValueError(f"{name} needs an argument: write {{ {name} = ... }} (see docs/mapping.md)")
    unknown_opts = set(opts) - conv.options
    if unknown_opts:
        known = ", ".join(sorted(conv.options)) or "none"
        raise ValueError(f"{name} has no option {', '.join(sorted(unknown_opts))} (options: {known})")
    fn = conv.build(arg, opts, ctx)
    return Step(fn, name, path, may_empty=conv.may_empty, row_aware=conv.row_aware)


def _did_you_mean(name: str) -> str:
    close = difflib.get_close_matches(name, list(CONVERTERS), n=1)
    return f" (did you mean {close[0]!r}?)" if close else f"; known: {', '.join(sorted(CONVERTERS))}"


__all__ = ["CONVERTERS", "BuildContext", "ConvertError", "Step", "build_step"]
