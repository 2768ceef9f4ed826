"""Refreshing post metrics (reach, likes, clicks...) from each channel, for the reports."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, insert, select

from socialsell.db import schema as t
from socialsell.loop import leases
from socialsell.plugins.channel import ChannelError

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App

WINDOW_DAYS = 30


def refresh_metrics(app: App, worker: str, now: datetime | None = None) -> dict[str, Any]:
    now = now or app.now()
    with leases.held(app.db, "job:metrics", worker, now, 600) as ours:
        return _refresh(app, now) if ours else {"skipped": "another worker is refreshing metrics"}


def _refresh(app: App, now: datetime) -> dict[str, Any]:
    """Ask each active account with metrics for its recent published posts' figures."""
    with app.db.read() as conn:
        rows = conn.execute(
            select(t.deliveries.c.id, t.deliveries.c.remote_id, t.accounts.c.name)
            .join(t.accounts, t.accounts.c.id == t.deliveries.c.account_id)
            .where(and_(t.deliveries.c.status == "published", t.accounts.c.status == "active",
                        t.deliveries.c.published_at >= now - timedelta(days=WINDOW_DAYS)))
        ).all()
    by_account: dict[str, dict[str, int]] = defaultdict(dict)
    for delivery_id, remote_id, account in rows:
        by_account[account][remote_id] = delivery_id
    stored, errors = 0, {}
    for account, ids in by_account.items():
        channel = app.channel(account)
        if not channel.capabilities().metrics:
            continue
        try:
            metrics = channel.fetch_metrics(list(ids))
        except ChannelError as e:
            errors[account] = str(e)
            continue
        if metrics:
            with app.db.write() as conn:
                conn.execute(insert(t.post_metrics), [{
                    "delivery_id": ids[m.remote_id], "fetched_at": now, "impressions": m.impressions, "reach": m.reach,
                    "likes": m.likes, "replies": m.replies, "reposts": m.reposts, "quotes": m.quotes,
                    "clicks": m.clicks, "profile_clicks": m.profile_clicks, "extra": m.extra or None,
                } for m in metrics if m.remote_id in ids])
            stored += len(metrics)
    return {"stored": stored, "errors": errors}
