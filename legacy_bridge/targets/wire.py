"""A lean HTTP/1.1 keep-alive client for the API's own host (targets/http.py uses it).

Measured (docs/http-client.md): per 100-record call urllib3 spent ~280 us of CPU on one
core, most of it in http.client's header parsing and urllib3's per-call bookkeeping; at
10,000 calls per million records that was a third of a CSV -> API run.  This client
writes the request in one ``sendall`` and reads the answer with a buffered reader:
status line, headers, then a ``Content-Length`` or chunked body (or up to EOF when the
server says neither and closes).  Connections are kept alive and reused LIFO; one that
became readable while idle (closed by the server) is dropped before reuse.

It raises ``WireError`` for everything transient (refused, reset, timeout, a broken
answer) and ``ssl.SSLError`` for TLS failures; the caller retries and words them.
Proxies and other hosts (OAuth2 token endpoints) stay with urllib3.
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
from typing import BinaryIO

MAX_LINE = 65536
MAX_HEADERS = 200


class WireError(Exception):
    """A transient failure of one call (the connection is closed)."""


class _Conn:
    __slots__ = ("rfile", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.rfile: BinaryIO = sock.makefile("rb", buffering=65536)  # type: ignore[assignment]

    def close(self) -> None:
        try:
            self.rfile.close()
        finally:
            self.sock.close()

    def dropped(self) -> bool:
        """Readable while idle: the server closed it (or sent something unasked)."""
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)


class WirePool:
    def __init__(self, scheme: str, host: str, port: int | None, *, connect_timeout: float | None,
                 read_timeout: float | None, context: ssl.SSLContext | None) -> None:
        self.host, self.port = host, port or (443 if scheme == "https" else 80)
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout
        self.context = context if scheme == "https" else None
        self.host_header = host if port is None else f"{host}:{port}"
        if ":" in host and not host.startswith("["):  # IPv6 literal
            self.host_header = f"[{host}]" if port is None else f"[{host}]:{port}"
        self._idle: list[_Conn] = []
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def _get(self) -> _Conn:
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                return self._connect()
            if not conn.dropped():
                return conn
            conn.close()

    def _connect(self) -> _Conn:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        except OSError as exc:
            raise WireError(f"cannot connect to {self.host_header}: {exc}") from exc
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.context is not None:
                sock = self.context.wrap_socket(sock, server_hostname=self.host)
            sock.settimeout(self.read_timeout)
        except ssl.SSLError:
            sock.close()
            raise
        except OSError as exc:
            sock.close()
            raise WireError(f"connection to {self.host_header} failed: {exc}") from exc
        return _Conn(sock)

    def request(self, method: str, target: str, headers: dict[str, str],
                body: bytes | None) -> tuple[int, dict[str, str], bytes]:
        """One call: (status, headers with lower-case names, body)."""
        return self.begin(method, target, headers, body).answer()

    def begin(self, method: str, target: str, headers: dict[str, str], body: bytes | None) -> Pending:
        """Write one request and return without waiting for its answer: ``Pending.answer`` reads it.
        The connection is the pending call's until then (``abandon`` closes it unread).  A failure to
        connect or to write (``WireError``, ``ssl.SSLError``) is the pending call's too: ``answer``
        raises it, so a caller translates failures in one place."""
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self.host_header}", "User-Agent: legacy-bridge"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        lines.append(f"Content-Length: {len(body)}" if body is not None else "Content-Length: 0")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        try:
            conn = self._get()
        except (WireError, ssl.SSLError) as exc:
            return Pending(self, None, method, exc)
        try:
            conn.sock.sendall(head + body if body else head)
        except ssl.SSLError as exc:
            conn.close()
            return Pending(self, None, method, exc)
        except (OSError, ValueError) as exc:
            conn.close()
            return Pending(self, None, method, _wire_error(exc))
        return Pending(self, conn, method)

    def _put(self, conn: _Conn) -> None:
        with self._lock:
            self._idle.append(conn)


class Pending:
    """A request written and not yet answered, on a connection of its own (or one that failed to
    be written: ``error``, raised by ``answer``)."""

    __slots__ = ("_conn", "_error", "_method", "_pool")

    def __init__(self, pool: WirePool, conn: _Conn | None, method: str, error: Exception | None = None) -> None:
        self._pool, self._method = pool, method
        self._conn, self._error = conn, error

    def ready(self, timeout: float = 0.0) -> bool:
        """Something of the answer arrived (or the connection failed) within ``timeout`` seconds:
        ``answer`` will not wait for the server to start answering."""
        conn = self._conn
        if conn is None:
            return True
        try:
            readable, _, _ = select.select([conn.sock], [], [], timeout)
        except (OSError, ValueError):
            return True
        return bool(readable)

    def answer(self) -> tuple[int, dict[str, str], bytes]:
        """Read the answer: (status, headers with lower-case names, body); the connection goes back
        to the pool when the server keeps it open."""
        conn, self._conn = self._conn, None
        error, self._error = self._error, None
        if error is not None:
            raise error
        if conn is None:
            raise WireError("the answer was already read or abandoned")
        keep = False
        try:
            status, answer, data, keep = _read_response(conn.rfile, self._method)
        except ssl.SSLError:
            raise
        except (OSError, ValueError) as exc:
            raise _wire_error(exc) from exc
        finally:
            if keep:
                self._pool._put(conn)
            else:
                conn.close()
        return status, answer, data

    def abandon(self) -> None:
        """Close the connection without reading the answer (it can never be reused)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


def _wire_error(exc: Exception) -> WireError:
    return WireError(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)


def _read_response(rfile: BinaryIO, method: str) -> tuple[int, dict[str, str], bytes, bool]:
    while True:
        line = rfile.readline(MAX_LINE + 1)
        if not line:
            raise ValueError("the server closed the connection without answering")
        parts = line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
            raise ValueError(f"not an HTTP status line: {line[:80]!r}")
        version, status = parts[0], int(parts[1])
        headers = _read_headers(rfile)
        if 100 <= status < 200 and status != 101:
            continue  # an interim answer (100 Continue ...): the real one follows
        break
    connection = headers.get("connection", "").lower()
    keep = "close" not in connection and (version != b"HTTP/1.0" or "keep-alive" in connection)
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return status, headers, b"", keep
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return status, headers, _read_chunked(rfile), keep
    length = headers.get("content-length")
    if length is not None:
        size = int(length.strip())
        data = rfile.read(size) if size else b""
        if len(data) != size:
            raise ValueError(f"the answer ended after {len(data)} of {size} bytes")
        return status, headers, data, keep
    return status, headers, rfile.read(), False  # delimited by the end of the connection


def _read_headers(rfile: BinaryIO) -> dict[str, str]:
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADERS):
        line = rfile.readline(MAX_LINE + 1)
        if line in (b"\r\n", b"\n"):
            return headers
        if not line:
            raise ValueError("the answer ended inside its headers")
        name, sep, value = line.decode("latin-1").partition(":")
        if sep:
            key = name.strip().lower()
            headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    raise ValueError("too many header lines in the answer")


def _read_chunked(rfile: BinaryIO) -> bytes:
    out = bytearray()
    while True:
        line = rfile.readline(MAX_LINE + 1)
        if not line:
            raise ValueError("the answer ended inside a chunk size")
        size = int(line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            _read_headers(rfile)  # trailers
            return bytes(out)
        chunk = rfile.read(size)
        if len(chunk) != size or rfile.read(2) != b"\r\n":
            raise ValueError("the answer ended inside a chunk")
        out += chunk
