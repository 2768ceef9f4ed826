"""The default ``socialsell report`` output: rich tables that fit the terminal (80 columns when
it is not one)."""

from __future__ import annotations

import io
import shutil

from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

from socialsell.reports.formatting import cell, label
from socialsell.reports.model import Section
from socialsell.reports.scope import Scope


def render_text(sections: list[Section], scope: Scope, width: int | None = None) -> str:
    """Every section as titled tables, with its notes; empty tables say so in one line."""
    out = io.StringIO()
    console = Console(file=out, width=width or shutil.get_terminal_size((80, 24)).columns, soft_wrap=False,
                      color_system=None)
    tz = scope.tz
    console.print(f"Report {scope.since.astimezone(tz):%Y-%m-%d} .. {scope.until.astimezone(tz):%Y-%m-%d %H:%M}"
                  + "".join(f", {k} {v}" for k, v in (("campaign", scope.campaign), ("channel", scope.channel),
                                                      ("owner", scope.owner)) if v), markup=False)
    for section in sections:
        console.print()
        console.print(section.title.upper(), markup=False)
        for table in section.tables:
            if not table.rows:
                console.print(f"{table.title}: none", markup=False)
                continue
            rich = RichTable(title=table.title, title_justify="left", show_edge=False, header_style="bold", pad_edge=False)
            for c in table.columns:
                rich.add_column(label(c), overflow="fold", justify="left" if c in table.columns[:1] else "right"
                                if not isinstance(table.rows[0].get(c), str) else "left")
            for r in table.rows:
                rich.add_row(*(Text(cell(c, r.get(c), r)) for c in table.columns))  # never markup
            console.print(rich)
        for note in section.notes:
            console.print(note, style="dim", markup=False)
    return out.getvalue()
