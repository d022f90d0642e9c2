"""legacy_bridge's HubSpot target alone: prebuilt payloads sent as the runner sends them.

    python -m bench.lb_target --concurrency 4 --records 200000 --url URL

The payloads come from the declared 12-field mapping over generated rows, built before
sending; ``Target.send`` is then called from ``concurrency`` threads, one batch of 100 each
time.  Prints ``{"records": n, "calls": n}``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.datagen import COLUMNS, rows
from bench.mapping import MAPPING_TOML, SINK_TOKEN


def payloads(count: int) -> list[Any]:
    from legacy_bridge.mapping import MappingSpec, compile_mapping
    from legacy_bridge.records import Batch, Checkpoint

    spec = MappingSpec.model_validate(tomllib.loads(MAPPING_TOML)["flows"]["mapping"])
    mapper = compile_mapping(spec, base_dir=Path("."))
    data = [dict(zip(COLUMNS, r, strict=True)) for r in rows(count, 99)]
    return list(mapper.map_batch(Batch(rows=data, origin="bench", checkpoint=Checkpoint())).payloads)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.lb_target")
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--records", type=int, required=True, help="a multiple of 100")
    p.add_argument("--url", required=True)
    args = p.parse_args(argv)

    from legacy_bridge.runtime.context import FlowContext
    from legacy_bridge.targets.profiles.hubspot import HubSpotSpec, build

    spec = HubSpotSpec.model_validate({"kind": "hubspot", "base_url": args.url, "object": "contacts",
                                       "id_property": "erp_id", "auth": {"type": "bearer", "token": SINK_TOKEN},
                                       "concurrency": args.concurrency})
    target = build(spec, Path("."))
    log = logging.LoggerAdapter(logging.getLogger("bench"), {})
    ctx = FlowContext(job="bench", flow="http", store=None, run_id=0,  # type: ignore[arg-type]
                      batch_size=100, base_dir=Path("."), log=log)
    target.open(ctx)
    pool_payloads = payloads(5_000)
    batches = [pool_payloads[i:i + 100] for i in range(0, len(pool_payloads), 100)]
    calls = max(1, args.records // 100)
    with ThreadPoolExecutor(args.concurrency) as pool:
        list(pool.map(lambda n: target.send(batches[n % len(batches)]), range(calls)))
    target.close()
    print(json.dumps({"records": calls * 100, "calls": calls}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
