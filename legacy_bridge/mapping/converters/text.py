"""Text converters: strip/upper/lower/title, truncate, regex extract/replace, split/join."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from legacy_bridge.mapping.converters.base import BuildContext, ConvertError, need, text


def _none(arg: Any, where: str) -> None:
    if arg is not None:
        raise ValueError(f"{where} takes no argument")


def build_strip(arg: Any, opts: Mapping[str, Any], ctx: BuildContext) -> Callable[[Any], Any]:
    chars = None if arg is None else need(arg, str, "the characters to remove, e.g. \" 0\"")

    def strip(value: Any) -> Any:
        return (value if value.__class__ is str else text(value)).strip(chars) or None

    return strip


def build_lstrip(arg: Any, opts: Mapping[str, Any], ctx: BuildContext) -> Callable[[Any], Any]:
    chars = None if arg is None else need(arg, str, "the characters to remove, e.g. \"0\"")

    def lstrip(value: Any) -> Any:
        return (value if value.__class__ is str else text(value)).lstrip(chars) or None

    return lstrip


def build_rstrip(arg: Any, opts: Mapping[str, Any], ctx: BuildContext) -> Callable[[Any], Any]:
    chars = None if arg is None else need(arg, str, "the characters to remove, e.g. \" \"")

    def rstrip(value: Any) -> Any:
        return (value if value.__class__ is str else text(value)).rstrip(chars) or None

    return rstrip


def build_upper(arg: Any, opts: Mapping[str, Any], ctx: BuildContext) -> Callable[[Any], Any]:
    def upper(value: Any) -> Any:
        return (value if value.__class__ is str else text(value)).upper()

    return upper


def build_lower(arg: Any, opts: Mapping[str, Any], ctx: BuildContext) -> Callable[[Any], Any]:
    def lower(value: Any) -> Any:
        return (value if value.__class__ is str else text(value)).lower()

    return lower


def build_title(arg: Any, opts: Mapping[str, Any], ctx: BuildContext) -> Callable[[Any], Any]:
    def title(value: Any) -> Any:
        return (value if value.__class__ is str else text(value)).title()

    return title


def build_truncate(arg: Any, opts: Mapping[str, Any], ctx: BuildContext) -> Callable[[Any], Any]:
    size = need(arg, int, "a maximum number of characters, e.g. 40")
    if size < 1:
        raise ValueError(f"expects a maximum number of characters of at least 1, got {size}")

    def truncate(value: Any) -> Any:
        return (value if value.__class__ is str else text(value))[:size]

    return truncate


def _regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{pattern!r} is not a valid regular expression: {exc}") from None


def build_regex_extract(arg: Any, opts: Mapping[str, Any], ctx: BuildContext) -> Callable[[Any], Any]:
    rx = _regex(need(arg, str, "a regular expression, e.g. \"(\\\\d+)\""))
    group = opts.get("group", 1 if rx.groups else 0)
    if not isinstance(group, int | str) or isinstance(group, bool):
        raise ValueError(f"'group' must be a group number or name, got {group!r}")
    if isinstance(group, int) and not 0 <= group <= rx.groups:
        raise ValueError(f"'group' {group} does not exist: the expression has {rx.groups} group(s)")
    if isinstance(group, str) and group not in rx.groupindex:
        raise ValueError(f"'group' {group!r} is not a named group of the expression")
    search = rx.search
    pattern = rx.pattern

    def regex_extract(value: Any) -> Any:
        m = search(value if value.__class__ is str else text(value))
        if m is None:
            raise ConvertError(f"does not contain anything matching {pattern}")
        return m.group(group) or None

    return regex_extract


def build_regex_replace(arg: Any, opts: Mapping[str, Any], ctx: BuildContext) -> Callable[[Any], Any]:
    if not (isinstance(arg, list) and len(arg) == 2 and all(isinstance(a, str) for a in arg)):
        raise ValueError(f"expects [pattern, replacement], e.g. [\"\\\\s+\", \" \"], got {arg!r}")
    rx = _regex(arg[0])
    repl = arg[1]
    try:
        rx.sub(repl, "")  # checks the replacement's group references and escapes
    except (re.error, IndexError) as exc:
        raise ValueError(f"replacement {repl!r} is not valid for {arg[0]!r}: {exc}") from None
    sub = rx.sub

    def regex_replace(value: Any) -> Any:
        return sub(repl, value if value.__class__ is str else text(value)) or None

    return regex_replace


def build_split(arg: Any, opts: Mapping[str, Any], ctx: BuildContext) -> Callable[[Any], Any]:
    sep = need(arg, str, "a separator, e.g. \";\"")
    if not sep:
        raise ValueError("expects a separator that is not empty")

    def split(value: Any) -> Any:
        if isinstance(value, list):
            return value or None
        parts = [p.strip() for p in (value if value.__class__ is str else text(value)).split(sep)]
        return [p for p in parts if p] or None

    return split


def build_join(arg: Any, opts: Mapping[str, Any], ctx: BuildContext) -> Callable[[Any], Any]:
    sep = need(arg, str, "a separator, e.g. \", \"")

    def join(value: Any) -> Any:
        if isinstance(value, list | tuple):
            return sep.join(text(v) for v in value if v is not None and v != "") or None
        return text(value)

    return join
