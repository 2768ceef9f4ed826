"""Posts and their per-channel deliveries: create, list, approve, cancel, retry.

A post is what the marketer wrote; a delivery is that post on one channel account, with
the exact text for that network (as previewed) and its own status. Status lives on the
delivery, so "X published, LinkedIn failed" is visible as exactly that.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, func, insert, select, update
from sqlalchemy.engine import Connection

from socialsell.db import schema as t
from socialsell.db.pages import Page, fetch_page, page_of_dicts
from socialsell.errors import NotFound, UsageError
from socialsell.marketing import guardrails
from socialsell.marketing.media import check_media_for, media_files, stored_media
from socialsell.marketing.slots import next_free_slot, slot_rules
from socialsell.marketing.templates import find_template, render
from socialsell.team import check_approver
from socialsell.timeparse import format_local, parse_date_end, parse_interval

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App
    from socialsell.plugins.channel import MediaFile

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
    """The exact text each account would post, checked against its channel and the guardrails.

    Raises UsageError naming the account and the first problem; nothing is half-done.
    """
    if not accounts:
        raise UsageError("name at least one channel account with --channel")
    if (text is None) == (template is None):
        raise UsageError("give either --text or --template")
    tmpl = find_template(template, app.workspace.root) if template is not None else None
    drafts = []
    for name in dict.fromkeys(accounts):
        refuse_rep_account(app, name)
        channel = app.channel(name)
        body = render(tmpl, variables, channel_type=channel.name, account=name) if tmpl else text
        assert body is not None
        check_characters(body, name)
        body = guardrails.apply(app, body, channel=channel, account=name, campaign=campaign,
                                utm=tmpl.meta.get("utm") if tmpl else None)
        prepared = channel.prepare(body)
        problems = guardrails.check(app, body, campaign=campaign) + channel.validate(prepared)
        if problems:
            raise UsageError(f"{name}: the post {problems[0]}" if problems[0].startswith(("contains", "is missing"))
                             else f"{name}: {problems[0]}")
        drafts.append(Draft(account=name, text=prepared, length=channel.measure(prepared), limit=channel.max_length))
    return drafts


def refuse_rep_account(app: App, name: str) -> None:
    """A rep's own account (``owner = "alice"``) publishes only that rep's shares: a brand post
    or a campaign never targets it (docs/advocacy.md)."""
    owner = app.workspace.account(name).owner
    if owner is not None:
        raise UsageError(f"{name} is {owner}'s own account: brand posts cannot go there "
                         f"({owner} shares shareable posts from it with `socialsell share`)")


#: characters no post may carry: C0 controls other than tab and newlines, and DEL. A NUL byte
#: cuts the text short in some clients and is refused by others, after the post was queued.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def check_characters(text: str, account: str) -> None:
    """Refuse control characters (NUL and the like) in a post's text; UsageError names the first."""
    m = _CONTROL.search(text)
    if m:
        raise UsageError(f"{account}: the post contains the control character {m.group()!r} at position {m.start() + 1}: "
                         "remove it")


def default_accounts(app: App, template: str | None, campaign: dict[str, Any] | None) -> list[str]:
    """Accounts for a post that names none: the campaign's channels, else the template's
    ``channels`` (account names or channel types), else an error."""
    wanted: list[str] = list(campaign.get("channels") or []) if campaign else []
    if not wanted and template:
        wanted = list(find_template(template, app.workspace.root).meta.get("channels", []))
    names = [a.name for a in app.workspace.accounts.values()
             if (a.name in wanted or a.channel in wanted) and a.owner is None]  # never a rep's own
    if not names:
        raise UsageError("name at least one channel account with --channel")
    return names


