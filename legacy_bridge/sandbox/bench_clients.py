"""Measure HTTP client libraries the way targets/http.py uses them (docs/http-client.md).

    python -m legacy_bridge.sandbox.bench_clients [--seconds 3] [--delay-ms 0] [--sandbox]

``send()`` is called from up to ``concurrency`` threads at once, each posting a
100-input batch-upsert body.  Candidates: urllib3 PoolManager, httpx sync Client, and
aiohttp on a background event loop fed by the threads.  The server is the minimal sink
(sink.py) or, with ``--sandbox``, the CRM sandbox storing every input.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

BODY_INPUTS = 100


def body(n: int) -> bytes:
    inputs = [{"idProperty": "erp_id", "id": f"K{n}-{i}",
               "properties": {"name": f"Company {n}-{i}", "email": f"c{i}@example.com", "city": "Berlin"}}
              for i in range(BODY_INPUTS)]
    return json.dumps({"inputs": inputs}).encode()


def urllib3_sender(url: str, conc: int) -> Callable[[bytes], int]:
    import urllib3

    pool = urllib3.PoolManager(maxsize=conc, block=True)

    def send(data: bytes) -> int:
        r = pool.request("POST", url, body=data, headers={"Content-Type": "application/json"})
        return r.status

    return send


def httpx_sender(url: str, conc: int) -> Callable[[bytes], int]:
    import httpx

    client = httpx.Client(limits=httpx.Limits(max_connections=conc, max_keepalive_connections=conc))

    def send(data: bytes) -> int:
        return int(client.post(url, content=data, headers={"Content-Type": "application/json"}).status_code)

    return send


def aiohttp_sender(url: str, conc: int) -> Callable[[bytes], int]:
    import aiohttp

    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()

    async def make() -> Any:
        return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=conc))

    session = asyncio.run_coroutine_threadsafe(make(), loop).result()

    async def post(data: bytes) -> int:
        async with session.post(url, data=data, headers={"Content-Type": "application/json"}) as r:
            await r.read()
            return int(r.status)

    def send(data: bytes) -> int:
        return asyncio.run_coroutine_threadsafe(post(data), loop).result()

    return send


def measure(make: Callable[[str, int], Callable[[bytes], int]], url: str, conc: int, seconds: float) -> float:
    send = make(url, conc)
    payloads = [body(n) for n in range(64)]
    for p in payloads[:conc]:
        send(p)  # warm the pool
    done = [0] * conc
    deadline = time.perf_counter() + seconds

    def worker(w: int) -> None:
        n = w
        while time.perf_counter() < deadline:
            status = send(payloads[n % len(payloads)])
            if status not in (200, 207):
                raise RuntimeError(f"status {status}")
            done[w] += 1
            n += conc

    start = time.perf_counter()
    with ThreadPoolExecutor(conc) as pool:
        list(pool.map(worker, range(conc)))
    return sum(done) / (time.perf_counter() - start)


def start_server(sandbox: bool, delay_ms: float, tmp: Path) -> tuple[subprocess.Popen[str], str]:
    if sandbox:
        cmd = [sys.executable, "-m", "legacy_bridge.sandbox.crm", "--db", str(tmp / "crm.db")]
        path = "/crm/v3/objects/contacts/batch/upsert"
    else:
        cmd = [sys.executable, "-m", "legacy_bridge.sandbox.sink", "--delay-ms", str(delay_ms)]
        path = "/crm/v3/objects/contacts/batch/upsert"
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    return proc, line.removeprefix("listening on ") + path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m legacy_bridge.sandbox.bench_clients")
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--delay-ms", type=float, default=0.0)
    p.add_argument("--sandbox", action="store_true")
    p.add_argument("--concurrency", default="1,4,8")
    p.add_argument("--clients", default="urllib3,httpx,aiohttp")
    args = p.parse_args(argv)
    makers = {"urllib3": urllib3_sender, "httpx": httpx_sender, "aiohttp": aiohttp_sender}
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_server(args.sandbox, args.delay_ms, Path(tmp))
        try:
            print(f"server: {'sandbox' if args.sandbox else 'sink'} delay {args.delay_ms} ms, body {BODY_INPUTS} inputs")
            for conc in [int(c) for c in args.concurrency.split(",")]:
                for name in args.clients.split(","):
                    rps = measure(makers[name], url, conc, args.seconds)
                    print(f"{name:8} concurrency {conc:2}: {rps:8.0f} calls/s = {rps * BODY_INPUTS:9.0f} records/s",
                          flush=True)
        finally:
            proc.terminate()
            proc.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
