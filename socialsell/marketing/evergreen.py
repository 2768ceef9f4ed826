"""The evergreen pool: posts marked ``--evergreen`` go out again in slots nobody filled.

:func:`fill_empty_slots` looks at each account's empty posting slots in the next days and
puts the best performer there (most engagements across every time that text went out on
that account), never the same text twice within ``[marketing] evergreen_gap`` (default
30 days) before or after the slot. The copy is a new evergreen post with the exact text
previously sent, re-checked against the guardrails and the channel as it is today.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, insert, select

from socialsell.db import schema as t
from socialsell.marketing import guardrails
from socialsell.marketing.posts import initial_status
from socialsell.marketing.slots import empty_slots

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App

D, P, E = t.deliveries, t.posts, t.engagements


def evergreen_gap(app: App) -> timedelta:
    """``[marketing] evergreen_gap``: how long before the same evergreen text may go out again."""
    return timedelta(seconds=app.settings.marketing.evergreen_gap)


def fill_empty_slots(app: App, now: datetime | None = None, days: int = 7, *, account: str | None = None) -> list[dict[str, Any]]:
    """Fill each account's empty slots in the next ``days`` from the evergreen pool.
    Returns what was queued: ``[{"id": post_id, "account", "due_at", "text", "source": post_id}]``."""

    now = now or app.now()
    gap = evergreen_gap(app)
    needs_approval = app.settings.workspace.require_approval
    # the brand's accounts: a rep's own account publishes only their shares (docs/advocacy.md)
    names = [n for n in ([account] if account else [a.name for a in app.workspace.accounts.values() if a.slots])
             if app.workspace.account(n).owner is None]
    queued: list[dict[str, Any]] = []
    for name in names:
        account_id = app.account_id(name)
        channel = app.channel(name)
        with app.db.write() as conn:
            slots = empty_slots(app, conn, name, after=now, until=now + timedelta(days=days))
            if not slots:
                continue
            # every published evergreen text on this account, with its engagements
            rows = conn.execute(
                select(D.c.text, P.c.id.label("post_id"), P.c.campaign_id, func.count(E.c.id).label("n"))
                .join(P, P.c.id == D.c.post_id)
                .outerjoin(E, E.c.delivery_id == D.c.id)
                .where(and_(D.c.account_id == account_id, D.c.status == "published", P.c.evergreen.is_(True)))
                .group_by(D.c.id, D.c.text, P.c.id, P.c.campaign_id)
            ).mappings().all()
            score: dict[str, int] = defaultdict(int)
            source: dict[str, dict[str, Any]] = {}
            for r in rows:
                score[r["text"]] += r["n"]
                source.setdefault(r["text"], dict(r))
            # when each text went (or goes) out on this account
            used: dict[str, list[datetime]] = defaultdict(list)
            for text, due, published in conn.execute(
                select(D.c.text, D.c.due_at, D.c.published_at)
                .where(and_(D.c.account_id == account_id, D.c.status.notin_(("cancelled", "failed", "missed")),
                            D.c.text.in_(list(score))))
            ):
                if published or due:
                    used[text].append(published or due)
            ranked = sorted(score, key=lambda x: (-score[x], source[x]["post_id"]))
            for slot in slots:
                for text in ranked:
                    if any(abs(slot - when) < gap for when in used[text]):
                        continue
                    if guardrails.check(app, text) or channel.validate(text):
                        continue  # the rules changed since: this one may not go out again
                    src = source[text]
                    post_id = conn.execute(insert(P).values(
                        campaign_id=src["campaign_id"], text=text, author=app.actor, evergreen=True,
                        created_at=now, updated_at=now,
                    )).inserted_primary_key[0]
                    conn.execute(insert(D).values(post_id=post_id, account_id=account_id, text=text,
                                                  status=initial_status(slot, needs_approval), due_at=slot,
                                                  attempts=0, updated_at=now))
                    app.record(conn, "post.evergreen", f"post:{post_id}", {"source": src["post_id"], "account": name})
                    used[text].append(slot)
                    queued.append({"id": post_id, "account": name, "due_at": slot, "text": text, "source": src["post_id"]})
                    break
    return queued
