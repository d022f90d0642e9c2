"""A minimal fast HTTP sink that counts what it receives.

    python -m legacy_bridge.sandbox.sink [--port 0] [--delay-ms 20]

Every POST is answered ``200 {"status":"COMPLETE","results":[]}`` (what HubSpot's batch
upsert returns when all inputs were taken).  Records are counted as occurrences of
``"idProperty"`` in the body, so every client in the bench posts HubSpot-shaped bodies.
``GET /stats`` answers ``{"calls": n, "records": n, "bytes": n}``; ``POST /reset`` zeroes
them.  ``--delay-ms`` delays each answer (a far-away API) without holding up other
connections.  One asyncio process, keep-alive, no parsing beyond the request head.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys

OK_BODY = b'{"status":"COMPLETE","results":[]}'
MARK = b'"idProperty"'


def response(body: bytes) -> bytes:
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(body)).encode() + b"\r\n\r\n" + body)


OK = response(OK_BODY)


class Counts:
    def __init__(self) -> None:
        self.calls = 0
        self.records = 0
        self.bytes = 0

    def as_json(self) -> bytes:
        return json.dumps({"calls": self.calls, "records": self.records, "bytes": self.bytes}).encode()


class SinkProtocol(asyncio.Protocol):
    def __init__(self, counts: Counts, delay: float) -> None:
        self.counts, self.delay = counts, delay
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buf[:end])
            length = 0
            for line in head.split(b"\r\n")[1:]:
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            start = end + 4
            if len(self.buf) < start + length:
                return
            body = bytes(self.buf[start:start + length])
            del self.buf[:start + length]
            self.answer(head.split(b" ", 2), body)

    def answer(self, request_line: list[bytes], body: bytes) -> None:
        method = request_line[0]
        path = request_line[1] if len(request_line) > 1 else b"/"
        if method == b"GET" and path == b"/stats":
            self.write(response(self.counts.as_json()), 0.0)
            return
        if method == b"POST" and path == b"/reset":
            self.counts.calls = self.counts.records = self.counts.bytes = 0
            self.write(OK, 0.0)
            return
        self.counts.calls += 1
        self.counts.records += body.count(MARK)
        self.counts.bytes += len(body)
        self.write(OK, self.delay)

    def write(self, data: bytes, delay: float) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if delay:
            asyncio.get_running_loop().call_later(delay, _late_write, transport, data)
        else:
            transport.write(data)


def _late_write(transport: asyncio.Transport, data: bytes) -> None:
    if not transport.is_closing():
        transport.write(data)


async def serve(port: int, delay: float) -> None:
    loop = asyncio.get_running_loop()
    counts = Counts()
    server = await loop.create_server(lambda: SinkProtocol(counts, delay), "127.0.0.1", port, backlog=512)
    print(f"listening on http://127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.sink", description="a counting HTTP sink")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--delay-ms", type=float, default=0.0)
    args = p.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.port, args.delay_ms / 1000))
    return 0


if __name__ == "__main__":
    sys.exit(main())
