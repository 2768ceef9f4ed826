"""Recurring posts: ``post new --repeat 7d [--until DATE | --count N]``.

A recurring post is stored once, as the first occurrence, with ``posts.recurrence``
(``{"every": "7d", "until": iso, "count": n}``). Each later occurrence is its own post
(``recurrence_parent_id`` = the first) with its own deliveries, created only once the latest
occurrence has been published somewhere — never ahead of time. So the queue shows one
occurrence at a time, cancelling a series is cancelling its latest occurrence (nothing
more is created after a cancelled or failed occurrence), and an edit to the latest
occurrence carries over to the next ones.

The loop calls :func:`schedule_next_occurrences` after publishing; it is idempotent and
safe with several workers (the series' first post is locked while its next one is made).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, insert, or_, select

from socialsell.db import schema as t
from socialsell.timeparse import add_interval

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App

D, P = t.deliveries, t.posts
log = logging.getLogger("socialsell.recurring")


def schedule_next_occurrences(app: App, now: datetime | None = None) -> list[int]:
    """Create the next occurrence of every recurring series whose latest occurrence has been
    published. Returns the new post ids. Safe to call any number of times."""
    now = now or app.now()
    with app.db.read() as conn:
        roots = [r for (r,) in conn.execute(select(P.c.id).where(and_(P.c.recurrence.is_not(None),
                                                                      P.c.recurrence_parent_id.is_(None))))]
    created = []
    for root in roots:
        try:
            new_id = _next(app, root, now)
        except (ValueError, OverflowError) as e:
            # a rule stored before input was bounded (`--repeat 99999999999w`): that series stops,
            # the others go on (one bad series must not stop every recurring post)
            log.warning("recurring post %s: its rule cannot give a next time (%s); the series stops", root, e)
            continue
        if new_id is not None:
            created.append(new_id)
    return created


def _next(app: App, root_id: int, now: datetime) -> int | None:
    tz = app.workspace.timezone
    with app.db.write() as conn:
        # lock the series: two workers must not both make the next occurrence
        root = conn.execute(select(P).where(P.c.id == root_id).with_for_update()).mappings().first()
        if root is None or not root["recurrence"]:
            return None
        rec: dict[str, Any] = root["recurrence"]
        occurrences = [r for (r,) in conn.execute(
            select(P.c.id).where(or_(P.c.id == root_id, P.c.recurrence_parent_id == root_id)).order_by(P.c.id))]
        if rec.get("count") and len(occurrences) >= int(rec["count"]):
            return None
        latest_id = occurrences[-1]
        # the brand's deliveries only: a rep's share of an occurrence is theirs to repeat (docs/advocacy.md)
        latest = conn.execute(select(D).where(D.c.post_id == latest_id, D.c.id.not_in(select(t.shares.c.delivery_id)))
                              .order_by(D.c.id)).mappings().all()
        if not any(d["status"] == "published" for d in latest):
            return None  # not yet (or never: cancelled / failed stops the series)
        until = datetime.fromisoformat(rec["until"]) if rec.get("until") else None
        plan = []
        for d in latest:
            if d["status"] in ("cancelled",) or d["due_at"] is None:
                continue
            due = add_interval(d["due_at"], rec["every"], tz)
            while due <= now:  # the loop was down for a whole period: do not post a backlog
                due = add_interval(due, rec["every"], tz)
            if until is not None and due > until:
                continue
            plan.append((d, due))
        if not plan:
            return None
        latest_post = conn.execute(select(P).where(P.c.id == latest_id)).mappings().one()
        new_id = conn.execute(insert(P).values(
            campaign_id=latest_post["campaign_id"], template=latest_post["template"],
            variables=latest_post["variables"], text=latest_post["text"], link=latest_post["link"],
            media=latest_post["media"], author=latest_post["author"], recurrence=None,
            recurrence_parent_id=root_id, evergreen=latest_post["evergreen"],
            shareable=latest_post["shareable"], suggested_comment=latest_post["suggested_comment"],
            approved_by=latest_post["approved_by"], approved_at=latest_post["approved_at"],
            created_at=now, updated_at=now,
        )).inserted_primary_key[0]
        for d, due in plan:
            conn.execute(insert(D).values(post_id=new_id, account_id=d["account_id"], text=d["text"],
                                          status="scheduled", due_at=due, attempts=0, updated_at=now))
        app.record(conn, "post.recurred", f"post:{new_id}", {"series": root_id, "occurrence": len(occurrences) + 1})
    return new_id
