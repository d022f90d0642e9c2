"""The 12-field mapping every tool in the bench does: declared for legacy_bridge, by hand for the rest.

Both produce HubSpot batch-upsert inputs with text properties, so the sink counts the same
thing from every tool and the work per record is comparable.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any

from bench.datagen import COUNTRIES, STATUS

ID_PROPERTY = "erp_id"
OBJECT_PATH = "/crm/v3/objects/contacts/batch/upsert"
SINK_TOKEN = "lb-bench-sink-token"  # every tool's bearer token; the sink accepts any, and no log line holds it otherwise


def _inline_table(values: dict[str, str]) -> str:
    return "{ " + ", ".join(f'{k} = "{v}"' for k, v in values.items()) + " }"


MAPPING_TOML = f'''
[flows.mapping]
key = "CUSTNO"
[flows.mapping.fields]
erp_id = "CUSTNO"
name = {{ from = "NAME", convert = ["strip"], required = true }}
company = {{ from = "COMPANY", convert = ["strip"] }}
email = {{ from = "EMAIL", convert = ["email"] }}
phone = {{ from = "PHONE", convert = ["strip"] }}
address = {{ from = "STREET", convert = ["strip"] }}
zip = {{ from = "ZIP", convert = ["strip"], pattern = "^[0-9]{{5}}$" }}
city = {{ from = "CITY", convert = ["strip", "title"] }}
country = {{ from = "COUNTRY", convert = [{{ lookup = {_inline_table(COUNTRIES)} }}] }}
since = {{ from = "CREATED", convert = [{{ date = "%d/%m/%Y" }}] }}
balance = {{ from = "BALANCE", convert = [{{ number = {{ decimal = ",", thousands = "." }} }}] }}
status = {{ from = "STATUS", convert = [{{ lookup = {_inline_table(STATUS)} }}] }}
'''

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[a-z]{2,63}")
ZIP = re.compile(r"[0-9]{5}")


def properties(r: dict[str, Any]) -> dict[str, str]:
    """The mapping written by hand, as a team would in a script (same checks, text out)."""
    email = r["EMAIL"].strip().lower()
    if not EMAIL.fullmatch(email):
        raise ValueError(f"bad email {email!r}")
    zip_ = r["ZIP"].strip()
    if not ZIP.fullmatch(zip_):
        raise ValueError(f"bad zip {zip_!r}")
    name = r["NAME"].strip()
    if not name:
        raise ValueError("name is required")
    return {
        "erp_id": str(r["CUSTNO"]),
        "name": name,
        "company": r["COMPANY"].strip(),
        "email": email,
        "phone": r["PHONE"].strip(),
        "address": r["STREET"].strip(),
        "zip": zip_,
        "city": r["CITY"].strip().title(),
        "country": COUNTRIES[r["COUNTRY"]],
        "since": datetime.strptime(r["CREATED"], "%d/%m/%Y").date().isoformat(),
        "balance": str(Decimal(r["BALANCE"].replace(".", "").replace(",", "."))),
        "status": STATUS[r["STATUS"]],
    }


def hubspot_input(r: dict[str, Any]) -> dict[str, Any]:
    return {"idProperty": ID_PROPERTY, "id": str(r["CUSTNO"]), "properties": properties(r)}
