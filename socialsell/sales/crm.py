"""The CRM outbox: what a CRM plugin must send, and what the CRM said, in the database.

Any CRM plugin (HubSpot is the first, docs/crm.md) works the same way:

1. :func:`enqueue` adds one ``crm_outbox`` row per (crm, kind, local id) for every follow-up
   contact, task and engagement not yet there, and re-opens done rows whose source changed
   since the CRM acknowledged them. The rows are derived from committed state in one
   statement per kind, so a change is never lost even if the process died right after its
   commit (an after-commit event hook alone would lose it); the unique key makes it
   idempotent, whoever runs it and however often.
2. :func:`start_attempt` commits ``sending`` and ``attempts + 1`` *before* the call.
3. The plugin calls the CRM. A row found ``sending`` or with earlier attempts may already
   exist in the CRM: the plugin must reconcile (by stored id, or by a search on a property
   carrying :func:`outbox_key`) before creating again.
4. :func:`finish` stores the CRM's id (``done``); :func:`retry_later` or :func:`give_up` on
   failure. Each is its own short transaction.

:func:`state` / :func:`pause` / :func:`rate_limit` keep the CRM's health for ``status``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, exists, func, literal, or_, select, update
from sqlalchemy.engine import Connection

from socialsell.db import schema as t

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App

KINDS = ("contact", "task", "note")  # the order they are sent in: a task needs its contact
#: after an attempt whose outcome is unknown (a crash, a timeout, a server error), wait this long
#: before reconciling: CRM search indexes lag behind writes (HubSpot: "new records appear late")
RECONCILE_DELAY = timedelta(seconds=60)
BACKOFF_BASE = timedelta(seconds=60)
BACKOFF_MAX = timedelta(hours=1)


@dataclass
class OutboxRow:
    id: int
    crm: str
    kind: str
    local_id: int
    status: str
    external_id: str | None
    attempts: int
    attempt_started_at: datetime | None

    @property
    def key(self) -> str:
        return outbox_key(self.kind, self.local_id)

    @property
    def outcome_unknown(self) -> bool:
        """An earlier attempt may have reached the CRM: reconcile before creating."""
        return self.external_id is None and self.attempts > 0


def outbox_key(kind: str, local_id: int) -> str:
    """The idempotency key a CRM object carries in a property (``task:12``)."""
    return f"{kind}:{local_id}"


def _follow_up_contacts():
    """Contacts that became follow-ups: any task was ever opened for them."""
    return select(t.tasks.c.contact_id).distinct()


def enqueue(conn: Connection, app: App, crm: str, now: datetime) -> int:
    """Add the missing outbox rows and re-open changed done rows; returns how many rows changed."""
    o = t.crm_outbox
    changed = 0
    sources = {
        "contact": select(t.contacts.c.id).where(
            t.contacts.c.merged_into.is_(None), t.contacts.c.id.in_(_follow_up_contacts())),
        "task": select(t.tasks.c.id),
        "note": select(t.engagements.c.id).where(
            t.engagements.c.contact_id.in_(_follow_up_contacts()), t.engagements.c.ignored.is_(None)),
    }
    for kind, ids in sources.items():
        sub = ids.subquery()
        local = sub.c[0]
        missing = select(literal(crm), literal(kind), local, literal("pending"), literal(0), literal(now), literal(now)).where(
            ~exists().where(o.c.crm == crm, o.c.kind == kind, o.c.local_id == local))
        stmt = app.db.insert(o).from_select(
            ["crm", "kind", "local_id", "status", "attempts", "created_at", "updated_at"], missing
        ).on_conflict_do_nothing()
        changed += max(conn.execute(stmt).rowcount or 0, 0)
    # a contact or task edited after the CRM acknowledged it goes out again (an update)
    for kind, table in (("contact", t.contacts), ("task", t.tasks)):
        newer = select(table.c.id).where(table.c.id == o.c.local_id, table.c.updated_at > o.c.synced_at)
        changed += conn.execute(update(o).where(o.c.crm == crm, o.c.kind == kind, o.c.status == "done", exists(newer))
                                .values(status="pending", updated_at=now)).rowcount or 0
    return changed


def due(conn: Connection, crm: str, now: datetime, limit: int = 200) -> list[OutboxRow]:
    """Rows to send now, contacts first: pending ones past their backoff, and ``sending`` ones
    whose attempt died (older than :data:`RECONCILE_DELAY`)."""
    o = t.crm_outbox
    order = case({k: i for i, k in enumerate(KINDS)}, value=o.c.kind, else_=len(KINDS))
    rows = conn.execute(select(o).where(o.c.crm == crm, or_(
        and_(o.c.status == "pending", or_(o.c.next_attempt_at.is_(None), o.c.next_attempt_at <= now)),
        and_(o.c.status == "sending", o.c.attempt_started_at <= now - RECONCILE_DELAY),
    )).order_by(order, o.c.id).limit(limit)).mappings().all()
    return [OutboxRow(r["id"], r["crm"], r["kind"], r["local_id"], r["status"], r["external_id"], r["attempts"],
                      r["attempt_started_at"]) for r in rows]


def pending_counts(conn: Connection, crm: str) -> dict[str, dict[str, int]]:
    """``{kind: {status: n}}`` for ``crm status``."""
    o = t.crm_outbox
    out: dict[str, dict[str, int]] = {k: {} for k in KINDS}
    for kind, status, n in conn.execute(select(o.c.kind, o.c.status, func.count()).where(o.c.crm == crm)
                                        .group_by(o.c.kind, o.c.status)).all():
        out.setdefault(kind, {})[status] = n
    return out


def external_id(conn: Connection, crm: str, kind: str, local_id: int) -> str | None:
    """The CRM's id of a local object, once sent."""
    o = t.crm_outbox
    return conn.execute(select(o.c.external_id).where(o.c.crm == crm, o.c.kind == kind, o.c.local_id == local_id)).scalar()


