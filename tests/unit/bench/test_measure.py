"""bench/measure.py against a real child process: the peaks it reports are the child's own."""

from __future__ import annotations

import sys
from pathlib import Path

from bench.measure import run_child

CHILD = """
import time
block = bytearray(80 << 20)  # 80 MB the child allocates itself, every page touched
for i in range(0, len(block), 4096):
    block[i] = 1
time.sleep(0.3)
print('{"records": 1}')
"""


def test_the_child_s_own_allocation_shows_in_both_peaks(tmp_path: Path) -> None:
    m = run_child([sys.executable, "-c", CHILD], cwd=tmp_path, timeout=60)
    assert m.returncode == 0 and m.records() == 1
    assert 80 <= m.peak_private_mb < 80 + 40  # the block plus the interpreter's own heap
    assert m.peak_rss_mb >= m.peak_private_mb  # RSS counts the private pages and the mapped files


def test_a_small_child_is_not_charged_with_the_harness_s_memory(tmp_path: Path) -> None:
    ballast = bytearray(100 << 20)  # the harness itself grows; a child's figures must not
    for i in range(0, len(ballast), 4096):
        ballast[i] = 1
    m = run_child([sys.executable, "-c", "import time; time.sleep(0.2)"], cwd=tmp_path, timeout=60)
    assert m.peak_private_mb < 40 and m.peak_rss_mb < 60
    del ballast
