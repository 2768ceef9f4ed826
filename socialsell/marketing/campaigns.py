"""Campaigns: a goal, a period, a persona, channels, a budget, and the posts that serve them.

A post belongs to at most one campaign (``posts.campaign_id``). The campaign's UTM name tags
its links, and its required hashtags and disclaimer are brand guardrails for its posts.
Reach, impressions and engagements come from the latest ``post_metrics`` snapshot of each
delivery and from the ``engagements`` table.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, insert, select
from sqlalchemy.engine import Connection

from socialsell.db import schema as t
from socialsell.errors import NotFound, UsageError
from socialsell.timeparse import check_year, parse_date_end, to_utc

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App



def create_campaign(
    app: App, name: str, *, goal: str | None = None, starts: str | None = None, ends: str | None = None,
    persona: str | None = None, channels: list[str] | None = None, budget: float | None = None,
    utm: str | None = None, hashtags: list[str] | None = None, disclaimer: str | None = None,
) -> dict[str, Any]:
    """Validate and store a campaign. Raises UsageError (and changes nothing) on bad input."""

    name = name.strip()
    if not name or len(name) > 200:
        raise UsageError("a campaign needs a name of 1 to 200 characters")
    for account in channels or []:
        app.workspace.account(account)
    tz = app.workspace.timezone
    starts_on = ends_on = None
    try:
        if starts:
            parsed = datetime.fromisoformat(starts.strip())  # a date alone is its midnight
            try:
                starts_on = check_year(to_utc(parsed, tz) if parsed.tzinfo is None else parsed, starts)
            except OverflowError:
                raise ValueError(f"the date {starts[:60]!r} is out of range") from None
        if ends:
            ends_on = parse_date_end(ends, tz)
    except ValueError as e:
        raise UsageError(f"campaign dates: {e}") from None
    if starts_on and ends_on and ends_on < starts_on:
        raise UsageError(f"--ends {ends} is before --starts {starts}")
    if budget is not None and budget < 0:
        raise UsageError(f"--budget must not be negative, not {budget}")
    utm_name = utm or re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or None
    if utm and not re.fullmatch(r"[A-Za-z0-9._~-]+", utm):
        raise UsageError(f"--utm {utm!r}: use letters, digits, '-', '_', '.' (it goes into links)")
    tags = [h.lstrip("#") for h in (hashtags or [])]
    for h in tags:
        if not re.fullmatch(r"\w+", h):
            raise UsageError(f"--hashtag {h!r}: a hashtag is letters, digits and '_'")
    with app.db.write() as conn:
        if conn.execute(select(t.campaigns.c.id).where(t.campaigns.c.name == name)).first():
            raise UsageError(f"a campaign named {name!r} exists already (see `socialsell campaign show {name}`)")
        campaign_id = conn.execute(insert(t.campaigns).values(
            name=name, goal=goal, persona=persona, starts_on=starts_on, ends_on=ends_on,
            channels=list(channels) if channels else None, budget=budget, utm_campaign=utm_name,
            required_hashtags=tags or None, disclaimer=disclaimer, created_at=app.now(),
        )).inserted_primary_key[0]
        app.record(conn, "campaign.created", f"campaign:{campaign_id}", {"name": name})
    return get_campaign(app, name, with_posts=False)


def list_campaigns(app: App) -> list[dict[str, Any]]:
    campaigns, posts = t.campaigns, t.posts
    with app.db.read() as conn:
        rows = [dict(r) for r in conn.execute(
            select(campaigns).order_by(campaigns.c.starts_on, campaigns.c.id)).mappings()]
        counts = dict(conn.execute(select(posts.c.campaign_id, func.count())
                                   .where(posts.c.campaign_id.is_not(None)).group_by(posts.c.campaign_id)).all())
    for r in rows:
        r["posts"] = counts.get(r["id"], 0)
    return rows


def get_campaign(app: App, name: str, *, with_posts: bool = True) -> dict[str, Any]:
    """The campaign, its posts with per-channel status, and its reach and engagement figures."""
    posts = t.posts
    with app.db.read() as conn:
        row = conn.execute(select(t.campaigns).where(t.campaigns.c.name == name)).mappings().first()
        if row is None:
            raise NotFound(f"no campaign named {name!r} (see `socialsell campaign list`)")
        campaign = dict(row)
        if not with_posts:
            return campaign
        from socialsell.marketing.posts import delivery_rows  # noqa: PLC0415 - `socialsell campaign list` (a read command) does not load socialsell.marketing.posts; kept off its path

        post_rows = [dict(r) for r in conn.execute(
            select(posts.c.id, posts.c.text, posts.c.created_at)
            .where(posts.c.campaign_id == campaign["id"]).order_by(posts.c.id)).mappings()]
        ids = [p["id"] for p in post_rows]
        deliveries = delivery_rows(conn, ids) if ids else []
        delivery_ids = [d["id"] for d in deliveries]
        metrics = _latest_metrics(conn, delivery_ids) if delivery_ids else {}
        engaged = _engagement_counts(conn, delivery_ids) if delivery_ids else {}
    by_post: dict[int, list[dict[str, Any]]] = {p["id"]: [] for p in post_rows}
    totals = {"reach": 0, "impressions": 0, "engagements": 0, "published": 0}
    for d in deliveries:
        m = metrics.get(d["id"], {})
        d["reach"], d["impressions"] = m.get("reach"), m.get("impressions")
        d["engagements"] = engaged.get(d["id"], 0)
        totals["reach"] += d["reach"] or 0
        totals["impressions"] += d["impressions"] or 0
        totals["engagements"] += d["engagements"]
        totals["published"] += d["status"] == "published"
        by_post[d["post_id"]].append(d)
    campaign["posts"] = [{**p, "deliveries": by_post[p["id"]]} for p in post_rows]
    campaign["totals"] = totals
    return campaign


def _latest_metrics(conn: Connection, delivery_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Each delivery's most recent metrics row."""
    metrics = t.post_metrics
    latest = (select(metrics.c.delivery_id, func.max(metrics.c.fetched_at).label("at"))
              .where(metrics.c.delivery_id.in_(delivery_ids)).group_by(metrics.c.delivery_id).subquery())
    rows = conn.execute(select(metrics).join(latest, and_(metrics.c.delivery_id == latest.c.delivery_id,
                                                          metrics.c.fetched_at == latest.c.at))).mappings()
    return {m["delivery_id"]: dict(m) for m in rows}


def _engagement_counts(conn: Connection, delivery_ids: list[int]) -> dict[int, int]:
    """How many engagements each delivery drew."""
    engagements = t.engagements
    return dict(conn.execute(select(engagements.c.delivery_id, func.count())
                             .where(engagements.c.delivery_id.in_(delivery_ids))
                             .group_by(engagements.c.delivery_id)).all())
