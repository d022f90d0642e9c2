"""Arrow's buffers go to jemalloc: with Arrow's default mimalloc a 1M-row CSV run kept 25-60 MB
more resident (in transparent huge pages, varying run to run), past the 150 MB budget.  Each case
runs in a fresh interpreter, because Arrow picks its pool once, when pyarrow loads."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("pyarrow")
pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="legacy_bridge chooses jemalloc on Linux only")

SHOW = "import pyarrow as pa; print(pa.default_memory_pool().backend_name)"


def _backend(code: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    out = subprocess.run([sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True,
                         check=True, timeout=60)
    return out.stdout.strip().splitlines()[-1]


def test_importing_legacy_bridge_first_puts_arrow_on_jemalloc() -> None:
    assert _backend(f"import legacy_bridge; {SHOW}") == "jemalloc"


def test_a_pool_the_environment_chose_wins() -> None:
    assert _backend(f"import legacy_bridge; {SHOW}", ARROW_DEFAULT_MEMORY_POOL="system") == "system"


def test_a_host_that_loaded_pyarrow_first_is_switched_by_the_columnar_package() -> None:
    code = f"import pyarrow; import legacy_bridge; import legacy_bridge.columnar; {SHOW}"
    assert _backend(code) == "jemalloc"


def test_what_the_source_reads_lands_in_jemalloc() -> None:
    """The CSV blocks themselves, not only the pool reported: the bytes jemalloc holds grow."""
    code = ("import legacy_bridge, pyarrow as pa, pyarrow.csv as pc, io\n"
            "before = pa.jemalloc_memory_pool().bytes_allocated()\n"
            "t = pc.read_csv(io.BytesIO(b'a;b\\n' + b'x;y\\n' * 100000), parse_options=pc.ParseOptions(delimiter=';'))\n"
            "print(pa.jemalloc_memory_pool().bytes_allocated() - before > 100000)")
    assert _backend(code) == "True"
