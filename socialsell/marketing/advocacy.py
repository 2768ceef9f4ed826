"""Advocacy: reps share the brand's posts from their own accounts (docs/advocacy.md).

Marketing marks a post shareable (``post new --shareable [--suggested "..."]``, or a campaign's
default); a rep lists what they can share (``socialsell share``) and shares one
(``socialsell share ID [--text "my take"] [--at WHEN]``). A share is an ordinary delivery of
the brand post on the rep's own account (``[[accounts]] owner = "alice"``) plus a ``shares`` row
saying how it passes the post on, so it goes through the same loop as every post: the
guardrails before sending, exactly once (invariant 1), reconciled after an ambiguous attempt.

How it is shared is the channel's choice (``Channel.share_modes``): a plain repost when the rep
adds no words, a quote when they do, and a new post carrying the link when the network cannot
repost or quote, or when the brand published the post on another network.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, insert, select

from socialsell.db import schema as t
from socialsell.errors import NotFound, UsageError
from socialsell.marketing import guardrails
from socialsell.marketing.posts import check_characters

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App
    from socialsell.plugins.channel import Channel
    from socialsell.workspace import Account

P, D, A, S = t.posts, t.deliveries, t.accounts, t.shares


# --- who shares, from where ------------------------------------------------------------------


def own_accounts(app: App, rep: str) -> list[Account]:
    """The accounts whose ``owner`` is ``rep`` (case-insensitive; owners are checked at load)."""
    return [a for a in app.workspace.accounts.values() if a.owner and a.owner.lower() == rep.lower()]


def brand_accounts(app: App) -> list[str]:
    """The brand's accounts: every configured account no rep owns."""
    return [a.name for a in app.workspace.accounts.values() if a.owner is None]


def acting_rep(app: App) -> str:
    """Who is sharing: the acting person (``--as`` / ``SOCIALSELL_USER``, checked against
    ``[team]``), who must be a rep of ``[[team.reps]]`` with at least one account of their own."""
    rep = next((r.name for r in app.workspace.team if r.name.lower() == app.actor.lower()), None)
    if rep is None:
        reps = ", ".join(r.name for r in app.workspace.team) or "none"
        raise UsageError(f"{app.actor!r} is not a rep of [[team.reps]] (reps: {reps}): "
                         "share as one with --as NAME or SOCIALSELL_USER")
    if not own_accounts(app, rep):
        raise UsageError(f"{rep} has no account of their own: add one to {app.workspace.config_path.name} "
                         f"([[accounts]] with owner = \"{rep}\"), then `socialsell channels connect NAME`")
    return rep


def check_own_account(app: App, rep: str, name: str) -> Account:
    """``--channel NAME`` for a share: an account ``rep`` owns. Nobody shares from another
    rep's account, nor from the brand's (a brand post is already there)."""
    account = app.workspace.account(name)  # a clear error for an unknown name
    if account.owner is None:
        raise UsageError(f"{name} is a brand account, not {rep}'s: share from your own "
                         f"({', '.join(a.name for a in own_accounts(app, rep)) or 'none'})")
    if account.owner.lower() != rep.lower():
        raise UsageError(f"{name} is {account.owner}'s own account: only {account.owner} can share from it")
    return account


# --- what can be shared ----------------------------------------------------------------------


def _brand_published(conn: Any, brand: list[str], post_ids: list[int] | None = None) -> dict[int, list[dict[str, Any]]]:
    """Published brand deliveries per post: account, channel type, remote id and link."""
    q = (select(D.c.id, D.c.post_id, D.c.remote_id, D.c.remote_url, D.c.published_at, A.c.name, A.c.channel)
         .join(A, A.c.id == D.c.account_id)
         .where(and_(D.c.status == "published", A.c.name.in_(brand)))
         .order_by(D.c.published_at, D.c.id))
    if post_ids is not None:
        q = q.where(D.c.post_id.in_(post_ids))
    out: dict[int, list[dict[str, Any]]] = {}
    for r in conn.execute(q).mappings():
        out.setdefault(r["post_id"], []).append({
            "delivery_id": r["id"], "account": r["name"], "channel": r["channel"], "remote_id": r["remote_id"],
            "url": r["remote_url"], "published_at": r["published_at"]})
    return out


