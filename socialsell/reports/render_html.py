"""``--format html``: one self-contained file that opens offline.

Charts are drawn by matplotlib into inline SVG (no JavaScript, no fonts to fetch: text is drawn
as paths), chosen over plotly's inlined 4.8 MB bundle and altair's converter by size and import
cost (docs/reports.md). matplotlib is imported here only, so ``--format json`` never pays for it.
"""

from __future__ import annotations

import html
import io
import re
from typing import Any

import matplotlib
from matplotlib.figure import Figure

from socialsell.reports.formatting import cell, label
from socialsell.reports.model import Section, Table
from socialsell.reports.scope import Scope

matplotlib.rcParams["svg.fonttype"] = "path"  # glyphs as paths: the file needs no font
matplotlib.rcParams["svg.hashsalt"] = "socialsell"  # stable ids: the same report makes the same file

STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:960px;color:#222}
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ccc}h3{font-size:1.05em;margin-bottom:.3em}
table{border-collapse:collapse;margin:.5em 0 1em;font-size:.9em}
th,td{padding:.2em .6em;border-bottom:1px solid #eee;text-align:right}
th:first-child,td:first-child{text-align:left}td.text{text-align:left}
figure.chart{margin:1em 0}figure.chart svg{max-width:100%;height:auto}
p.note{color:#666;font-size:.85em}
"""


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def chart_svg(table: Table) -> str | None:
    """The table's chart as inline SVG, or None when there is nothing to draw."""
    if table.chart is None:
        return None
    kind, x, y = table.chart
    points = [(str(r[x]), _number(r.get(y))) for r in table.rows]
    points = [(k, v) for k, v in points if v is not None]
    if not points:
        return None
    fig = Figure(figsize=(7.5, 2.8), dpi=100)
    ax = fig.subplots()
    labels, values = [p[0] for p in points], [p[1] for p in points]
    if kind == "line":
        ax.plot(labels, values, marker="o", color="#2b6cb0")
    elif kind == "funnel":
        ax.barh(labels[::-1], values[::-1], color="#2f855a")
    else:
        ax.bar(labels, values, color="#2b6cb0")
    ax.set_title(f"{table.title}: {label(y)}", fontsize=10, loc="left")
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=8)
    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]  # no XML declaration or DOCTYPE (which names a URL) inside HTML
    # inline SVG in HTML needs neither the RDF metadata block nor namespace declarations, and
    # without them no URL is left in the file (not even one that is never fetched)
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
    head, rest = svg.split(">", 1)
    return re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", head) + ">" + rest


def _table_html(table: Table) -> str:
    head = "".join(f"<th>{html.escape(label(c))}</th>" for c in table.columns)
    body = []
    for r in table.rows:
        cells = []
        for c in table.columns:
            value = r.get(c)
            kind = "text" if isinstance(value, str) else "num"
            cells.append(f'<td class="{kind}">{html.escape(cell(c, value, r))}</td>')
        body.append(f'<tr data-id="{html.escape(str(r["id"]))}">' + "".join(cells) + "</tr>")
    return f'<table data-table="{html.escape(table.name)}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def render_html(sections: list[Section], scope: Scope, title: str = "socialsell report") -> str:
    tz = scope.tz
    period = f"{scope.since.astimezone(tz):%Y-%m-%d} .. {scope.until.astimezone(tz):%Y-%m-%d %H:%M} ({tz.key})"
    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
             f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1><p>{html.escape(period)}</p>"]
    for section in sections:
        parts.append(f'<section id="{html.escape(section.name)}"><h2>{html.escape(section.title)}</h2>')
        for table in section.tables:
            parts.append(f"<h3>{html.escape(table.title)}</h3>")
            svg = chart_svg(table)
            if svg:
                parts.append(f'<figure class="chart" data-chart="{html.escape(section.name)}.{html.escape(table.name)}">'
                             f"{svg}</figure>")
            parts.append(_table_html(table) if table.rows else "<p>none</p>")
        parts.extend(f'<p class="note">{html.escape(n)}</p>' for n in section.notes)
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)
