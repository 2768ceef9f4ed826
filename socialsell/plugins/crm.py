"""The CRM protocol of the public plugin API: one outbox per CRM, and what it holds.

A CRM plugin (HubSpot is the built-in one, docs/crm.md) never reads socialsell's tables: it
asks a :class:`CrmOutbox` for the changes to send, a :class:`CrmRecord` of each, reports what
the CRM answered, and hands deals back as :class:`CrmDeal`. The outbox does the bookkeeping
that makes a sync crash-safe (socialsell/sales/crm.py; docs/plugins.md, "CRM plugins").
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from socialsell.db import schema as t
from socialsell.loop import leases
from socialsell.plugins.views import ContactView, EngagementView, TaskView, View
from socialsell.sales import crm as _outbox
from socialsell.sales.crm import KINDS, CrmDeal, OutboxRow, outbox_key

__all__ = ["CrmOutbox", "CrmRecord", "CrmDeal", "HandleView", "OutboxRow", "outbox_key"]

#: the crm_state values a plugin may set (the rest are the outbox's)
_STATE_KEYS = {"last_sync_at", "last_error", "last_deals_at", "deals_cursor"}


class HandleView(View):
    """One of a contact's handles on a channel."""

    FIELDS = ("id", "channel", "handle", "name", "profile_url", "remote_user_id")


@dataclass(frozen=True)
class CrmRecord:
    """What one outbox row stands for, read when it is sent (``CrmOutbox.record``)."""

    kind: str  # contact | task | note
    local_id: int
    key: str  # outbox_key(kind, local_id): carry it in a CRM property to find the object again
    version: datetime | None  # pass it to finish(): a later change is sent again
    contact: ContactView  # the contact (a task's or note's: the one it belongs to now, after merges)
    handles: tuple[HandleView, ...]  # the contact's handles, oldest first
    contact_external_id: str | None  # the CRM's id of that contact; None: not sent yet
    task: TaskView | None = None  # kind task
    engagement: EngagementView | None = None  # kind note; for a task, the engagement that opened it
    handle: HandleView | None = None  # who made ``engagement``
    due_at: datetime | None = None  # a task's due time (its next step's once answered)
    post_url: str | None = None  # the link to our post ``engagement`` is about (or to the engagement)
    owner_email: str | None = None  # the [team] email of the task's owner (or the contact's)


