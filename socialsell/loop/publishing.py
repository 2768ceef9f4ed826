"""Publishing due posts exactly once per channel account.

The state machine (see docs/operations.md)::

    scheduled --claim (claimed_by, lease_until)--> scheduled+claimed
    claimed   --lease expired, or its holder died--> claimable again  (network never called: safe)
    claimed   --commit intent (attempt_id, lease renewed)--> sending
    sending   --2xx--> published
    sending   --certainly not delivered (connect error, 401, 429)--> scheduled (later) | failed
    sending   --rejected (400/403)--> failed, with the network's message
    sending   --ambiguous (read timeout, reset, 5xx on a write, crash, lease lost)--> unknown
    sending   --duplicate content on a retry--> unknown (our earlier attempt probably went out)
    unknown   --reconcile with find_recent_posts--> published | scheduled | needs_attention
    scheduled --now > max(due_at, next_attempt_at) + grace--> missed (fail closed, visible)

The intent is committed before the network call, and every update after the call is fenced
by ``attempt_id``, so a crash or a second worker can never turn one post into two. The intent
itself is fenced by the claim, the lease and the account's state (not paused, not rate
limited), so a 429 or a revoked token stops the rest of a claimed batch from calling.
"""

from __future__ import annotations

import logging
import random
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.engine import Connection

from socialsell.db import schema as t
from socialsell.loop.leases import dead_holders
from socialsell.marketing import guardrails
from socialsell.marketing.media import media_files
from socialsell.plugins.channel import (
    AuthError,
    ChannelError,
    DuplicateContent,
    RateLimited,
    Rejected,
    SharedPost,
    TransientError,
)
from socialsell.plugins.views import DeliveryView, PostView
from socialsell.settings import LoopSettings

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App
    from socialsell.plugins.channel import Channel

log = logging.getLogger("socialsell.publish")

D = t.deliveries


# ``[loop]`` of the settings, typed and checked at load (socialsell.settings): ``app.settings.loop``.
PublishSettings = LoopSettings


@dataclass
class PublishReport:
    published: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    deferred: list[int] = field(default_factory=list)
    unknown: list[int] = field(default_factory=list)
    missed: list[int] = field(default_factory=list)
    reconciled: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return any(getattr(self, f) for f in self.__dataclass_fields__)


def backoff(attempt: int, settings: PublishSettings, rng: random.Random = random._inst) -> float:  # type: ignore[attr-defined]
    """Exponential backoff with +-25% jitter, capped."""
    base = min(settings.backoff_cap, settings.backoff_base * 2 ** max(0, attempt - 1))
    return base * rng.uniform(0.75, 1.25)


def _active_accounts(now: datetime):
    """Accounts that may be called now: not paused, not inside a rate-limit window."""
    return select(t.accounts.c.id).where(and_(
        t.accounts.c.status == "active",
        or_(t.accounts.c.rate_limited_until.is_(None), t.accounts.c.rate_limited_until <= now),
    ))


def _claimable(now: datetime, dead: list[str]):
    cond = [D.c.lease_until.is_(None), D.c.lease_until < now]
    if dead:
        cond.append(D.c.claimed_by.in_(dead))
    return or_(*cond)


def _dead_holders(app: App, now: datetime) -> list[str]:
    """Workers on this machine that hold unexpired claims but no longer exist (kill -9)."""

    with app.db.read() as conn:
        holders = [h for (h,) in conn.execute(select(D.c.claimed_by).distinct().where(and_(
            D.c.claimed_by.is_not(None), D.c.lease_until >= now,
            D.c.status.in_(("scheduled", "sending", "unknown")))))]
    return dead_holders(holders)


