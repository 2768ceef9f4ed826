"""Publishing due posts exactly once per channel account.

The state machine (see docs/operations.md)::

    scheduled --claim (claimed_by, lease_until)--> scheduled+claimed
    claimed   --lease expired--> claimable again              (network never called: safe)
    claimed   --commit intent (attempt_id)--> sending
    sending   --2xx--> published
    sending   --certainly not delivered (400/401/403/429, connect error)--> scheduled (later) | failed
    sending   --ambiguous (read timeout, reset, 5xx, crash, lease lost)--> unknown
    unknown   --reconcile with find_recent_posts--> published | scheduled | needs_attention
    scheduled --now > due_at + grace, never attempted--> missed

The intent is committed before the network call, and every update after the call is fenced
by ``attempt_id``, so a crash or a second worker can never turn one post into two.
"""

from __future__ import annotations

import logging
import random
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import Connection

from socialsell.channel import (
    AuthError,
    ChannelError,
    DuplicateContent,
    RateLimited,
    Rejected,
    TransientError,
)
from socialsell.config import parse_duration
from socialsell.db import schema as t

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App

log = logging.getLogger("socialsell.publish")

D = t.deliveries


@dataclass
class PublishSettings:
    grace: int = 3600  # seconds late a post may still go out after downtime
    max_attempts: int = 5
    backoff_base: int = 30
    backoff_cap: int = 3600
    lease: int = 180  # longer than the channel's total HTTP timeout
    reconcile_after: int = 30  # seconds after an ambiguous attempt before looking for it
    batch: int = 20

    @classmethod
    def from_app(cls, app: App) -> PublishSettings:
        loop = app.workspace.section("loop")
        path = app.workspace.config_path
        s = cls()
        for key in ("grace", "backoff_base", "backoff_cap", "lease", "reconcile_after"):
            if key in loop:
                setattr(s, key, parse_duration(loop[key], path, f"loop.{key}"))
        if "max_attempts" in loop:
            s.max_attempts = int(loop["max_attempts"])
        return s


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


def _claimable(now: datetime):
    return or_(D.c.lease_until.is_(None), D.c.lease_until < now)