def shareable_posts(app: App, rep: str, *, limit: int | None = None) -> tuple[list[dict[str, Any]], int]:
    """The shareable posts ``rep`` can share now (published on a brand account), newest first,
    each with the rep's shares of it so far; and how many there are in all."""
    brand = brand_accounts(app)
    mine = [a.name for a in own_accounts(app, rep)]
    published = (select(D.c.post_id).join(A, A.c.id == D.c.account_id)
                 .where(and_(D.c.status == "published", A.c.name.in_(brand))))
    where = and_(P.c.shareable.is_(True), P.c.id.in_(published))
    with app.db.read() as conn:
        total = conn.execute(select(func.count()).select_from(P).where(where)).scalar_one()
        q = (select(P.c.id, P.c.text, P.c.link, P.c.suggested_comment, t.campaigns.c.name.label("campaign"))
             .outerjoin(t.campaigns, t.campaigns.c.id == P.c.campaign_id).where(where).order_by(P.c.id.desc()))
        if limit:
            q = q.limit(limit)
        posts = [dict(r) for r in conn.execute(q).mappings()]
        ids = [p["id"] for p in posts]
        brand_rows = _brand_published(conn, brand, ids)
        shared: dict[int, list[dict[str, Any]]] = {}
        for r in conn.execute(
            select(D.c.post_id, A.c.name, D.c.status, D.c.remote_url, S.c.mode)
            .join(S, S.c.delivery_id == D.c.id).join(A, A.c.id == D.c.account_id)
            .where(and_(D.c.post_id.in_(ids), A.c.name.in_(mine)))
        ).mappings():
            shared.setdefault(r["post_id"], []).append(
                {"account": r["name"], "status": r["status"], "mode": r["mode"], "url": r["remote_url"]})
    for p in posts:
        p["published"] = [{"account": b["account"], "url": b["url"]} for b in brand_rows.get(p["id"], [])]
        p["shared"] = shared.get(p["id"], [])
    return posts, total


# --- sharing ---------------------------------------------------------------------------------


@dataclass
class SharePlan:
    """One share, checked and ready to store: the rep's account, its text and how it shares."""

    account: str
    mode: str  # repost | quote | link
    text: str  # what the channel sends (prepared); empty for a repost
    comment: str | None
    target_delivery_id: int | None
    target_remote_id: str | None
    target_url: str | None


def choose_mode(channel: Channel, same_network: bool, has_text: bool) -> str:
    """How ``channel`` passes the post on: a repost without words, a quote with them, else a
    post with the link (also whenever the brand post is on another network)."""
    modes = channel.share_modes
    if same_network and not has_text and "repost" in modes:
        return "repost"
    if same_network and "quote" in modes:
        return "quote"
    return "link"


def _plan_one(app: App, account: Account, post: dict[str, Any], brand: list[dict[str, Any]],
              comment: str | None, campaign: dict[str, Any] | None) -> SharePlan:
    channel = app.channel(account.name)
    same = next((b for b in brand if b["channel"] == channel.name and b["remote_id"]), None)
    mode = choose_mode(channel, same is not None, bool(comment))
    target = same or brand[0]
    url = target["url"] or post.get("link")
    if mode == "repost":
        return SharePlan(account.name, mode, "", None, target["delivery_id"], target["remote_id"], url)
    body = comment or ""
    if mode == "link":
        if not url:
            raise UsageError(f"{account.name}: post {post['id']} has no public link to share "
                             f"({account.channel} cannot repost or quote it)")
        body = f"{body}\n{url}" if body else url
    body = guardrails.apply(app, body, channel=channel, account=account.name, campaign=campaign)
    prepared = channel.prepare(body)
    problems = guardrails.check(app, body, campaign=campaign) + (channel.validate(prepared) if body.strip() else [])
    if problems:
        what = "the share " if problems[0].startswith(("contains", "is missing")) else ""
        raise UsageError(f"{account.name}: {what}{problems[0]}")
    return SharePlan(account.name, mode, prepared, comment, target["delivery_id"],
                     target["remote_id"] if mode == "quote" else None, url)


