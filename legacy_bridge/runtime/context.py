"""What a running flow hands to its source and target."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from legacy_bridge.state.base import StateStore


@dataclass
class FlowContext:
    job: str
    flow: str
    store: StateStore
    run_id: int
    batch_size: int  # rows per batch the runner wants (the target's batch size)
    base_dir: Path  # the project folder (parent of jobs/): relative paths in job files start here
    log: logging.LoggerAdapter[logging.Logger]
    full_refresh: bool = False
    dry_run: bool = False
    stop_event: threading.Event = field(default_factory=threading.Event)
    notes: dict[str, Any] = field(default_factory=dict)  # per-run facts for the run record (files, deletes ...)
    columnar: bool = False  # the runner maps Arrow blocks (legacy_bridge/columnar): sources may send large ones

    def stopping(self) -> bool:
        return self.stop_event.is_set()

    def resolve_path(self, path: str) -> Path:
        p = Path(path)
        return p if p.is_absolute() else self.base_dir / p