def parse_recurrence(app: App, every: str | None, until: str | None, count: int | None) -> dict[str, Any] | None:
    """``--repeat 7d [--until DATE | --count N]`` as stored in ``posts.recurrence``."""
    if every is None:
        if until is not None or count is not None:
            raise UsageError("--until and --count go with --repeat (e.g. --repeat 7d --count 4)")
        return None
    try:
        parse_interval(every)
    except ValueError as e:
        raise UsageError(f"--repeat: {e}") from None
    if until is not None and count is not None:
        raise UsageError("give either --until or --count, not both")
    rec: dict[str, Any] = {"every": every.strip().lower()}
    if until is not None:
        try:
            end = parse_date_end(until, app.workspace.timezone)
        except ValueError as e:
            raise UsageError(f"--until: {e}") from None
        if end <= app.now():
            raise UsageError(f"--until {until} is in the past")
        rec["until"] = end.isoformat()
    if count is not None:
        if count < 1:
            raise UsageError(f"--count must be at least 1, not {count}")
        rec["count"] = count
    return rec


@dataclass
class PostPlan:
    """A validated post, ready to store (:func:`prepare_post` then :func:`store_post`)."""

    drafts: list[Draft]
    text: str | None
    template: str | None
    variables: dict[str, Any]
    at: datetime | None
    queue: bool
    campaign: dict[str, Any] | None
    draft: bool
    media: list[MediaFile]
    recurrence: dict[str, Any] | None
    evergreen: bool
    shareable: bool = False  # reps may share it from their own accounts (docs/advocacy.md)
    suggested_comment: str | None = None


def prepare_post(
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
    media: Sequence[str | dict[str, str]] = (),
    recurrence: dict[str, Any] | None = None,
    evergreen: bool = False,
    shareable: bool | None = None,
    suggested_comment: str | None = None,
) -> PostPlan:
    """Check everything about a new post without writing: times, campaign, every channel's text."""
    now = app.now()
    variables = dict(variables or {})
    if at is not None and at < now - timedelta(seconds=5):
        raise UsageError(f"{_local(app, at)} is in the past: give a future time, or --queue")
    if at is not None and queue:
        raise UsageError("give either --at or --queue, not both")
    if recurrence and at is None and not queue:
        raise UsageError("a repeating post needs its first time: add --at WHEN or --queue")
    if template and campaign is None:
        campaign = find_template(template, app.workspace.root).meta.get("campaign")
    campaign_row = _campaign(app, campaign) if campaign else None
    if not accounts:
        accounts = default_accounts(app, template, campaign_row)
    drafts = render_for_accounts(app, accounts, text=text, template=template, variables=variables, campaign=campaign_row)
    files = media_files(media)
    if files:
        for d in drafts:
            check_media_for(app.channel(d.account), d.account, files)
    if queue:
        for d in drafts:
            if not slot_rules(app, d.account):
                raise UsageError(f"account {d.account!r} has no posting slots: add slots = [\"mon-fri 09:00, 12:30\"] "
                                 f"to it (or `socialsell slots --channel {d.account} --set ...`), or use --at")
    if shareable is None:  # the campaign's default (campaign new --shareable)
        shareable = bool(campaign_row and campaign_row.get("shareable"))
    if suggested_comment is not None:
        suggested_comment = suggested_comment.strip()
        check_characters(suggested_comment, "--suggested")
        if not shareable:
            raise UsageError("--suggested is the comment reps share the post with: add --shareable")
    return PostPlan(drafts=drafts, text=text, template=template, variables=variables, at=at, queue=queue,
                    campaign=campaign_row, draft=draft, media=files, recurrence=recurrence, evergreen=evergreen,
                    shareable=shareable, suggested_comment=suggested_comment or None)


def store_post(app: App, conn: Connection, plan: PostPlan) -> int:
    """Store a prepared post in the caller's transaction; ``--queue`` takes each account's next
    free slot as of this transaction (so posts stored together take successive slots)."""
    now = app.now()
    needs_approval = app.settings.workspace.require_approval
    dues: dict[str, datetime | None] = {}
    for d in plan.drafts:
        dues[d.account] = plan.at
        if plan.queue:
            dues[d.account] = next_free_slot(app, conn, d.account, after=now)
    post_id = conn.execute(insert(t.posts).values(
        campaign_id=plan.campaign["id"] if plan.campaign else None,
        template=plan.template, variables=plan.variables or None,
        text=plan.text if plan.text is not None else plan.drafts[0].text,
        media=stored_media(plan.media), author=app.actor, recurrence=plan.recurrence, evergreen=plan.evergreen,
        shareable=plan.shareable, suggested_comment=plan.suggested_comment,
        created_at=now, updated_at=now,
    )).inserted_primary_key[0]
    for d in plan.drafts:
        due = dues[d.account]
        conn.execute(insert(t.deliveries).values(
            post_id=post_id, account_id=app.account_id(d.account), text=d.text,
            status=initial_status(due, plan.draft or needs_approval), due_at=due, attempts=0, updated_at=now,
        ))
    app.record(conn, "post.created", f"post:{post_id}", {"accounts": [d.account for d in plan.drafts]})
    return post_id


