"""Scores decay with time, not only when someone engages again.

Ingest scores a contact when they engage; :func:`rescore_open_followups` (the loop's
``rescore`` job) recomputes the recency-decayed score of everyone with an open follow-up, so
last month's keen lead sinks below this week's as days pass. Lifecycle stages are not moved
back by time alone: that is a rep's call (``task done``, ``contact merge``...).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, bindparam, case, func, or_, select, update

from socialsell.db import schema as t
from socialsell.loop import leases
from socialsell.sales.ingest import contact_histories, priority
from socialsell.sales.scoring import contact_score
from socialsell.sales.tasks import OPEN

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App


def rescore_open_followups(app: App, worker: str, now: datetime | None = None) -> dict[str, Any]:
    now = now or app.now()
    if not leases.acquire(app.db, "job:rescore", worker, now, 900):
        return {"skipped": "another worker is rescoring"}
    try:
        rules = app.settings.leads
        T, C, H = t.tasks, t.contacts, t.handles
        with app.db.read() as conn:
            rows = [dict(r) for r in conn.execute(
                select(C, T.c.id.label("task_id"), T.c.intent.label("task_intent"), T.c.score.label("task_score"),
                       T.c.priority.label("task_priority"))
                .join(T, T.c.contact_id == C.c.id).where(T.c.status.in_(OPEN))
            ).mappings()]
            ids = [r["id"] for r in rows]
            histories = contact_histories(conn, ids)
            people = {cid: (f, v) for cid, f, v in conn.execute(
                select(H.c.contact_id, func.max(H.c.followers), func.max(case((H.c.verified, 1), else_=0)))
                .where(H.c.contact_id.in_(ids)).group_by(H.c.contact_id)
            ).all()} if ids else {}
        contacts, tasks = [], []
        for r in rows:
            r["followers"], verified = people.get(r["id"], (None, 0))
            r["verified"] = bool(verified)
            score, explained = contact_score(r, histories.get(r["id"], []), rules, now)
            new_priority = priority(score, bool(r["task_intent"]), rules)
            if score == r["score"] and new_priority == r["task_priority"]:
                continue
            contacts.append({"b_id": r["id"], "b_score": score, "b_explained": explained})
            tasks.append({"b_id": r["task_id"], "b_score": score, "b_priority": new_priority})
        if contacts:
            with app.db.write() as conn:
                conn.execute(update(C).where(C.c.id == bindparam("b_id"))
                             .values(score=bindparam("b_score"), score_explained=bindparam("b_explained")), contacts)
                # executemany cannot take IN (...): its list is an "expanding" parameter, which
                # SQLAlchemy refuses with several parameter sets; two equalities say the same
                still_open = or_(T.c.status == "open", T.c.status == "snoozed")
                conn.execute(update(T).where(and_(T.c.id == bindparam("b_id"), still_open))
                             .values(score=bindparam("b_score"), priority=bindparam("b_priority")), tasks)
        return {"rescored": len(contacts), "open": len(rows)}
    finally:
        leases.release(app.db, "job:rescore", worker)
