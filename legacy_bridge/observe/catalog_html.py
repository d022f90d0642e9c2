"""The catalog as HTML, with the diagram of systems and flows drawn as inline SVG (no
script, no CDN: it displays offline)."""

from __future__ import annotations

from typing import Any

from legacy_bridge.observe.catalog import FlowDoc, JobDoc, show_value
from legacy_bridge.observe.html import badge, deflist, esc, page, table

_BOX_H, _GAP, _PAD, _CHAR_W, _COL_GAP = 34, 14, 16, 7.2, 70


def _width(labels: list[str]) -> float:
    return max([len(x) for x in labels] + [8]) * _CHAR_W + 2 * _PAD


def svg_diagram(jobs: list[JobDoc]) -> str:
    """Three columns: source systems -> flows -> target systems, one arrow per flow end."""
    sources: list[str] = []
    targets: list[str] = []
    flows: list[tuple[str, str, str, str]] = []  # (label, source, target, health)
    for job in jobs:
        for flow in job.flows:
            if flow.source_label not in sources:
                sources.append(flow.source_label)
            if flow.target_label not in targets:
                targets.append(flow.target_label)
            health = (flow.status or {}).get("health", "")
            flows.append((f"{job.name} / {flow.name}", flow.source_label, flow.target_label, health))
    widths = [_width(sources), _width([f[0] for f in flows]), _width(targets)]
    xs = [10.0, 10 + widths[0] + _COL_GAP, 10 + widths[0] + widths[1] + 2 * _COL_GAP]
    rows = max(len(sources), len(flows), len(targets), 1)
    height = rows * (_BOX_H + _GAP) + _GAP + 20
    total_w = xs[2] + widths[2] + 10

    def y(i: int, n: int) -> float:
        offset = (rows - n) * (_BOX_H + _GAP) / 2
        return 30 + offset + i * (_BOX_H + _GAP)

    fill = {"ok": "#d9f2df", "warn": "#fff1c9", "fail": "#ffd9d9"}
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="systems and flows" '
             f'width="{total_w:.0f}" height="{height:.0f}" viewBox="0 0 {total_w:.0f} {height:.0f}" '
             f'font-family="system-ui,sans-serif" font-size="12">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
             'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#556"/></marker></defs>']
    for col, title in enumerate(("source systems", "flows", "target systems")):
        parts.append(f'<text x="{xs[col]:.0f}" y="16" fill="#667" font-weight="600">{title}</text>')

    def box(col: int, i: int, n: int, label: str, colour: str, rounded: int) -> None:
        parts.append(f'<rect x="{xs[col]:.0f}" y="{y(i, n):.0f}" width="{widths[col]:.0f}" height="{_BOX_H}" '
                     f'rx="{rounded}" fill="{colour}" stroke="#556"/>'
                     f'<text x="{xs[col] + _PAD:.0f}" y="{y(i, n) + _BOX_H / 2 + 4:.0f}">{esc(label)}</text>')

    for i, label in enumerate(sources):
        box(0, i, len(sources), label, "#e8eefc", 3)
    for i, label in enumerate(targets):
        box(2, i, len(targets), label, "#efe8fc", 3)
    for i, (label, src, dst, health) in enumerate(flows):
        box(1, i, len(flows), label, fill.get(health, "#ffffff"), 14)
        fy = y(i, len(flows)) + _BOX_H / 2
        sy = y(sources.index(src), len(sources)) + _BOX_H / 2
        ty = y(targets.index(dst), len(targets)) + _BOX_H / 2
        parts.append(f'<line x1="{xs[0] + widths[0]:.0f}" y1="{sy:.0f}" x2="{xs[1]:.0f}" y2="{fy:.0f}" '
                     'stroke="#556" marker-end="url(#arrow)"/>')
        parts.append(f'<line x1="{xs[1] + widths[1]:.0f}" y1="{fy:.0f}" x2="{xs[2]:.0f}" y2="{ty:.0f}" '
                     'stroke="#556" marker-end="url(#arrow)"/>')
    parts.append("</svg>")
    return "".join(parts)


