"""Vectorised converters: one Arrow kernel chain per converter of the row path.

A kernel takes a string array (null = no value) and returns ``(values, unsure)``: the
text the row path's value would be sent as (``targets.values.as_text``), and a mask of
the rows it cannot vouch for.  Unsure rows are mapped again by the row path, which is
the definition, so a kernel only ever has to be exact on the rows it accepts.  Each
kernel accepts a strict, common subset: ``DD/MM/YYYY`` with two-digit days, numbers
without leading zeros, Latin-1 text for case changes; everything else is "unsure".

``build(name, arg, opts)`` returns ``None`` for a converter (or an option) that has no
kernel: the mapping then runs on the row path whole.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from legacy_bridge.columnar.scan import EMPTY, any_byte, either
from legacy_bridge.mapping.converters.contact import _EMAIL
from legacy_bridge.targets.values import as_text

Array = Any  # pyarrow.Array of strings
Mask = Any  # pyarrow.BooleanArray without nulls, or None for "sure everywhere"
Kernel = Callable[[Array], tuple[Array, Mask]]

# what str.strip() removes: every character for which str.isspace() holds (a test checks the list)
PY_SPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
            "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
NULL = pa.scalar(None, pa.string())


@dataclass(frozen=True)
class KernelStep:
    fn: Kernel
    text_out: bool = True  # False: the row path's value is not a str (number, boolean): must be last


def flag(mask: Any) -> Mask:
    """A boolean array from a predicate over values that may be null (null -> not flagged)."""
    return pc.fill_null(mask, False) if mask.null_count else mask


def holds(mask: Mask) -> bool:
    """Does a null-free boolean ``mask`` hold for every row?  (Lets a kernel skip an ``if_else``,
    which copies every value, in the common block where nothing is replaced.)"""
    return not mask.null_count and bool(pc.all(mask).as_py())


def any_of(mask: Mask) -> bool:
    """Does ``mask`` hold for some row (nulls do not count)?"""
    return bool(pc.any(mask).as_py())


def where(mask: Mask, arr: Array, other: Any = NULL) -> Array:
    """``arr`` where ``mask`` holds, else ``other`` (``pc.if_else``, skipped when it changes nothing)."""
    return arr if holds(mask) else pc.if_else(mask, arr, other)


def null_where(mask: Mask, arr: Array) -> Array:
    """``arr`` with null where ``mask`` holds (``pc.if_else``, skipped when no row is masked)."""
    return pc.if_else(mask, NULL, arr) if any_of(mask) else arr


def empty_to_null(arr: Array) -> Array:
    return null_where(pc.equal(arr, EMPTY), arr)


def strip(arr: Array, chars: str | None = None) -> Array:
    return pc.utf8_trim(arr, characters=PY_SPACE if chars is None else chars)


@cache
def _case_unsafe(kind: str) -> str:
    """A regex matching the characters whose case change differs between Python and Arrow:
    measured here over Latin-1 in a few contexts; every character above U+00FF is unsure."""
    py, arrow = {"upper": (str.upper, pc.utf8_upper), "lower": (str.lower, pc.utf8_lower),
                 "title": (str.title, pc.utf8_title)}[kind]
    contexts = ("{}", "a{}", "{}a", "A{}b", "a {}b", "1{}a", "'{}a", "{}1a")
    chars = [chr(c) for c in range(1, 256)]
    samples = [t.format(c) for c in chars for t in contexts]
    out = arrow(pa.array(samples, pa.string())).to_pylist()
    bad = sorted({samples[i][0] if len(samples[i]) == 1 else chars[i // len(contexts)]
                  for i in range(len(samples)) if py(samples[i]) != out[i]})
    return "[^\\x00-\\xff]" + ("|[" + "".join(f"\\x{ord(c):02x}" for c in bad) + "]" if bad else "")


@cache
def _case_unsafe_bytes(kind: str) -> tuple[int, ...]:
    """The UTF-8 bytes that may belong to a character of ``_case_unsafe(kind)`` below U+0100 (the
    others start with a byte >= 0xC4)."""
    chars = re.findall(r"\\x([0-9a-f]{2})", _case_unsafe(kind).split("|", 1)[1] if "|" in _case_unsafe(kind) else "")
    return tuple(sorted({chr(int(c, 16)).encode()[-1] for c in chars}))


def case_unsure(arr: Array, kind: str) -> Mask:
    """The values whose case change may differ between Python and Arrow (None: none of them)."""
    if not any_byte(arr, at_least=0xC4, among=_case_unsafe_bytes(kind)):
        return None
    return flag(pc.match_substring_regex(arr, _case_unsafe(kind)))


def _cased(kind: str) -> Kernel:
    arrow = {"upper": pc.utf8_upper, "lower": pc.utf8_lower, "title": pc.utf8_title}[kind]

    def case(arr: Array) -> tuple[Array, Mask]:
        return arrow(arr), case_unsure(arr, kind)
    return case


def _strip(chars: str | None, fn: Any) -> Kernel:
    spaces = PY_SPACE if chars is None else chars

    def stripped(arr: Array) -> tuple[Array, Mask]:
        return empty_to_null(fn(arr, characters=spaces)), None
    return stripped


def _truncate(size: int) -> Kernel:
    def truncate(arr: Array) -> tuple[Array, Mask]:
        return pc.utf8_slice_codeunits(arr, 0, size), None
    return truncate


# RE2 compiles a regex on every call, and the bounded repeats of a domain label ({0,61}) and of the
# top-level domain ({2,63}) made the e-mail pattern ~100 us of each block.  Unbounded, it accepts
# more only where a label or the top-level domain has 64 characters or more, and so an address of 69
# bytes or more: the kernel vouches for what it matches up to 65 bytes (the row path does the rest).
_EMAIL_LOOSENED = _EMAIL.pattern.count("{0,61}") == 1 and _EMAIL.pattern.count("{2,63}") == 1
_EMAIL_RE2 = "^(?:" + (_EMAIL.pattern.replace("{0,61}", "*").replace("{2,63}", "{2,}") if _EMAIL_LOOSENED
                       else _EMAIL.pattern) + ")$"
_EMAIL_MAX = pa.scalar(65, pa.int32())


def _email(arr: Array) -> tuple[Array, Mask]:
    low = pc.utf8_lower(strip(arr))
    ok = pc.match_substring_regex(low, _EMAIL_RE2)
    if _EMAIL_LOOSENED:
        ok = pc.and_(ok, pc.less_equal(pc.binary_length(low), _EMAIL_MAX))
    unsure = either(pc.invert(flag(ok)), case_unsure(arr, "lower"))
    return low, pc.and_(unsure, pc.is_valid(arr))


def _lookup(arg: Any, opts: Mapping[str, Any]) -> KernelStep | None:
    if not isinstance(arg, dict) or opts.get("ignore_case"):
        return None  # lookup files and case-folding stay on the row path
    table = {str(k).strip(): v for k, v in arg.items()}
    default = opts.get("default", _MISSING)
    text_out = all(isinstance(v, str) for v in table.values()) and (default is _MISSING or isinstance(default, str))
    keys = pa.array(list(table), pa.string())
    values = pa.array([as_text(v) for v in table.values()], pa.string())
    keep = bool(opts.get("keep_unknown"))
    fallback = None if default is _MISSING else as_text(default)

    def lookup(arr: Array) -> tuple[Array, Mask]:
        index = pc.index_in(strip(arr), value_set=keys)
        found = pc.take(values, index)
        missing = pc.and_(pc.is_null(index), pc.is_valid(arr))
        if (keep or fallback is not None) and not any_of(missing):
            return found, None
        if keep:
            return pc.if_else(missing, arr, found), None
        if fallback is not None:
            return pc.if_else(missing, pa.scalar(fallback, pa.string()), found), None
        return found, missing
    return KernelStep(lookup, text_out=text_out)


_MISSING = object()
_DATE_PARTS = {"d": ("([0-9]{2})", 2), "m": ("([0-9]{2})", 2), "Y": ("([0-9]{4})", 4), "y": ("([0-9]{2})", 2)}
_DAYS = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
# index month + 13 * leap: one take instead of the fifteen kernels of (y % 4, y % 100, y % 400)
_DAYS_IN = pa.array(_DAYS + [29 if m == 2 else d for m, d in enumerate(_DAYS)], pa.int64())
_LEAP13 = pa.array([13 * calendar.isleap(y) for y in range(10_000)], pa.int64())  # by year, 0-9999
_ZERO = pa.scalar(0, pa.int64())
_DASH = pa.scalar("-", pa.string())


def _date(arg: Any) -> Kernel | None:
    formats = [arg] if isinstance(arg, str) else arg if isinstance(arg, list) else None
    if not formats or not isinstance(formats[0], str):
        return None
    fmt = formats[0]  # a value the first format does not take strictly is unsure (the row path tries the rest)
    pattern, offsets, pos, i = "^", {}, 0, 0
    while i < len(fmt):
        c = fmt[i]
        if c == "%":
            d = fmt[i + 1:i + 2]
            if d not in _DATE_PARTS or d in offsets:
                return None
            regex, width = _DATE_PARTS[d]
            pattern += regex
            offsets[d] = (pos, width)
            pos += width
            i += 2
        else:
            if c.isspace() or not c.isascii():
                return None
            pattern += re.escape(c)
            pos += 1
            i += 1
    pattern += "$"
    if not {"d", "m"} <= set(offsets) or not ({"Y", "y"} & set(offsets)):
        return None

    def part(arr: Array, d: str) -> Array:
        start, width = offsets[d]
        return pc.utf8_slice_codeunits(arr, start, start + width)

    def date(arr: Array) -> tuple[Array, Mask]:
        s = strip(arr)
        ok = flag(pc.match_substring_regex(s, pattern))
        s = where(ok, s)
        day, month = part(s, "d"), part(s, "m")
        if "Y" in offsets:
            year_text = part(s, "Y")
            year = pc.cast(year_text, pa.int64())
        else:
            short = pc.cast(part(s, "y"), pa.int64())
            year = pc.if_else(pc.greater_equal(short, 69), pc.add(short, 1900), pc.add(short, 2000))
            year_text = pc.cast(year, pa.string())
        d, m = pc.cast(day, pa.int64()), pc.cast(month, pa.int64())
        month_ok = pc.and_(pc.greater_equal(m, 1), pc.less_equal(m, 12))
        # the days in month m of that year: _DAYS_IN[m + 13 x leap] (a year is 0-9999 or null here)
        dim = pc.take(_DAYS_IN, pc.add(pc.if_else(month_ok, m, _ZERO), pc.take(_LEAP13, year)))
        valid = flag(pc.and_(pc.and_(month_ok, pc.greater_equal(year, 1)),
                             pc.and_(pc.greater_equal(d, 1), pc.less_equal(d, dim))))
        out = pc.binary_join_element_wise(year_text, month, day, _DASH)
        return where(valid, out), pc.and_(pc.invert(valid), pc.is_valid(arr))
    return date


def _number(arg: Any, opts: Mapping[str, Any]) -> Kernel | None:
    o = dict(opts)
    if isinstance(arg, dict):
        o.update(arg)
    elif arg is not None:
        return None
    dec, thou = o.get("decimal", "."), o.get("thousands", "")
    if o.get("currency") or dec not in (".", ",") or thou not in ("", ".", ",", "'") or thou == dec:
        return None
    whole = f"[1-9][0-9]{{0,2}}(?:{re.escape(thou)}[0-9]{{3}})+|[1-9][0-9]*|0" if thou else "[1-9][0-9]*|0"
    pattern = f"^-?(?:{whole})(?:{re.escape(dec)}[0-9]+)?$"

    def number(arr: Array) -> tuple[Array, Mask]:
        s = strip(arr)
        ok = flag(pc.match_substring_regex(s, pattern))
        if thou:
            s = pc.replace_substring(s, thou, "")
        if dec != ".":
            s = pc.replace_substring(s, dec, ".")
        zero = flag(pc.match_substring_regex(s, "^-[0.]*$"))  # -0 is 0
        if any_of(zero):
            s = pc.if_else(zero, pc.utf8_slice_codeunits(s, 1), s)
        return where(ok, s), pc.and_(pc.invert(ok), pc.is_valid(arr))
    return number


def build(name: str, arg: Any, opts: Mapping[str, Any]) -> KernelStep | None:
    """The kernel of one converter as written in the job file, or None (row path)."""
    if name in ("strip", "lstrip", "rstrip"):
        if arg is not None and not isinstance(arg, str):
            return None
        fn = {"strip": pc.utf8_trim, "lstrip": pc.utf8_ltrim, "rstrip": pc.utf8_rtrim}[name]
        return KernelStep(_strip(arg, fn))
    if name in ("upper", "lower", "title"):
        return KernelStep(_cased(name))
    if name == "truncate" and isinstance(arg, int) and not isinstance(arg, bool) and arg >= 1:
        return KernelStep(_truncate(arg))
    if name == "email" and arg is None:
        return KernelStep(_email)
    if name == "lookup":
        return _lookup(arg, opts)
    if name == "date" and arg is not None and not opts:
        date = _date(arg)
        return None if date is None else KernelStep(date)
    if name == "number":
        number = _number(arg, opts)
        return None if number is None else KernelStep(number, text_out=False)
    return None


def item_parts(item: Any) -> tuple[str, Any, dict[str, Any]] | None:
    """(name, argument, options) of one ``convert`` item, as converters.build_step reads it."""
    if isinstance(item, str):
        return item, None, {}
    if isinstance(item, dict):
        names = [k for k in item if not k.startswith("py:")]
        from legacy_bridge.mapping.converters import CONVERTERS
        named = [k for k in names if k in CONVERTERS]
        if len(named) != 1 or any(k.startswith("py:") for k in item):
            return None
        name = named[0]
        return name, item[name], {k: v for k, v in item.items() if k != name}
    return None
