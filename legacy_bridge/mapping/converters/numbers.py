"""Number and boolean converters: locale numbers to exact ``Decimal``, implied decimals,
trailing minus signs, and yes/no flags in their many legacy spellings."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from legacy_bridge.mapping.converters.base import BuildContext, ConvertError, text

_SPACES = " \u00a0\u202f\u2009"


def _number_options(arg: Any, opts: Mapping[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = dict(opts)
    if isinstance(arg, dict):
        merged.update(arg)
    elif arg is not None:
        raise ValueError(f"expects a table such as {{ decimal = \",\", thousands = \".\" }}, got {arg!r}")
    unknown = set(merged) - {"decimal", "thousands", "currency"}
    if unknown:
        raise ValueError(f"unknown option(s) {', '.join(sorted(unknown))}; known: decimal, thousands, currency")
    dec, thou = merged.get("decimal", "."), merged.get("thousands", "")
    if dec not in (".", ","):
        raise ValueError(f"'decimal' must be \".\" or \",\", got {dec!r}")
    if thou not in ("", ".", ",", " ", "'", "\u00a0"):
        raise ValueError(f"'thousands' must be one of \".\" \",\" \" \" \"'\" or \"\", got {thou!r}")
    if thou == dec:
        raise ValueError("'decimal' and 'thousands' must differ")
    if not isinstance(merged.get("currency", False), bool):
        raise ValueError("'currency' must be true or false")
    return merged


def _strip_currency(s: str) -> str:
    return "".join(c for c in s if unicodedata.category(c) != "Sc" and c not in _SPACES)


def _signed(s: str) -> tuple[bool, str]:
    """Split a sign off the front or the back (``-12``, ``12-``, ``(12)``, ``+12``)."""
    if s[:1] in "-+" and s:
        return s[0] == "-", s[1:].strip()
    if s[-1:] in "-+" and s:
        return s[-1] == "-", s[:-1].strip()
    if s[:1] == "(" and s[-1:] == ")":
        return True, s[1:-1].strip()
    return False, s


def build_number(arg: Any, opts: Mapping[str, Any], ctx: BuildContext) -> Callable[[Any], Any]:
    o = _number_options(arg, opts)
    dec, thou, currency = o.get("decimal", "."), o.get("thousands", ""), o.get("currency", False)
    seps = _SPACES if thou == " " else thou
    group = rf"\d{{1,3}}(?:[{re.escape(seps)}]\d{{3}})+|\d+" if thou else r"\d+"
    match = re.compile(rf"({group})?(?:{re.escape(dec)}(\d+))?", re.ASCII).fullmatch
    example = f"1{thou}234{dec}56" if thou else f"1234{dec}56"
    reason = f"is not a number like {example}" + (" (a currency sign is allowed)" if currency else "")

    def number(value: Any) -> Any:
        if isinstance(value, int | Decimal) and not isinstance(value, bool):
            return Decimal(value)
        if isinstance(value, float):
            return Decimal(repr(value))
        s = (value if value.__class__ is str else text(value)).strip()
        if currency:
            s = _strip_currency(s)
        negative = False
        if s and (s[0] in "-+(" or s[-1] in "-+"):
            negative, s = _signed(s)
        m = match(s)
        if m is None or not s or (m.group(1) is None and m.group(2) is None):
            raise ConvertError(reason)
        whole, frac = m.groups()
        if thou and whole:
            whole = "".join(c for c in whole if c.isdigit())
        d = Decimal(f"{whole or '0'}.{frac}" if frac else whole)
        return -d if negative else d

    return number


def build_implied_decimals(arg: Any, opts: Mapping[str, Any], ctx: BuildContext) -> Callable[[Any], Any]:
    if not isinstance(arg, int) or isinstance(arg, bool) or not 0 <= arg <= 18:
        raise ValueError(f"expects the number of implied decimals (0 to 18), e.g. 2, got {arg!r}")
    scale = -arg
    reason = f"is not a whole number with {arg} implied decimals (e.g. 0001234 for {Decimal(1234).scaleb(scale)})"

    def implied_decimals(value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return Decimal(value).scaleb(scale)
        negative, s = _signed((value if value.__class__ is str else text(value)).strip())
        if not s.isdigit() or not s.isascii():
            raise ConvertError(reason)
        d = Decimal(s).scaleb(scale)
        return -d if negative else d

    return implied_decimals


TRUE_WORDS = ("Y", "YES", "J", "JA", "O", "OUI", "S", "SI", "T", "TRUE", "1", "X", "ON")
FALSE_WORDS = ("N", "NO", "NEIN", "NON", "F", "FALSE", "0", "OFF")


def _words(value: Any, name: str) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str | int) and not isinstance(v, bool) for v in value):
        raise ValueError(f"'{name}' must be a list of spellings, e.g. [\"Y\", \"J\", \"1\"], got {value!r}")
    return frozenset(str(v).strip().upper() for v in value)


def build_boolean(arg: Any, opts: Mapping[str, Any], ctx: BuildContext) -> Callable[[Any], Any]:
    o: dict[str, Any] = dict(opts)
    if isinstance(arg, dict):
        o.update(arg)
    elif arg is not None:
        raise ValueError(f"expects a table such as {{ true = [\"X\"], false = [\"N\"] }}, got {arg!r}")
    unknown = set(o) - {"true", "false"}
    if unknown:
        raise ValueError(f"unknown option(s) {', '.join(sorted(unknown))}; known: true, false")
    yes = _words(o["true"], "true") if "true" in o else frozenset(TRUE_WORDS)
    no = _words(o["false"], "false") if "false" in o else (frozenset(FALSE_WORDS) if "true" not in o else frozenset())
    if yes & no:
        raise ValueError(f"{', '.join(sorted(yes & no))} cannot mean both true and false")
    spelled = "/".join(sorted(yes)[:4]) + (" or " + "/".join(sorted(no)[:4]) if no else "")
    reason = f"is not a yes/no value (expected {spelled})"

    def boolean(value: Any) -> Any:
        if value is True or value is False:
            return value
        s = (value if value.__class__ is str else text(value)).strip().upper()
        if s in yes:
            return True
        if s in no:
            return False
        raise ConvertError(reason)

    return boolean
