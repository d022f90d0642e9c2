"""Whole-block checks on Arrow string arrays, and mask helpers (no imports from the rest of
legacy_bridge: kernels, encoders and targets all use them)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

Array = Any
Mask = Any  # pyarrow.BooleanArray without nulls, or None for "sure everywhere"

# Literals as Arrow scalars, made once: a Python str handed to a kernel is converted to a scalar
# on every call (~3 us), and a mapping calls ~140 kernels a block whatever its size
EMPTY = pa.scalar("", pa.string())


def either(a: Mask, b: Mask) -> Mask:
    if a is None:
        return b
    if b is None:
        return a
    return pc.or_(a, b)


def value_bytes(arr: Array) -> Any:
    """The UTF-8 bytes of all the values of a string array, as one uint8 array (no copy), or
    None when there are none.  Scanning it is how a kernel learns cheaply that no value of a
    whole block needs the careful per-value treatment."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.type == pa.large_string():
        width = pa.int64()
    elif arr.type == pa.string():
        width = pa.int32()
    else:
        return None
    n = len(arr)
    offsets_buf, data_buf = arr.buffers()[1], arr.buffers()[2]
    if n == 0 or offsets_buf is None or data_buf is None:
        return None
    offsets = pa.Array.from_buffers(width, n + 1, [None, offsets_buf], offset=arr.offset)
    start, end = offsets[0].as_py(), offsets[n].as_py()
    if end <= start:
        return None
    return pa.Array.from_buffers(pa.uint8(), end - start, [None, data_buf], offset=start)


def any_byte(arr: Array, below: int = 0, at_least: int = 256, among: tuple[int, ...] = ()) -> bool:
    """Does any value of ``arr`` hold a byte < ``below``, >= ``at_least`` or in ``among``?
    (one min/max pass, and a memchr per byte of ``among``: microseconds for a block)"""
    data = value_bytes(arr)
    if data is None:
        return False
    if below > 0 or at_least < 256:
        low, high = pc.min_max(data).values()
        if low.as_py() < below or high.as_py() >= at_least:
            return True
    if among:
        raw = data.buffers()[1][data.offset:data.offset + len(data)].to_pybytes()
        return any(bytes((b,)) in raw for b in among)
    return False
