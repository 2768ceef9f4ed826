"""Posts and their per-channel deliveries: create, list, approve, cancel, retry.

A post is what the marketer wrote; a delivery is that post on one channel account, with
the exact text for that network (as previewed) and its own status. Status lives on the
delivery, so "X published, LinkedIn failed" is visible as exactly that.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, insert, select, update

from socialsell.db import schema as t
from socialsell.errors import NotFound, UsageError

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App

STATUSES = (
    "draft", "approved", "scheduled", "sending", "unknown", "published",
    "failed", "missed", "needs_attention", "cancelled",
)  # fmt: skip
OPEN_STATUSES = ("draft", "approved", "scheduled")
FINAL_STATUSES = ("published", "failed", "missed", "needs_attention", "cancelled")


@dataclass
class Draft:
    """One channel's text for a new post, validated."""

    account: str
    text: str
    length: int
    limit: int


def render_for_accounts(
    app: App, accounts: Sequence[str], *, text: str | None, template: str | None, variables: dict[str, Any],
    campaign: dict[str, Any] | None = None,
) -> list[Draft]:
    """The exact text each account would post, checked against its channel and the guardrails."""
    from socialsell.marketing import guardrails
    from socialsell.marketing.templates import find_template, render

    if not accounts:
        raise UsageError("name at least one channel account with --channel")
    if (text is None) == (template is None):
        raise UsageError("give either --text or --template")
    tmpl = find_template(template, app.workspace.root) if template else None
    drafts = []
    for name in dict.fromkeys(accounts):
        channel = app.channel(name)
        body = render(tmpl, variables, channel_type=channel.name, account=name) if tmpl else text
        assert body is not None
        body = guardrails.apply(app, body, channel=channel, account=name, campaign=campaign)
        prepared = channel.prepare(body)
        problems = channel.validate(body) + guardrails.check(app, body, campaign=campaign)
        if problems:
            raise UsageError(f"{name}: {problems[0]}")
        drafts.append(Draft(account=name, text=prepared, length=channel.measure(body), limit=channel.max_length))
    return drafts


def create_post(
    app: App,
    *,
    accounts: Sequence[str],
    text: str | None = None,
    template: str | None = None,
    variables: dict[str, Any] | None = None,
    at: datetime | None = None,
    queue: bool = False,
    campaign: str | None = None,
    draft: bool = False,
    media: Sequence[str] = (),
    recurrence: dict[str, Any] | None = None,
    evergreen: bool = False,
) -> int:
    """Validate and store a post with one delivery per account. Returns the post id."""
    now = app.now()
    variables = dict(variables or {})
    if at is not None and at < now - timedelta(seconds=5):
        raise UsageError(f"{at.isoformat(timespec='minutes')} is in the past: give a future time, or --queue")
    if at is not None and queue:
        raise UsageError("give either --at or --queue, not both")
    campaign_row = _campaign(app, campaign) if campaign else None
    drafts = render_for_accounts(app, accounts, text=text, template=template, variables=variables, campaign=campaign_row)
    needs_approval = bool(app.workspace.section("workspace").get("require_approval", False))
    ids = app.account_ids()
    with app.db.write() as conn:
        post_id = conn.execute(insert(t.posts).values(
            campaign_id=campaign_row["id"] if campaign_row else None,
            template=template, variables=variables or None,
            text=text if text is not None else drafts[0].text,
            media=list(media) or None, author=app.actor, recurrence=recurrence, evergreen=evergreen,
            created_at=now, updated_at=now,
        )).inserted_primary_key[0]
        for d in drafts:
            due = at
            if queue:
                from socialsell.marketing.slots import next_free_slot

                due = next_free_slot(app, conn, d.account, after=now)
            if draft or needs_approval:
                status = "draft"
            elif due is None:
                status = "approved"  # approved, waiting for a time
            else:
                status = "scheduled"
            conn.execute(insert(t.deliveries).values(
                post_id=post_id, account_id=ids[d.account], text=d.text, status=status, due_at=due,
                attempts=0, updated_at=now,
            ))
        app.record(conn, "post.created", f"post:{post_id}", {"accounts": [d.account for d in drafts]})
    return post_id


def _campaign(app: App, name: str) -> dict[str, Any]:
    with app.db.read() as conn:
        row = conn.execute(select(t.campaigns).where(t.campaigns.c.name == name)).mappings().first()
    if row is None:
        raise UsageError(f"unknown campaign {name!r}: create it with `socialsell campaign new {name}`")
    return dict(row)


