"""Tokens the CRM sandbox accepts: a static bearer token, and OAuth client-credentials tokens.

``--token T`` makes ``Authorization: Bearer T`` valid; ``POST /oauth/v1/token`` with the
configured client id and secret issues fresh tokens that expire after ``token_ttl``
seconds.  The ``expire_token_after`` fault makes each token stop working after that many
calls, so a client must fetch a new one (a static token then never works again).
With neither a token nor OAuth configured, the sandbox does not check auth at all.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Literal

Verdict = Literal["ok", "missing", "invalid", "expired"]


@dataclass
class TokenBook:
    static_token: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    token_ttl: float = 1800.0
    _issued: dict[str, float] = field(default_factory=dict)  # token -> expiry (epoch seconds)
    _uses: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def enabled(self) -> bool:
        return self.static_token is not None or self.client_id is not None

    def issue(self, client_id: str, client_secret: str) -> tuple[str, float] | None:
        if self.client_id is None or client_id != self.client_id or client_secret != self.client_secret:
            return None
        token = "sbx-" + secrets.token_hex(16)
        with self._lock:
            self._issued[token] = time.time() + self.token_ttl
        return token, self.token_ttl

    def check(self, header: str | None, expire_after: int | None) -> Verdict:
        if not self.enabled:
            return "ok"
        if not header or not header.lower().startswith("bearer "):
            return "missing"
        token = header[7:].strip()
        with self._lock:
            if token == self.static_token:
                pass
            elif token in self._issued:
                if self._issued[token] < time.time():
                    return "expired"
            else:
                return "invalid"
            uses = self._uses.get(token, 0)
            if expire_after is not None and uses >= expire_after:
                return "expired"
            self._uses[token] = uses + 1
        return "ok"
