"""Columnar batches: sources that read whole blocks of records as Arrow columns, and the
vectorised mapping and encoding that turn a block into request bodies without a Python
object per value (see docs/columnar.md).

The row path stays the definition of what a mapping does: a vectorised kernel either
produces exactly what the row path would, or marks the row "unsure" and the row path
maps it.  A mapping or a batch the kernels cannot take goes through the row path whole.
"""

from __future__ import annotations

import contextlib
import os


def _memory_pool() -> None:
    """jemalloc for Arrow's buffers unless the environment chose (ARROW_DEFAULT_MEMORY_POOL; on Linux
    legacy_bridge/__init__.py sets it before pyarrow loads, so this only acts where a host loaded
    pyarrow first).  Measured on a 1M-row CSV at the same speed: Arrow's default mimalloc kept 25-60 MB
    more resident, in transparent huge pages, by how much free memory the kernel had in 2 MB pieces."""
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    import pyarrow as pa  # type: ignore[import-untyped]

    with contextlib.suppress(NotImplementedError, pa.ArrowNotImplementedError):  # built without jemalloc
        pa.set_memory_pool(pa.jemalloc_memory_pool())


_memory_pool()
