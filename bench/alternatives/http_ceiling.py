"""The HTTP ceiling: a plain client loop posting prebuilt 100-record bodies, N in flight.

    python -m bench.alternatives.http_ceiling --client httpx --concurrency 8 --records 200000 --url URL

Bodies are built before the clock matters (hand-mapped generated rows), then each of N
threads posts its share over one shared keep-alive client.  Prints ``{"records": n, "calls": n}``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from bench.datagen import COLUMNS, rows
from bench.mapping import OBJECT_PATH, SINK_TOKEN, hubspot_input

HEADERS = {"Authorization": "Bearer " + SINK_TOKEN, "Content-Type": "application/json"}


def make_bodies(count: int = 50) -> list[bytes]:
    data = [dict(zip(COLUMNS, r, strict=True)) for r in rows(count * 100, 99)]
    return [json.dumps({"inputs": [hubspot_input(r) for r in data[i:i + 100]]}).encode()
            for i in range(0, len(data), 100)]


def httpx_post(url: str, conc: int) -> Callable[[bytes], None]:
    import httpx

    client = httpx.Client(limits=httpx.Limits(max_connections=conc, max_keepalive_connections=conc))

    def post(body: bytes) -> None:
        client.post(url, content=body, headers=HEADERS).raise_for_status()

    return post


def urllib3_post(url: str, conc: int) -> Callable[[bytes], None]:
    import urllib3

    pool = urllib3.PoolManager(maxsize=conc, block=True)

    def post(body: bytes) -> None:
        resp = pool.request("POST", url, body=body, headers=HEADERS)
        if resp.status >= 400:
            raise RuntimeError(f"status {resp.status}")

    return post


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.alternatives.http_ceiling")
    p.add_argument("--client", choices=["httpx", "urllib3"], default="httpx")
    p.add_argument("--concurrency", type=int, default=1)
    p.add_argument("--records", type=int, required=True, help="a multiple of 100")
    p.add_argument("--url", required=True)
    args = p.parse_args(argv)
    post = (httpx_post if args.client == "httpx" else urllib3_post)(args.url.rstrip("/") + OBJECT_PATH,
                                                                   args.concurrency)
    bodies = make_bodies()
    calls = max(1, args.records // 100)

    def worker(w: int) -> int:
        done = 0
        for n in range(w, calls, args.concurrency):
            post(bodies[n % len(bodies)])
            done += 1
        return done

    with ThreadPoolExecutor(args.concurrency) as pool:
        sent = sum(pool.map(worker, range(args.concurrency)))
    print(json.dumps({"records": sent * 100, "calls": sent}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
