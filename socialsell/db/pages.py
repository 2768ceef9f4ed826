"""A page of a list command: the rows shown and how many matched in all.

Every list (``tasks``, ``contacts``, ``post list``, ``deal list``...) shows at most ``--limit``
rows and says on stderr when it cut (socialsell/cli/common.py, ``limit_option`` and
``note_cut``). The total comes from the same query as the rows: a window ``count(*) over ()``
is computed before ``LIMIT`` applies, so a cut list costs no second query.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Select, func
from sqlalchemy.engine import Connection


class Page(list):  # type: ignore[type-arg]
    """The rows of a list, plus ``total``: how many matched before the limit. It is a plain
    list to every caller that does not care about the total."""

    def __init__(self, rows: Iterable[Any] = (), total: int | None = None):
        super().__init__(rows)
        self.total = len(self) if total is None else max(total, len(self))

    @property
    def cut(self) -> bool:
        """True when rows were left out."""
        return len(self) < self.total


def fetch_page(conn: Connection, query: Select[Any], limit: int | None) -> Page:
    """``query``'s rows as tuples, at most ``limit`` of them (None: all), with the total matched.

    The query must already be ordered (a cut list must be the same rows every time: order by
    something unique last, usually the id)."""
    if not limit:
        return Page(tuple(r) for r in conn.execute(query))
    raw = conn.execute(query.add_columns(func.count().over().label("total")).limit(limit)).all()
    return Page((tuple(r[:-1]) for r in raw), raw[0][-1] if raw else 0)


def page_of_dicts(page: Page, columns: Sequence[str]) -> Page:
    """``page``'s tuples as dicts keyed by ``columns`` (in the query's column order)."""
    return Page((dict(zip(columns, r, strict=True)) for r in page), page.total)