def delivery_rows(conn, post_ids: Sequence[int] | None = None, *, status: str | None = None, account: str | None = None):
    q = (
        select(
            t.deliveries.c.id, t.deliveries.c.post_id, t.accounts.c.name.label("account"),
            t.accounts.c.channel, t.deliveries.c.text, t.deliveries.c.status, t.deliveries.c.due_at,
            t.deliveries.c.published_at, t.deliveries.c.remote_id, t.deliveries.c.remote_url,
            t.deliveries.c.error, t.deliveries.c.attempts, t.deliveries.c.next_attempt_at,
        )
        .join(t.accounts, t.accounts.c.id == t.deliveries.c.account_id)
        .order_by(t.deliveries.c.post_id, t.deliveries.c.id)
    )
    if post_ids is not None:
        q = q.where(t.deliveries.c.post_id.in_(post_ids))
    if status:
        q = q.where(t.deliveries.c.status == status)
    if account:
        q = q.where(t.accounts.c.name == account)
    return [dict(r) for r in conn.execute(q).mappings()]


def list_posts(app: App, *, status: str | None = None, account: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """Posts with their deliveries (``post list``), newest due first."""
    if status and status not in STATUSES:
        raise UsageError(f"unknown status {status!r} (one of {', '.join(STATUSES)})")
    if account:
        app.workspace.account(account)
    with app.db.read() as conn:
        deliveries = delivery_rows(conn, status=status, account=account)
        post_ids = sorted({d["post_id"] for d in deliveries})
        posts = {}
        if post_ids:
            q = (
                select(t.posts.c.id, t.posts.c.text, t.posts.c.template, t.posts.c.author, t.posts.c.created_at,
                       t.campaigns.c.name.label("campaign"))
                .outerjoin(t.campaigns, t.campaigns.c.id == t.posts.c.campaign_id)
                .where(t.posts.c.id.in_(post_ids))
            )
            posts = {r["id"]: {**dict(r), "deliveries": []} for r in conn.execute(q).mappings()}
    for d in deliveries:
        posts[d["post_id"]]["deliveries"].append(d)
    rows = sorted(posts.values(), key=lambda p: (min((d["due_at"] or p["created_at"]) for d in p["deliveries"]), p["id"]))
    return rows[-limit:] if limit else rows


def get_post(app: App, post_id: int) -> dict[str, Any]:
    with app.db.read() as conn:
        row = conn.execute(
            select(t.posts, t.campaigns.c.name.label("campaign"))
            .outerjoin(t.campaigns, t.campaigns.c.id == t.posts.c.campaign_id)
            .where(t.posts.c.id == post_id)
        ).mappings().first()
        if row is None:
            raise NotFound(f"no post with id {post_id} (see `socialsell post list`)")
        post = dict(row)
        post["deliveries"] = delivery_rows(conn, [post_id])
        stats = conn.execute(
            select(t.engagements.c.kind, func.count())
            .join(t.deliveries, t.deliveries.c.id == t.engagements.c.delivery_id)
            .where(t.deliveries.c.post_id == post_id)
            .group_by(t.engagements.c.kind)
        ).all()
    post["engagements"] = {k: n for k, n in stats}
    return post


def _transition(app: App, post_id: int, allowed_from: Sequence[str], values_for: Any, event: str, account: str | None = None) -> int:
    get_post(app, post_id)  # NotFound first
    now = app.now()
    with app.db.write() as conn:
        cond = and_(t.deliveries.c.post_id == post_id, t.deliveries.c.status.in_(allowed_from))
        if account:
            cond = and_(cond, t.deliveries.c.account_id == app.account_id(account))
        rows = conn.execute(select(t.deliveries.c.id, t.deliveries.c.status, t.deliveries.c.due_at).where(cond)).mappings().all()
        for r in rows:
            conn.execute(update(t.deliveries).where(and_(t.deliveries.c.id == r["id"], t.deliveries.c.status == r["status"]))
                         .values(updated_at=now, **values_for(r)))
        if rows:
            app.record(conn, event, f"post:{post_id}", {"deliveries": [r["id"] for r in rows]})
    return len(rows)


def approve_post(app: App, post_id: int) -> int:
    n = _transition(
        app, post_id, ("draft",),
        lambda r: {"status": "scheduled" if r["due_at"] else "approved"}, "post.approved",
    )
    if n:
        with app.db.write() as conn:
            conn.execute(update(t.posts).where(t.posts.c.id == post_id).values(approved_by=app.actor, approved_at=app.now()))
    else:
        raise UsageError(f"post {post_id} has no draft delivery to approve")
    return n


def cancel_post(app: App, post_id: int, account: str | None = None) -> int:
    n = _transition(app, post_id, OPEN_STATUSES, lambda r: {"status": "cancelled"}, "post.cancelled", account)
    if not n:
        raise UsageError(f"post {post_id} has nothing left to cancel (sent, sending or already final)")
    return n


def retry_post(app: App, post_id: int, at: datetime | None = None) -> int:
    """Put failed / missed deliveries back in the queue (never a published or unknown one)."""
    when = at or app.now()
    n = _transition(
        app, post_id, ("failed", "missed", "needs_attention"),
        lambda r: {"status": "scheduled", "due_at": when, "next_attempt_at": None, "error": None,
                   "claimed_by": None, "lease_until": None, "attempt_id": None},
        "post.retried",
    )
    if not n:
        raise UsageError(f"post {post_id} has no failed, missed or needs_attention delivery to retry")
    return n
