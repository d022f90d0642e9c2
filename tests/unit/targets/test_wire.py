"""The lean HTTP/1.1 client against a real socket server speaking the framings servers use:
Content-Length, chunked, close-delimited, interim 100 answers, keep-alive and idle closes."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest

from legacy_bridge.targets.wire import WireError, WirePool


class Server:
    """Answers each request on a connection with the next canned answer; records requests."""

    def __init__(self, answers: list[bytes], close_after: int | None = None) -> None:
        self.answers, self.close_after = list(answers), close_after
        self.requests: list[bytes] = []
        self.connections = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with contextlib.suppress(ConnectionResetError):  # the client closed a connection it did not read
            self._answer(conn)

    def _answer(self, conn: socket.socket) -> None:
        buf, served = b"", 0
        with conn:
            while self.answers:
                while b"\r\n\r\n" not in buf:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                head, _, buf = buf.partition(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                while len(buf) < length:
                    buf += conn.recv(65536)
                self.requests.append(head + b"\r\n\r\n" + buf[:length])
                buf = buf[length:]
                conn.sendall(self.answers.pop(0))
                served += 1
                if self.close_after is not None and served >= self.close_after:
                    return

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def serve() -> Iterator[list[Server]]:
    servers: list[Server] = []
    yield servers
    for s in servers:
        s.close()


def pool(server: Server) -> WirePool:
    return WirePool("http", "127.0.0.1", server.port, connect_timeout=2, read_timeout=2, context=None)


def test_content_length_chunked_and_interim_answers_on_one_kept_alive_connection(serve: list[Server]) -> None:
    server = Server([b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\n\r\nhello",
                     b"HTTP/1.1 207 Multi\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
                     b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"])
    serve.append(server)
    p = pool(server)
    assert p.request("POST", "/a?b=1", {"Content-Type": "application/json"}, b'{"x":1}') == (
        200, {"content-length": "5", "x-a": "1"}, b"hello")
    status, _, body = p.request("POST", "/b", {}, b"{}")
    assert (status, body) == (207, b"abcde")
    assert p.request("DELETE", "/c", {}, None)[0] == 204
    assert server.connections == 1
    first = server.requests[0]
    assert first.startswith(b"POST /a?b=1 HTTP/1.1\r\nHost: 127.0.0.1:") and first.endswith(b'\r\n\r\n{"x":1}')
    assert b"Content-Length: 7\r\n" in first
    p.close()


def test_a_connection_the_server_closed_while_idle_is_replaced(serve: list[Server]) -> None:
    server = Server([b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"] * 2, close_after=1)
    serve.append(server)
    p = pool(server)
    assert p.request("GET", "/", {}, None)[2] == b"ok"
    import time
    time.sleep(0.2)  # the server has closed its end by now
    assert p.request("GET", "/", {}, None)[2] == b"ok"
    assert server.connections == 2
    p.close()


def test_close_delimited_answers_and_connection_close(serve: list[Server]) -> None:
    server = Server([b"HTTP/1.0 200 OK\r\n\r\nuntil the end"], close_after=1)
    serve.append(server)
    assert pool(server).request("GET", "/", {}, None) == (200, {}, b"until the end")


@pytest.mark.parametrize("answer", [b"", b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", b"garbage\r\n\r\n",
                                    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"])
def test_a_broken_or_missing_answer_is_a_transient_error(serve: list[Server], answer: bytes) -> None:
    server = Server([answer], close_after=1)
    serve.append(server)
    with pytest.raises(WireError):
        pool(server).request("POST", "/", {}, b"{}")


def test_refused_and_timed_out_calls_are_transient_errors(serve: list[Server]) -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(WireError, match="cannot connect"):
        WirePool("http", "127.0.0.1", port, connect_timeout=1, read_timeout=1, context=None).request("GET", "/", {}, None)
    silent = socket.create_server(("127.0.0.1", 0))  # accepts (backlog) but never answers
    try:
        with pytest.raises(WireError, match="timed out"):
            WirePool("http", "127.0.0.1", silent.getsockname()[1], connect_timeout=1, read_timeout=0.3,
                     context=None).request("GET", "/", {}, None)
    finally:
        silent.close()


def test_calls_begun_on_their_own_connections_are_answered_in_any_order(serve: list[Server]) -> None:
    server = Server([b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none", b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\ntwo",
                     b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nthree"])
    serve.append(server)
    p = pool(server)
    first = p.begin("POST", "/1", {}, b"1")
    assert first.ready(timeout=2)  # answered while nobody reads it
    second = p.begin("POST", "/2", {}, b"2")
    assert second.ready(timeout=2)
    assert server.connections == 2  # the first connection is the first call's until its answer is read
    answers = {second.answer()[2], first.answer()[2]}
    assert answers == {b"one", b"two"}
    assert p.request("POST", "/3", {}, b"3")[2] == b"three"
    assert server.connections == 2  # both went back to the pool; the third call reused one
    with pytest.raises(WireError, match="already read"):
        first.answer()
    p.close()


def test_an_abandoned_call_closes_its_connection_and_is_never_read(serve: list[Server]) -> None:
    server = Server([b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst", b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond"])
    serve.append(server)
    p = pool(server)
    begun = p.begin("POST", "/", {}, b"{}")
    assert begun.ready(timeout=2)
    begun.abandon()  # its answer ("first") must not be taken for the next call's
    assert p.request("POST", "/", {}, b"{}")[2] == b"second"
    assert server.connections == 2
    p.close()
