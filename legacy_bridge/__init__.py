"""legacy_bridge."""
import os as _os
import sys as _sys

__version__ = "0.1.0"

# Arrow's buffers in jemalloc (legacy_bridge/columnar/__init__.py says why).  Arrow reads this once,
# when pyarrow loads, so it is set here, before any of legacy_bridge's modules can import pyarrow; a
# value the environment already holds wins, and a host that imported pyarrow first is switched by
# legacy_bridge.columnar instead.  Linux only: other platforms' wheels may lack jemalloc.
if _sys.platform == "linux" and "pyarrow" not in _sys.modules:
    _os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")
