"""Targets by ``kind``: one line per plugin."""

from legacy_bridge.registry import Plugin, Registry
from legacy_bridge.targets import jsonl, sql
from legacy_bridge.targets.base import Target
from legacy_bridge.targets.profiles import hubspot, rest, salesforce

REGISTRY: Registry[Target] = Registry("target", [
    Plugin("hubspot", hubspot.HubSpotSpec, hubspot.build, "HubSpot CRM v3 batch upsert by a unique property"),
    Plugin("salesforce", salesforce.SalesforceSpec, salesforce.build, "Salesforce sObject Collections upsert"),
    Plugin("rest", rest.RestSpec, rest.build, "a generic JSON REST API (per record or per batch)"),
    Plugin("sql", sql.SqlSpec, sql.build, "upsert into a table of PostgreSQL, MariaDB/MySQL or SQLite"),
    Plugin("jsonl", jsonl.JsonlSpec, jsonl.build, "append JSON lines to a file (debugging, audits)"),
])
