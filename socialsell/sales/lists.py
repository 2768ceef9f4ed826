"""The rep's lists, ``tasks`` and ``contacts``: what the read commands run.

Apart from the rest of the sales domain on purpose: scoring, deals, routing, finding and
merging people (sales/tasks.py, sales/contacts.py, and what they import) cost ~5 ms at import
(``-X importtime``) that ``tasks --json`` and ``contacts --json`` never use (docs/architecture.md
"Targets", bench/bench_read.py). sales/tasks.py and sales/contacts.py re-export these names.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, func, or_, select

from socialsell.db import schema as t
from socialsell.db.pages import Page, fetch_page, page_of_dicts

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App

OPEN = ("open", "snoozed")
DUE_SOON = timedelta(hours=4)


def first_touch_deadline() -> Any:
    """SQL: the first-touch deadline, ``sla_due_at`` (set when the follow-up opens, tightened by
    intent, never moved by a next step: migration 0005); the due time where none is stored (a
    follow-up given a next step before 0005). The report judges first touches by the same
    column (docs/reports.md)."""
    return func.coalesce(t.tasks.c.sla_due_at, t.tasks.c.due_at)


def overdue_clause(now: datetime):
    """SQL: the task is past due. Before the first response it is late once its due time or its
    first-touch deadline has passed (a next step given before the first touch moves the due
    time, never the deadline); after it, only a next step can be missed (a task replied to with
    no next step is waiting, not late). ``list_tasks``, the SLA job and the digest all use this
    one definition (:func:`is_overdue` for a row already read)."""
    T = t.tasks
    untouched = T.c.first_response_at.is_(None)
    return and_(T.c.status == "open", or_(
        and_(untouched, or_(T.c.due_at < now, first_touch_deadline() < now)),
        and_(T.c.next_step_due.is_not(None), T.c.due_at < now)))


def is_overdue(task: dict[str, Any], now: datetime) -> bool:
    """:func:`overdue_clause` for one task row already read (with its ``sla_due_at``,
    ``first_response_at`` and ``next_step_due``)."""
    if task["status"] != "open":
        return False
    if task.get("first_response_at") is None:
        return task["due_at"] < now or (task.get("sla_due_at") or task["due_at"]) < now
    return task.get("next_step_due") is not None and task["due_at"] < now


def list_tasks(app: App, *, owner: str | None = None, all_owners: bool = False, overdue: bool = False,
               include_snoozed: bool = False, now: datetime | None = None, limit: int | None = None) -> Page:
    """Open tasks, most urgent first: overdue, then due soonest, then highest score; at most
    ``limit`` (None: all), with ``total`` the number of matching tasks."""
    now = now or app.now()
    T, C = t.tasks, t.contacts
    which = [T.c.status.in_(OPEN) if include_snoozed else T.c.status == "open"]
    if not all_owners:
        which.append(T.c.owner == (owner or app.actor))
    if overdue:
        which.append(overdue_clause(now))
    # overdue first, then due within the next hours, then the rest, and last the tasks answered
    # with no next step (waiting on the other side); inside each band the highest priority
    # (intent) and the best score lead, and the earliest due time breaks ties
    waiting = and_(T.c.first_response_at.is_not(None), T.c.next_step_due.is_(None))
    band = case((overdue_clause(now), 0), (waiting, 3), (T.c.due_at < now + DUE_SOON, 1), else_=2)
    most_urgent_first = (band, T.c.priority, T.c.score.desc(), T.c.due_at, T.c.id)
    matching = select(T.c.id).where(*which)
    q = (
        select(T.c.id, T.c.owner, T.c.status, T.c.priority, T.c.score, T.c.reason, T.c.intent, T.c.due_at,
               T.c.snoozed_until, T.c.created_at, T.c.contact_id, C.c.display_name, C.c.headline, C.c.company,
               C.c.stage, T.c.first_response_at, T.c.first_response_kind, T.c.next_step, T.c.next_step_due,
               T.c.sla_due_at)
        .join(C, C.c.id == T.c.contact_id).where(*which)
        .order_by(*most_urgent_first)
    )
    if limit:
        # the page's tasks are picked on the tasks alone, then joined to their contacts: joined
        # first, SQLite looks up the contact of every matching task before it sorts and cuts
        # (2,500 for alice on the benchmark workspace: 5.3 ms, against 1.8 ms picked first)
        q = q.where(T.c.id.in_(matching.order_by(*most_urgent_first).limit(limit)))
    with app.db.read() as conn:
        # plain tuples, not mappings: this is the hot read path (`tasks --json`, docs/architecture.md "Targets")
        # counted on the tasks alone (every task has its contact): the owner/status index
        # answers it in 0.2 ms where counting the join costs as much as the page (2,500 tasks)
        raw = fetch_page(conn, q, limit, count=matching)
        handles = handles_of(conn, {r[10] for r in raw})
    rows = Page((), raw.total)
    for (id_, owner_, status, prio, score, reason, intent, due, snoozed, created, cid, name, headline, company,
         stage, responded, responded_kind, next_step, next_due, sla_due) in raw:
        row = {
            "id": id_, "owner": owner_, "status": status, "priority": prio, "score": score, "reason": reason,
            "intent": intent, "due_at": due, "snoozed_until": snoozed, "created_at": created,
            "first_response_at": responded, "first_response_kind": responded_kind,
            "next_step": next_step, "next_step_due": next_due, "sla_due_at": sla_due,
            "contact": {"id": cid, "name": name, "headline": headline, "company": company, "stage": stage,
                        "handles": handles.get(cid, [])},
        }
        rows.append({**row, "overdue": is_overdue(row, now)})
    return rows


def list_contacts(app: App, *, stage: str | None = None, owner: str | None = None, limit: int | None = None) -> Page:
    """Contacts best first (score, then id), at most ``limit`` (None: all), each with its handles;
    ``total`` is how many match."""
    C = t.contacts
    columns = ("id", "display_name", "headline", "company", "stage", "owner", "score", "last_seen_at")
    q = select(*(C.c[name] for name in columns)).where(C.c.merged_into.is_(None)).order_by(C.c.score.desc(), C.c.id)
    if stage:
        q = q.where(C.c.stage == stage)
    if owner:
        q = q.where(C.c.owner == owner)
    with app.db.read() as conn:
        rows = page_of_dicts(fetch_page(conn, q, limit), columns)
        handles = handles_of(conn, [r["id"] for r in rows])
    for r in rows:
        r["handles"] = handles.get(r["id"], [])
    return rows


#: ids per ``IN (...)``: under SQLite's oldest limit of 999 bound parameters
IDS_PER_QUERY = 900


def handles_of(conn, contact_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    """Each contact's handles (channel, handle, profile link), in the order they were first seen.

    Looked up by the ids of the page already read, never by re-running the list's query: one
    query for a page (issue 14: the handles query re-ran the main join)."""
    H = t.handles
    ids = sorted(set(contact_ids))
    handles: dict[int, list[dict[str, Any]]] = {}
    for i in range(0, len(ids), IDS_PER_QUERY):
        q = select(H.c.contact_id, H.c.channel, H.c.handle, H.c.profile_url)\
            .where(H.c.contact_id.in_(ids[i:i + IDS_PER_QUERY])).order_by(H.c.id)
        for cid, channel, handle, url in conn.execute(q):
            handles.setdefault(cid, []).append({"channel": channel, "handle": handle, "profile_url": url})
    return handles
