"""A real job for the observability tests: the ERP's order drop (Northwind CSV exports,
cp1252, ';', a banner line) into a target, with alerts to a webhook."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DROP = ROOT / "fixtures" / "drop" / "orders"


def target_toml() -> str:
    """The simplest registered target, or skip until one exists."""
    from legacy_bridge.targets import REGISTRY

    if "jsonl" not in REGISTRY.kinds():
        pytest.skip(f"needs the jsonl target (registered targets: {REGISTRY.kinds() or 'none yet'})")
    return '[flows.target]\nkind = "jsonl"\npath = "out/{flow}.jsonl"\n'


def job_toml(webhook: str, schedule: str = "* * * * * */1") -> str:
    target = target_toml()
    flows = []
    for flow, pattern in (("orders", "ORDERS_*.csv"), ("orders_archive", "OLD_*.csv")):
        flows.append(f"""
[[flows]]
name = "{flow}"
description = "Orders exported by the ERP every night"
max_lag = "1h"

[flows.source]
kind = "files"
transport = {{ kind = "local" }}
path = "drop/{flow}"
pattern = "{pattern}"
format = {{ kind = "csv", encoding = "cp1252", delimiter = ";", skip_lines = 1 }}

[flows.mapping]
key = "ORDER_NO"
[flows.mapping.fields]
order_no = "ORDER_NO"
customer = {{ from = "CUSTNO", convert = ["strip"], required = true, pattern = "^[A-Z]{{5}}$" }}
ship_city = {{ from = "SHIP_CITY", convert = ["strip"] }}
ship_country = "SHIP_COUNTRY"

{target.replace("{flow}", flow)}""")
    return f'''name = "erp_to_crm"
description = "Orders from the ERP drop folder into the CRM"
owner = "integration-team@example.com"
schedule = "{schedule}"

[alerts]
webhook = "{webhook}"
mention = "@oncall"
''' + "".join(flows)


def fill_drop(root: Path, flow: str = "orders") -> Path:
    folder = root / "drop" / flow
    folder.mkdir(parents=True, exist_ok=True)
    for f in sorted(DROP.glob("ORDERS_*.csv"))[:2]:
        shutil.copy(f, folder / f.name)
    return folder
