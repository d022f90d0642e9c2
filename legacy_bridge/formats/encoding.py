"""Choosing a text encoding: declared, or ``auto`` (byte-order mark first, then UTF-8,
then charset-normalizer on a sample).  The decision is returned with a note for the ledger."""

from __future__ import annotations

import codecs

from legacy_bridge.errors import FormatError

SAMPLE = 256 * 1024

_BOMS = [  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]


_LATIN = {"cp1250", "cp1252", "cp1254", "cp1257", "cp1258", "latin_1", "iso8859_2", "iso8859_3", "iso8859_4",
          "iso8859_9", "iso8859_10", "iso8859_13", "iso8859_14", "iso8859_15", "iso8859_16", "mac_latin2",
          "mac_roman", "mac_iceland", "mac_turkish", "cp437", "cp850", "cp852", "cp858", "cp775", "hp_roman8"}


def decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
        return True
    except UnicodeDecodeError:
        return False


def normalise(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise FormatError(f"unknown encoding {name!r}",
                          hint="use a Python codec name such as utf-8, utf-8-sig, cp1252, latin-1, utf-16") from None


def _looks_like_text(text: str) -> bool:
    """A decoded sample that is mostly printable (a bogus BOM decodes to CJK noise without newlines)."""
    if not text:
        return True
    sample = text[:4096]
    return "\n" in sample or "\r" in sample or all(ord(c) < 0x250 for c in sample)


def detect(path: str, display_name: str) -> tuple[str, str]:
    """(encoding, how it was decided) for ``encoding = "auto"``."""
    with open(path, "rb") as f:
        sample = f.read(SAMPLE)
    for bom, name in _BOMS:
        if sample.startswith(bom):
            text = sample.decode(name, errors="replace")
            if not _looks_like_text(text.lstrip("\ufeff")):
                raise FormatError(
                    f"{display_name} starts with a {name.upper()} byte-order mark but its content is not {name}; "
                    "the mark is probably bogus", where={"file": display_name, "line": 1},
                    hint="declare the real encoding in the job file (format.encoding) or fix the export")
            return name, f"encoding {name} from the byte-order mark"
    if not sample:
        return "utf-8", "empty file, read as utf-8"
    cut = sample if len(sample) < SAMPLE else sample[: sample.rfind(b"\n") + 1 or len(sample)]
    try:
        cut.decode("utf-8")
        return "utf-8", "encoding utf-8 (the sample is valid UTF-8)"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(cut).best()
    if best is not None and best.encoding in _LATIN and decodes(cut, "cp1252"):
        # Latin code pages are hard to tell apart on short samples; legacy Western ERPs write cp1252.
        return "cp1252", (f"encoding cp1252 chosen (charset-normalizer guessed the Latin code page "
                          f"{best.encoding}; declare format.encoding to make it certain)")
    if best is None or not best.encoding:
        raise FormatError(f"cannot tell the text encoding of {display_name}",
                          where={"file": display_name},
                          hint="declare it in the job file, e.g. format.encoding = \"cp1252\"")
    name = normalise(best.encoding)
    return name, f"encoding {name} detected by charset-normalizer (declare it to make it certain)"
