"""The progress line counts records and files per flow, ends with the run's status, and a
log line wipes it first so the two never share a line."""

from __future__ import annotations

import io
import logging

from legacy_bridge.observe.progress import ClearProgress, ProgressDisplay
from legacy_bridge.records import Counts


def test_progress_line_counts_and_finishes_with_the_status() -> None:
    out = io.StringIO()
    display = ProgressDisplay(out, min_interval_s=0)
    display.batch("erp_to_crm", "orders", Counts(read=1000, sent=990, rejected=10, files=1))
    display.batch("erp_to_crm", "orders", Counts(read=500, sent=500))
    display.finished("erp_to_crm", "orders", "rejects")
    last = out.getvalue().split("\r\033[K")[-1]
    assert last.startswith("  erp_to_crm/orders rejects read 1,500 sent 1,490 rejected 10 files 1 (")
    assert last.endswith("\n") and "rec/s" in last


def test_a_log_line_clears_the_progress_line_first() -> None:
    out = io.StringIO()
    display = ProgressDisplay(out, min_interval_s=0)
    handler = logging.StreamHandler(out)
    handler.addFilter(ClearProgress(display))
    log = logging.getLogger("test-progress")
    log.addHandler(handler)
    log.propagate = False
    display.batch("j", "f", Counts(read=5))
    log.warning("rejected line 14")
    text = out.getvalue()
    assert "j/f" in text and "read 5" in text
    assert text.endswith("\r\033[Krejected line 14\n")