def create_post(app: App, **kwargs: Any) -> int:
    """Validate and store a post with one delivery per account. Returns the post id.

    Takes the arguments of :func:`prepare_post`. Everything is checked before the first
    write, so a refused post changes nothing. A recurring post (``recurrence``) is stored
    once; its next occurrence is created when this one is published
    (:func:`socialsell.marketing.recurring.schedule_next_occurrences`).
    """
    plan = prepare_post(app, **kwargs)
    app.account_ids()  # create account rows before the write transaction
    with app.db.write() as conn:
        return store_post(app, conn, plan)


def _local(app: App, at: datetime) -> str:
    return f"{format_local(at, app.workspace.timezone, '%a %Y-%m-%d %H:%M')} ({app.workspace.timezone.key})"


def initial_status(due: datetime | None, draft: bool) -> str:
    if draft:
        return "draft"
    return "approved" if due is None else "scheduled"  # approved without a time waits for one


def edit_post(
    app: App, post_id: int, *, text: str | None = None, variables: dict[str, Any] | None = None,
    at: datetime | None = None, account: str | None = None,
) -> list[str]:
    """Change a post before it is sent: new text or template variables (re-rendered and
    re-validated per channel), and/or a new time. Returns the accounts changed.

    A delivery that is sending, published or otherwise final is never edited: the edit is
    refused and nothing changes.
    """
    post = get_post(app, post_id)
    now = app.now()
    if text is None and not variables and at is None:
        raise UsageError("nothing to change: give --text, --var or --at")
    if text is not None and variables:
        raise UsageError("give either --text or --var, not both")
    if variables and not post["template"]:
        raise UsageError(f"post {post_id} was not made from a template: change its text with --text")
    if at is not None and at < now - timedelta(seconds=5):
        raise UsageError(f"{_local(app, at)} is in the past: give a future time")
    targets = [d for d in post["deliveries"] if account is None or d["account"] == account]
    if account is not None and not targets:
        raise UsageError(f"post {post_id} has no delivery on {account!r}")
    if account is None:
        targets = [d for d in targets if d["status"] != "cancelled"] or targets
    for d in targets:
        if d["status"] not in OPEN_STATUSES:
            hint = " (edit the others with --channel NAME)" if len(post["deliveries"]) > 1 else ""
            raise UsageError(f"post {post_id} on {d['account']} is {d['status']}: only a post not yet sent can be edited{hint}")
    campaign = _campaign(app, post["campaign"]) if post["campaign"] else None
    names = [d["account"] for d in targets]
    texts: dict[str, str] = {}
    if text is not None or variables:
        drafts = render_for_accounts(
            app, names, text=text, template=None if text is not None else post["template"],
            variables={**(post["variables"] or {}), **(variables or {})}, campaign=campaign,
        )
        texts = {d.account: d.text for d in drafts}
    needs_approval = app.settings.workspace.require_approval
    with app.db.write() as conn:
        for d in targets:
            values: dict[str, Any] = {"updated_at": now}
            if d["account"] in texts:
                values["text"] = texts[d["account"]]
            due = at if at is not None else d["due_at"]
            values["due_at"] = due
            if d["status"] != "draft":
                values["status"] = initial_status(due, needs_approval)
            done = conn.execute(update(t.deliveries).where(and_(
                t.deliveries.c.id == d["id"], t.deliveries.c.status == d["status"])).values(**values)).rowcount
            if not done:  # the publisher took it in the meantime
                raise UsageError(f"post {post_id} on {d['account']} changed while editing (it may be sending): nothing edited")
        post_values: dict[str, Any] = {"updated_at": now}
        if text is not None:
            post_values["text"] = text
        if variables:
            post_values["variables"] = {**(post["variables"] or {}), **variables}
        conn.execute(update(t.posts).where(t.posts.c.id == post_id).values(**post_values))
        app.record(conn, "post.edited", f"post:{post_id}", {"accounts": names})
    return names


