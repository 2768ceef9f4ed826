"""The CRM outbox: what a CRM plugin must send, and what the CRM said, in the database.

Plugins use it through :class:`socialsell.plugins.crm.CrmOutbox` (``socialsell.api``), never
directly. Any CRM plugin (HubSpot is the first, docs/crm.md) works the same way:

1. :func:`enqueue` adds one ``crm_outbox`` row per (crm, kind, local id) for every follow-up
   contact, task and engagement not yet there, and re-opens done rows whose object changed
   since it was sent (its ``updated_at`` differs from ``sent_version``) or whose task or note
   now belongs to another contact in the CRM (a merge: ``parent_external_id``). The rows are
   derived from committed state in one statement per kind, so a change is never lost even if
   the process died right after its commit (an after-commit event hook alone would lose it);
   the unique key makes it idempotent, whoever runs it and however often.
2. :func:`start_attempt` commits ``sending`` and ``attempts + 1`` *before* the call.
3. The plugin calls the CRM. A row found ``sending`` or with earlier attempts may already
   exist in the CRM: the plugin must reconcile (by stored id, or by a search on a property
   carrying :func:`outbox_key`) before creating again.
4. :func:`finish` stores the CRM's id (``done``) with the version sent; :func:`retry_later` or
   :func:`give_up` on failure. Each is its own short transaction.

:func:`state` / :func:`pause` / :func:`rate_limit` keep the CRM's health for ``status``;
:func:`store_deal` brings a CRM's deal in.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, exists, func, insert, literal, or_, select, update
from sqlalchemy.engine import Connection

from socialsell.db import schema as t
from socialsell.sales.contacts import STAGE_ORDER
from socialsell.sales.deals import CLOSED_STAGES, OPEN_STAGES, _attribution, sync_contact_stage

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App

KINDS = ("contact", "task", "note")  # the order they are sent in: a task needs its contact
#: after an attempt whose outcome is unknown (a crash, a timeout, a server error), wait this long
#: before reconciling: CRM search indexes lag behind writes (HubSpot: "new records appear late")
RECONCILE_DELAY = timedelta(seconds=60)
BACKOFF_BASE = timedelta(seconds=60)
BACKOFF_MAX = timedelta(hours=1)


@dataclass(frozen=True)
class OutboxRow:
    """One change a CRM must receive (docs/plugins.md, "CRM plugins")."""

    id: int
    crm: str
    kind: str
    local_id: int
    status: str
    external_id: str | None
    attempts: int
    attempt_started_at: datetime | None
    parent_external_id: str | None = None

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
    # a contact or task whose version (its own updated_at) differs from the one sent goes out
    # again as an update; compared by equality, never with this worker's clock, so a change
    # written by a worker whose clock is behind is not lost (rows sent before 0008 have no
    # version: their acknowledgement time stands in for it)
    at = _comparable_time(app)
    for kind, table in (("contact", t.contacts), ("task", t.tasks)):
        newer = select(table.c.id).where(table.c.id == o.c.local_id, or_(
            and_(o.c.sent_version.is_(None), or_(o.c.synced_at.is_(None), at(table.c.updated_at) > at(o.c.synced_at))),
            and_(o.c.sent_version.is_not(None), at(table.c.updated_at) != at(o.c.sent_version))))
        changed += conn.execute(update(o).where(o.c.crm == crm, o.c.kind == kind, o.c.status == "done", exists(newer))
                                .values(status="pending", updated_at=now)).rowcount or 0
    # a task or note whose contact is now another CRM record (a merge or an unmerge moved it):
    # re-attached to the contact it belongs to
    parent = t.crm_outbox.alias("parent")
    for kind, table in (("task", t.tasks), ("note", t.engagements)):
        moved = select(table.c.id).join(parent, and_(parent.c.crm == crm, parent.c.kind == "contact",
                                                     parent.c.local_id == table.c.contact_id)).where(
            table.c.id == o.c.local_id, parent.c.external_id.is_not(None),
            parent.c.external_id != o.c.parent_external_id)
        changed += conn.execute(update(o).where(o.c.crm == crm, o.c.kind == kind, o.c.status == "done",
                                                o.c.parent_external_id.is_not(None), exists(moved))
                                .values(status="pending", updated_at=now)).rowcount or 0
    return changed


def _comparable_time(app: App):
    """Times as SQL can compare them: SQLite keeps them as text, written by different paths with
    or without fractions ('08:02:00' vs '08:02:00.000000'), so both sides are normalised to the
    millisecond there; PostgreSQL compares timestamps as they are."""
    if app.db.engine.dialect.name == "sqlite":
        return lambda column: func.strftime("%Y-%m-%d %H:%M:%f", column)
    return lambda column: column


def due(conn: Connection, crm: str, now: datetime, limit: int = 200, kinds: tuple[str, ...] = KINDS) -> list[OutboxRow]:
    """Rows to send now, contacts first: pending ones past their backoff, and ``sending`` ones
    whose attempt died (older than :data:`RECONCILE_DELAY`)."""
    o = t.crm_outbox
    order = case({k: i for i, k in enumerate(KINDS)}, value=o.c.kind, else_=len(KINDS))
    rows = conn.execute(select(o).where(o.c.crm == crm, o.c.kind.in_(kinds), or_(
        and_(o.c.status == "pending", or_(o.c.next_attempt_at.is_(None), o.c.next_attempt_at <= now)),
        and_(o.c.status == "sending", o.c.attempt_started_at <= now - RECONCILE_DELAY),
    )).order_by(order, o.c.id).limit(limit)).mappings().all()
    return [OutboxRow(r["id"], r["crm"], r["kind"], r["local_id"], r["status"], r["external_id"], r["attempts"],
                      r["attempt_started_at"], r["parent_external_id"]) for r in rows]


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


def finish(conn: Connection, row: OutboxRow, external: str, now: datetime, *, version: datetime | None = None,
           parent: str | None = None) -> None:
    """The CRM has the object: store its id (``done``), the version sent and, for a task or a
    note, the CRM id of the contact it is attached to (in the caller's transaction). A contact
    linked to another CRM record than before has its deals read in full again."""
    o = t.crm_outbox
    values: dict[str, Any] = {"status": "done", "external_id": external, "error": None, "next_attempt_at": None,
                              "synced_at": now, "updated_at": now, "sent_version": version,
                              "parent_external_id": parent}
    if row.kind == "contact" and row.external_id != external:
        values["pulled_at"] = None
    conn.execute(update(o).where(o.c.id == row.id).values(**values))


def follow_stage(conn: Connection, contact_id: int, stage: str, version: datetime | None, now: datetime) -> datetime | None:
    """The CRM is further along than socialsell (sales moved the contact there): socialsell's
    stage follows, never backwards (docs/crm.md). Returns the contact's new version when it was
    the one just sent (so it is not sent again), else ``version`` (a change made meanwhile still
    goes out)."""
    C = t.contacts
    row = conn.execute(select(C.c.stage, C.c.updated_at).where(C.c.id == contact_id)).first()
    if row is None or row.stage not in STAGE_ORDER or stage not in STAGE_ORDER:
        return version  # disqualified stays so; an unknown stage is never guessed
    if STAGE_ORDER.index(stage) <= STAGE_ORDER.index(row.stage):
        return version
    conn.execute(update(C).where(C.c.id == contact_id).values(stage=stage, updated_at=now))
    return now if row.updated_at == version else version


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
                "last_sync_at": None, "last_error": None, "last_deals_at": None, "deals_cursor": None}
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


# --- deals read back ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CrmDeal:
    """A deal as a CRM holds it, in socialsell's terms (docs/plugins.md, "CRM plugins")."""

    external_id: str
    stage: str  # discovery | proposal | negotiation | won | lost
    title: str | None = None
    amount: float | None = None
    currency: str | None = None  # three letters; None keeps socialsell's default
    expected_close: date | None = None
    closed_at: datetime | None = None  # when it was won or lost (None: now, if closed)
    opened_at: datetime | None = None  # when it was opened in the CRM (None: now)


def store_deal(conn: Connection, app: App, crm: str, contact_id: int, deal: CrmDeal, now: datetime) -> int:
    """Insert or update one CRM deal (``deals.source`` = the CRM's name, ``external_id`` its id).

    A deal seen for the first time adopts the contact's one deal made in socialsell and not yet
    linked to a CRM, when there is exactly one (a rep's ``task done --outcome won`` and sales'
    CRM deal are the same sale: counting both would double the revenue); otherwise it is
    inserted with the posts that started the conversation (``deal_posts``), fixed from the
    contact's engagements up to its opening, as for any deal (socialsell/sales/deals.py).
    The contact's stage follows its deals.
    """
    if deal.stage not in (*OPEN_STAGES, *CLOSED_STAGES):
        raise ValueError(f"CrmDeal.stage {deal.stage!r}: expected one of {', '.join((*OPEN_STAGES, *CLOSED_STAGES))}")
    closed = deal.stage in CLOSED_STAGES
    values: dict[str, Any] = {
        "title": (deal.title or f"{crm} deal {deal.external_id}")[:300], "amount": deal.amount, "stage": deal.stage,
        "expected_close": deal.expected_close, "closed_at": (deal.closed_at or now) if closed else None,
        "updated_at": now}
    if deal.currency:
        values["currency"] = deal.currency[:3].upper()
    d = t.deals
    existing = conn.execute(select(d.c.id).where(d.c.source == crm, d.c.external_id == deal.external_id)).scalar()
    if existing is None:
        local = conn.execute(select(d.c.id).where(d.c.contact_id == contact_id, d.c.source == "socialsell",
                                                  d.c.external_id.is_(None), d.c.stage != "lost")).scalars().all()
        if len(local) == 1:
            existing = local[0]
            values.update(source=crm, external_id=deal.external_id)  # its deal_posts stay as fixed at its opening
            app.record(conn, "deal.linked", f"deal:{existing}", {"crm": crm, "external_id": deal.external_id})
    if existing is not None:
        conn.execute(update(d).where(d.c.id == existing).values(**values))
        deal_id = existing
    else:
        opened = deal.opened_at or now
        owner = conn.execute(select(t.contacts.c.owner).where(t.contacts.c.id == contact_id)).scalar()
        task_id = conn.execute(select(t.tasks.c.id).where(t.tasks.c.contact_id == contact_id)
                               .order_by(t.tasks.c.created_at.desc(), t.tasks.c.id.desc()).limit(1)).scalar()
        touches = _attribution(conn, contact_id, opened)
        campaign = None
        if touches:
            campaign = conn.execute(select(t.posts.c.campaign_id).where(t.posts.c.id == touches[0]["post_id"])).scalar()
        deal_id = conn.execute(insert(d).values(
            contact_id=contact_id, owner=owner, opened_at=opened, task_id=task_id, campaign_id=campaign,
            source=crm, external_id=deal.external_id, created_by=crm, **values)).inserted_primary_key[0]
        if touches:
            conn.execute(insert(t.deal_posts), [{"deal_id": deal_id, "position": i, **p} for i, p in enumerate(touches, 1)])
        app.record(conn, "deal.synced", f"deal:{deal_id}", {"crm": crm, "external_id": deal.external_id})
    sync_contact_stage(conn, contact_id, now)
    return deal_id


def deal_totals(conn: Connection, crm: str) -> dict[str, dict[str, float]]:
    """``{stage: {"count": n, "amount": sum}}`` of the deals read from ``crm`` (``crm status``)."""
    d = t.deals
    return {stage: {"count": n, "amount": amount or 0.0} for stage, n, amount in conn.execute(
        select(d.c.stage, func.count(), func.sum(d.c.amount)).where(d.c.source == crm).group_by(d.c.stage))}