def claim(app: App, worker: str, now: datetime, settings: PublishSettings, limit: int | None = None) -> list[int]:
    """Claim due deliveries (and unknown ones to reconcile) for ``worker``; returns their ids.

    PostgreSQL: ``FOR UPDATE SKIP LOCKED`` so workers never wait on each other's rows.
    SQLite: the write transaction is ``BEGIN IMMEDIATE``, so the select-then-update is atomic.
    """
    limit = limit or settings.batch
    active_accounts = select(t.accounts.c.id).where(and_(
        t.accounts.c.status == "active",
        or_(t.accounts.c.rate_limited_until.is_(None), t.accounts.c.rate_limited_until <= now),
    ))
    due = and_(
        D.c.account_id.in_(active_accounts),
        _claimable(now),
        or_(
            and_(D.c.status == "scheduled", D.c.due_at <= now,
                 or_(D.c.next_attempt_at.is_(None), D.c.next_attempt_at <= now)),
            and_(D.c.status == "unknown",
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
        # a delivery found in `sending` with its lease gone: its outcome is unknown
        conn.execute(update(D).where(and_(D.c.id.in_(ids), D.c.status == "sending")).values(status="unknown"))
    return ids


def next_due_at(app: App, now: datetime) -> datetime | None:
    """When the next scheduled delivery is due (the loop sleeps until then)."""
    with app.db.read() as conn:
        return conn.execute(
            select(D.c.due_at).where(D.c.status == "scheduled").order_by(D.c.due_at).limit(1)
        ).scalar()


def publish_due(app: App, worker: str, now: datetime | None = None, settings: PublishSettings | None = None) -> PublishReport:
    """One pass: claim what is due, publish or reconcile each, release the rest."""
    settings = settings or PublishSettings.from_app(app)
    report = PublishReport()
    while True:
        now_ = now or app.now()
        ids = claim(app, worker, now_, settings)
        if not ids:
            return report
        for delivery_id in ids:
            try:
                process(app, worker, delivery_id, settings, report, now)
            finally:
                release(app, worker, delivery_id)
        if now is not None and len(ids) < settings.batch:
            return report


def release(app: App, worker: str, delivery_id: int) -> None:
    with app.db.write() as conn:
        conn.execute(update(D).where(and_(D.c.id == delivery_id, D.c.claimed_by == worker))
                     .values(claimed_by=None, lease_until=None))


def release_all(app: App, worker: str) -> None:
    """Give back every claim of ``worker`` (graceful shutdown)."""
    with app.db.write() as conn:
        conn.execute(update(D).where(and_(D.c.claimed_by == worker, D.c.status != "sending"))
                     .values(claimed_by=None, lease_until=None))


def _load(conn: Connection, delivery_id: int) -> dict[str, Any] | None:
    row = conn.execute(
        select(D, t.accounts.c.name.label("account"), t.posts.c.media, t.posts.c.campaign_id)
        .join(t.accounts, t.accounts.c.id == D.c.account_id)
        .join(t.posts, t.posts.c.id == D.c.post_id)
        .where(D.c.id == delivery_id)
    ).mappings().first()
    return dict(row) if row else None


def process(app: App, worker: str, delivery_id: int, settings: PublishSettings, report: PublishReport, fixed_now: datetime | None = None) -> None:
    now = fixed_now or app.now()
    with app.db.read() as conn:
        d = _load(conn, delivery_id)
    if d is None or d["claimed_by"] != worker:
        return
    if d["status"] == "unknown":
        reconcile(app, worker, d, settings, report, now)
        return
    if d["status"] != "scheduled":
        return
    if d["attempts"] == 0 and d["due_at"] + timedelta(seconds=settings.grace) < now:
        late = now - d["due_at"]
        _finish(app, d, None, "missed", report.missed,
                error=f"the loop was not running at its time; {int(late.total_seconds() // 60)} min late is past the grace window of {settings.grace // 60} min (socialsell post retry {d['post_id']} to send it now)")
        return
    channel = app.channel(d["account"])
    problems = channel.validate(d["text"])  # checked again: the config may have changed since
    from socialsell.marketing import guardrails

    problems += guardrails.check(app, d["text"])
    if problems:
        _finish(app, d, None, "failed", report.failed, error=problems[0])
        return

    attempt_id = uuid.uuid4().hex
    with app.db.write() as conn:
        ok = conn.execute(
            update(D).where(and_(D.c.id == delivery_id, D.c.claimed_by == worker, D.c.status == "scheduled",
                                 D.c.lease_until > now))
            .values(status="sending", attempt_id=attempt_id, attempt_started_at=now,
                    attempts=D.c.attempts + 1, updated_at=now)
        ).rowcount
    if not ok:  # the claim was lost (lease expired and taken over): do nothing
        return
    d["attempt_id"], d["attempts"], d["attempt_started_at"] = attempt_id, d["attempts"] + 1, now

    channel.request_count = 0
    try:
        result = channel.publish(d["text"], media=d.get("media") or ())
    except DuplicateContent as e:
        if e.existing_id:
            _published(app, d, e.existing_id, channel.post_url(e.existing_id), now, report)
        else:  # the network has this text already: most likely our earlier attempt went out
            _to(app, d, "unknown", error=f"{d['account']} says duplicate content: reconciling ({e})")
            report.unknown.append(delivery_id)
        return
    except Rejected as e:
        _finish(app, d, attempt_id, "failed", report.failed, error=str(e))
        return
    except AuthError as e:
        _to(app, d, "scheduled", error=f"paused: {e}")
        with app.db.write() as conn:
            app.pause_account(conn, d["account"], str(e))
        app.hook.account_paused(account=d["account"], reason=str(e))
        report.deferred.append(delivery_id)
        return
    except RateLimited as e:
        _to(app, d, "scheduled", next_attempt_at=e.retry_at, error=f"rate limited until {e.retry_at.isoformat(timespec='seconds')}")
        with app.db.write() as conn:
            conn.execute(update(t.accounts).where(t.accounts.c.name == d["account"]).values(rate_limited_until=e.retry_at))
        report.deferred.append(delivery_id)
        return
    except TransientError as e:
        if e.maybe_delivered:
            _to(app, d, "unknown", error=f"outcome unknown ({e}): reconciling before any retry")
            report.unknown.append(delivery_id)
        elif d["attempts"] >= settings.max_attempts:
            _finish(app, d, attempt_id, "failed", report.failed, error=f"gave up after {d['attempts']} attempts: {e}")
        else:
            delay = backoff(d["attempts"], settings)
            _to(app, d, "scheduled", next_attempt_at=now + timedelta(seconds=delay), error=f"attempt {d['attempts']} failed: {e}; retrying")
            report.deferred.append(delivery_id)
        return
    except ChannelError as e:
        _to(app, d, "unknown", error=f"outcome unknown ({e})")
        report.unknown.append(delivery_id)
        return
    except Exception as e:  # a bug in a plugin: we cannot know whether it posted
        log.exception("publish raised unexpectedly")
        _to(app, d, "unknown", error=f"outcome unknown: {type(e).__name__}: {e}")
        report.unknown.append(delivery_id)
        return
    _published(app, d, result.remote_id, result.url, result.published_at or now, report)


def _to(app: App, d: dict[str, Any], status: str, **values: Any) -> bool:
    """Fenced move out of ``sending``: only the attempt that set it may change it."""
    with app.db.write() as conn:
        return bool(conn.execute(
            update(D).where(and_(D.c.id == d["id"], D.c.attempt_id == d["attempt_id"], D.c.status == "sending"))
            .values(status=status, updated_at=app.now(), **values)
        ).rowcount)


def _published(app: App, d: dict[str, Any], remote_id: str, url: str | None, at: datetime, report: PublishReport, *, from_status: str = "sending") -> None:
    with app.db.write() as conn:
        n = conn.execute(
            update(D).where(and_(D.c.id == d["id"], D.c.attempt_id == d["attempt_id"], D.c.status == from_status))
            .values(status="published", remote_id=remote_id, remote_url=url, published_at=at, error=None, updated_at=app.now())
        ).rowcount
        if n:
            app.record(conn, "post.published", f"delivery:{d['id']}", {"post": d["post_id"], "account": d["account"], "remote_id": remote_id})
    if n:
        report.published.append(d["id"])
        _fire_published(app, d["id"])


def _finish(app: App, d: dict[str, Any], attempt_id: str | None, status: str, bucket: list[int], *, error: str) -> None:
    """Move to a final failure status (fenced by attempt when there was one)."""
    cond = [D.c.id == d["id"]]
    if attempt_id:
        cond += [D.c.attempt_id == attempt_id, D.c.status == "sending"]
    else:
        cond += [D.c.status == d["status"]]
    with app.db.write() as conn:
        n = conn.execute(update(D).where(and_(*cond)).values(status=status, error=error, updated_at=app.now())).rowcount
        if n:
            app.record(conn, f"post.{status}", f"delivery:{d['id']}", {"post": d["post_id"], "account": d["account"], "reason": error})
    if n:
        bucket.append(d["id"])
        post, delivery = _hook_payload(app, d["id"])
        app.hook.post_failed(post=post, delivery=delivery, reason=error)


def _norm(text: str) -> str:
    text = re.sub(r"https?://\S+", "", text)
    return re.sub(r"\s+", " ", text).strip().casefold()


def reconcile(app: App, worker: str, d: dict[str, Any], settings: PublishSettings, report: PublishReport, now: datetime) -> None:
    """Learn whether an ambiguous attempt went out before anything is re-sent."""
    channel = app.channel(d["account"])
    since = (d["attempt_started_at"] or d["due_at"] or now) - timedelta(minutes=2)
    try:
        recent = channel.find_recent_posts(since)
    except Rejected as e:
        _fenced(app, d, "unknown", status="needs_attention",
                error=f"could not check whether it went out ({e}); look on the network, then `socialsell post retry {d['post_id']}` if it did not")
        report.failed.append(d["id"])
        post, delivery = _hook_payload(app, d["id"])
        app.hook.post_failed(post=post, delivery=delivery, reason="outcome unknown and the channel cannot be checked")
        return
    except ChannelError as e:  # cannot check now: stay unknown, try again later
        _fenced(app, d, "unknown", status="unknown", error=f"reconcile pending: {e}")
        return
    with app.db.read() as conn:
        used = {r for (r,) in conn.execute(select(D.c.remote_id).where(and_(D.c.account_id == d["account_id"], D.c.remote_id.is_not(None))))}
    want = _norm(d["text"])
    match = next((p for p in recent if p.remote_id not in used and _norm(p.text) == want), None)
    if match:
        d = {**d, "status": "unknown"}
        _published(app, d, match.remote_id, match.url or channel.post_url(match.remote_id), match.created_at or now, report, from_status="unknown")
        report.reconciled.append(d["id"])
        return
    # not on the network: it never went out, so sending again cannot double it
    if d["attempts"] >= settings.max_attempts:
        _fenced(app, d, "unknown", status="failed", error=f"not delivered after {d['attempts']} attempts")
        report.failed.append(d["id"])
        return
    _fenced(app, d, "unknown", status="scheduled", next_attempt_at=now, error="reconciled: not on the network, sending again")
    report.reconciled.append(d["id"])


def _fenced(app: App, d: dict[str, Any], from_status: str, **values: Any) -> bool:
    with app.db.write() as conn:
        n = conn.execute(
            update(D).where(and_(D.c.id == d["id"], D.c.status == from_status, D.c.attempt_id == d["attempt_id"]))
            .values(updated_at=app.now(), **values)
        ).rowcount
        if n and values.get("status") in ("needs_attention", "failed"):
            app.record(conn, f"post.{values['status']}", f"delivery:{d['id']}", {"reason": values.get("error")})
    return bool(n)


def _hook_payload(app: App, delivery_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    with app.db.read() as conn:
        d = _load(conn, delivery_id)
        post = dict(conn.execute(select(t.posts).where(t.posts.c.id == d["post_id"])).mappings().one())
    return post, d


def _fire_published(app: App, delivery_id: int) -> None:
    post, delivery = _hook_payload(app, delivery_id)
    app.hook.post_published(post=post, delivery=delivery)
