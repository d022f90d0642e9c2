"""The catalog: documentation of every job, generated from the job files (loaded WITHOUT
resolving secrets: references show as written, never their values) and the state store.

``build`` gathers plain documents; ``catalog_md`` renders Markdown (with a Mermaid
diagram) and ``catalog_html`` HTML (with an inline SVG diagram).  Settings and mapping
fields are rendered generically from the pydantic models, so keys added later show up.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from legacy_bridge.config.loader import LoadedJob
from legacy_bridge.observe.redact import redact

_SECRET_KEY = re.compile(r"(?i)(pass|pwd|secret|token|api_?key|private_key|credential|webhook)")
_REF = re.compile(r"^\s*\$\{(env|file):[^}]+\}\s*$")
_LABEL_KEYS = ("table", "query", "path", "object", "base_url", "url", "file", "host", "connection")
_SOURCE_KEYS = ("from", "value", "template", "default", "null_if")


def _mask(key: str, value: Any) -> Any:
    """Settings as written; a literal (non-reference) value under a secret-looking key is hidden."""
    if isinstance(value, dict):
        return {k: _mask(str(k), v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(key, v) for v in value]
    if isinstance(value, str):
        if _SECRET_KEY.search(key) and not _REF.match(value):
            return "***"
        return redact(value)
    return value


def _overlay(dumped: Any, raw: Any) -> Any:
    """The validated values, with what the file says written over them (a reference stays a
    reference even where the model holds it as a secret type)."""
    if isinstance(dumped, dict) and isinstance(raw, dict):
        return {**dumped, **{k: _overlay(dumped.get(k), v) for k, v in raw.items()}}
    return raw if raw is not None else dumped


def settings(spec: Any, raw: Any = None) -> dict[str, Any]:
    """A plugin spec as the user wrote it (defaults included, nothing resolved, secrets hidden)."""
    dumped = _overlay(spec.model_dump(mode="json", by_alias=True, exclude_none=True), raw)
    return {k: _mask(k, v) for k, v in dumped.items()}


def endpoint(spec: Any) -> str:
    """A short name for the system at one end of a flow: ``odbc: Customers``."""
    values = settings(spec)
    kind = values.get("kind", "?")
    transport = values.get("transport")
    where = ""
    if isinstance(transport, dict) and transport.get("host"):
        where = f"{transport.get('kind', '')} {transport['host']}".strip() + " "
    for key in _LABEL_KEYS:
        if isinstance(values.get(key), str | list) and values.get(key):
            found = values[key] if isinstance(values[key], str) else ", ".join(map(str, values[key]))
            where += found
            break
    where = where.strip()
    return f"{kind}: {where[:60]}" if where else str(kind)


def _convert_text(item: Any) -> str:
    if isinstance(item, dict):
        return ", ".join(f"{k}({json.dumps(v) if not isinstance(v, str) else v})" for k, v in item.items())
    return str(item)


def field_row(target: str, spec: Any) -> dict[str, str]:
    """One mapping row: target <- source, converters, validation (any other key, generically)."""
    if isinstance(spec, str):
        return {"target": target, "source": spec, "convert": "", "validation": ""}
    d = _mask("", spec.model_dump(mode="json", by_alias=True, exclude_defaults=True))
    source = []
    for key in _SOURCE_KEYS:
        if key in d:
            value = d.pop(key)
            text = ", ".join(map(str, value)) if isinstance(value, list) and key == "from" else (
                value if isinstance(value, str) else json.dumps(value))
            source.append(text if key == "from" else f"{key}: {text}")
    converters = d.pop("convert", [])
    checks = []
    for key, value in d.items():
        checks.append(key if value is True else f"{key}: {value if isinstance(value, str) else json.dumps(value)}")
    return {"target": target, "source": "; ".join(source), "convert": " → ".join(map(_convert_text, converters)),
            "validation": "; ".join(checks)}


def mapping_doc(mapping: Any) -> dict[str, Any]:
    dumped = mapping.model_dump(mode="json", by_alias=True, exclude_none=True)
    other = {k: v for k, v in dumped.items() if k not in ("key", "fields")}
    key = mapping.key if isinstance(mapping.key, str) else " + ".join(mapping.key)
    rows = [field_row(name, spec) for name, spec in mapping.fields.items()]
    return {"key": key, "fields": rows, "other": _mask("", other)}


@dataclass
class FlowDoc:
    name: str
    description: str
    enabled: bool
    source: dict[str, Any]
    target: dict[str, Any]
    source_label: str
    target_label: str
    max_lag_s: float | None
    mapping: dict[str, Any]
    status: dict[str, Any] | None = None  # overview.flow_status document, when the store is readable


@dataclass
class JobDoc:
    name: str
    description: str
    owner: str | None
    schedule: str | None
    path: str
    flows: list[FlowDoc] = field(default_factory=list)
    alerts: dict[str, Any] | None = None
    state_note: str = ""


def job_doc(job: LoadedJob, statuses: list[dict[str, Any]] | None, state_note: str = "") -> JobDoc:
    by_flow = {d["flow"]: d for d in statuses or []}
    spec = job.spec
    alerts = getattr(spec, "alerts", None)
    doc = JobDoc(name=job.name, description=spec.description, owner=spec.owner, schedule=spec.schedule,
                 path=str(job.path), state_note=state_note,
                 alerts=settings(alerts, job.raw.get("alerts") if isinstance(job.raw, dict) else None)
                 if alerts is not None else None)
    raw_flows = job.raw.get("flows", []) if isinstance(job.raw, dict) else []
    for i, flow in enumerate(spec.flows):
        raw = raw_flows[i] if i < len(raw_flows) and isinstance(raw_flows[i], dict) else {}
        doc.flows.append(FlowDoc(
            name=flow.name, description=flow.description, enabled=flow.enabled,
            source=settings(flow.source, raw.get("source")), target=settings(flow.target, raw.get("target")),
            source_label=endpoint(flow.source), target_label=endpoint(flow.target),
            max_lag_s=flow.max_lag, mapping=mapping_doc(flow.mapping), status=by_flow.get(flow.name)))
    return doc


# --- Markdown ------------------------------------------------------------------------------------


def _md_cell(value: Any) -> str:
    return str(value if value is not None else "").replace("|", "\\|").replace("\n", " ")


def _md_table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return out


def _mermaid_label(text: str) -> str:
    return text.replace('"', "#quot;")


def mermaid(jobs: list[JobDoc]) -> list[str]:
    """A Mermaid flowchart: source systems -> flows -> target systems."""
    lines = ["```mermaid", "flowchart LR"]
    ids: dict[str, str] = {}

    def node(label: str, prefix: str) -> str:
        key = f"{prefix}:{label}"
        if key not in ids:
            ids[key] = f"{prefix}{len(ids) + 1}"
            lines.append(f'  {ids[key]}["{_mermaid_label(label)}"]')
        return ids[key]

    for job in jobs:
        for i, flow in enumerate(job.flows):
            src, dst = node(flow.source_label, "s"), node(flow.target_label, "t")
            fid = f"f_{re.sub(r'[^A-Za-z0-9_]', '_', job.name)}_{i}"
            lines.append(f'  {fid}(["{_mermaid_label(job.name + " / " + flow.name)}"])')
            lines.append(f"  {src} --> {fid} --> {dst}")
    lines.append("```")
    return lines


def _figures(status: dict[str, Any] | None) -> list[str]:
    if not status or not status.get("last_run"):
        return ["No run recorded yet."]
    run = status["last_run"]
    c = run["counts"]
    return [f"Last run {run['run_id']}: **{run['status']}**, started {run['started']}, "
            f"read {c['read']}, sent {c['sent']}, rejected {c['rejected']}, skipped {c['skipped']}, "
            f"retried {c['retried']}, files {c['files']}"
            + (f", {run['duration_s']:.1f}s" if run.get("duration_s") is not None else "")
            + f". Open rejects: {status.get('open_rejects', 0)}."]


def flow_md(job: JobDoc, flow: FlowDoc) -> list[str]:
    out = [f"### Flow `{flow.name}`" + ("" if flow.enabled else " (disabled)"), ""]
    if flow.description:
        out += [flow.description, ""]
    out += [f"- **Source:** {flow.source_label}", f"- **Target:** {flow.target_label}",
            f"- **Schedule:** {job.schedule or 'on demand'}"
            + (f", max lag {flow.max_lag_s:.0f}s" if flow.max_lag_s else ""),
            f"- **Record key:** `{flow.mapping['key']}`", ""]
    for title, values in (("Source settings", flow.source), ("Target settings", flow.target)):
        out += [f"{title}:", "", *_md_table(["setting", "value"], [[k, show_value(v)] for k, v in values.items()]), ""]
    out += ["Field mapping:", ""]
    out += _md_table(["target field", "← source", "converters", "validation"],
                     [[r["target"], r["source"], r["convert"], r["validation"]] for r in flow.mapping["fields"]])
    if flow.mapping["other"]:
        out += ["", "Other mapping settings: " + ", ".join(f"{k} = {show_value(v)}" for k, v in flow.mapping["other"].items())]
    out += ["", *_figures(flow.status), ""]
    return out


def show_value(value: Any) -> str:
    """A mapping or config value as written: text as is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def job_md(job: JobDoc) -> str:
    out = [f"## Job `{job.name}`", ""]
    if job.description:
        out += [job.description, ""]
    out += [f"- **Owner:** {job.owner or 'not set'}", f"- **Schedule:** {job.schedule or 'on demand'}",
            f"- **Job file:** `{job.path}`"]
    if job.alerts:
        out.append("- **Alerts:** " + ", ".join(f"{k} = {show_value(v)}" for k, v in job.alerts.items()))
    if job.state_note:
        out.append(f"- **State:** {job.state_note}")
    out += ["", *mermaid([job]), ""]
    for flow in job.flows:
        out += flow_md(job, flow)
    return "\n".join(out)


def catalog_md(jobs: list[JobDoc], generated: str) -> str:
    out = ["# Integration catalog", "", f"Generated by `legacy-bridge catalog` on {generated}. "
           "Do not edit: it is rebuilt from the job files and the state store.", "",
           "## Systems and flows", "", *mermaid(jobs), "", "## Jobs", ""]
    out += _md_table(["job", "owner", "schedule", "flows"],
                     [[f"[{j.name}](#job-{j.name.lower()})", j.owner or "", j.schedule or "on demand",
                       ", ".join(f.name for f in j.flows)] for j in jobs])
    out.append("")
    for job in jobs:
        out += [job_md(job), ""]
    return "\n".join(out)
