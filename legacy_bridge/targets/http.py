"""The HTTP machinery every API target shares: one keep-alive pool, retries, rate limits, auth.

Measured and chosen in docs/http-client.md: urllib3's PoolManager, shared by the threads
that call ``Target.send`` (pool size = ``concurrency``).  ``HttpClient.call`` returns the
API's answer once it is final (2xx, or a 4xx the profile must interpret) and hides
everything transient:

* 429 and 503 wait for ``Retry-After`` (seconds or HTTP date) or back off exponentially
  with jitter; every in-flight call pauses (shared token bucket); not counted as failures;
* timeouts, connection resets/drops and other 5xx are retried with backoff up to
  ``max_attempts`` / ``max_retry_time``, then ``TargetRetryable`` stops the flow with its
  checkpoint intact;
* 401 with OAuth2 fetches a new token once.
TLS failures and other non-transient errors raise ``TargetError`` with the fix to apply.
"""

from __future__ import annotations

import json
import random
import ssl
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from legacy_bridge.errors import TargetError, TargetRetryable
from legacy_bridge.observe.redact import redact
from legacy_bridge.targets.auth import Credentials
from legacy_bridge.targets.http_config import HttpTargetSpec
from legacy_bridge.targets.ratelimit import TokenBucket, parse_rate
from legacy_bridge.targets.wire import Pending, WireError, WirePool

THROTTLED = frozenset({429, 503})
MAX_REFRESHES = 5  # OAuth2 tokens fetched again within one call after 401s
TRANSIENT = frozenset({408, 500, 502, 504, 520, 521, 522, 523, 524})


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    data: bytes
    calls: int = 1  # calls it took to get this answer (retries + 1)

    def json(self) -> Any:
        try:
            return json.loads(self.data) if self.data else None
        except ValueError:
            return None

    def text(self, limit: int = 500) -> str:
        return redact(self.data[:limit].decode("utf-8", errors="replace"))


def jittered_backoff(n: int, base: float, ceiling: float, rng: random.Random) -> float:
    """The wait before retry ``n`` (from 0): exponential from ``base`` up to ``ceiling``, with jitter
    (half to all of it) so that clients failing together do not retry together."""
    return float(min(ceiling, base * (2 ** n)) * (0.5 + rng.random() / 2))


def retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds: a number, or an HTTP date (delay from now)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class HttpClient:
    def __init__(self, spec: HttpTargetSpec, *, what: str, rng: random.Random | None = None) -> None:
        import urllib3

        self.spec = spec
        self.what = what  # "hubspot target" - for messages
        self.credentials = Credentials(spec.auth)
        self.timeout = urllib3.Timeout(connect=spec.timeout.connect, read=spec.timeout.read)
        tls: dict[str, Any] = {"cert_reqs": "CERT_REQUIRED" if spec.verify else "CERT_NONE"}
        if spec.ca_bundle:
            tls["ca_certs"] = spec.ca_bundle
        if spec.client_cert:
            tls.update(cert_file=spec.client_cert, key_file=spec.client_key)
        if not spec.verify:
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        self.pool = _pool_for(spec.base_url, spec.concurrency + 1, tls)
        # the API's own host: the lean keep-alive client (targets/wire.py); proxies and other hosts
        # (OAuth2 token endpoints) go through urllib3
        parts = urlsplit(spec.base_url)
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._wire: WirePool | None = None
        if not isinstance(self.pool, urllib3.ProxyManager) and parts.hostname and parts.scheme in ("http", "https"):
            self._wire = WirePool(parts.scheme, parts.hostname, parts.port, connect_timeout=spec.timeout.connect,
                                  read_timeout=spec.timeout.read,
                                  context=_tls_context(spec) if parts.scheme == "https" else None)
        self.bucket = TokenBucket(*parse_rate(spec.rate_limit)) if spec.rate_limit else None
        self._rng = rng or random.Random()

    def close(self) -> None:
        self.pool.clear()
        if self._wire is not None:
            self._wire.close()

    def url(self, path: str, query: dict[str, str] | None = None) -> str:
        url = self.spec.base_url + path
        return url + ("&" if "?" in url else "?") + urlencode(query) if query else url

    def _backoff(self, n: int) -> float:
        return jittered_backoff(n, self.spec.backoff_base, self.spec.backoff_max, self._rng)

    def call(self, method: str, path: str, body: bytes | None, headers: dict[str, str] | None = None) -> Response:
        """Send until the answer is final; raise TargetRetryable when transient failures persist."""
        return self._until_final(method, path, body, headers or {}, time.monotonic(), None)

    @property
    def can_begin(self) -> bool:
        """``begin`` is possible: the API's host is reached directly (the lean client, no proxy)."""
        return self._wire is not None

    def begin(self, method: str, path: str, body: bytes, headers: dict[str, str] | None = None) -> Call | None:
        """``call``'s first attempt, written and not waited for: ``Call.result`` reads the answer on
        the same thread and, where it is not final, goes on as ``call`` does (retries, throttling,
        a new token).  None when the path is not on the API's own host (``call`` sends it)."""
        if self._wire is None or not self.url(path).startswith(self._origin + "/"):
            return None
        started = time.monotonic()
        extra = headers or {}
        if self.bucket is not None:
            self.bucket.acquire()
        all_headers, url, used = self._prepare(path, extra)
        pending = self._wire.begin(method, url[len(self._origin):], all_headers, body)
        return Call(self, (method, path, body, extra), started, pending, used)

    def _until_final(self, method: str, path: str, body: bytes | None, extra: dict[str, str], started: float,
                     first: tuple[Response | None, str | None, str | None] | None) -> Response:
        """The attempts of one call until its answer is final; ``first``: the first attempt's
        outcome when it was made already (``begin``)."""
        failures = throttles = calls = 0
        refused: set[str] = set()  # tokens the API answered 401 to during this call
        last = ""
        while True:
            calls += 1
            if first is not None:
                (resp, failure, used), first = first, None
            else:
                if self.bucket is not None:
                    self.bucket.acquire()
                resp, failure, used = self._once(method, path, body, extra)
            if (resp is not None and resp.status == 401 and used is not None and used not in refused
                    and len(refused) < MAX_REFRESHES):
                refused.add(used)  # a token expired: fetch a new one (again only if that one works)
                self.credentials.refresh(used)
                continue
            if resp is not None and resp.status in THROTTLED:
                throttles += 1
                wait = retry_after(resp.headers.get("retry-after"))
                wait = self._backoff(throttles - 1) if wait is None else wait
                if self.bucket is not None:
                    self.bucket.pause(wait)
                last = f"{resp.status} {resp.text(200)}"
            elif resp is not None and resp.status not in TRANSIENT:
                resp.calls = calls
                return resp
            else:
                failures += 1
                last = failure or f"{resp.status if resp else '?'} {resp.text(200) if resp else ''}"
                wait = self._backoff(failures - 1)
                if failures >= self.spec.max_attempts:
                    raise self._give_up(method, path, calls, started, last)
            if time.monotonic() - started + wait > self.spec.max_retry_time:
                raise self._give_up(method, path, calls, started, last)
            time.sleep(wait)

    def _give_up(self, method: str, path: str, calls: int, started: float, last: str) -> TargetRetryable:
        return TargetRetryable(
            f"{self.what}: {method} {self.spec.base_url}{path} still failing after {calls} calls in "
            f"{time.monotonic() - started:.0f}s; last answer: {last}",
            hint="the checkpoint is intact: run the job again when the API is reachable "
                 "(or raise max_attempts / max_retry_time on the target)")

    def _prepare(self, path: str, extra: dict[str, str]) -> tuple[dict[str, str], str, str | None]:
        """A call's headers and URL with its credentials applied, and the token used (if any)."""
        headers = {"Content-Type": "application/json", "Accept": "application/json", **extra}
        query: dict[str, str] = {}
        used = self.credentials.apply(headers, query, self.pool, self.timeout)
        return headers, self.url(path, query), used

    def _once(self, method: str, path: str, body: bytes | None,
              extra: dict[str, str]) -> tuple[Response | None, str | None, str | None]:
        import urllib3

        headers, url, used = self._prepare(path, extra)
        if self._wire is not None and url.startswith(self._origin + "/"):
            return self._answered(self._wire.begin(method, url[len(self._origin):], headers, body), used)
        try:
            raw = self.pool.urlopen(method, url, body=body, headers=headers, retries=False,
                                    timeout=self.timeout, redirect=False, preload_content=True)
        except urllib3.exceptions.SSLError as exc:
            raise self._tls_error(exc) from exc
        except urllib3.exceptions.HTTPError as exc:  # timeouts, resets, refused, dropped
            return None, f"{type(exc).__name__}: {redact(str(exc))[:300]}", used
        return Response(raw.status, {k.lower(): v for k, v in raw.headers.items()}, raw.data), None, used

    def _answered(self, pending: Pending, used: str | None) -> tuple[Response | None, str | None, str | None]:
        """One attempt on the lean client, read: its answer, or what failed (transient), and the
        token used; a TLS failure raises."""
        try:
            status, answer, data = pending.answer()
        except ssl.SSLError as exc:
            raise self._tls_error(exc) from exc
        except WireError as exc:
            return None, redact(str(exc))[:300], used
        return Response(status, answer, data), None, used

    def _tls_error(self, exc: Exception) -> TargetError:
        host = urlsplit(self.spec.base_url).netloc
        detail = str(exc) if isinstance(exc, ssl.SSLError) else str(getattr(exc, "reason", None) or exc)
        return TargetError(
            f"{self.what}: TLS connection to {host} refused: {redact(detail)[:300]}",
            hint="if the API uses a private or self-signed certificate, set ca_bundle = 'path/to/ca.pem' on the "
                 "target (verify = false only for tests); check client_cert/client_key for mutual TLS")


