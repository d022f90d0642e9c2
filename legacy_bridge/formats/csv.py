"""Delimited text (CSV, semicolon exports, pipes ...) with the stdlib csv module.

Bytes are decoded with ``surrogateescape`` so an undecodable byte never crashes a read:
it marks its record, which becomes a reject with file and line.  A clean file (checked
in large decoded chunks first) takes the fast path: ``csv.reader`` straight over the
text stream, one dict per record.  Positions are physical line numbers where a record
starts, right even when quoted fields span lines.

Duplicate column names: ``duplicate_headers = "reject"`` (default) quarantines the file
with the names and columns; ``"suffix"`` renames the 2nd, 3rd ... to ``id_2``, ``id_3``.
Empty column names become ``column_<n>``.  A record with one field more than the header
whose last field is empty (a trailing delimiter, common in ERP exports) is accepted.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TextIO

from pydantic import Field, field_validator, model_validator

from legacy_bridge.errors import FormatError, PartialFileError, RowError
from legacy_bridge.formats.base import FileCheck
from legacy_bridge.formats.columns import column_names
from legacy_bridge.formats.encoding import decodes, detect, normalise
from legacy_bridge.records import PositionKind, Row
from legacy_bridge.registry import Spec

_BAD = re.compile("[\x00\udc80-\udcff]")
_CHUNK = 1 << 20
_FIELD_LIMIT = 16 * 1024 * 1024
_LINE_LIMIT = 2 * _FIELD_LIMIT  # characters in one physical line; longer lines are never held whole
# what keeps a file off the columnar path, searched for with re: on the bench's 137 MB CRLF file
# bytes' own two-byte count and search took 0.25 s (they stop at every line end), these 0.1 s
_BLANK_LINE = re.compile(b"\n\n")
_BLANK_CRLF_LINE = re.compile(b"\n\r\n")
_LONE_CR = re.compile(b"\r(?!\n)")  # a CR not followed by LF (also at the very end of a chunk)
csv.field_size_limit(_FIELD_LIMIT)


class CsvSpec(Spec):
    kind: Literal["csv"] = "csv"
    encoding: str = Field(default="utf-8", description='a codec name or "auto" (BOM, then detection)')
    delimiter: str = ","
    quotechar: str | None = '"'
    escapechar: str | None = None
    doublequote: bool = True
    skipinitialspace: bool = False
    strict: bool = Field(default=True, description="a stray quote makes the record a reject instead of a guess")
    header: bool = True
    columns: list[str] | None = Field(default=None, description="column names (replace the header row if any)")
    skip_lines: int = Field(default=0, ge=0, description="banner lines before the header")
    comment: str | None = Field(default=None, description="lines starting with this are skipped")
    trailer_lines: int = Field(default=0, ge=0, description="lines at the end that are not records")
    trailer_count: str | None = Field(
        default=None, description="regex with one group capturing the record count, matched on the first trailer line")
    duplicate_headers: Literal["reject", "suffix"] = "reject"

    @field_validator("delimiter", "quotechar", "escapechar")
    @classmethod
    def _one_char(cls, value: str | None) -> str | None:
        if value is not None and len(value) != 1:
            raise ValueError("must be exactly one character (use \"\\t\" for a tab)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> CsvSpec:
        if self.trailer_count is not None:
            if self.trailer_lines < 1:
                raise ValueError("trailer_count needs trailer_lines >= 1")
            if re.compile(self.trailer_count).groups < 1:
                raise ValueError("trailer_count needs one (group) capturing the count")
        if self.encoding != "auto":
            try:
                normalise(self.encoding)
            except FormatError as exc:
                raise ValueError(exc.message + " (" + (exc.hint or "") + ")") from None
        return self


class CsvFormat:
    position_kind: PositionKind = "line"

    def __init__(self, spec: CsvSpec) -> None:
        self.spec = spec
        self._decided: dict[str, tuple[str, str, bool]] = {}  # path -> (encoding, note, clean)
        self._simple_files: dict[str, _Simple | None] = {}  # path -> its shape when pyarrow can read it

    # --- opening -------------------------------------------------------------------------------
    def _encoding(self, path: str, display: str) -> tuple[str, str]:
        if self.spec.encoding == "auto":
            return detect(path, display)
        codec = normalise(self.spec.encoding)
        if codec == "utf-8":  # ERP exports saved "as UTF-8" often start with a BOM: never let it into a column name
            return "utf-8-sig", f"encoding {self.spec.encoding} as declared (a byte-order mark is skipped)"
        return codec, f"encoding {self.spec.encoding} as declared"

    def _open(self, path: str, encoding: str) -> TextIO:
        return open(path, encoding=encoding, errors="surrogateescape", newline="")

    @staticmethod
    def _bounded(f: TextIO, display: str, line: int) -> Iterator[str]:
        """The stream's lines, refusing (as a file error) a line too long to hold: a 100 MB field
        must not cost 100s of MB before the field limit even sees it."""
        readline = f.readline
        while chunk := readline(_LINE_LIMIT):
            line += 1
            if len(chunk) == _LINE_LIMIT and chunk[-1] not in "\r\n":
                raise FormatError(
                    f"line {line} of {display} is longer than {_LINE_LIMIT >> 20} Mi characters; a field "
                    f"may hold at most {_FIELD_LIMIT >> 20} Mi", where={"file": display, "line": line},
                    hint="check the export (an unbalanced quote or a binary file?) and drop it again")
            yield chunk

    def _reader(self, lines: Any) -> Any:
        s = self.spec
        return csv.reader(lines, delimiter=s.delimiter, quotechar=s.quotechar, escapechar=s.escapechar,
                          doublequote=s.doublequote, skipinitialspace=s.skipinitialspace, strict=s.strict,
                          quoting=csv.QUOTE_NONE if s.quotechar is None else csv.QUOTE_MINIMAL)

    def _prepare(self, path: str, display: str) -> tuple[str, str, bool]:
        if path not in self._decided:
            encoding, note = self._encoding(path, display)
            with self._open(path, encoding) as f:
                clean = True
                while chunk := f.read(_CHUNK):
                    if _BAD.search(chunk):
                        clean = False
                        break
            self._decided[path] = (encoding, note, clean)
        return self._decided[path]

    # --- the columnar path -------------------------------------------------------------------------
    def _simple(self, path: str, display: str) -> _Simple | None:
        """The file's shape when pyarrow's reader gives exactly what ``rows`` gives, else None."""
        s = self.spec
        if path in self._simple_files:
            return self._simple_files[path]
        shape = None
        if (s.comment is None and not s.trailer_lines and s.escapechar is None and not s.skipinitialspace
                and s.delimiter not in "\r\n" and (s.quotechar is None or s.quotechar.isascii())):
            encoding, _note = self._encoding(path, display)
            shape = _scan(path, encoding, s.quotechar)
        self._simple_files[path] = shape
        return shape

    def _names_at(self, path: str, display: str, encoding: str) -> tuple[list[str], int] | None:
        """The column names as ``rows`` reads them and the number of lines before the first record."""
        s = self.spec
        if s.columns and not s.header:
            return self._header(None, display, 0), s.skip_lines
        with self._open(path, encoding) as f:
            for _ in range(s.skip_lines):
                f.readline()
            first = f.readline()
        if not first.strip("\r\n"):
            return None
        row: list[str] = next(self._reader([first]), [])
        names = self._header(row, display, s.skip_lines + 1)
        return names, s.skip_lines + (1 if s.header else 0)

    def blocks(self, path: str, display_name: str, start: int = 0) -> Iterator[tuple[Sequence[int], Any]]:
        """Arrow blocks of the records from index ``start`` on, read by pyarrow's CSV reader, for a file
        whose lines are its records (see ``_scan``); the row reader takes the rest where it stops."""
        shape = self._simple(path, display_name)
        if shape is None:
            return
        try:
            import pyarrow as pa  # type: ignore[import-untyped]
            import pyarrow.csv as pacsv  # type: ignore[import-untyped]
        except ImportError:
            return
        encoding, _note = self._encoding(path, display_name)
        found = self._names_at(path, display_name, encoding)
        if found is None:
            return
        names, before = found
        codec = "utf8" if encoding in ("utf-8", "utf-8-sig") else encoding
        read = pacsv.ReadOptions(column_names=names, skip_rows=before + start, encoding=codec,
                                 block_size=1 << 19, use_threads=False)
        parse = pacsv.ParseOptions(delimiter=self.spec.delimiter, quote_char=False, double_quote=False,
                                   newlines_in_values=False, ignore_empty_lines=False)
        convert = pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=False,
                                       quoted_strings_can_be_null=False, check_utf8=True)
        line = before + start + 1
        try:
            reader = pacsv.open_csv(path, read_options=read, parse_options=parse, convert_options=convert)
            for table in reader:
                n = int(table.num_rows)
                if n:
                    yield range(line, line + n), table
                    line += n
        except (pa.ArrowException, UnicodeError, OSError, ValueError):
            return  # a record pyarrow does not take (ragged, undecodable ...): the row reader goes on from here

    # --- the seam ---------------------------------------------------------------------------------
    def check(self, path: str, display_name: str) -> FileCheck:
        self._decided.pop(path, None)
        self._simple_files.pop(path, None)
        shape = self._simple(path, display_name)
        if shape is not None:  # every line is one record: counted by the scan, no parse needed
            encoding, note = self._encoding(path, display_name)
            found = self._names_at(path, display_name, encoding)
            if found is not None:
                return FileCheck(records=max(0, shape.lines - found[1]), encoding=encoding, notes=[note])
        encoding, note, _clean = self._prepare(path, display_name)
        count = 0
        for _pos, _row in self._records(path, display_name, 0, check=True):
            count += 1
        return FileCheck(records=count, encoding=encoding, notes=[note])

    def rows(self, path: str, display_name: str, start: int = 0) -> Iterator[tuple[int, Row | RowError]]:
        return self._records(path, display_name, start, check=False)

    # --- reading ----------------------------------------------------------------------------------
    def _records(self, path: str, display: str, start: int, check: bool) -> Iterator[tuple[int, Any]]:
        encoding, _note, clean = self._prepare(path, display)
        s = self.spec
        with self._open(path, encoding) as f:
            for _ in range(s.skip_lines):
                if not f.readline():
                    return
            # the check pass reads every line first and refuses one too long to hold; the rows pass
            # (only ever after a check) then reads the stream directly, at full speed
            lines: Iterator[str] = self._bounded(f, display, s.skip_lines) if check else f
            if clean and not s.comment and not s.trailer_lines:
                yield from self._fast(lines, display, start, check)
            else:
                yield from self._slow(lines, display, start, check, f.encoding)

    def _header(self, first: list[str] | None, display: str, line: int) -> list[str]:
        s = self.spec
        if s.columns:
            names = list(s.columns)
        elif not s.header:
            names = [f"column_{i + 1}" for i in range(len(first or []))]
        else:
            names = list(first or [])
            bad = next((n for n in names if _BAD.search(n)), None)
            if bad is not None:
                raise FormatError(f"the header of {display} holds undecodable bytes or NUL ({bad!r})",
                                  where={"file": display, "line": line},
                                  hint="declare the right encoding (format.encoding), or \"auto\"")
        return self._dedupe(names, display, line)

    def _dedupe(self, names: list[str], display: str, line: int) -> list[str]:
        return column_names(names, display, {"file": display, "line": line}, self.spec.duplicate_headers)

    def _fast(self, f: Iterator[str], display: str, start: int, check: bool) -> Iterator[tuple[int, Any]]:
        """Clean text, no comments, no trailer: csv.reader over the stream, one dict per record."""
        skip = self.spec.skip_lines
        reader = self._reader(f)
        names: list[str] | None = None
        header_line = 0
        if self.spec.header or not self.spec.columns:
            while names is None:
                before = reader.line_num
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:  # the header itself is broken: the file is quarantined
                    pos = skip + before + 1
                    if "end of data" in str(exc):
                        raise self._truncated(display, pos, 0) from exc
                    raise self._unreadable_header(display, pos, f"unreadable record: {exc}") from exc
                if row:
                    header_line = skip + reader.line_num
                    names = self._header(row, display, header_line)
            if not self.spec.header:  # the first record only gave the width
                yield from self._emit(header_line, row, names, display, 0, start, check)
                index = 1
            else:
                index = 0
        else:
            names = self._header(None, display, 0)
            index = 0
        width = len(names)
        last = reader.line_num
        while True:
            try:
                for row in reader:
                    pos = skip + last + 1
                    last = reader.line_num
                    if not row:
                        continue
                    if index >= start:
                        if len(row) == width or (len(row) == width + 1 and not row[-1]):
                            yield pos, (None if check else dict(zip(names, row, strict=False)))
                        else:
                            yield pos, self._ragged(row, width, names, display, pos)
                    index += 1
                return
            except csv.Error as exc:
                pos = skip + last + 1
                last = reader.line_num
                if "end of data" in str(exc):
                    raise self._truncated(display, pos, index) from exc
                if index >= start:
                    yield pos, RowError(f"unreadable record: {exc}", where={"file": display, "line": pos})
                index += 1

    def _emit(self, pos: int, row: list[str], names: list[str], display: str, index: int, start: int,
              check: bool) -> Iterator[tuple[int, Any]]:
        if index >= start:
            if len(row) == len(names) or (len(row) == len(names) + 1 and not row[-1]):
                yield pos, (None if check else dict(zip(names, row, strict=False)))
            else:
                yield pos, self._ragged(row, len(names), names, display, pos)

    def _ragged(self, row: list[str], width: int, names: list[str], display: str, pos: int) -> RowError:
        return RowError(f"record has {len(row)} fields, the header has {width}",
                        where={"file": display, "line": pos}, value=self.spec.delimiter.join(row)[:200])

    @staticmethod
    def _unreadable_header(display: str, pos: int, reason: str) -> FormatError:
        return FormatError(f"cannot read the header of {display}: {reason}", where={"file": display, "line": pos})

    def _truncated(self, display: str, pos: int, index: int) -> PartialFileError:
        return PartialFileError(f"{display} ends inside a quoted field that starts on line {pos}: the file is "
                          "truncated or has an unbalanced quote", records_before=index,
                          where={"file": display, "line": pos},
                          hint="wait for the complete file, or fix the quote and drop it again")

    def _slow(self, f: Iterator[str], display: str, start: int, check: bool,
              encoding: str) -> Iterator[tuple[int, Any]]:
        """Line by line: comments, NUL and undecodable bytes are seen per line."""
        state: dict[str, Any] = {"line": self.spec.skip_lines, "start": 0, "bad": ""}
        comment = self.spec.comment

        def lines() -> Iterator[str]:
            for line in f:
                state["line"] += 1
                if comment and not state["start"] and line.startswith(comment):
                    continue
                if not state["start"]:
                    state["start"] = state["line"]
                if not state["bad"] and _BAD.search(line):
                    state["bad"] = "NUL byte" if "\x00" in line else f"bytes that are not {encoding}"
                yield line

        reader = self._reader(lines())
        raw = self._raw(reader, state, display)
        names: list[str] | None = None
        if self.spec.header or not self.spec.columns:
            for pos, row in raw:
                if isinstance(row, RowError) and self.spec.header:
                    raise self._unreadable_header(display, pos, row.message)
                names = self._header(row if isinstance(row, list) else [], display, pos)
                pending = [] if self.spec.header else [(pos, row)]
                break
            else:
                return
        else:
            names = self._header(None, display, 0)
            pending = []
        records: Iterator[tuple[int, list[str] | RowError]] = iter([*pending, *raw]) if pending else raw
        if self.spec.trailer_lines:
            records = self._strip_trailer(records, display)
        for index, (pos, row) in enumerate(records):
            if index < start:
                continue
            if isinstance(row, RowError):
                yield pos, row
            elif len(row) == len(names) or (len(row) == len(names) + 1 and not row[-1]):
                yield pos, (None if check else dict(zip(names, row, strict=False)))
            else:
                yield pos, self._ragged(row, len(names), names, display, pos)

    def _raw(self, reader: Any, state: dict[str, Any], display: str) -> Iterator[tuple[int, list[str] | RowError]]:
        index = 0
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                pos = state["start"]
                state["start"], state["bad"] = 0, ""
                if "end of data" in str(exc):
                    raise self._truncated(display, pos, index) from exc
                yield pos, RowError(f"unreadable record: {exc}", where={"file": display, "line": pos})
                index += 1
                continue
            pos, bad = state["start"], state["bad"]
            state["start"], state["bad"] = 0, ""
            if not row:
                continue
            if bad:
                text = self.spec.delimiter.join(row).encode("utf-8", "backslashreplace").decode()[:200]
                yield pos, RowError(f"record holds {bad}", where={"file": display, "line": pos}, value=text)
            else:
                yield pos, row
            index += 1

    def _strip_trailer(self, records: Iterator[tuple[int, list[str] | RowError]],
                       display: str) -> Iterator[tuple[int, list[str] | RowError]]:
        keep: deque[tuple[int, list[str] | RowError]] = deque()
        n = self.spec.trailer_lines
        count = 0
        for item in records:
            keep.append(item)
            if len(keep) > n:
                count += 1
                yield keep.popleft()
        if len(keep) < n:
            raise FormatError(f"{display} has no trailer ({n} line(s) expected at the end): it may be truncated",
                              where={"file": display}, hint="wait for the complete file")
        if self.spec.trailer_count:
            pos, first = keep[0]
            text = self.spec.delimiter.join(first) if isinstance(first, list) else ""
            match = re.search(self.spec.trailer_count, text)
            if match is None or not match.group(1).strip().isdigit():
                raise FormatError(f"the trailer of {display} does not match trailer_count ({text[:80]!r})",
                                  where={"file": display, "line": pos},
                                  hint="the file may be truncated; or fix format.trailer_count")
            declared = int(match.group(1))
            if declared != count:
                raise FormatError(f"the trailer of {display} declares {declared} records but the file holds {count}: "
                                  "it is incomplete or corrupt", where={"file": display, "line": pos},
                                  hint="ask for the file again; nothing from it was sent")


@dataclass(frozen=True)
class _Simple:
    lines: int  # physical lines, the last one counted whether it ends with a newline or not


def _single_byte(encoding: str) -> bool:
    try:
        return len(b"\xc3\xa9".decode(encoding, "replace")) == 2 and len(bytes(range(256)).decode(encoding, "replace")) == 256
    except LookupError:
        return False


def _scan(path: str, encoding: str, quotechar: str | None) -> _Simple | None:
    """One pass over the bytes: the file qualifies for the columnar path when each line is one
    record, i.e. it holds no quote character, no blank line, no lone CR, no NUL and no byte the
    encoding cannot decode, and no line near the length limit; returns its line count."""
    if encoding in ("utf-8", "utf-8-sig"):
        bad = [b"\x00"]
        decoder: Any = codecs.getincrementaldecoder("utf-8")("strict")
    elif _single_byte(encoding):
        bad = [b"\x00", *(bytes([b]) for b in range(256) if not decodes(bytes([b]), encoding))]
        decoder = None
    else:
        return None
    if quotechar is not None:
        bad.append(quotechar.encode("ascii"))
    lines = 0
    last = b"\n"
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            if not chunk.endswith(b"\n"):  # whole lines only: read on to the end of this one
                rest = f.readline(_LINE_LIMIT // 4)
                if rest and not rest.endswith(b"\n") and f.read(1):
                    return None  # a line near the length limit: the row reader refuses it properly
                chunk += rest
            if any(b in chunk for b in bad):  # one memchr each: faster than a character class
                return None
            if decoder is not None:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    return None
            n = chunk.count(b"\n")
            if b"\r" in chunk:  # CRLF line ends only, and no blank line
                # as many CRs as line ends, each followed by its LF: every line ends with CRLF
                ends = n if chunk.endswith(b"\n") else n + 1
                if (chunk.count(b"\r") != ends or _LONE_CR.search(chunk) or chunk.startswith(b"\r\n")
                        or _BLANK_CRLF_LINE.search(chunk)):
                    return None
            elif chunk.startswith(b"\n") or _BLANK_LINE.search(chunk):
                return None  # blank lines: the row reader skips them, positions would differ
            lines += n
            last = chunk
    if decoder is not None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return None
    if last.endswith(b"\r"):
        return None
    return _Simple(lines + (0 if last.endswith(b"\n") else 1))


def build(spec: CsvSpec, base_dir: Path) -> CsvFormat:
    return CsvFormat(spec)
