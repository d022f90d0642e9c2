"""dlt reading the same data and delivering through ``@dlt.destination(batch_size=100)``.

    python -m bench.alternatives.dlt_pipeline --format csv --source FILE --url URL --workdir DIR

The resource yields the rows of the same reader the hand-written script uses, the
12-field mapping runs as ``add_map``, and the destination posts HubSpot batch-upsert
bodies with ``requests``.  Prints ``{"records": n, "calls": n}``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from bench.alternatives.readers import open_rows
from bench.mapping import ID_PROPERTY, OBJECT_PATH, SINK_TOKEN, properties


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.alternatives.dlt_pipeline")
    p.add_argument("--format", required=True, choices=["csv", "xml", "excel", "odbc"])
    p.add_argument("--source", required=True)
    p.add_argument("--table")
    p.add_argument("--url", required=True)
    p.add_argument("--workdir", required=True, help="dlt's pipelines folder (a temporary one)")
    args = p.parse_args(argv)
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

    import dlt
    import requests

    session = requests.Session()
    session.headers.update({"Authorization": "Bearer " + SINK_TOKEN, "Content-Type": "application/json"})
    url = args.url.rstrip("/") + OBJECT_PATH
    counts = {"records": 0, "calls": 0}

    @dlt.destination(batch_size=100, name="bench_sink")
    def sink(items: Any, table: Any, /) -> None:
        inputs = [{"idProperty": ID_PROPERTY, "id": item["erp_id"],
                   "properties": {k: v for k, v in item.items() if not k.startswith("_dlt")}}
                  for item in items]
        resp = session.post(url, data=json.dumps({"inputs": inputs}, default=str))
        resp.raise_for_status()
        counts["records"] += len(inputs)
        counts["calls"] += 1

    @dlt.resource(name="customers", write_disposition="append")
    def customers() -> Any:
        yield from open_rows(args.format, args.source, args.table)

    pipeline = dlt.pipeline(pipeline_name="bench", destination=sink, pipelines_dir=args.workdir,
                            dataset_name="bench")
    pipeline.run(customers().add_map(properties))
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
