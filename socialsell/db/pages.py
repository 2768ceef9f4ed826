"""A page of a list command: the rows shown and how many matched in all.

Every list (``tasks``, ``contacts``, ``post list``, ``deal list``...) shows at most ``--limit``
rows and says on stderr when it cut (socialsell/cli/common.py, ``limit_option`` and
``note_cut``). The total comes from the same query as the rows, as an uncorrelated scalar
subquery the database runs once: a cut list costs no second round trip. (A window
``count(*) over ()`` would do too, but it makes SQLite materialise every matching row before
the sort, where ``ORDER BY ... LIMIT`` keeps only the top N: on 2,500 open tasks, 28 ms against
18 ms for the subquery, and 10 ms without any count, measured on the benchmark workspace.)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Select, func, select
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


def fetch_page(conn: Connection, query: Select[Any], limit: int | None, *, count: Select[Any] | None = None) -> Page:
    """``query``'s rows as tuples, at most ``limit`` of them (None: all), with the total matched.

    The query must already be ordered (a cut list must be the same rows every time: order by
    something unique last, usually the id). ``count``: a cheaper query with as many rows as
    ``query`` would have without the limit (the same filter without a join that cannot drop a
    row), to count instead of ``query`` itself."""
    if not limit:
        return Page(tuple(r) for r in conn.execute(query))
    counted = (query if count is None else count).order_by(None).subquery()
    total = select(func.count()).select_from(counted).scalar_subquery()
    raw = conn.execute(query.add_columns(total.label("total")).limit(limit)).all()
    return Page((tuple(r[:-1]) for r in raw), raw[0][-1] if raw else 0)


def page_of_dicts(page: Page, columns: Sequence[str]) -> Page:
    """``page``'s tuples as dicts keyed by ``columns`` (in the query's column order)."""
    return Page((dict(zip(columns, r, strict=True)) for r in page), page.total)
