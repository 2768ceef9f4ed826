"""Polling a channel account for engagements.

One worker polls an account at a time (a lease). The channel is asked for what is new
since the stored cursor, outside any transaction; then the engagements, the contacts and
tasks they create, and the new cursor are committed in one transaction. A crash before
that commit loses nothing (the next poll starts from the old cursor) and a crash after it
duplicates nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import and_, select, update

from socialsell.db import schema as t
from socialsell.loop import leases
from socialsell.plugins.channel import (
    AuthError,
    Channel,
    ChannelError,
    Engagement,
    OurPost,
    RateLimited,
)
from socialsell.sales.ingest import IngestResult, ingest

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App

log = logging.getLogger("socialsell.poll")


@dataclass
class PollReport:
    account: str
    skipped: str | None = None
    fetched: int = 0
    new: int = 0
    tasks_created: int = 0
    requests: int = 0
    error: str | None = None


def _cursor_upsert(app: App, account_id: int, value: str | None, now: datetime):
    stmt = app.db.insert(t.cursors).values(account_id=account_id, name="engagements", value=value, updated_at=now)
    return stmt.on_conflict_do_update(index_elements=["account_id", "name"], set_={"value": value, "updated_at": now})


class LeaseLost(RuntimeError):
    """This worker's poll lease was taken over before it could commit."""


def _poll_failed(app: App, account: str, account_id: int, e: ChannelError, report: PollReport, now: datetime) -> None:
    """Record a failed poll (requests made, the error) and react: wait out a 429, pause on 401."""
    values: dict = {"last_poll_at": now, "last_poll_requests": report.requests}
    if isinstance(e, RateLimited):
        report.error = f"rate limited until {e.retry_at.isoformat(timespec='seconds')}"
        values["rate_limited_until"] = e.retry_at
    elif isinstance(e, AuthError):
        report.error = f"credentials refused: {e}"
    else:
        report.error = str(e)
    values["last_poll_error"] = report.error
    with app.db.write() as conn:
        if isinstance(e, AuthError):
            app.pause_account(conn, account, str(e))
        conn.execute(update(t.accounts).where(t.accounts.c.id == account_id).values(**values))
    log.warning("poll failed", extra={"event": "poll.failed", "account": account, "requests": report.requests,
                                      "error": report.error})
    if isinstance(e, AuthError):
        app.fire("account_paused", account=account, reason=str(e))


@dataclass(frozen=True)
class Lease:
    """The poll's lease on its account: its name, our worker id and how long it lasts."""

    name: str
    holder: str
    seconds: float


def poll_account(app: App, account: str, worker: str, now: datetime | None = None) -> PollReport:
    now = now or app.now()
    report = PollReport(account)
    channel = app.channel(account)
    if not channel.capabilities().engagements:
        report.skipped = "this account cannot read engagements"
        return report
    account_id = app.account_id(account)
    with app.db.read() as conn:
        acc = conn.execute(select(t.accounts).where(t.accounts.c.id == account_id)).mappings().one()
        if acc["status"] == "paused":
            report.skipped = f"paused: {acc['paused_reason']}"
            return report
        if acc["rate_limited_until"] and acc["rate_limited_until"] > now:
            report.skipped = f"rate limited until {acc['rate_limited_until'].isoformat(timespec='seconds')}"
            return report
    lease = Lease(f"poll:{account}", worker, max(300, channel.timeout * 10))
    with leases.held(app.db, lease.name, worker, now, lease.seconds) as ours:
        if not ours:
            report.skipped = "another worker is polling it"
            return report
        fetched = _fetch(app, channel, account, account_id, report, now)
        if fetched is None:
            return report
        result = _commit(app, account, account_id, lease, *fetched, report, now)
    report.new = len(result.stored)
    report.tasks_created = len(result.tasks_created)
    log.info("poll", extra={"event": "poll.done", "account": account, "requests": report.requests,
                            "fetched": report.fetched, "new": report.new, "tasks": report.tasks_created})
    result.fire_hooks(app)  # after the commit: a hook never hears of what was rolled back
    return report


def _fetch(app: App, channel: Channel, account: str, account_id: int, report: PollReport,
           now: datetime) -> tuple[list[Engagement], str | None] | None:
    """Ask the channel what is new since the stored cursor, outside any transaction (a slow
    network never holds a database lock). None when the channel failed (recorded)."""
    window = app.workspace.account(account).engagement_window_days
    with app.db.read() as conn:
        cursor = conn.execute(select(t.cursors.c.value).where(and_(
            t.cursors.c.account_id == account_id, t.cursors.c.name == "engagements"))).scalar()
        posts = [OurPost(remote_id=r.remote_id, published_at=r.published_at, delivery_id=r.id) for r in conn.execute(
            select(t.deliveries.c.id, t.deliveries.c.remote_id, t.deliveries.c.published_at).where(and_(
                t.deliveries.c.account_id == account_id, t.deliveries.c.status == "published",
                t.deliveries.c.published_at >= now - timedelta(days=window)))
            .order_by(t.deliveries.c.published_at.desc())
        )]
    channel.request_count = 0
    try:
        engagements, new_cursor = channel.fetch_engagements(cursor, posts)
    except ChannelError as e:
        report.requests = channel.request_count
        _poll_failed(app, account, account_id, e, report, now)
        return None
    report.fetched = len(engagements)
    report.requests = channel.request_count
    return engagements, new_cursor


def _commit(app: App, account: str, account_id: int, lease: Lease, engagements: list[Engagement],
            new_cursor: str | None, report: PollReport, now: datetime) -> IngestResult:
    """The engagements, what they create and the new cursor, in one transaction (invariant 2),
    fenced by the lease: a worker that stalled past its lease cannot move the cursor behind the
    one that took over."""
    with app.db.write() as conn:
        if not leases.renew_in(conn, lease.name, lease.holder, now, lease.seconds):
            raise LeaseLost(f"{lease.name}: the lease was taken over mid-poll; nothing committed")
        result = ingest(app, conn, account, engagements, now)
        conn.execute(_cursor_upsert(app, account_id, new_cursor, now))
        conn.execute(update(t.accounts).where(t.accounts.c.id == account_id).values(
            last_poll_at=now, last_poll_requests=report.requests, last_poll_error=None))
    return result

