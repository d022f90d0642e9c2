"""Contact converters: e-mail addresses and phone numbers, normalised and checked."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from legacy_bridge.mapping.converters.base import BuildContext, ConvertError, text

_EMAIL = re.compile(
    r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
)
_ANGLED = re.compile(r"<([^<>]*)>")


def build_email(arg: Any, opts: Mapping[str, Any], ctx: BuildContext) -> Callable[[Any], Any]:
    if arg is not None:
        raise ValueError("takes no argument: write \"email\"")
    match = _EMAIL.fullmatch

    def email(value: Any) -> Any:
        s = (value if value.__class__ is str else text(value)).strip().lower()
        if match(s) is not None:
            return s
        m = _ANGLED.search(s)  # "Jane Doe <jane@example.com>"
        if m is not None:
            s = m.group(1).strip()
        if s.startswith("mailto:"):
            s = s[7:]
        if match(s) is None:
            raise ConvertError("is not a valid e-mail address")
        return s

    return email


_PHONE_CHARS = re.compile(r"[0-9\s().\-/+]+")
_TRUNK = re.compile(r"\(0\)")


def _calling_code(arg: Any) -> str:
    if arg is None:
        return ""
    s = str(arg).strip().lstrip("+") if isinstance(arg, str | int) and not isinstance(arg, bool) else ""
    if not s.isdigit() or not 1 <= len(s) <= 3 or s[0] == "0":
        raise ValueError(f"expects a country calling code such as \"+33\" or \"+1\", got {arg!r}")
    return s


def build_phone(arg: Any, opts: Mapping[str, Any], ctx: BuildContext) -> Callable[[Any], Any]:
    country = _calling_code(arg)

    def phone(value: Any) -> Any:
        s = (value if value.__class__ is str else text(value)).strip()
        if _PHONE_CHARS.fullmatch(s) is None:
            raise ConvertError("is not a phone number (only digits, spaces, + ( ) . - / are allowed)")
        international = s.startswith("+")
        if international:
            s = _TRUNK.sub("", s)  # "+44 (0)20 ..." drops the trunk 0
        digits = "".join(c for c in s if c in "0123456789")
        if international:
            number = digits
        elif digits.startswith("00"):
            number = digits[2:]
        elif country:
            number = country + (digits[1:] if digits.startswith("0") else digits)
        else:
            raise ConvertError("has no country code (write it with +, or declare one: { phone = \"+33\" })")
        if not 7 <= len(number) <= 15 or number[0] == "0":
            raise ConvertError("is not a phone number (an international number has 7 to 15 digits)")
        return "+" + number

    return phone