def plan_share(app: App, rep: str, post_id: int, *, text: str | None = None,
               accounts: list[str] | None = None) -> list[SharePlan]:
    """Check a share of post ``post_id`` by ``rep`` without writing: the post is shareable and
    published by the brand, the accounts are the rep's own and have not shared it yet, the text
    passes the channel and the guardrails. Raises UsageError; nothing is half-done."""
    names = [check_own_account(app, rep, n).name for n in dict.fromkeys(accounts)] if accounts \
        else [a.name for a in own_accounts(app, rep)]
    with app.db.read() as conn:
        post = conn.execute(select(P).where(P.c.id == post_id)).mappings().first()
        if post is None:
            raise NotFound(f"no post {post_id} (see `socialsell share` for what you can share)")
        if not post["shareable"]:
            raise UsageError(f"post {post_id} is not shareable: marketing marks posts with "
                             "`post new --shareable` (see `socialsell share`)")
        brand = _brand_published(conn, brand_accounts(app), [post_id]).get(post_id, [])
        if not brand:
            raise UsageError(f"post {post_id} is not published yet: share it once it is out (see `socialsell share`)")
        done = {r[0]: r[1] for r in conn.execute(
            select(A.c.name, D.c.status).join(A, A.c.id == D.c.account_id)
            .where(and_(D.c.post_id == post_id, A.c.name.in_(names))))}
        campaign = conn.execute(select(t.campaigns).where(t.campaigns.c.id == post["campaign_id"])).mappings().first() \
            if post["campaign_id"] else None
    for name in names:
        if name in done:
            raise UsageError(f"{name} has shared post {post_id} already ({done[name]}; see `socialsell post show {post_id}`)")
    comment = (text if text is not None else post["suggested_comment"] or "").strip() or None
    if comment:
        check_characters(comment, "--text")
    return [_plan_one(app, app.workspace.account(n), dict(post), brand, comment, dict(campaign) if campaign else None)
            for n in names]


def share_post(app: App, post_id: int, *, text: str | None = None, at: datetime | None = None,
               accounts: list[str] | None = None) -> list[int]:
    """Schedule the acting rep's share of post ``post_id`` (now, or ``at``) from their own
    accounts; returns the new deliveries' ids. The loop publishes them exactly once."""
    rep = acting_rep(app)
    now = app.now()
    if at is not None and at < now - timedelta(seconds=5):
        raise UsageError("--at is in the past: give a future time, or leave it out to share now")
    plans = plan_share(app, rep, post_id, text=text, accounts=accounts)
    app.account_ids()  # create account rows before the write transaction
    ids = []
    with app.db.write() as conn:
        for plan in plans:
            delivery_id = conn.execute(insert(D).values(
                post_id=post_id, account_id=app.account_id(plan.account), text=plan.text, status="scheduled",
                due_at=at or now, attempts=0, updated_at=now,
            )).inserted_primary_key[0]
            conn.execute(insert(S).values(
                delivery_id=delivery_id, rep=rep, target_delivery_id=plan.target_delivery_id,
                target_remote_id=plan.target_remote_id, target_url=plan.target_url, mode=plan.mode,
                comment=plan.comment, created_at=now,
            ))
            app.record(conn, "post.shared", f"delivery:{delivery_id}",
                       {"post": post_id, "account": plan.account, "rep": rep, "mode": plan.mode})
            ids.append(delivery_id)
    return ids
