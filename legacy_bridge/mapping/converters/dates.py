"""Date converters: explicit formats, AS/400 CYYMMDD, YYYYMMDD numbers, Excel serials.

Dates come out as ISO 8601 text (``2024-02-29``), date-times as ISO 8601 with their
offset when a time zone is declared (``2024-02-29T14:30:00+01:00``).  Common numeric
formats (%d %m %Y %y %H %M %S and literal separators) are parsed by a compiled regular
expression, several times faster than ``strptime``; other formats use ``strptime``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from legacy_bridge.mapping.converters.base import BuildContext, ConvertError, str_list, text

_FAST = {
    "d": r"(3[01]|[12]\d|0[1-9]|[1-9])",
    "m": r"(1[0-2]|0[1-9]|[1-9])",
    "Y": r"(\d{4})",
    "y": r"(\d{2})",
    "H": r"(2[0-3]|[01]\d|\d)",
    "M": r"([0-5]\d|\d)",
    "S": r"([0-5]\d|\d)",
}
Parser = Callable[[str], datetime | None]


def _fast_parser(fmt: str) -> Parser | None:
    """A regex parser for formats made of numeric directives and literals, else None."""
    parts: list[str] = []
    order: list[str] = []
    i = 0
    while i < len(fmt):
        c = fmt[i]
        if c == "%":
            d = fmt[i + 1: i + 2]
            if d not in _FAST or d in order:
                return None
            parts.append(_FAST[d])
            order.append(d)
            i += 2
        else:
            parts.append(r"\s+" if c.isspace() else re.escape(c))
            i += 1
    if not {"d", "m"} <= set(order) or not ({"Y", "y"} & set(order)):
        return None
    match = re.compile("".join(parts)).fullmatch
    yi = order.index("Y") if "Y" in order else order.index("y")
    century = "Y" not in order  # same pivot as strptime: 69-99 -> 19xx
    mi, di = order.index("m"), order.index("d")
    hms = [order.index(d) if d in order else -1 for d in "HMS"]
    timed = any(h >= 0 for h in hms)

    def parse(s: str) -> datetime | None:
        m = match(s)
        if m is None:
            return None
        g = m.groups()
        y = int(g[yi])
        if century:
            y += 1900 if y >= 69 else 2000
        try:
            if not timed:
                return datetime(y, int(g[mi]), int(g[di]))
            h, mn, sec = (int(g[p]) if p >= 0 else 0 for p in hms)
            return datetime(y, int(g[mi]), int(g[di]), h, mn, sec)
        except ValueError:
            return None

    return parse


def _parser(fmt: str) -> Parser:
    try:  # rejects unknown directives; the round trip rejects formats that lose the date
        sample = datetime(2024, 11, 28, 13, 14, 15)
        back = datetime.strptime(sample.strftime(fmt), fmt)
    except ValueError as exc:
        raise ValueError(f"{fmt!r} is not a usable date format: {exc}") from None
    if back.date() != sample.date():
        raise ValueError(f"{fmt!r} is not a usable date format: it needs a day, a month and a year")
    fast = _fast_parser(fmt)
    if fast is not None:
        return fast
    strptime = datetime.strptime

    def parse(s: str) -> datetime | None:
        try:
            return strptime(s, fmt)
        except ValueError:
            return None

    return parse


def _parsers(arg: Any) -> tuple[list[Parser], str]:
    formats = str_list(arg, "a date format such as \"%d/%m/%Y\"")
    how = f"format {formats[0]}" if len(formats) == 1 else "any of the formats " + ", ".join(formats)
    return [_parser(f) for f in formats], how


def build_date(arg: Any, opts: Mapping[str, Any], ctx: BuildContext) -> Callable[[Any], Any]:
    if arg is None:
        def iso_date(value: Any) -> Any:
            if isinstance(value, date):
                return (value.date() if isinstance(value, datetime) else value).isoformat()
            try:
                return date.fromisoformat(text(value).strip()).isoformat()
            except ValueError:
                raise ConvertError("is not an ISO date (YYYY-MM-DD)") from None
        return iso_date
    parsers, how = _parsers(arg)
    if len(parsers) == 1:
        one = parsers[0]

        def date_one(value: Any) -> Any:
            if value.__class__ is not str:
                if isinstance(value, date):
                    return (value.date() if isinstance(value, datetime) else value).isoformat()
                value = text(value)  # 20240229 from ODBC or Excel, read as the list form reads it
            d = one(value.strip())
            if d is not None:
                return d.date().isoformat()
            raise ConvertError(f"is not a date in {how}")
        return date_one

    def date_any(value: Any) -> Any:
        if isinstance(value, date):
            return (value.date() if isinstance(value, datetime) else value).isoformat()
        s = text(value).strip()
        for parse in parsers:
            d = parse(s)
            if d is not None:
                return d.date().isoformat()
        raise ConvertError(f"is not a date in {how}")
    return date_any


def _zone(name: Any) -> ZoneInfo:
    if not isinstance(name, str):
        raise ValueError(f"'tz' must be a time zone name such as \"Europe/Paris\", got {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"'tz' {name!r} is not a known time zone (e.g. \"Europe/Paris\", \"UTC\")") from None


def build_datetime(arg: Any, opts: Mapping[str, Any], ctx: BuildContext) -> Callable[[Any], Any]:
    tz = _zone(opts["tz"]) if "tz" in opts else None
    to_utc = opts.get("utc", False)
    if not isinstance(to_utc, bool):
        raise ValueError(f"'utc' must be true or false, got {to_utc!r}")
    if to_utc and tz is None:
        raise ValueError("'utc = true' needs the time zone of the source values: add tz = \"Europe/Paris\"")
    if arg is None:
        parsers: list[Parser] = [lambda s: _iso(s)]
        how = "ISO 8601 (YYYY-MM-DDTHH:MM:SS)"
    else:
        parsers, how = _parsers(arg)

    def to_iso(dt: datetime) -> str:
        if dt.tzinfo is None and tz is not None:
            dt = dt.replace(tzinfo=tz)
        if to_utc:
            dt = dt.astimezone(UTC)
        return dt.isoformat()

    def datetime_(value: Any) -> Any:
        if isinstance(value, datetime):
            return to_iso(value)
        if isinstance(value, date):
            return to_iso(datetime(value.year, value.month, value.day))
        s = text(value).strip()
        for parse in parsers:
            dt = parse(s)
            if dt is not None:
                return to_iso(dt)
        raise ConvertError(f"is not a date and time in {how}")
    return datetime_


def _iso(s: str) -> datetime | None:
    try:
        return datetime.fromisoformat(s)
    except ValueError:
        return None


def _digits(value: Any, width: int) -> int | None:
    """A zoned-decimal date as an int (None for the AS/400 'no date' 0), or ConvertError."""
    if isinstance(value, int) and not isinstance(value, bool):
        n = value
    else:
        s = text(value).strip()
        if not s.isdigit() or not s.isascii() or len(s) > width:
            raise ValueError(s)
        n = int(s)
    if n < 0:
        raise ValueError(n)
    return n or None


def build_cyymmdd(arg: Any, opts: Mapping[str, Any], ctx: BuildContext) -> Callable[[Any], Any]:
    def cyymmdd(value: Any) -> Any:
        try:
            n = _digits(value, 7)
            if n is None:
                return None
            c, rest = divmod(n, 1_000_000)
            yy, mmdd = divmod(rest, 10_000)
            return date(1900 + 100 * c + yy, mmdd // 100, mmdd % 100).isoformat()
        except (ValueError, OverflowError):  # a huge number overflows date() rather than failing its checks
            raise ConvertError("is not an AS/400 date CYYMMDD (e.g. 1240229 for 2024-02-29)") from None
    return cyymmdd


def build_yyyymmdd(arg: Any, opts: Mapping[str, Any], ctx: BuildContext) -> Callable[[Any], Any]:
    def yyyymmdd(value: Any) -> Any:
        try:
            n = _digits(value, 8)
            if n is None:
                return None
            y, mmdd = divmod(n, 10_000)
            if y < 1000:
                raise ValueError(n)
            return date(y, mmdd // 100, mmdd % 100).isoformat()
        except (ValueError, OverflowError):
            raise ConvertError("is not a date YYYYMMDD (e.g. 20240229)") from None
    return yyyymmdd


_EPOCH_1900 = datetime(1899, 12, 30)
_EPOCH_1904 = datetime(1904, 1, 1)


def build_excel_serial(arg: Any, opts: Mapping[str, Any], ctx: BuildContext) -> Callable[[Any], Any]:
    system = 1900 if arg is None else arg
    if system not in (1900, 1904) or isinstance(system, bool):
        raise ValueError(f"expects the workbook's date system, 1900 (the default) or 1904, got {arg!r}")
    epoch = _EPOCH_1900 if system == 1900 else _EPOCH_1904
    lowest = 1 if system == 1900 else 0  # 1900 system: serial 1 is 1900-01-01

    def excel_serial(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat() if value.time() != datetime.min.time() else value.date().isoformat()
        if isinstance(value, date):
            return value.isoformat()
        try:
            serial = Decimal(value if isinstance(value, int | Decimal) else text(value).strip())
            if not serial.is_finite() or not lowest <= serial < 2958466:
                raise ValueError(serial)
        except (InvalidOperation, ValueError, TypeError):
            raise ConvertError(f"is not an Excel date serial number ({system} date system)") from None
        days = int(serial)
        if system == 1900:
            if days == 60:
                raise ConvertError("is 29 February 1900, a day that does not exist (Excel's 1900 leap-year bug)")
            if days < 60:
                days += 1  # Excel counts the non-existent 1900-02-29
        seconds = round((serial - int(serial)) * 86400)
        dt = epoch + timedelta(days=days, seconds=seconds)
        return dt.isoformat() if seconds else dt.date().isoformat()
    return excel_serial