class CrmOutbox:
    """The changes one CRM (``crm``: the plugin's name) must receive, and its sync state."""

    def __init__(self, app: Any, crm: str) -> None:
        self.app = app
        self.crm = crm

    # -- a pass ---------------------------------------------------------------------------------

    @contextmanager
    def lease(self, holder: str, now: datetime, seconds: float) -> Iterator[bool]:
        """``with outbox.lease(worker, now, 600) as ours:``: one worker syncs a CRM at a time."""
        with leases.held(self.app.db, f"crm:{self.crm}", holder, now, seconds) as ours:
            yield ours

    def enqueue(self, now: datetime) -> int:
        """Add what changed since the last pass (from committed data); how many rows changed."""
        with self.app.db.write() as conn:
            return _outbox.enqueue(conn, self.app, self.crm, now)

    def due(self, now: datetime, limit: int = 200, kinds: tuple[str, ...] = KINDS) -> list[OutboxRow]:
        """The rows to send now, contacts first."""
        with self.app.db.read() as conn:
            return _outbox.due(conn, self.crm, now, limit, kinds)

    def plan(self, now: datetime, limit: int = 10_000) -> list[OutboxRow]:
        """What :meth:`enqueue` then :meth:`due` would give, computed and rolled back (``--dry-run``)."""
        with _outbox.rolled_back(self.app) as conn:
            _outbox.enqueue(conn, self.app, self.crm, now)
            return _outbox.due(conn, self.crm, now, limit)

    def record(self, row: OutboxRow) -> CrmRecord:
        """The object behind ``row`` as it is now (its contact after any merge); LookupError when
        it no longer exists (``give_up`` the row)."""
        with self.app.db.read() as conn:
            return _record(conn, self.app, self.crm, row)

    def start(self, row: OutboxRow, now: datetime) -> None:
        """Commit ``sending`` before calling the CRM (a crash leaves the outcome unknown)."""
        _outbox.start_attempt(self.app, row, now)

    def finish(self, row: OutboxRow, external_id: str, now: datetime, *, version: datetime | None = None,
               parent: str | None = None, remote_stage: str | None = None) -> None:
        """The CRM has it: store its id, the ``version`` sent (``record.version``) and, for a
        task or note, ``parent``: the CRM id of the contact it is attached to. ``remote_stage``
        (a contact): the socialsell stage the CRM has them at; when further along, socialsell's
        follows in the same transaction."""
        with self.app.db.write() as conn:
            if row.kind == "contact" and remote_stage:
                version = _outbox.follow_stage(conn, row.local_id, remote_stage, version, now)
            _outbox.finish(conn, row, external_id, now, version=version, parent=parent)

    def retry_later(self, row: OutboxRow, now: datetime, error: str) -> datetime:
        """A 5xx or timeout: pending again after a doubling backoff; reconcile before the retry."""
        return _outbox.retry_later(self.app, row, now, error)

    def release(self, row: OutboxRow, now: datetime) -> None:
        """The call never reached the CRM (rate limit, refused token, contact not sent yet)."""
        _outbox.release(self.app, row, now)

    def give_up(self, row: OutboxRow, now: datetime, error: str) -> None:
        """The CRM refused this object: ``failed``, with its message (``crm status``)."""
        _outbox.give_up(self.app, row, now, error)

    def external_id(self, kind: str, local_id: int) -> str | None:
        with self.app.db.read() as conn:
            return _outbox.external_id(conn, self.crm, kind, local_id)

    def local_ids(self, kind: str, external_ids: list[str]) -> dict[str, int]:
        """CRM id -> socialsell id, for the objects of ``kind`` sent to this CRM."""
        o = t.crm_outbox
        with self.app.db.read() as conn:
            return {e: i for i, e in conn.execute(select(o.c.local_id, o.c.external_id).where(
                o.c.crm == self.crm, o.c.kind == kind, o.c.external_id.in_(external_ids)))}

    # -- deals ----------------------------------------------------------------------------------

    def contacts_to_pull(self, limit: int = 500) -> list[tuple[int, str]]:
        """``(contact id, CRM id)`` of linked contacts whose deals were never read in full (newly
        linked, or linked to another CRM record): read theirs once, then :meth:`pulled`."""
        o = t.crm_outbox
        with self.app.db.read() as conn:
            return [(i, e) for i, e in conn.execute(select(o.c.local_id, o.c.external_id).where(
                o.c.crm == self.crm, o.c.kind == "contact", o.c.external_id.is_not(None), o.c.pulled_at.is_(None))
                .order_by(o.c.local_id).limit(limit))]

    def pulled(self, local_id: int, now: datetime) -> None:
        o = t.crm_outbox
        with self.app.db.write() as conn:
            conn.execute(update(o).where(o.c.crm == self.crm, o.c.kind == "contact", o.c.local_id == local_id)
                         .values(pulled_at=now))

    def store_deal(self, contact_id: int, deal: CrmDeal, now: datetime) -> int:
        """Insert or update the deal (once per CRM id, never a second row); the contact's stage
        follows. Returns socialsell's deal id."""
        with self.app.db.write() as conn:
            return _outbox.store_deal(conn, self.app, self.crm, contact_id, deal, now)

    def deal_totals(self) -> dict[str, dict[str, float]]:
        with self.app.db.read() as conn:
            return _outbox.deal_totals(conn, self.crm)

    # -- health ---------------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """``status`` (active | paused), ``paused_reason``, ``rate_limited_until``,
        ``last_sync_at``, ``last_error``, ``last_deals_at``, ``deals_cursor``."""
        with self.app.db.read() as conn:
            return _outbox.state(conn, self.crm)

    def set_state(self, now: datetime, **values: Any) -> None:
        """Set ``last_sync_at``, ``last_error``, ``last_deals_at`` or ``deals_cursor``."""
        unknown = set(values) - _STATE_KEYS
        if unknown:
            raise TypeError(f"CrmOutbox.set_state: not a plugin's to set: {', '.join(sorted(unknown))}")
        _outbox.set_state(self.app, self.crm, now, **values)

    def pause(self, now: datetime, reason: str) -> None:
        """No sync until someone fixes it and resumes (one line in ``socialsell status``)."""
        _outbox.pause(self.app, self.crm, now, reason)

    def resume(self, now: datetime) -> None:
        _outbox.set_state(self.app, self.crm, now, status="active", paused_reason=None)

    def rate_limit(self, now: datetime, until: datetime, reason: str) -> None:
        """No call to the CRM before ``until``."""
        _outbox.rate_limit(self.app, self.crm, now, until, reason)

    def counts(self) -> dict[str, dict[str, int]]:
        """``{kind: {status: n}}``."""
        with self.app.db.read() as conn:
            return _outbox.pending_counts(conn, self.crm)

    def owner_email(self, name: str | None) -> str | None:
        """The email of a ``[team]`` member (to find the same person in the CRM)."""
        rep = self.app.workspace.rep(name) if name else None
        return rep.email if rep is not None and rep.email else None


def _post_url(conn, engagement: dict[str, Any] | None) -> str | None:
    if not engagement:
        return None
    if engagement.get("delivery_id"):
        url = conn.execute(select(t.deliveries.c.remote_url).where(t.deliveries.c.id == engagement["delivery_id"])).scalar()
        if url:
            return url
    return engagement.get("url")


def _engagement(conn, engagement_id: int | None) -> tuple[dict[str, Any] | None, HandleView | None]:
    if engagement_id is None:
        return None, None
    E, A = t.engagements, t.accounts
    row = conn.execute(select(E, A.c.name.label("account"), A.c.channel.label("channel"))
                       .join(A, A.c.id == E.c.account_id).where(E.c.id == engagement_id)).mappings().first()
    if row is None:
        return None, None
    handle = None
    if row["handle_id"]:
        h = conn.execute(select(t.handles).where(t.handles.c.id == row["handle_id"])).mappings().first()
        handle = HandleView(h) if h else None
    return dict(row), handle


def _record(conn, app: Any, crm: str, row: OutboxRow) -> CrmRecord:
    task = engagement = handle = None
    due_at = None
    if row.kind == "contact":
        contact_id = row.local_id
    elif row.kind == "task":
        task = conn.execute(select(t.tasks).where(t.tasks.c.id == row.local_id)).mappings().first()
        if task is None:
            raise LookupError(f"task {row.local_id} no longer exists")
        contact_id = task["contact_id"]
        due_at = task["next_step_due"] or task["due_at"]
        engagement, handle = _engagement(conn, task["first_engagement_id"])
    else:
        engagement, handle = _engagement(conn, row.local_id)
        if engagement is None:
            raise LookupError(f"engagement {row.local_id} no longer exists")
        contact_id = engagement["contact_id"]
    contact = conn.execute(select(t.contacts).where(t.contacts.c.id == contact_id)).mappings().first()
    if contact is None:
        raise LookupError(f"contact {contact_id} no longer exists")
    handles = tuple(HandleView(h) for h in conn.execute(
        select(t.handles).where(t.handles.c.contact_id == contact_id).order_by(t.handles.c.id)).mappings())
    version = task["updated_at"] if task is not None else contact["updated_at"] if row.kind == "contact" else None
    rep = app.workspace.rep((task or contact)["owner"]) if (task or contact)["owner"] else None
    return CrmRecord(
        kind=row.kind, local_id=row.local_id, key=row.key, version=version, contact=ContactView(contact),
        handles=handles, contact_external_id=_outbox.external_id(conn, crm, "contact", contact_id),
        task=TaskView(task) if task is not None else None,
        engagement=EngagementView(engagement) if engagement is not None else None, handle=handle, due_at=due_at,
        post_url=_post_url(conn, engagement), owner_email=rep.email if rep is not None and rep.email else None)