def claim(app: App, worker: str, now: datetime, settings: PublishSettings, limit: int | None = None) -> list[int]:
    """Claim due deliveries (and unknown ones to reconcile) for ``worker``; returns their ids.

    PostgreSQL: ``FOR UPDATE SKIP LOCKED`` so workers never wait on each other's rows.
    SQLite: the write transaction is ``BEGIN IMMEDIATE``, so the select-then-update is atomic.
    A delivery found in ``sending`` whose lease expired (or whose holder died) becomes
    ``unknown``: its call may have gone out, so it is reconciled, never re-sent blindly.
    """
    limit = limit or settings.batch
    dead = _dead_holders(app, now)
    not_backing_off = or_(D.c.next_attempt_at.is_(None), D.c.next_attempt_at <= now)
    due = and_(
        D.c.account_id.in_(_active_accounts(now)),
        _claimable(now, dead),
        or_(
            and_(D.c.status == "scheduled", D.c.due_at <= now, not_backing_off),
            and_(D.c.status == "unknown", not_backing_off,
                 D.c.attempt_started_at <= now - timedelta(seconds=settings.reconcile_after)),
            D.c.status == "sending",  # lease expired while sending: the holder died mid-call
        ),
    )
    lease_until = now + timedelta(seconds=settings.lease)
    with app.db.write() as conn:
        q = select(D.c.id).where(due).order_by(D.c.due_at, D.c.id).limit(limit)
        if not app.db.is_sqlite:
            q = q.with_for_update(skip_locked=True)
        ids = [r for (r,) in conn.execute(q)]
        if not ids:
            return []
        conn.execute(update(D).where(D.c.id.in_(ids)).values(claimed_by=worker, lease_until=lease_until, updated_at=now))
        lost = conn.execute(update(D).where(and_(D.c.id.in_(ids), D.c.status == "sending"))
                            .values(status="unknown", unknown_cause=UnknownCause.LOST.value,
                                    error="the worker sending it stopped mid-call: reconciling")).rowcount
    if lost:
        log.warning("took over %d deliveries left in sending", lost, extra={"event": "publish.takeover", "count": lost})
    return ids


def next_due_at(app: App, now: datetime, settings: PublishSettings | None = None) -> datetime | None:
    """When the publish job next has something to do (the loop sleeps until then).

    Counts backoff (``next_attempt_at``), rate-limit windows, paused accounts, claims held
    by other workers and unknown deliveries waiting to be reconciled, so the loop neither
    spins on a post it may not send yet nor oversleeps a new one.
    """
    reconcile_after = timedelta(seconds=(settings or PublishSettings()).reconcile_after)
    A = t.accounts
    with app.db.read() as conn:
        rows = conn.execute(
            select(D.c.status, A.c.rate_limited_until,
                   func.min(func.coalesce(D.c.next_attempt_at, D.c.due_at)), func.min(D.c.attempt_started_at),
                   func.min(D.c.lease_until))
            .join(A, A.c.id == D.c.account_id)
            .where(and_(A.c.status == "active", D.c.status.in_(("scheduled", "unknown", "sending"))))
            .group_by(D.c.status, A.c.id, A.c.rate_limited_until)
        ).all()
    best: datetime | None = None
    for status, limited_until, first_due, first_attempt, first_lease in rows:
        if status == "scheduled":
            at = first_due
        elif status == "unknown":
            at = first_attempt + reconcile_after if first_attempt else first_due
        else:
            at = first_lease  # a sending delivery is only ours to touch once its lease ends
        if at is None:
            continue
        if limited_until is not None and limited_until > at:
            at = limited_until
        best = at if best is None or at < best else best
    return best


def publish_due(app: App, worker: str, now: datetime | None = None, settings: PublishSettings | None = None) -> PublishReport:
    """One pass: claim what is due, publish or reconcile each, release the claims.

    A pass handles each delivery at most once, so a delivery that stays claimable (a reconcile
    that cannot reach the network) never makes the pass spin.
    """
    settings = settings or app.settings.loop
    report = PublishReport()
    seen: set[int] = set()
    while True:
        now_ = now or app.now()
        ids = claim(app, worker, now_, settings)
        fresh = [i for i in ids if i not in seen]
        for delivery_id in ids:
            if delivery_id not in fresh:
                release(app, worker, delivery_id)
        if not fresh:
            return report
        for delivery_id in fresh:
            seen.add(delivery_id)
            try:
                process(app, worker, delivery_id, settings, report, now)
            finally:
                release(app, worker, delivery_id)
        if len(ids) < settings.batch:
            return report


def release(app: App, worker: str, delivery_id: int) -> None:
    """Give back one claim. A delivery still in ``sending`` keeps its lease: only its expiry
    (or the holder's death) may turn it into ``unknown``."""
    with app.db.write() as conn:
        conn.execute(update(D).where(and_(D.c.id == delivery_id, D.c.claimed_by == worker, D.c.status != "sending"))
                     .values(claimed_by=None, lease_until=None))


