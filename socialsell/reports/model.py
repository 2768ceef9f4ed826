"""What a report section is: named tables of rows, and notes, before any rendering."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Table:
    """One table of a section. Every row is a dict with an ``id`` unique in the report
    (``--format json`` prints the rows as they are)."""

    name: str
    title: str
    columns: list[str]  # the keys of each row shown in a table, in order
    rows: list[dict[str, Any]]
    #: chart kind for the HTML report (``"bar"``, ``"line"``, ``"funnel"``) and its x/y keys
    chart: tuple[str, str, str] | None = None


@dataclass
class Section:
    name: str
    title: str
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # where figures come from, what "n/a" means

    def table(self, name: str) -> Table:
        return next(t for t in self.tables if t.name == name)


def row(section: str, table: str, key: object, **values: Any) -> dict[str, Any]:
    """A row with its report-wide id, e.g. ``marketing.channel.sandbox``."""
    return {"id": f"{section}.{table}.{key}", **values}


def ratio(part: float | None, whole: float | None, digits: int = 3) -> float | None:
    """``part / whole`` rounded, or None when the whole is zero or unknown."""
    if part is None or not whole:
        return None
    return round(part / whole, digits)