def start_attempt(app: App, row: OutboxRow, now: datetime) -> None:
    """Commit the attempt before the call (a crash after this leaves ``sending``: unknown)."""
    with app.db.write() as conn:
        conn.execute(update(t.crm_outbox).where(t.crm_outbox.c.id == row.id).values(
            status="sending", attempts=t.crm_outbox.c.attempts + 1, attempt_started_at=now, updated_at=now))


def finish(conn: Connection, row: OutboxRow, external: str, now: datetime) -> None:
    """The CRM has the object: store its id (in the caller's transaction)."""
    conn.execute(update(t.crm_outbox).where(t.crm_outbox.c.id == row.id).values(
        status="done", external_id=external, error=None, next_attempt_at=None, synced_at=now, updated_at=now))


def release(app: App, row: OutboxRow, now: datetime, error: str | None = None) -> None:
    """The call never reached the CRM (rate limit, refused token): back to pending, the
    attempt not counted, nothing to reconcile."""
    with app.db.write() as conn:
        conn.execute(update(t.crm_outbox).where(t.crm_outbox.c.id == row.id).values(
            status="pending", attempts=row.attempts, error=error, updated_at=now))


def retry_later(app: App, row: OutboxRow, now: datetime, error: str) -> datetime:
    """A server error or timeout: pending again after a backoff that doubles per attempt; the
    next attempt reconciles first (the object may have been created)."""
    attempts = row.attempts + 1
    wait = min(BACKOFF_BASE * 2 ** (attempts - 1), BACKOFF_MAX)
    at = now + max(wait, RECONCILE_DELAY)
    with app.db.write() as conn:
        conn.execute(update(t.crm_outbox).where(t.crm_outbox.c.id == row.id).values(
            status="pending", next_attempt_at=at, error=error, updated_at=now))
    return at


def give_up(app: App, row: OutboxRow, now: datetime, error: str) -> None:
    """The CRM refused the object itself (a 4xx other than limits and credentials)."""
    with app.db.write() as conn:
        conn.execute(update(t.crm_outbox).where(t.crm_outbox.c.id == row.id).values(
            status="failed", error=error, updated_at=now))


# --- the CRM's health ---------------------------------------------------------------------------


def state(conn: Connection, crm: str) -> dict[str, Any]:
    """The CRM's sync state (defaults when it never ran)."""
    row = conn.execute(select(t.crm_state).where(t.crm_state.c.crm == crm)).mappings().first()
    if row is None:
        return {"crm": crm, "status": "active", "paused_reason": None, "rate_limited_until": None,
                "last_sync_at": None, "last_error": None, "last_deals_at": None}
    return dict(row)


def set_state(app: App, crm: str, now: datetime, **values: Any) -> None:
    """Update (or create) the CRM's state row."""
    with app.db.write() as conn:
        stmt = app.db.insert(t.crm_state).values(crm=crm, updated_at=now, **values)
        conn.execute(stmt.on_conflict_do_update(index_elements=["crm"], set_={"updated_at": now, **values}))


def pause(app: App, crm: str, now: datetime, reason: str) -> None:
    """Stop syncing until someone fixes the credentials and runs ``crm sync`` by hand."""
    set_state(app, crm, now, status="paused", paused_reason=reason, last_error=reason)
    with app.db.write() as conn:
        app.record(conn, "crm.paused", f"crm:{crm}", {"reason": reason})


def rate_limit(app: App, crm: str, now: datetime, until: datetime, reason: str) -> None:
    """No call to the CRM before ``until``."""
    set_state(app, crm, now, rate_limited_until=until, last_error=reason)


def all_states(conn: Connection) -> list[dict[str, Any]]:
    """Every CRM's state, for ``socialsell status``."""
    return [dict(r) for r in conn.execute(select(t.crm_state).order_by(t.crm_state.c.crm)).mappings()]


@contextmanager
def rolled_back(app: App) -> Iterator[Connection]:
    """A transaction that is always rolled back (``crm sync --dry-run``)."""
    with app.db.engine.connect() as conn:
        tx = conn.begin()
        try:
            yield conn
        finally:
            tx.rollback()
