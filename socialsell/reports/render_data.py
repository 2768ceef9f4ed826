"""``--format json`` and ``--format csv``: the report's rows as data.

JSON is a list of objects, each with an ``id`` (like every ``--json``), its ``section`` and
``table``; the first object describes the scope. CSV is one rectangular table with the same
rows; every text cell that a spreadsheet would run as a formula (starting with ``=``, ``+``,
``-``, ``@``, tab or carriage return) gets a leading single quote (docs/reports.md).
"""

from __future__ import annotations

import csv
import io
from typing import Any

from socialsell.reports.model import Section
from socialsell.reports.scope import Scope

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def report_rows(sections: list[Section], scope: Scope) -> list[dict[str, Any]]:
    """Every row of every table, tagged with its section and table, after one row for the scope."""
    rows: list[dict[str, Any]] = [{"id": "report.scope", "section": "report", "table": "scope", **scope.as_dict()}]
    for section in sections:
        for table in section.tables:
            rows.extend({"id": r["id"], "section": section.name, "table": table.name,
                         **{k: v for k, v in r.items() if k != "id"}} for r in table.rows)
    return rows


def neutralise(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula, made inert with a leading quote."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def render_csv(sections: list[Section], scope: Scope) -> str:
    rows = report_rows(sections, scope)
    columns: dict[str, None] = {}
    for r in rows:
        columns.update(dict.fromkeys(r))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: neutralise(v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()})
    return out.getvalue()
