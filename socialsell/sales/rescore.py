"""Scores decay with time, not only when someone engages again.

Ingest scores a contact when they engage; :func:`rescore_open_followups` (the loop's hourly
``rescore`` job) carries the kept points of everyone with an open follow-up to now (decay is
one factor per contact, docs/sales.md "How a score is kept": no history is read), so last
month's keen lead sinks below this week's as days pass. Lifecycle stages are not moved back by
time alone: that is a rep's call (``task done``, ``contact merge``...).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.engine import Connection

from socialsell.db import schema as t
from socialsell.loop import leases
from socialsell.sales.contacts import contact_histories, profile_of
from socialsell.sales.scoring import KeptPoints, icp_lines, score_of
from socialsell.sales.tasks import OPEN, priority

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App


def rescore_open_followups(app: App, worker: str, now: datetime | None = None) -> dict[str, Any]:
    now = now or app.now()
    with leases.held(app.db, "job:rescore", worker, now, 900) as ours:
        if not ours:
            return {"skipped": "another worker is rescoring"}
        # read and written in one transaction, the contacts locked on PostgreSQL as ingest locks
        # them: a poll committing in between cannot have its new points overwritten
        with app.db.write() as conn:
            rows = _open_followups(conn)
            contacts, tasks = _decayed(app, rows, now)
            if contacts:
                _write(conn, contacts, tasks, now)
        return {"rescored": len(contacts), "open": len(rows)}


def _open_followups(conn: Connection) -> list[dict[str, Any]]:
    """Contacts with an open (or snoozed) task: what their score is made of, and the task's."""
    T, C = t.tasks, t.contacts
    query = (select(C.c.id, C.c.headline, C.c.company, C.c.location, C.c.score, C.c.score_points, C.c.scored_at,
                    T.c.id.label("task_id"), T.c.intent.label("task_intent"), T.c.priority.label("task_priority"))
             .join(T, T.c.contact_id == C.c.id).where(T.c.status.in_(OPEN)).order_by(C.c.id))
    if conn.dialect.name != "sqlite":
        query = query.with_for_update(of=C)
    rows = [dict(r) for r in conn.execute(query).mappings()]
    profiles = profile_of(conn, [r["id"] for r in rows])
    unkept = [r["id"] for r in rows if r["scored_at"] is None]  # scored before 0004: once from history
    histories = contact_histories(conn, unkept) if unkept else {}
    for r in rows:
        r["followers"], r["verified"] = profiles.get(r["id"], (None, False))
        if r["scored_at"] is None:
            r["history"] = [(e["points"] or 0.0, e["occurred_at"]) for e in histories.get(r["id"], [])]
    return rows


def _decayed(app: App, rows: list[dict[str, Any]], now: datetime) -> tuple[list[dict], list[dict]]:
    """The contacts and tasks whose score or priority moved."""
    rules = app.settings.leads
    contacts, tasks = [], []
    for r in rows:
        if r["scored_at"] is None:
            kept = KeptPoints(0.0, now).plus(r["history"], now, rules.half_life_days)
            keep = {"b_points": kept.points, "b_at": now}
        else:
            kept = KeptPoints(r["score_points"], r["scored_at"])
            keep = {"b_points": r["score_points"], "b_at": r["scored_at"]}
        score = score_of(kept.to(now, rules.half_life_days), icp_lines(r, rules))
        new_priority = priority(score, bool(r["task_intent"]), rules)
        if score == r["score"] and new_priority == r["task_priority"] and r["scored_at"] is not None:
            continue
        contacts.append({"b_id": r["id"], "b_score": score, **keep})
        tasks.append({"b_id": r["task_id"], "b_score": score, "b_priority": new_priority,
                      "b_moved": new_priority != r["task_priority"]})
    return contacts, tasks


def _write(conn: Connection, contacts: list[dict], tasks: list[dict], now: datetime) -> None:
    T, C = t.tasks, t.contacts
    # the kept points stay as they were (decay is exact from any time) unless they were just
    # computed from the history; the score moves
    conn.execute(update(C).where(C.c.id == bindparam("b_id")).values(
        score=bindparam("b_score"), score_points=bindparam("b_points"), scored_at=bindparam("b_at")), contacts)
    # executemany cannot take IN (...): its list is an "expanding" parameter, which
    # SQLAlchemy refuses with several parameter sets; two equalities say the same
    still_open = or_(T.c.status == "open", T.c.status == "snoozed")
    by_id = and_(T.c.id == bindparam("b_id"), still_open)
    # a priority that moved is a change of the task others see (a CRM sends its version, its
    # updated_at: docs/crm.md); a score decaying by a tenth each hour is not, or every open
    # follow-up would be sent again every hour
    moved = [task for task in tasks if task["b_moved"]]
    decayed = [task for task in tasks if not task["b_moved"]]
    if moved:
        conn.execute(update(T).where(by_id).values(score=bindparam("b_score"), priority=bindparam("b_priority"),
                                                   updated_at=now), moved)
    if decayed:
        conn.execute(update(T).where(by_id).values(score=bindparam("b_score")), decayed)