def release_all(app: App, worker: str) -> None:
    """Give back every claim of ``worker`` (graceful shutdown)."""
    with app.db.write() as conn:
        conn.execute(update(D).where(and_(D.c.claimed_by == worker, D.c.status != "sending"))
                     .values(claimed_by=None, lease_until=None))


def _load(conn: Connection, delivery_id: int) -> dict[str, Any] | None:
    S = t.shares  # a rep's share of a brand post (docs/advocacy.md): published by channel.share
    row = conn.execute(
        select(D, t.accounts.c.name.label("account"), t.posts.c.media, t.posts.c.campaign_id,
               S.c.mode.label("share_mode"), S.c.target_remote_id.label("share_target"),
               S.c.target_url.label("share_url"))
        .join(t.accounts, t.accounts.c.id == D.c.account_id)
        .join(t.posts, t.posts.c.id == D.c.post_id)
        .outerjoin(S, S.c.delivery_id == D.c.id)
        .where(D.c.id == delivery_id)
    ).mappings().first()
    return dict(row) if row else None


class UnknownCause(StrEnum):
    """Why a delivery is ``unknown``, stored with it: the reconcile decides on this."""

    AMBIGUOUS = "ambiguous"  # the call may have gone out: read timeout, reset, 5xx on a write, a plugin bug
    DUPLICATE = "duplicate"  # a retry refused as a duplicate: our earlier attempt probably went out
    LOST = "lost"  # the worker sending it stopped mid-call


@dataclass(frozen=True)
class Step:
    """Where one step leaves a delivery: the next status and what is stored with it."""

    to: str
    error: str | None = None
    next_attempt_at: datetime | None = None
    cause: UnknownCause | None = None  # with to="unknown"
    attempt_started_at: datetime | None = None  # backdated: the reconcile looks at once
    remote: tuple[str, str | None, datetime] | None = None  # with to="published": id, url, when
    pause_account: str | None = None  # the account is paused with this reason
    rate_limited_until: datetime | None = None  # the account may not be called before this


@dataclass(frozen=True)
class Attempt:
    """One call of ``channel.publish`` for one delivery: what deciding its outcome needs."""

    app: App
    delivery: dict[str, Any]
    channel: Channel
    settings: PublishSettings
    now: datetime


def process(app: App, worker: str, delivery_id: int, settings: PublishSettings, report: PublishReport, fixed_now: datetime | None = None) -> None:
    """Move one claimed delivery one step along its life (docs/architecture.md, "The life of a
    delivery"): reconcile an unknown one, or check, commit the intent, call and record the outcome."""
    now = fixed_now or app.now()
    with app.db.read() as conn:
        d = _load(conn, delivery_id)
    if d is None or d["claimed_by"] != worker:
        return
    if d["status"] == "unknown":
        if d["attempt_started_at"] and d["attempt_started_at"] > now - timedelta(seconds=settings.reconcile_after):
            return  # too soon: the network may not show the post yet
        reconcile(app, d, settings, report, now)
        return
    if d["status"] != "scheduled":
        return
    channel = app.channel(d["account"])
    refused = _check_before_sending(app, d, channel, settings, now)
    if refused:
        _move(app, d, refused, report)
        return
    now = fixed_now or app.now()
    if not _commit_intent(app, worker, d, channel, settings, now):
        return  # claim lost, lease expired, account paused or rate limited: nothing was called
    log.info("publishing", extra={"event": "publish.attempt", "delivery": delivery_id, "account": d["account"],
                                  "attempt": d["attempts"]})
    _move(app, d, _call(Attempt(app, d, channel, settings, now)), report)


