"""Logging: readable lines by default, JSON for collectors; every line carries job, flow
and run id when known; every line passes through secret redaction."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from legacy_bridge.observe.redact import redact

LOGGER_NAME = "legacy_bridge"
_CONTEXT_KEYS = ("job", "flow", "run")


class RedactingFormatter(logging.Formatter):
    def __init__(self, json_lines: bool) -> None:
        super().__init__()
        self.json_lines = json_lines

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info and record.levelno >= logging.ERROR and logging.getLogger(LOGGER_NAME).isEnabledFor(logging.DEBUG):
            message += "\n" + self.formatException(record.exc_info)
        context = {k: getattr(record, k) for k in _CONTEXT_KEYS if getattr(record, k, None) is not None}
        if self.json_lines:
            doc: dict[str, Any] = {
                "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
                "level": record.levelname.lower(),
                "msg": message,
                **context,
            }
            extra = getattr(record, "data", None)
            if isinstance(extra, dict):
                doc.update(extra)
            return redact(json.dumps(doc, ensure_ascii=False, default=str))
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.created))
        where = " ".join(f"{k}={v}" for k, v in context.items())
        return redact(f"{stamp} {record.levelname:<7} {where + ' ' if where else ''}{message}")


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time (it may be replaced after setup)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def setup_logging(level: str = "info", fmt: str = "text", stream: Any = None) -> None:
    logger = logging.getLogger(LOGGER_NAME)
    logger.handlers.clear()
    handler = logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    handler.setFormatter(RedactingFormatter(json_lines=fmt == "json"))
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False


class ContextAdapter(logging.LoggerAdapter[logging.Logger]):
    """Keeps per-call ``extra`` (e.g. ``extra={"data": {...}}`` for JSON lines) beside the context."""

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        kwargs["extra"] = {**(self.extra or {}), **kwargs.get("extra", {})}
        return msg, kwargs


def get_logger(**context: Any) -> logging.LoggerAdapter[logging.Logger]:
    """A logger whose lines carry ``job``, ``flow`` and ``run``."""
    return ContextAdapter(logging.getLogger(LOGGER_NAME), context)
