"""Contacts: one per person, with their handles on every channel, history and score."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from socialsell.db import schema as t
from socialsell.errors import NotFound

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App


def list_contacts(app: App, *, stage: str | None = None, owner: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    C = t.contacts
    q = select(C.c.id, C.c.display_name, C.c.headline, C.c.company, C.c.stage, C.c.owner, C.c.score, C.c.last_seen_at)\
        .where(C.c.merged_into.is_(None)).order_by(C.c.score.desc(), C.c.id)
    if stage:
        q = q.where(C.c.stage == stage)
    if owner:
        q = q.where(C.c.owner == owner)
    if limit:
        q = q.limit(limit)
    with app.db.read() as conn:
        rows = [dict(r) for r in conn.execute(q).mappings()]
        ids = [r["id"] for r in rows]
        handles: dict[int, list[dict[str, Any]]] = {}
        for i in range(0, len(ids), 900):
            for h in conn.execute(select(t.handles.c.contact_id, t.handles.c.channel, t.handles.c.handle)
                                  .where(t.handles.c.contact_id.in_(ids[i:i + 900]))).mappings():
                handles.setdefault(h["contact_id"], []).append({"channel": h["channel"], "handle": h["handle"]})
    for r in rows:
        r["handles"] = handles.get(r["id"], [])
    return rows


def contact_detail(app: App, contact_id: int) -> dict[str, Any]:
    with app.db.read() as conn:
        row = conn.execute(select(t.contacts).where(t.contacts.c.id == contact_id)).mappings().first()
        if row is None:
            raise NotFound(f"no contact with id {contact_id} (see `socialsell contacts`)")
        c = dict(row)
        c["handles"] = [dict(h) for h in conn.execute(
            select(t.handles.c.channel, t.handles.c.handle, t.handles.c.name, t.handles.c.profile_url,
                   t.handles.c.headline, t.handles.c.followers)
            .where(t.handles.c.contact_id == contact_id)).mappings()]
        c["engagement_count"] = conn.execute(select(func.count()).select_from(t.engagements)
                                             .where(t.engagements.c.contact_id == contact_id)).scalar()
        c["history"] = [dict(r) for r in conn.execute(
            select(t.engagements.c.kind, t.engagements.c.text, t.engagements.c.occurred_at, t.engagements.c.points,
                   t.accounts.c.name.label("account"))
            .join(t.accounts, t.accounts.c.id == t.engagements.c.account_id)
            .where(t.engagements.c.contact_id == contact_id)
            .order_by(t.engagements.c.occurred_at.desc()).limit(50)).mappings()]
        c["notes"] = [dict(r) for r in conn.execute(
            select(t.notes.c.kind, t.notes.c.text, t.notes.c.author, t.notes.c.created_at)
            .where(t.notes.c.contact_id == contact_id).order_by(t.notes.c.created_at.desc())).mappings()]
        c["tasks"] = [dict(r) for r in conn.execute(
            select(t.tasks.c.id, t.tasks.c.status, t.tasks.c.owner, t.tasks.c.outcome, t.tasks.c.amount, t.tasks.c.created_at)
            .where(t.tasks.c.contact_id == contact_id).order_by(t.tasks.c.created_at.desc())).mappings()]
    return c