def _figures(status: dict[str, Any] | None, links: bool, job: str, flow: str) -> str:
    if not status or not status.get("last_run"):
        return '<p class="muted">No run recorded yet.</p>'
    run = status["last_run"]
    c = run["counts"]
    rejects = str(status.get("open_rejects", 0))
    if links:
        rejects = f'<a href="/rejects/{esc(job)}/{esc(flow)}">{esc(rejects)}</a>'
    cells = [[run["run_id"], badge(run["status"], status.get("health", "")), run["started"], c["read"], c["sent"],
              c["rejected"], c["skipped"], c["retried"], c["files"],
              f"{run['duration_s']:.1f}s" if run.get("duration_s") is not None else "", rejects]]
    return table(["last run", "status", "started", "read", "sent", "rejected", "skipped", "retried", "files",
                  "duration", "open rejects"], cells, raw_cols=(1, 10), num_cols=(3, 4, 5, 6, 7, 8))


def flow_html(job: JobDoc, flow: FlowDoc, links: bool) -> str:
    anchor = f"flow-{job.name}-{flow.name}"
    out = [f'<h3 id="{esc(anchor)}">Flow {esc(flow.name)}{"" if flow.enabled else " (disabled)"}</h3>']
    if flow.description:
        out.append(f"<p>{esc(flow.description)}</p>")
    lag = f", max lag {flow.max_lag_s:.0f}s" if flow.max_lag_s else ""
    out.append(deflist([("source", flow.source_label), ("target", flow.target_label),
                        ("schedule", (job.schedule or "on demand") + lag), ("record key", flow.mapping["key"])]))
    for title, values in (("source settings", flow.source), ("target settings", flow.target)):
        out.append(f"<details><summary>{title}</summary>"
                   + table(["setting", "value"], [[k, show_value(v)] for k, v in values.items()]) + "</details>")
    rows = [[r["target"], r["source"], r["convert"], r["validation"]] for r in flow.mapping["fields"]]
    out.append(table(["target field", "← source", "converters", "validation"], rows,
                     table_id=f"mapping-{job.name}-{flow.name}"))
    if flow.mapping["other"]:
        out.append("<p>other mapping settings: "
                   + esc(", ".join(f"{k} = {show_value(v)}" for k, v in flow.mapping["other"].items())) + "</p>")
    out.append(_figures(flow.status, links, job.name, flow.name))
    return "".join(out)


def job_html(job: JobDoc, links: bool = False) -> str:
    items = [("owner", job.owner or "not set"), ("schedule", job.schedule or "on demand"), ("job file", job.path)]
    if job.alerts:
        items.append(("alerts", ", ".join(f"{k} = {show_value(v)}" for k, v in job.alerts.items())))
    if job.state_note:
        items.append(("state", job.state_note))
    out = [f'<h2 id="job-{esc(job.name)}">Job {esc(job.name)}</h2>']
    if job.description:
        out.append(f"<p>{esc(job.description)}</p>")
    out.append(deflist(items))
    out.append(svg_diagram([job]))
    out.extend(flow_html(job, flow, links) for flow in job.flows)
    return "".join(out)


def catalog_html(jobs: list[JobDoc], generated: str, *, links: bool = False,
                 nav: list[tuple[str, str]] | None = None) -> str:
    """The whole catalog as one page (``links``: rejects link to the dashboard's pages)."""
    summary = table(["job", "owner", "schedule", "flows"],
                    [[f'<a href="#job-{esc(j.name)}">{esc(j.name)}</a>', j.owner or "", j.schedule or "on demand",
                      ", ".join(f.name for f in j.flows)] for j in jobs], raw_cols=(0,))
    body = (f'<p class="muted">Generated by <code>legacy-bridge catalog</code> on {esc(generated)} from the job '
            f"files and the state store.</p><h2>Systems and flows</h2>{svg_diagram(jobs)}<h2>Jobs</h2>{summary}"
            + "".join(job_html(j, links) for j in jobs))
    return page("Integration catalog", body, nav or [])
