"""Find a contact (or its task) from what a rep types: an id, ``@handle``, a name or a company.

Case- and accent-insensitive ("jose" finds "José"). An exact handle, name, name word or company
wins; otherwise rapidfuzz's ``WRatio`` ranks the names, handles and companies (typos, word
order, partial names), and only a clear best match is taken. Several equally good matches are
refused with a short list, exit 2: the rep picks the id.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, select

from socialsell.db import schema as t
from socialsell.errors import NotFound, UsageError
from socialsell.sales import (
    tasks,  # the module, not its names: tasks imports contacts, which imports this
)

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App

FUZZY_FLOOR = 85  # WRatio below this is not the person (measured on the demo's names: typos score 86-95)
SHORT_LIST = 5


def fold(text: str | None) -> str:
    """Lower case without accents: ``"José Núñez"`` -> ``"jose nunez"``."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return " ".join("".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold().split())


def _candidates(conn) -> dict[int, dict[str, Any]]:
    C, H = t.contacts, t.handles
    people = {r["id"]: {**dict(r), "handles": []} for r in conn.execute(
        select(C.c.id, C.c.display_name, C.c.company, C.c.owner).where(C.c.merged_into.is_(None))).mappings()}
    for cid, handle in conn.execute(select(H.c.contact_id, H.c.handle)):
        if cid in people:
            people[cid]["handles"].append(handle)
    return people


def _label(p: dict[str, Any]) -> str:
    extra = ", ".join(x for x in (p["company"], *p["handles"][:1]) if x)
    return f"#{p['id']} {p['display_name'] or '-'}" + (f" ({extra})" if extra else "")


def _one(ref: str, ids: list[int], people: dict[int, dict[str, Any]]) -> int:
    if len(ids) == 1:
        return ids[0]
    shown = "; ".join(_label(people[i]) for i in ids[:SHORT_LIST]) + (f"; and {len(ids) - SHORT_LIST} more" if len(ids) > SHORT_LIST else "")
    raise UsageError(f"{ref!r} matches {len(ids)} contacts: {shown} (give the id)")


MAX_ID = 2**63 - 1  # the largest id either database stores (BIGINT)


def _id(digits: str, what: str) -> int:
    n = int(digits[:30]) if len(digits) <= 30 else MAX_ID + 1
    if n < 1:
        raise UsageError(f"{what} id must be positive, not {n}")
    if n > MAX_ID:
        raise UsageError(f"{what} id {digits[:30]} is too large (no such {what})")
    return n


def find_contact(app: App, ref: str) -> int:
    """The contact id for ``ref``: ``12``, ``#12``, ``@dana``, ``dana``, ``Dana Whitfield``, ``northwind``."""
    text = (ref or "").strip()
    digits = text.lstrip("#")
    if digits.isdigit():
        return _id(digits, "contact")
    query = fold(text.lstrip("@"))
    if not query:
        raise UsageError("which contact? give an id, @handle, name or company")
    with app.db.read() as conn:
        people = _candidates(conn)
    by_handle = sorted(i for i, p in people.items() if any(fold(h.lstrip("@")) == query for h in p["handles"]))
    if by_handle and text.startswith("@"):  # "@dana" is a handle; "dana" may be a handle or a name
        return _one(ref, by_handle, people)
    exact = sorted(set(by_handle) | {i for i, p in people.items()
                                     if query in (fold(p["display_name"]), fold(p["company"]))
                                     or query in fold(p["display_name"]).split()})
    if exact:
        return _one(ref, exact, people)
    choices: dict[tuple[int, int], str] = {}
    for i, p in people.items():
        for n, value in enumerate((p["display_name"], p["company"], *(h.lstrip("@") for h in p["handles"]))):
            if value:
                choices[(i, n)] = fold(value)
    # imported here: rapidfuzz costs ~10 ms at import (-X importtime, bench/bench_read.py), and
    # `tasks` and `contacts` import this module (through sales.contacts) but never match by name
    from rapidfuzz import fuzz, process, utils  # noqa: PLC0415 - rapidfuzz only to match a name (tests/test_startup.py keeps it off tasks and contacts)

    best: dict[int, float] = {}
    for _, score, (cid, _n) in process.extract(query, choices, scorer=fuzz.WRatio, processor=utils.default_process,
                                               score_cutoff=FUZZY_FLOOR, limit=50):
        best[cid] = max(best.get(cid, 0.0), score)
    if not best:
        raise NotFound(f"no contact matches {ref!r} (see `socialsell contacts`)")
    top = max(best.values())
    close = sorted((i for i, s in best.items() if s >= top - 3), key=lambda i: (-best[i], i))
    return _one(ref, close, people)


def find_task(app: App, ref: str) -> int:
    """The task id for ``ref``: a task id, or a contact (``@dana``, ``dana``) whose open task,
    else latest task, is meant."""
    text = (ref or "").strip()
    if text.lstrip("#").isdigit():
        return _id(text.lstrip("#"), "task")
    contact_id = find_contact(app, text)
    T = t.tasks
    with app.db.read() as conn:
        row = conn.execute(select(T.c.id).where(and_(T.c.contact_id == contact_id, T.c.status.in_(tasks.OPEN)))
                           .order_by(T.c.id.desc()).limit(1)).first() \
            or conn.execute(select(T.c.id).where(T.c.contact_id == contact_id).order_by(T.c.id.desc()).limit(1)).first()
    if row is None:
        raise NotFound(f"contact {contact_id} ({ref}) has no task")
    return row[0]
