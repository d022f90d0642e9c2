"""Records already encoded as JSON: what the vectorised mapping hands a target.

``EncodedPayloads`` is a ``Sequence[Payload]`` like the list the row path gives, so
everything that reads payloads (rejects, halving on a 400, associations, dry runs) works
unchanged; a target that knows it (``ApiTarget``) joins the records' JSON bytes into the
request body instead of building and dumping dicts.  The bytes of each record are exactly
what ``values.dumps`` gives for the same record (the idempotency key hashes the body, so
a batch sent again after a crash, by either path, carries the same key).

``json_string`` is the Arrow kernel for one JSON string literal: ``"`` and ``\\`` escaped;
a value holding a control character (rare in ERP data) is unsure and the row is encoded
by ``json.dumps`` instead.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Sequence
from typing import Any, overload

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from legacy_bridge.columnar.scan import EMPTY, any_byte
from legacy_bridge.records import Payload

Array = Any
Mask = Any

_CONTROL = "[\\x00-\\x1f]"
_QUOTE = pa.scalar('"', pa.string())  # made once, like scan.EMPTY
_ESCAPES = (pc.ReplaceSubstringOptions("\\", "\\\\"), pc.ReplaceSubstringOptions('"', '\\"'))


def json_inside(arr: Array) -> tuple[Array, Mask]:
    """The inside of a JSON string literal per value (``"`` and ``\\`` escaped), as
    ``json.dumps(ensure_ascii=False)`` writes it, and the rows holding a control character
    (their escaping is left to json.dumps).  A block with nothing to escape is returned as is."""
    if not any_byte(arr, below=0x20, among=(0x22, 0x5C)):  # the common case
        return arr, None
    unsure = pc.fill_null(pc.match_substring_regex(arr, _CONTROL), False)
    backslash, quote = _ESCAPES
    return pc.replace_substring(pc.replace_substring(arr, options=backslash), options=quote), unsure


def json_string(arr: Array) -> tuple[Array, Mask]:
    """``"text"`` per value (null stays null), and the unsure rows (see ``json_inside``)."""
    inside, unsure = json_inside(arr)
    return pc.binary_join_element_wise(_QUOTE, inside, _QUOTE, EMPTY), unsure


def literal(text: str) -> bytes:
    """A JSON string literal written once in Python (field names, fixed values)."""
    import json

    return json.dumps(text, ensure_ascii=False).encode()


class EncodedPayloads(Sequence[Payload]):
    """Payloads of one batch with their JSON bytes: ``keys[i]``, source row ``indexes[i]``,
    ``texts[i]`` the record's JSON.  ``data`` of a payload comes from ``block`` (the mapped
    text columns, turned into Python values only if asked for) or, for rows the row path
    mapped, from ``overrides``."""

    __slots__ = ("block", "indexes", "keys", "overrides", "shift", "texts")

    def __init__(self, keys: list[str], indexes: list[int], texts: list[bytes], block: Any,
                 overrides: dict[int, Payload] | None = None, shift: int = 0) -> None:
        self.keys, self.indexes, self.texts, self.block = keys, indexes, texts, block
        self.overrides = overrides or {}
        self.shift = shift  # block row of source row index 0 (a part of a larger batch)

    def __len__(self) -> int:
        return len(self.keys)

    @overload
    def __getitem__(self, i: int) -> Payload: ...

    @overload
    def __getitem__(self, i: slice) -> EncodedPayloads: ...

    def __getitem__(self, i: int | slice) -> Payload | EncodedPayloads:
        if isinstance(i, slice):
            start, stop, step = i.indices(len(self))
            if step != 1:
                raise ValueError("EncodedPayloads slices take every payload (step 1)")
            over = {k - start: p for k, p in self.overrides.items() if start <= k < stop}
            return EncodedPayloads(self.keys[start:stop], self.indexes[start:stop], self.texts[start:stop],
                                   self.block, over, self.shift)
        if i < 0:
            i += len(self)
        override = self.overrides.get(i)
        if override is not None:
            return Payload(override.key, override.data, self.indexes[i])
        return Payload(self.keys[i], self.block.data(self.indexes[i] + self.shift), self.indexes[i])

    def __iter__(self) -> Iterator[Payload]:
        for i in range(len(self)):
            yield self[i]

    def between(self, lo: int, hi: int) -> EncodedPayloads:
        """The payloads of source rows ``lo <= row < hi``, their indexes counted from ``lo``."""
        a, b = bisect_left(self.indexes, lo), bisect_left(self.indexes, hi)
        part = self[a:b]
        part.indexes = [i - lo for i in part.indexes]
        part.shift = self.shift + lo
        return part

    def body(self, head: bytes, tail: bytes) -> bytes:
        """``head`` + the records' JSON joined by commas + ``tail``."""
        return head + b",".join(self.texts) + tail

    def __repr__(self) -> str:
        return f"EncodedPayloads({len(self)} records)"


def as_bytes(json: Array) -> list[bytes]:
    """The JSON texts of a string column as Python bytes (null where unsure)."""
    result: list[bytes] = pc.cast(json, pa.binary()).to_pylist()
    return result