class Call:
    """A call written by ``HttpClient.begin`` whose answer is read later, on the same thread."""

    __slots__ = ("_args", "_client", "_pending", "_started", "_used")

    def __init__(self, client: HttpClient, args: tuple[str, str, bytes | None, dict[str, str]], started: float,
                 pending: Pending, used: str | None) -> None:
        self._client, self._args, self._started = client, args, started
        self._pending: Pending | None = pending
        self._used = used

    def ready(self, timeout: float = 0.0) -> bool:
        """The answer (or a failure) is there to read within ``timeout`` seconds."""
        return self._pending is None or self._pending.ready(timeout)

    def result(self) -> Response:
        """The final answer, as ``HttpClient.call`` returns it (or raises); read once."""
        pending, self._pending = self._pending, None
        if pending is None:
            raise RuntimeError("the call's answer was already read")
        first = self._client._answered(pending, self._used)
        return self._client._until_final(*self._args, self._started, first)

    def abandon(self) -> None:
        """Drop the call unread (its connection is closed)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.abandon()


def _tls_context(spec: HttpTargetSpec) -> ssl.SSLContext:
    """The TLS settings of the urllib3 pool, for the lean client: verified by default (system
    CAs, or only ``ca_bundle``), client certificate for mutual TLS."""
    context = ssl.create_default_context(cafile=spec.ca_bundle) if spec.ca_bundle else ssl.create_default_context()
    if not spec.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if spec.client_cert:
        context.load_cert_chain(spec.client_cert, spec.client_key)
    return context


def _pool_for(base_url: str, size: int, tls: dict[str, Any]) -> Any:
    """A PoolManager, or a ProxyManager when the environment names a proxy for this host."""
    import urllib.request

    import urllib3

    parts = urlsplit(base_url)
    proxy = urllib.request.getproxies().get(parts.scheme)
    host = parts.hostname or ""
    loopback = host in ("localhost", "127.0.0.1", "::1")
    if proxy and not loopback and not urllib.request.proxy_bypass(host):
        return urllib3.ProxyManager(proxy, num_pools=4, maxsize=size, block=True, **tls)
    return urllib3.PoolManager(num_pools=4, maxsize=size, block=True, **tls)
