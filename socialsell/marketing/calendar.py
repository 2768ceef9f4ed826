"""The posting calendar (``socialsell queue``): deliveries by day and account, and free slots.

One query bounded by time, so the calendar stays fast on a large database, and no channel
is built (read-only commands never import a network library).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from itertools import takewhile
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_, select

from socialsell.db import schema as t
from socialsell.marketing.posts import UNSENT, account_paused
from socialsell.marketing.slots import slot_rules
from socialsell.timeparse import to_utc, upcoming_slots

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App

def calendar(app: App, *, account: str | None = None, days: int = 14) -> tuple[list[dict[str, Any]], dict[str, list[datetime]]]:
    """Deliveries from the start of today (local) to ``days`` ahead, any status but cancelled,
    plus unscheduled unsent ones; and each account's free slots in that period."""

    tz = app.workspace.timezone
    now = app.now()
    start = to_utc(datetime.combine(now.astimezone(tz).date(), time(0)), tz)
    horizon = now + timedelta(days=days)
    if account:
        app.workspace.account(account)
    D, A = t.deliveries, t.accounts
    when = D.c.published_at.label("published_at")
    q = (
        select(D.c.post_id.label("id"), D.c.id.label("delivery"), A.c.name.label("account"), A.c.channel,
               D.c.status, D.c.due_at, when, D.c.text, D.c.error, account_paused())
        .join(A, A.c.id == D.c.account_id)
        .where(and_(D.c.status != "cancelled", or_(
            and_(D.c.due_at >= start, D.c.due_at <= horizon),
            and_(D.c.due_at.is_(None), D.c.status.in_(UNSENT)),
            and_(D.c.due_at < start, D.c.status.in_(UNSENT)),  # overdue and still unsent
        )))
    )
    if account:
        q = q.where(A.c.name == account)
    with app.db.read() as conn:
        rows = [dict(r) for r in conn.execute(q).mappings()]
    rows.sort(key=lambda r: (r["due_at"] is None, r["due_at"] or now, r["account"], r["id"]))
    taken: dict[str, set[datetime]] = {}
    for r in rows:
        if r["due_at"] is not None and r["status"] not in ("failed", "missed"):
            taken.setdefault(r["account"], set()).add(r["due_at"])
    free: dict[str, list[datetime]] = {}
    for name in [account] if account else list(app.workspace.accounts):
        rules = slot_rules(app, name)
        if rules:
            free[name] = [at for at in takewhile(lambda x: x <= horizon, upcoming_slots(rules, now, tz, limit=1000))
                          if at not in taken.get(name, set())]
    return rows, free
