"""Small HTML helpers shared by the catalog and the dashboard: one page frame with its CSS
inline (nothing is fetched at view time), tables, and escaping."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1d2430;background:#f6f7f9}
header{background:#1d2430;color:#fff;padding:10px 24px;display:flex;gap:24px;align-items:baseline}
header a{color:#cfe0ff;text-decoration:none;font-size:15px} header b{font-size:18px;margin-right:12px}
main{padding:16px 24px;max-width:1400px}
h1{font-size:22px;margin:8px 0 12px} h2{font-size:18px;margin:22px 0 8px} h3{font-size:15px;margin:16px 0 6px}
table{border-collapse:collapse;background:#fff;margin:6px 0 14px;font-size:14px}
th,td{border:1px solid #d6dae1;padding:5px 9px;text-align:left;vertical-align:top}
th{background:#eceff3;font-weight:600} td.num{text-align:right;font-variant-numeric:tabular-nums}
code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px}
pre{background:#fff;border:1px solid #d6dae1;padding:8px;overflow:auto;white-space:pre-wrap}
.badge{display:inline-block;padding:2px 8px;border-radius:10px;font-weight:600;font-size:13px}
.ok{background:#d9f2df;color:#13632a} .warn{background:#fff1c9;color:#7a5500} .fail{background:#ffd9d9;color:#a00}
tr.fail td{background:#fff3f3} .muted{color:#677} .err{color:#a00;font-size:13px}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 14px;font-size:14px} dt{font-weight:600}
"""


NUM = ' class="num"'


def esc(value: Any) -> str:
    return escape("" if value is None else str(value))


def page(title: str, body: str, nav: Sequence[tuple[str, str]] = ()) -> str:
    links = "".join(f'<a href="{esc(href)}">{esc(label)}</a>' for label, href in nav)
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
            f"<header><b>legacy-bridge</b>{links}</header><main><h1>{esc(title)}</h1>{body}</main></body></html>")


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, raw_cols: Sequence[int] = (),
          row_classes: Sequence[str] | None = None, num_cols: Sequence[int] = (), table_id: str = "") -> str:
    """A table; cells are escaped except in ``raw_cols`` (already HTML)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{esc(row_classes[i])}"' if row_classes and row_classes[i] else ""
        cells = "".join(
            f"<td{NUM if j in num_cols else ''}>{c if j in raw_cols else esc(c)}</td>" for j, c in enumerate(row))
        body.append(f"<tr{cls}>{cells}</tr>")
    ident = f' id="{esc(table_id)}"' if table_id else ""
    return f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def badge(text: str, health: str) -> str:
    return f'<span class="badge {esc(health)}">{esc(text)}</span>'


def deflist(items: Sequence[tuple[str, Any]]) -> str:
    return "<dl>" + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in items) + "</dl>"