def _campaign(app: App, name: str) -> dict[str, Any]:
    with app.db.read() as conn:
        row = conn.execute(select(t.campaigns).where(t.campaigns.c.name == name)).mappings().first()
    if row is None:
        raise UsageError(f"unknown campaign {name!r}: create it with `socialsell campaign new {name}`")
    return dict(row)


#: deliveries that have not gone out yet (a paused account holds them)
UNSENT = ("draft", "approved", "scheduled", "sending", "unknown")


def account_paused():
    """A column: why the delivery's account is paused, for deliveries it holds back; else NULL."""
    A, D = t.accounts, t.deliveries
    return case((and_(A.c.status == "paused", D.c.status.in_(UNSENT)),
                 func.coalesce(A.c.paused_reason, "no reason recorded")), else_=None).label("account_paused")


def delivery_rows(conn, post_ids: Sequence[int] | None = None, *, status: str | None = None, account: str | None = None):
    q = (
        select(
            t.deliveries.c.id, t.deliveries.c.post_id, t.accounts.c.name.label("account"),
            t.accounts.c.channel, t.deliveries.c.text, t.deliveries.c.status, t.deliveries.c.due_at,
            t.deliveries.c.published_at, t.deliveries.c.remote_id, t.deliveries.c.remote_url,
            t.deliveries.c.error, t.deliveries.c.attempts, t.deliveries.c.next_attempt_at,
            account_paused(),
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


def list_posts(app: App, *, status: str | None = None, account: str | None = None, limit: int | None = None) -> Page:
    """Posts with their deliveries (``post list``), in the order of their first due time (their
    creation for a post not yet timed), oldest first; with ``limit``, the latest ``limit`` posts
    (``total``: how many match). One query for the page of posts, one for their deliveries."""
    if status and status not in STATUSES:
        raise UsageError(f"unknown status {status!r} (one of {', '.join(STATUSES)})")
    if account:
        app.workspace.account(account)
    P, D, A, K = t.posts, t.deliveries, t.accounts, t.campaigns
    columns = ("id", "text", "template", "author", "created_at", "campaign")
    first_due = func.min(func.coalesce(D.c.due_at, P.c.created_at))
    q = (select(P.c.id, P.c.text, P.c.template, P.c.author, P.c.created_at, K.c.name)
         .join(D, D.c.post_id == P.c.id).join(A, A.c.id == D.c.account_id).outerjoin(K, K.c.id == P.c.campaign_id)
         .group_by(P.c.id, K.c.name)
         .order_by(first_due.desc(), P.c.id.desc()))  # the latest first, so a limit keeps the latest
    if status:
        q = q.where(D.c.status == status)
    if account:
        q = q.where(A.c.name == account)
    with app.db.read() as conn:
        page = page_of_dicts(fetch_page(conn, q, limit), columns)
        deliveries = delivery_rows(conn, [p["id"] for p in page], status=status, account=account) if page else []
    posts = {p["id"]: {**p, "deliveries": []} for p in reversed(page)}
    for d in deliveries:
        posts[d["post_id"]]["deliveries"].append(d)
    return Page(posts.values(), page.total)


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
    """Approve a draft. When ``require_approval`` is on, only an approver other than the post's
    author may (``[team] approvers``, default the lead: socialsell/team.py)."""
    if app.settings.workspace.require_approval:
        with app.db.read() as conn:
            author = conn.execute(select(t.posts.c.author).where(t.posts.c.id == post_id)).scalar()
        check_approver(app.workspace, app.actor, author)
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
        lambda r: {"status": "scheduled", "due_at": when, "next_attempt_at": None, "error": None, "unknown_cause": None,
                   "claimed_by": None, "lease_until": None, "attempt_id": None,
                   "attempts": 0},  # a fresh start: the old attempts must not exhaust the new ones
        "post.retried",
    )
    if not n:
        raise UsageError(f"post {post_id} has no failed, missed or needs_attention delivery to retry")
    return n
