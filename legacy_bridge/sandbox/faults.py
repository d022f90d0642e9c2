"""Fault injection for the CRM sandbox: what goes wrong, how often, decided by a seeded die.

Every switch can be set on the command line (``--fault-error-rate 0.2``) or changed at
run time with ``POST /_sandbox/faults`` and a JSON object of the same names.  Rates are
fractions of upsert calls (0.0 - 1.0); the die is seeded, so one client sending calls
in one order always meets the same faults.
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal

Action = Literal["ok", "drop_before", "throttle", "error", "delay", "drop_after"]


@dataclass(frozen=True)
class Faults:
    seed: int = 1
    error_rate: float = 0.0  # answer 5xx (one of error_codes) without processing
    error_codes: tuple[int, ...] = (500, 502, 503)
    throttle_rate: float = 0.0  # answer 429 without processing
    throttle_retry_after: float | None = 1.0  # Retry-After on those 429s; None: no header
    delay_rate: float = 0.0  # sleep ``delay`` seconds, then process and answer
    delay: float = 0.0
    drop_before_rate: float = 0.0  # close the connection without processing
    drop_after_rate: float = 0.0  # process and commit, then close without answering
    expire_token_after: int | None = None  # each token stops working after this many calls
    reject_properties: tuple[str, ...] = ()  # inputs carrying any of these properties are invalid
    validation: Literal["partial", "batch"] = "partial"  # invalid inputs: 207 per input, or 400 whole batch

    def updated(self, changes: dict[str, Any]) -> Faults:
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown fault switch(es): {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
        clean: dict[str, Any] = {}
        for name, value in changes.items():
            if name in ("error_codes", "reject_properties") and value is not None:
                value = tuple(value)
            if name.endswith("_rate") and not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, not {value!r}")
            if name == "validation" and value not in ("partial", "batch"):
                raise ValueError("validation must be 'partial' or 'batch'")
            clean[name] = value
        return replace(self, **clean)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Dice:
    """Decides, call by call, which fault (if any) an upsert call meets."""

    faults: Faults = field(default_factory=Faults)
    _rng: random.Random = field(default_factory=random.Random)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._rng.seed(self.faults.seed)

    def set(self, faults: Faults) -> None:
        with self._lock:
            reseed = faults.seed != self.faults.seed
            self.faults = faults
            if reseed:
                self._rng.seed(faults.seed)

    def roll(self) -> tuple[Action, int]:
        """The fault for the next call, and the status code for ``error``."""
        with self._lock:
            f = self.faults
            for action, rate in (("drop_before", f.drop_before_rate), ("throttle", f.throttle_rate),
                                 ("error", f.error_rate), ("delay", f.delay_rate),
                                 ("drop_after", f.drop_after_rate)):
                if rate > 0 and self._rng.random() < rate:
                    code = self._rng.choice(f.error_codes) if action == "error" and f.error_codes else 500
                    return action, code  # type: ignore[return-value]
            return "ok", 200
