"""Credentials on outgoing calls: bearer, API key (header or query), basic, OAuth2 client credentials.

Every secret is registered for redaction when the target is built.  OAuth2 tokens are
fetched on first use, cached until shortly before they expire, and fetched again once
when the API answers 401 (a token revoked or expired early).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from legacy_bridge.errors import TargetError, TargetRetryable
from legacy_bridge.observe.redact import register_secret
from legacy_bridge.targets.http_config import ApiKeyAuth, AuthSpec, BasicAuth, BearerAuth, OAuth2Auth

if TYPE_CHECKING:
    import urllib3

EXPIRY_MARGIN_S = 30.0


class Credentials:
    """Adds credentials to a request; ``refresh`` after a 401 says whether trying again may help."""

    def __init__(self, spec: AuthSpec | None) -> None:
        self.spec = spec
        self._token: str | None = None
        self._expires = 0.0
        self._lock = threading.Lock()
        for secret in _secrets(spec):
            register_secret(secret)

    def apply(self, headers: dict[str, str], query: dict[str, str], pool: urllib3.PoolManager,
              timeout: Any) -> str | None:
        """Set the auth header or query parameter; returns the token used (OAuth2), for ``refresh``."""
        spec = self.spec
        if isinstance(spec, BearerAuth):
            headers["Authorization"] = "Bearer " + spec.token.get_secret_value()
        elif isinstance(spec, ApiKeyAuth):
            (headers if spec.in_ == "header" else query)[spec.name] = spec.value.get_secret_value()
        elif isinstance(spec, BasicAuth):
            raw = f"{spec.username}:{spec.password.get_secret_value()}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()
        elif isinstance(spec, OAuth2Auth):
            token = self._oauth_token(spec, pool, timeout)
            headers["Authorization"] = "Bearer " + token
            return token
        return None

    def refresh(self, used: str | None) -> None:
        """Forget ``used`` so the next ``apply`` fetches a new token (unless another thread did)."""
        with self._lock:
            if used is not None and self._token == used:
                self._token = None

    def _oauth_token(self, spec: OAuth2Auth, pool: urllib3.PoolManager, timeout: Any) -> str:
        with self._lock:
            if self._token is not None and time.monotonic() < self._expires:
                return self._token
            form = {"grant_type": "client_credentials", "client_id": spec.client_id,
                    "client_secret": spec.client_secret.get_secret_value()}
            if spec.scope:
                form["scope"] = spec.scope
            token, ttl = _fetch_token(spec.token_url, urlencode(form), pool, timeout)
            register_secret(token)
            self._token = token
            self._expires = time.monotonic() + max(1.0, ttl - EXPIRY_MARGIN_S if ttl > 2 * EXPIRY_MARGIN_S else ttl / 2)
            return token


def _fetch_token(url: str, form: str, pool: urllib3.PoolManager, timeout: Any) -> tuple[str, float]:
    import urllib3

    where = {"token_url": url}
    try:
        resp = pool.request("POST", url, body=form, timeout=timeout, retries=False,
                            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})
    except urllib3.exceptions.HTTPError as exc:
        raise TargetRetryable(f"cannot reach the OAuth2 token endpoint: {exc}", where=where) from exc
    if resp.status >= 500 or resp.status == 429:
        raise TargetRetryable(f"the OAuth2 token endpoint answered {resp.status}", where=where)
    try:
        data = json.loads(resp.data)
        token, ttl = str(data["access_token"]), float(data.get("expires_in") or 3600)
    except (ValueError, KeyError, TypeError) as exc:
        text = resp.data[:300].decode(errors="replace")
        raise TargetError(f"the OAuth2 token endpoint refused the client credentials ({resp.status}): {text}",
                          where=where, hint="check auth.client_id / auth.client_secret of the target") from exc
    return token, ttl


def _secrets(spec: AuthSpec | None) -> list[str]:
    if isinstance(spec, BearerAuth):
        return [spec.token.get_secret_value()]
    if isinstance(spec, ApiKeyAuth):
        return [spec.value.get_secret_value()]
    if isinstance(spec, BasicAuth):
        raw = f"{spec.username}:{spec.password.get_secret_value()}".encode()
        return [spec.password.get_secret_value(), base64.b64encode(raw).decode()]
    if isinstance(spec, OAuth2Auth):
        return [spec.client_secret.get_secret_value()]
    return []
