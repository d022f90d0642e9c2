"""Secret redaction: every value resolved from a secret reference is registered here and
replaced by ``***`` in every log line, error message and stored error text."""

from __future__ import annotations

import re
import threading
from urllib.parse import quote, quote_plus

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]+:)(?P<pw>[^@\s/]+)(?=@)")
_CONN_PASSWORD = re.compile(r"(?i)\b(PWD|PASSWORD)=(\{[^}]*\}|[^;]*)")


def register_secret(value: str) -> None:
    """Redact ``value`` (and its URL-encoded forms) from now on.  Very short values are
    ignored: redacting 'a' everywhere would destroy every message."""
    global _pattern
    if not value or len(value) < 4:
        return
    with _lock:
        forms = {value, quote(value, safe=""), quote_plus(value)}
        if forms <= _secrets:
            return
        _secrets.update(forms)
        ordered = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(s) for s in ordered))


def redact(text: str) -> str:
    """``text`` with every registered secret, URL password and ODBC PWD= value replaced by ***."""
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub("***", text)
    text = _URL_PASSWORD.sub(r"\g<scheme>***", text)
    return _CONN_PASSWORD.sub(lambda m: f"{m.group(1)}=***", text)


def forget_all() -> None:
    """For tests only."""
    global _pattern
    with _lock:
        _secrets.clear()
        _pattern = None