def _check_before_sending(app: App, d: dict[str, Any], channel: Channel, settings: PublishSettings, now: datetime) -> Step | None:
    """Missed (the loop was down past the grace window) or refused (the channel's limits and the
    guardrails, checked again: the config may have changed since the post was queued)."""
    expected = max(d["due_at"], d["next_attempt_at"] or d["due_at"])
    if expected + timedelta(seconds=settings.grace) < now:
        late = int((now - expected).total_seconds() // 60)
        return Step("missed", error=f"the loop was not running at its time; {late} min late is past the grace window of {settings.grace // 60} min (socialsell post retry {d['post_id']} to send it now)")
    if d.get("share_mode") == "repost":
        return None  # a plain repost adds no words: the brand post passed the rules when it went out
    readable = channel.readable(d["text"])  # the stored text is prepared (escaped) for the network
    problems = channel.validate(d["text"]) + guardrails.check(app, readable, campaign=_campaign(app, d["campaign_id"]))
    return Step("failed", error=problems[0]) if problems else None


def _commit_intent(app: App, worker: str, d: dict[str, Any], channel: Channel, settings: PublishSettings, now: datetime) -> bool:
    """Record the attempt before the call (invariant 1), fenced by our claim, an unexpired lease
    and the account's state: a 429 or a revoked token seen earlier in this batch stops the call.
    The lease is renewed to outlast the channel's whole timeout, so nobody reconciles this
    attempt while it is in flight."""
    attempt_id = uuid.uuid4().hex
    lease = settings.lease_for(channel)
    with app.db.write() as conn:
        ok = conn.execute(
            update(D).where(and_(D.c.id == d["id"], D.c.claimed_by == worker, D.c.status == "scheduled",
                                 D.c.lease_until > now, D.c.account_id.in_(_active_accounts(now))))
            .values(status="sending", attempt_id=attempt_id, attempt_started_at=now, unknown_cause=None,
                    lease_until=now + timedelta(seconds=lease), attempts=D.c.attempts + 1, updated_at=now)
        ).rowcount
    if ok:
        d.update(status="sending", attempt_id=attempt_id, attempts=d["attempts"] + 1, attempt_started_at=now)
    return bool(ok)


def _call(a: Attempt) -> Step:
    """Publish, and turn what the channel answered into the next step (``AFTER_ERROR``)."""
    a.channel.request_count = 0
    d = a.delivery
    try:
        if d.get("share_mode"):  # a rep's share: a repost, a quote or a post with the link
            result = a.channel.share(SharedPost(d["share_target"], d["share_url"]), d["text"], mode=d["share_mode"])
        else:
            result = a.channel.publish(d["text"], media=media_files(d.get("media")))
    except Exception as e:  # noqa: BLE001 - every error maps to a step; a plugin bug too
        after = next(decide for kind, decide in AFTER_ERROR if isinstance(e, kind))
        return after(e, a)
    return Step("published", remote=(result.remote_id, result.url, result.published_at or a.now))


def _after_duplicate(e: DuplicateContent, a: Attempt) -> Step:
    d = a.delivery
    holder = _remote_id_holder(a.app, d, e.existing_id) if e.existing_id else None
    if holder is not None:  # the network names a post another delivery already published
        return Step("failed", error=f"{d['account']} refuses this text as a duplicate of {e.existing_id}, published by post {holder}: change the text, then `socialsell post retry {d['post_id']}`")
    if e.existing_id:  # the network names the post: ours, from an earlier attempt
        return Step("published", remote=(e.existing_id, a.channel.post_url(e.existing_id), a.now))
    if d["attempts"] > 1:  # on a retry: most likely our earlier, ambiguous attempt went out
        return Step("unknown", cause=UnknownCause.DUPLICATE,
                    attempt_started_at=a.now - timedelta(seconds=a.settings.reconcile_after),
                    error=f"{d['account']} says it already has this text ({e}): reconciling")
    return Step("failed", error=str(e))  # a first attempt: someone else posted the same text


def _after_rejected(e: Rejected, a: Attempt) -> Step:
    return Step("failed", error=str(e))


def _after_auth_error(e: AuthError, a: Attempt) -> Step:
    return Step("scheduled", error=f"paused: {e}", pause_account=str(e))


def _after_rate_limit(e: RateLimited, a: Attempt) -> Step:
    return Step("scheduled", next_attempt_at=e.retry_at, rate_limited_until=e.retry_at,
                error=f"rate limited until {e.retry_at.isoformat(timespec='seconds')}")


def _after_transient(e: TransientError, a: Attempt) -> Step:
    attempts = a.delivery["attempts"]
    if e.maybe_delivered:
        return Step("unknown", cause=UnknownCause.AMBIGUOUS, error=f"outcome unknown ({e}): reconciling before any retry")
    if attempts >= a.settings.max_attempts:
        return Step("failed", error=f"gave up after {attempts} attempts: {e}")
    delay = backoff(attempts, a.settings)
    return Step("scheduled", next_attempt_at=a.now + timedelta(seconds=delay), error=f"attempt {attempts} failed: {e}; retrying")


def _after_channel_error(e: ChannelError, a: Attempt) -> Step:
    return Step("unknown", cause=UnknownCause.AMBIGUOUS, error=f"outcome unknown ({e})")


def _after_plugin_bug(e: Exception, a: Attempt) -> Step:
    log.error("publish raised unexpectedly", exc_info=e, extra={"event": "publish.bug", "delivery": a.delivery["id"]})
    return Step("unknown", cause=UnknownCause.AMBIGUOUS, error=f"outcome unknown: {type(e).__name__}: {e}")


#: What an error raised by ``channel.publish`` means for the delivery; the first class that matches
#: wins (DuplicateContent before Rejected, which it is). Only the error's class and attributes
#: decide, never its message.
AFTER_ERROR: tuple[tuple[type[Exception], Callable[[Any, Attempt], Step]], ...] = (
    (DuplicateContent, _after_duplicate),
    (Rejected, _after_rejected),
    (AuthError, _after_auth_error),
    (RateLimited, _after_rate_limit),
    (TransientError, _after_transient),
    (ChannelError, _after_channel_error),
    (Exception, _after_plugin_bug),
)

#: statuses a delivery ends in, with the event-log entry and the post_failed hook
FAILED = ("failed", "missed", "needs_attention")


def _move(app: App, d: dict[str, Any], step: Step, report: PublishReport) -> bool:
    """The one way a claimed delivery changes state.

    Fenced: after the network call by the attempt's id (only the attempt that set ``sending`` or
    ``unknown`` may move it on), before it by our claim. The account's pause or rate limit is
    stored in the same transaction; the event log records final states; hooks fire after commit.
    Returns whether the move happened (False: another worker or attempt owns it now).
    """
    from_status = d["status"]
    fence = [D.c.id == d["id"], D.c.status == from_status]
    if from_status in ("sending", "unknown"):
        fence.append(D.c.attempt_id == d["attempt_id"])
    else:
        fence.append(D.c.claimed_by == d["claimed_by"])
    now = app.now()
    values: dict[str, Any] = {"status": step.to, "error": step.error, "updated_at": now,
                              "unknown_cause": step.cause.value if step.cause else None}
    if step.next_attempt_at is not None:
        values["next_attempt_at"] = step.next_attempt_at
    if step.attempt_started_at is not None:
        values["attempt_started_at"] = step.attempt_started_at
    if step.remote:
        values.update(remote_id=step.remote[0], remote_url=step.remote[1], published_at=step.remote[2])
    with app.db.write() as conn:
        moved = bool(conn.execute(update(D).where(and_(*fence)).values(**values)).rowcount)
        if step.pause_account:
            app.pause_account(conn, d["account"], step.pause_account)
        if step.rate_limited_until:
            conn.execute(update(t.accounts).where(t.accounts.c.id == d["account_id"])
                         .values(rate_limited_until=step.rate_limited_until))
        if moved and (step.to == "published" or step.to in FAILED):
            detail = {"remote_id": step.remote[0]} if step.remote else {"reason": step.error}
            app.record(conn, f"post.{step.to}", f"delivery:{d['id']}", {"post": d["post_id"], "account": d["account"], **detail})
    if step.rate_limited_until:
        log.warning("rate limited", extra={"event": "account.rate_limited", "account": d["account"],
                                           "until": step.rate_limited_until.isoformat(timespec="seconds")})
    if step.pause_account:
        app.fire("account_paused", account=d["account"], reason=step.pause_account)
    if not moved:
        return False
    d["status"] = step.to
    _report(report, from_status, step.to, d["id"])
    if step.to == "published":
        post, delivery = _hook_payload(app, d["id"])
        app.fire("post_published", post=post, delivery=delivery)
    elif step.to in FAILED:
        post, delivery = _hook_payload(app, d["id"])
        app.fire("post_failed", post=post, delivery=delivery, reason=step.error)
    return True


def _report(report: PublishReport, from_status: str, to: str, delivery_id: int) -> None:
    if from_status == "unknown" and to in ("published", "scheduled"):
        report.reconciled.append(delivery_id)
    if to == "published":
        report.published.append(delivery_id)
    elif to == "missed":
        report.missed.append(delivery_id)
    elif to in FAILED:
        report.failed.append(delivery_id)
    elif to == "unknown" and from_status != "unknown":
        report.unknown.append(delivery_id)
    elif to == "scheduled" and from_status != "unknown":
        report.deferred.append(delivery_id)


def _campaign(app: App, campaign_id: int | None) -> dict[str, Any] | None:
    """The post's campaign, for its rules (required hashtags, disclaimer) at sending time."""
    if campaign_id is None:
        return None
    with app.db.read() as conn:
        row = conn.execute(select(t.campaigns).where(t.campaigns.c.id == campaign_id)).mappings().first()
    return dict(row) if row else None


def _remote_id_holder(app: App, d: dict[str, Any], remote_id: str) -> int | None:
    """The post whose delivery on this account already has ``remote_id``, if another one does."""
    with app.db.read() as conn:
        return conn.execute(select(D.c.post_id).where(and_(
            D.c.account_id == d["account_id"], D.c.remote_id == remote_id, D.c.id != d["id"]))).scalar()


def same_post_text_key(text: str) -> str:
    """What reconcile compares: the text without links (networks shorten them), whitespace
    collapsed, case folded. Public: the contract kit checks channels against it."""
    text = re.sub(r"https?://\S+", "", text)
    return re.sub(r"\s+", " ", text).strip().casefold()


def reconcile(app: App, d: dict[str, Any], settings: PublishSettings, report: PublishReport, now: datetime) -> None:
    """Learn whether an ambiguous attempt went out before anything is re-sent."""
    _move(app, d, _reconcile_step(app, d, settings, now), report)


def _reconcile_step(app: App, d: dict[str, Any], settings: PublishSettings, now: datetime) -> Step:
    channel = app.channel(d["account"])
    retry = f"socialsell post retry {d['post_id']}"
    # from the earliest moment an attempt of this delivery can have gone out (clock skew: 2 min)
    since = min(x for x in (d["attempt_started_at"], d["due_at"], now) if x is not None) - timedelta(minutes=2)
    try:
        recent = channel.find_recent_posts(since)
    except Rejected as e:
        return Step("needs_attention", error=f"could not check whether it went out ({e}); look on the network, then `{retry}` if it did not")
    except ChannelError as e:  # cannot check now: stay unknown, look again after a backoff
        limited = e.retry_at if isinstance(e, RateLimited) else None
        return Step("unknown", cause=UnknownCause(d["unknown_cause"] or UnknownCause.AMBIGUOUS),
                    next_attempt_at=limited or now + timedelta(seconds=backoff(d["attempts"], settings)),
                    rate_limited_until=limited, error=f"reconcile pending: {e}")
    with app.db.read() as conn:
        used = {r for (r,) in conn.execute(select(D.c.remote_id).where(and_(D.c.account_id == d["account_id"], D.c.remote_id.is_not(None))))}
    match = next((p for p in recent if p.remote_id not in used and _same_post(d, p)), None)
    if match:
        return Step("published", remote=(match.remote_id, match.url or channel.post_url(match.remote_id), match.created_at or now))
    if d["unknown_cause"] == UnknownCause.DUPLICATE:
        # the network refused the text as a duplicate, yet no post of ours carries it: a person decides
        return Step("needs_attention", error=f"{d['account']} refused the text as a duplicate but no matching post was found; look on the network, then `{retry}` if it is not there")
    if d["attempts"] >= settings.max_attempts:
        return Step("failed", error=f"not delivered after {d['attempts']} attempts")
    # not on the network: it never went out, so sending again cannot double it
    log.info("reconciled: not delivered", extra={"event": "publish.reconciled", "delivery": d["id"], "found": False})
    return Step("scheduled", next_attempt_at=now, error="reconciled: not on the network, sending again")


def _same_post(d: dict[str, Any], p: Any) -> bool:
    """Whether ``p`` (from find_recent_posts) is what delivery ``d`` published: the same text,
    and for a repost or a quote the same shared post (a repost has no text of its own)."""
    if d.get("share_mode") in ("repost", "quote"):
        if p.shares is None or p.shares != d["share_target"]:
            return False
        if d["share_mode"] == "repost":
            return True
    return same_post_text_key(p.text) == same_post_text_key(d["text"])


def _hook_payload(app: App, delivery_id: int) -> tuple[PostView, DeliveryView]:
    """The documented views event hooks receive (docs/plugins.md, "Event payloads")."""
    with app.db.read() as conn:
        d = _load(conn, delivery_id)
        post = conn.execute(select(t.posts).where(t.posts.c.id == d["post_id"])).mappings().one()
    return PostView(post), DeliveryView(d)
