"""Engagements in, contacts and follow-up tasks out, in the caller's transaction.

The poller (socialsell/loop/polling.py) calls :func:`ingest` inside the transaction that
advances the channel's cursor, fenced by its lease, so a crash loses nothing and duplicates
nothing (docs/architecture.md, invariant 2). Each engagement travels as one :class:`Incoming`
record through these steps, each a bulk statement over the whole batch (one ``SELECT ... IN``
per chunk, one executemany of ready tuples), never a round trip per row nor a re-read of a
contact's history:

1. :func:`drop_seen`: drop engagements seen before (same account, external id, kind);
2. :func:`mark_ignored`: people who never become follow-ups (our own accounts, ``[leads.ignore]``)
   are stored with the reason in ``ignored`` and no contact;
3. :func:`find_or_create_people`: each person's handle and contact, the handle's profile
   refreshed where the network says something new;
4. :func:`load_contacts`: the touched contacts as stored (a contact merged away gives its
   survivor) with their open task, locked on PostgreSQL until the commit;
5. :func:`score`: each engagement's points (``score_lines``, plugins included) and each
   contact's score, its kept points carried to now plus the new ones (docs/sales.md, "How a
   score is kept"), and its stage;
6. :func:`open_or_raise_tasks`: open or raise each contact's one open task (invariant 3; the
   policy is socialsell/sales/tasks.py); a second worker racing for the same contact loses on
   the partial unique index and attaches to the winner's task;
7. :func:`store_engagements`: the engagement rows, each already carrying its contact and task
   (``ON CONFLICT DO NOTHING``: a row another worker stored first is skipped, counted once);
8. :func:`write_changes`: contacts and tasks, only the columns that changed; the event log.

The event hooks are fired by :meth:`IngestResult.fire_hooks` after the commit, never before.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, select
from sqlalchemy.engine import Connection

from socialsell.db import schema as t
from socialsell.db.bulk import StoredValues, insert_many, select_in, update_many
from socialsell.plugins.channel import Engagement, Person
from socialsell.plugins.views import ContactView, EngagementView, TaskView
from socialsell.sales import routing, tasks
from socialsell.sales.contacts import contact_histories
from socialsell.sales.merges import follow_merges
from socialsell.sales.scoring import (
    KeptPoints,
    LeadRules,
    has_intent,
    icp_lines,
    score_lines,
    score_of,
    stage_for,
)

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App

CHUNK = 900  # ids per IN (...) list: well below SQLite's and PostgreSQL's parameter limits

#: the engagement columns ingest writes, in the order of :meth:`Incoming.row`
ENGAGEMENT_COLUMNS = ("account_id", "external_id", "kind", "contact_id", "handle_id", "delivery_id", "task_id",
                      "text", "url", "post_remote_id", "in_reply_to", "occurred_at", "ingested_at", "points",
                      "ignored", "raw")
#: what the network says about a person, refreshed on every sighting (a value it no longer
#: gives is kept, not erased)
PROFILE_FIELDS = ("name", "profile_url", "headline", "followers", "verified", "bio", "location", "company", "kind")
#: the contact columns ingest reads (not ``score_explained``: computed on read since 0004)
CONTACT_COLUMNS = ("id", "display_name", "headline", "company", "location", "email", "stage", "owner", "score",
                   "score_points", "scored_at", "merged_into", "first_seen_at", "last_seen_at")
#: the open task's columns ingest reads: what raising it may change
TASK_READ = ("id", "contact_id", "owner", "status", "priority", "score", "intent", "reason", "due_at", "snoozed_until",
             "last_engagement_at", "sla_due_at", "first_response_at")
OPEN_TASK_CONFLICT = "(contact_id) WHERE status IN ('open', 'snoozed')"  # uq_tasks_one_open


def norm_handle(handle: str) -> str:
    """How handles are stored and compared: trimmed and lower case."""
    return handle.strip().lower()


def bare_handle(handle: str) -> str:
    """A handle without its ``@``, for comparing with lists typed by people."""
    return norm_handle(handle).lstrip("@")


def ignore_reason(person: Person, rules: LeadRules, own: set[str], ignored: set[str] | None = None) -> str | None:
    """Why this person never becomes a follow-up, or None (``own`` and ``ignored``: bare handles)."""
    h = bare_handle(person.handle)
    if h in own:
        return "our own account"
    if h in (ignored if ignored is not None else {bare_handle(x) for x in rules.ignore_handles}):
        return "on the ignore list"
    headline = (person.headline or "").lower()
    if rules.ignore_keywords and any(k in headline for k in rules.ignore_keywords):
        return "ignored by headline"
    return None


# --- the records carried through the steps ----------------------------------------------------


@dataclass(eq=False)
class Batch:
    """What every step needs: the app, the transaction, the account and the time of the poll."""

    app: App
    conn: Connection
    account: str
    account_id: int
    channel: str
    rules: LeadRules
    now: datetime
    stored: StoredValues

    @classmethod
    def of(cls, app: App, conn: Connection, account: str, now: datetime) -> Batch:
        return cls(app, conn, account, app.account_id(account), app.workspace.account(account).channel,
                   app.settings.leads, now, StoredValues(conn))

    def lock(self, table: str) -> str:
        """What locks the rows a query reads until the commit, on PostgreSQL (SQLite's write
        transaction already holds the one write lock): a contact's kept score is read, added to
        and written by one worker at a time."""
        return "" if self.stored.sqlite else f" FOR UPDATE OF {table}"

    @contextmanager
    def planned_for_their_ids(self) -> Iterator[None]:
        """On PostgreSQL, the lookups inside are planned for the ids they are given, each time.

        psycopg prepares a statement on the server after its fifth run, and PostgreSQL may then
        keep one generic plan for it: ingest's lookups (``external_id IN (...)``, 900 ids) were
        planned as scans while the tables were small and kept that plan as they grew, until
        autoanalyze invalidated it (batches of 8 s instead of 1 s in bench/bench_ingest.py).
        The writes after it keep their prepared plans (planning each of thousands of inserts
        again would double a batch's time). ``SET LOCAL`` ends with the transaction anyway."""
        if self.stored.sqlite:
            yield
            return
        self.conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")
        yield
        self.conn.exec_driver_sql("SET LOCAL plan_cache_mode = auto")

    def values(self, changes: dict[str, Any]) -> dict[str, Any]:
        """``changes`` as the driver stores them (times converted)."""
        time = self.stored.time
        return {k: time(v) if isinstance(v, datetime) else v for k, v in changes.items()}


@dataclass(eq=False, slots=True)
class Incoming:
    """One engagement on its way through ingest: what the channel said, then what each step adds."""

    engagement: Engagement
    handle: str  # normalised (:func:`norm_handle`)
    ignored: str | None = None
    contact_id: int | None = None
    handle_id: int | None = None
    delivery_id: int | None = None
    task_id: int | None = None
    points: float = 0.0
    reasons: list[str] = field(default_factory=list)
    intent: str | None = None  # the intent keyword in its text (step 5)
    id: int | None = None  # once stored

    @property
    def key(self) -> tuple[str, str]:
        return self.engagement.external_id, self.engagement.kind

    def said(self) -> tasks.Said:
        e = self.engagement
        return tasks.Said(e.kind, e.text, self.points, e.occurred_at)

    def payload(self, batch: Batch) -> dict[str, Any]:
        """The engagement as hooks and routing see it (``score_engagement``, ``assign_owner``,
        ``engagement_ingested``'s view)."""
        e = self.engagement
        return {"id": self.id, "account": batch.account, "channel": batch.channel, "kind": e.kind,
                "external_id": e.external_id, "contact_id": self.contact_id, "task_id": self.task_id,
                "handle": e.person.handle, "text": e.text, "url": e.url, "post_remote_id": e.post_remote_id,
                "in_reply_to": e.in_reply_to, "occurred_at": e.occurred_at, "points": self.points,
                "ignored": self.ignored}

    def row(self, batch: Batch) -> tuple:
        """The engagement row, in :data:`ENGAGEMENT_COLUMNS` order, as the driver stores it."""
        e, s = self.engagement, batch.stored
        return (batch.account_id, e.external_id, e.kind, self.contact_id, self.handle_id, self.delivery_id,
                self.task_id, e.text, e.url, e.post_remote_id, e.in_reply_to, s.time(e.occurred_at),
                s.time(batch.now), self.points, self.ignored, s.json({"reasons": self.reasons, **(e.raw or {})}))


@dataclass(eq=False)
class Touched:
    """A contact this batch touches: as stored (``row``, what hooks see), its new engagements,
    its open task, and what this batch changes on both."""

    row: dict[str, Any]
    new: list[Incoming] = field(default_factory=list)
    task: dict[str, Any] | None = None  # its open task as stored
    task_id: int | None = None
    new_task: dict[str, Any] | None = None  # the task this batch opens
    changes: dict[str, Any] = field(default_factory=dict)  # contact columns to write
    task_changes: dict[str, Any] = field(default_factory=dict)  # open task columns to write

    @property
    def id(self) -> int:
        return self.row["id"]


@dataclass
class IngestResult:
    stored: list[Incoming] = field(default_factory=list)  # engagements stored by this batch
    duplicates: int = 0
    ignored: int = 0
    tasks_created: list[dict[str, Any]] = field(default_factory=list)
    tasks_updated: list[int] = field(default_factory=list)
    contacts: dict[int, dict[str, Any]] = field(default_factory=dict)
    batch: Batch | None = None

    @cached_property
    def new(self) -> list[EngagementView]:
        """The stored engagements as the ``engagement_ingested`` hook sees them."""
        return [EngagementView(e.payload(self.batch)) for e in self.stored] if self.batch else []

    def fire_hooks(self, app: App) -> None:
        """Event hooks, called after the transaction committed, with documented views (not rows)."""
        if app.hook.engagement_ingested.get_hookimpls():
            for e in self.new:
                app.fire("engagement_ingested", engagement=e, contact=ContactView(self.contacts.get(e["contact_id"], {})))
        for task in self.tasks_created:
            app.fire("task_created", task=TaskView(task), contact=ContactView(self.contacts.get(task["contact_id"], {})))


def _chunks(values: Iterable[Any]) -> Iterator[list[Any]]:
    values = list(values)
    for i in range(0, len(values), CHUNK):
        yield values[i:i + CHUNK]


# --- the steps --------------------------------------------------------------------------------


def ingest(app: App, conn: Connection, account: str, engagements: Sequence[Engagement],
           now: datetime | None = None) -> IngestResult:
    """Store a batch of engagements from one account and turn people into follow-ups."""
    batch = Batch.of(app, conn, account, now or app.now())
    result = IngestResult(batch=batch)
    with batch.planned_for_their_ids():
        incoming, result.duplicates = drop_seen(batch, engagements)
        if not incoming:
            return result
        people = mark_ignored(batch, incoming)
        find_or_create_people(batch, incoming, people)
        link_deliveries(batch, incoming)
        touched = load_contacts(batch, incoming)
    score(batch, touched)
    open_or_raise_tasks(batch, touched, result)
    store_engagements(batch, incoming, touched, result)
    write_changes(batch, touched, result)
    result.contacts = {c.id: c.row for c in touched.values()}
    return result


def drop_seen(batch: Batch, engagements: Sequence[Engagement]) -> tuple[list[Incoming], int]:
    """1. The engagements not stored before (nor twice in this batch), and how many were."""
    seen: set[tuple[str, str]] = set()
    for ids in _chunks({e.external_id for e in engagements}):
        seen.update(select_in(batch.conn, "SELECT external_id, kind FROM engagements WHERE account_id = {p} "
                                          "AND external_id IN ({in})", ids, batch.account_id))
    incoming: list[Incoming] = []
    for e in engagements:
        key = (e.external_id, e.kind)
        if key not in seen:
            seen.add(key)
            incoming.append(Incoming(e, norm_handle(e.person.handle)))
    return incoming, len(engagements) - len(incoming)


def mark_ignored(batch: Batch, incoming: list[Incoming]) -> dict[str, Person]:
    """2. Mark engagements from people who never become follow-ups; the others' people by handle."""
    own = {bare_handle(h) for h in _own_handles(batch)}
    ignore_list = {bare_handle(h) for h in batch.rules.ignore_handles}
    reasons: dict[str, str | None] = {}
    people: dict[str, Person] = {}
    for inc in incoming:
        if inc.handle not in reasons:
            reasons[inc.handle] = ignore_reason(inc.engagement.person, batch.rules, own, ignore_list)
            if reasons[inc.handle] is None:
                people[inc.handle] = inc.engagement.person
        inc.ignored = reasons[inc.handle]
    return people


def _own_handles(batch: Batch) -> list[str]:
    handles = list(batch.conn.execute(select(t.accounts.c.handle).where(t.accounts.c.handle.is_not(None))).scalars())
    handles += [a.handle for a in batch.app.workspace.accounts.values() if a.handle]
    return handles + batch.rules.own_handles


def find_or_create_people(batch: Batch, incoming: list[Incoming], people: dict[str, Person]) -> None:
    """3. Each person's handle and contact: known handles get what the network says anew, new
    people get a contact and a handle (a contact merged away is resolved in step 4)."""
    known = _lookup_handles(batch, people)
    _refresh_profiles(batch, known, people)
    new = sorted(h for h in people if h not in known)  # sorted: racing workers lock in one order
    if new:
        known.update(_create_people(batch, {h: people[h] for h in new}))
    for inc in incoming:
        if inc.ignored is None:
            inc.handle_id, inc.contact_id = known[inc.handle]["id"], known[inc.handle]["contact_id"]


def _lookup_handles(batch: Batch, handles: Iterable[str]) -> dict[str, dict[str, Any]]:
    names = ("id", "handle", "contact_id", *PROFILE_FIELDS)
    sql = f"SELECT {', '.join(names)} FROM handles WHERE channel = {{p}} AND handle IN ({{in}})"
    found: dict[str, dict[str, Any]] = {}
    for ids in _chunks(handles):
        for r in select_in(batch.conn, sql, ids, batch.channel):
            found[r[1]] = row = dict(zip(names, r, strict=True))
            row["verified"] = None if row["verified"] is None else bool(row["verified"])
    return found


def _refresh_profiles(batch: Batch, known: dict[str, dict[str, Any]], people: dict[str, Person]) -> None:
    """Write only the profile fields the network now says differently."""
    changes = []
    said = attrgetter(*PROFILE_FIELDS)
    for h, stored in known.items():
        now_said = said(people[h])
        if now_said == tuple(stored[f] for f in PROFILE_FIELDS):  # most sightings: nothing new
            continue
        changed = {f: v for f, v in zip(PROFILE_FIELDS, now_said, strict=True) if v is not None and v != stored[f]}
        if changed:
            changes.append((stored["id"], changed))
            stored.update(changed)
    update_many(batch.conn, t.handles, changes)


def _create_people(batch: Batch, people: dict[str, Person]) -> dict[str, dict[str, Any]]:
    """A contact and a handle per new person. A person another worker created first keeps theirs
    (the handle's unique key decides; our contact for them is dropped)."""
    conn, now = batch.conn, batch.stored.time(batch.now)
    origin_of = {f"{batch.channel}:{h}": h for h in people}
    contact_of = {origin_of[o]: cid for cid, o in insert_many(
        conn, t.contacts, ("display_name", "headline", "company", "location", "stage", "origin", "score",
                           "score_points", "scored_at", "first_seen_at", "last_seen_at", "updated_at"),
        [(p.name or p.handle, p.headline, p.company, p.location, "engaged", o, 0.0, 0.0, now, now, now, now)
         for o, p in ((o, people[h]) for o, h in origin_of.items())],
        returning=("id", "origin"))}
    created = {h: {"id": hid, "contact_id": cid} for hid, h, cid in insert_many(
        conn, t.handles, ("contact_id", "channel", "handle", "remote_user_id", *PROFILE_FIELDS),
        [(contact_of[h], batch.channel, h, p.external_id, *(getattr(p, f) for f in PROFILE_FIELDS))
         for h, p in people.items()],
        on_conflict="(channel, handle)", returning=("id", "handle", "contact_id"))}
    lost = [h for h in people if h not in created]
    if lost:  # another worker created these people a moment ago: use theirs, drop ours
        for ids in _chunks(contact_of[h] for h in lost):
            conn.execute(delete(t.contacts).where(t.contacts.c.id.in_(ids)))
        created.update(_lookup_handles(batch, lost))
    return created


def link_deliveries(batch: Batch, incoming: list[Incoming]) -> None:
    """Which of our published posts each engagement reacts to."""
    delivery_of: dict[str, int] = {}
    for ids in _chunks({inc.engagement.post_remote_id for inc in incoming if inc.engagement.post_remote_id}):
        delivery_of.update(select_in(batch.conn, "SELECT remote_id, id FROM deliveries WHERE account_id = {p} "
                                                 "AND remote_id IN ({in})", ids, batch.account_id))
    for inc in incoming:
        inc.delivery_id = delivery_of.get(inc.engagement.post_remote_id or "")


def load_contacts(batch: Batch, incoming: list[Incoming]) -> dict[int, Touched]:
    """4. The contacts behind the batch as stored, with their profile across handles and open
    task; an engagement from a contact merged away goes to its survivor."""
    rows = _contact_rows(batch, {inc.contact_id for inc in incoming if inc.contact_id is not None})
    touched: dict[int, Touched] = {}
    for inc in incoming:
        if inc.contact_id is not None:
            if rows[inc.contact_id]["merged_into"] is not None:
                inc.contact_id = _survivor(rows, inc.contact_id)
            c = touched.get(inc.contact_id)
            if c is None:
                c = touched[inc.contact_id] = Touched(rows[inc.contact_id])
            c.new.append(inc)
    read_time = batch.stored.read_time
    sql = (f"SELECT {', '.join(TASK_READ)} FROM tasks WHERE contact_id IN ({{in}}) AND status IN "
           f"({', '.join(repr(s) for s in tasks.OPEN)}) ORDER BY contact_id{batch.lock('tasks')}")
    for ids in _chunks(sorted(touched)):
        for r in select_in(batch.conn, sql, ids):
            task = dict(zip(TASK_READ, r, strict=True))
            for k in ("due_at", "snoozed_until", "last_engagement_at", "sla_due_at", "first_response_at"):
                task[k] = read_time(task[k])
            c = touched[task["contact_id"]]
            c.task, c.task_id = task, task["id"]
    return touched


def _contact_rows(batch: Batch, wanted: set[int]) -> dict[int, dict[str, Any]]:
    """``{id: contact}`` for these contacts and the survivors of those merged away, each with
    its largest audience and verified badge across its handles."""
    read_time = batch.stored.read_time
    sql = (f"SELECT {', '.join(CONTACT_COLUMNS)} FROM contacts WHERE id IN ({{in}}) "
           f"ORDER BY id{batch.lock('contacts')}")
    # one grouped read of the chunk's handles, not a subquery per contact: on a database whose
    # statistics lag its growth (PostgreSQL before autoanalyze catches up with a first big
    # import) a per-contact subquery was planned as a scan of every handle, per contact
    profile = ("SELECT contact_id, max(followers), max(CASE WHEN verified THEN 1 ELSE 0 END) FROM handles "
               "WHERE contact_id IN ({in}) GROUP BY contact_id")
    rows: dict[int, dict[str, Any]] = {}
    while wanted:  # more than one round only when a contact was merged away
        for ids in _chunks(sorted(wanted)):
            for r in select_in(batch.conn, sql, ids):
                row = rows[r[0]] = dict(zip(CONTACT_COLUMNS, r, strict=True))
                for k in ("scored_at", "first_seen_at", "last_seen_at"):
                    row[k] = read_time(row[k])
                row["followers"], row["verified"] = None, False
            for cid, followers, verified in select_in(batch.conn, profile, ids):
                rows[cid]["followers"], rows[cid]["verified"] = followers, bool(verified)
        wanted = {r["merged_into"] for r in rows.values() if r["merged_into"] is not None} - rows.keys()
    return rows


def _survivor(rows: dict[int, dict[str, Any]], contact_id: int) -> int:
    """Where a chain of merges ends, over the rows already read (socialsell/sales/merges.py)."""
    return follow_merges(lambda cid: rows[cid]["merged_into"], contact_id)


def score(batch: Batch, touched: dict[int, Touched]) -> None:
    """5. Each engagement's points, then each contact's score and stage: its kept points carried
    to now plus the new ones. A contact scored before revision 0004 has no kept points yet: its
    history is read once, here, and kept from then on."""
    app, rules, now = batch.app, batch.rules, batch.now
    plugins = bool(app.hook.score_engagement.get_hookimpls())  # else no payload to build for them
    for c in touched.values():
        for inc in c.new:
            e = inc.engagement
            inc.intent = has_intent(e.text, rules)
            seen = inc.payload(batch) if plugins else {"kind": e.kind, "channel": batch.channel, "text": e.text}
            lines = score_lines(seen, c.row, rules, app if plugins else None, intent=inc.intent)
            inc.points = round(sum(p for _, p in lines), 2)
            inc.reasons = [r for r, _ in lines[1:]]
    unkept = [c.id for c in touched.values() if c.row["scored_at"] is None]
    histories = contact_histories(batch.conn, unkept) if unkept else {}
    qualify = bool(app.hook.qualify_lead.get_hookimpls())
    if qualify:  # the hook is documented to see the whole history: read only when a plugin asks
        histories = contact_histories(batch.conn, touched)
    for c in touched.values():
        earned = [(inc.points, inc.engagement.occurred_at) for inc in c.new]
        if c.row["scored_at"] is None:
            kept = KeptPoints(0.0, now).plus(((e["points"] or 0.0, e["occurred_at"]) for e in histories.get(c.id, [])),
                                             now, rules.half_life_days)
        else:
            kept = KeptPoints(c.row["score_points"], c.row["scored_at"])
        kept = kept.plus(earned, now, rules.half_life_days)
        value = score_of(kept.points, icp_lines(c.row, rules))
        stage = None
        if qualify:
            history = sorted([*histories.get(c.id, []), *({"kind": i.engagement.kind, "text": i.engagement.text,
                                                           "points": i.points, "occurred_at": i.engagement.occurred_at,
                                                           "reasons": i.reasons} for i in c.new)],
                             key=lambda e: e["occurred_at"], reverse=True)
            stage = app.hook.qualify_lead(contact=c.row, score=value, engagements=history)
        stage = stage or stage_for(value, rules, c.row["stage"])
        last_seen = max(max(at for _, at in earned), c.row["last_seen_at"])
        c.changes = {"score_points": kept.points, "scored_at": now, "updated_at": now,
                     **{k: v for k, v in (("score", value), ("stage", stage), ("last_seen_at", last_seen))
                        if c.row[k] != v}}
        c.row.update(c.changes)


def open_or_raise_tasks(batch: Batch, touched: dict[int, Touched], result: IngestResult) -> None:
    """6. Raise each open task; open one where the policy says so (socialsell/sales/tasks.py),
    owned by routing's choice and due by the SLA."""
    rules, now = batch.rules, batch.now
    due = {intent: routing.due_time(batch.app, now, intent) for intent in (False, True)}  # the same for the batch
    load: dict[str, int] | None = None
    opening: list[Touched] = []
    for c in touched.values():
        intent_said = next((inc for inc in c.new if inc.intent), None)
        if c.task is not None:
            c.task_changes = tasks.raise_task(c.task, [inc.said() for inc in c.new],
                                              intent_said.said() if intent_said else None, c.row["score"], rules, now,
                                              due[True])
            result.tasks_updated.append(c.task["id"])
            continue
        if not tasks.opens_task(c.row["score"], c.row["stage"], intent_said is not None, rules):
            continue
        best = intent_said or max(c.new, key=lambda inc: inc.points)
        if load is None:
            load = routing.open_task_load(batch.conn)
        owner = routing.choose_owner(batch.app, batch.conn, c.row, best.payload(batch), load)
        if owner:
            load[owner] = load.get(owner, 0) + 1  # round-robin stays fair inside one batch
        intent = intent_said is not None
        c.new_task = {
            "contact_id": c.id, "owner": owner, "status": "open", "score": c.row["score"], "intent": intent,
            "priority": tasks.priority(c.row["score"], intent, rules),
            "reason": tasks.task_reason(best.engagement.kind, best.engagement.text, rules),
            "due_at": due[intent], "sla_due_at": due[intent], "first": best,  # the first-touch deadline, kept
            "last_engagement_at": c.row["last_seen_at"], "created_at": now, "updated_at": now,
        }
        opening.append(c)
    _insert_tasks(batch, opening, result)


TASK_COLUMNS = ("contact_id", "owner", "status", "score", "intent", "priority", "reason", "due_at", "sla_due_at",
                "last_engagement_at", "created_at", "updated_at")


def _insert_tasks(batch: Batch, opening: list[Touched], result: IngestResult) -> None:
    """The new tasks in one executemany. A contact whose task another worker opened a moment
    ago (the partial unique index ``uq_tasks_one_open`` refused ours) attaches to that one."""
    if not opening:
        return
    conn, T = batch.conn, t.tasks
    rows = [batch.values(c.new_task) for c in opening]
    opened = dict((cid, tid) for tid, cid in insert_many(
        conn, T, TASK_COLUMNS, [tuple(row[k] for k in TASK_COLUMNS) for row in rows],
        on_conflict=OPEN_TASK_CONFLICT, returning=("id", "contact_id")))
    lost = [c for c in opening if c.id not in opened]
    for ids in _chunks(c.id for c in lost):
        opened.update((cid, tid) for tid, cid in conn.execute(select(T.c.id, T.c.contact_id).where(and_(
            T.c.contact_id.in_(ids), T.c.status.in_(tasks.OPEN)))).all())
    for c in opening:
        c.task_id = opened[c.id]
        if c in lost:
            c.new_task = None
            result.tasks_updated.append(c.task_id)
            continue
        owner = c.new_task["owner"]
        if owner and not c.row["owner"]:
            c.changes["owner"] = c.row["owner"] = owner
        result.tasks_created.append({**{k: v for k, v in c.new_task.items() if k != "first"}, "id": c.task_id})


def store_engagements(batch: Batch, incoming: list[Incoming], touched: dict[int, Touched], result: IngestResult) -> None:
    """7. The engagement rows in one executemany, each with its contact and its contact's one
    task (invariant 3), set here and nowhere else. Under the poll's lease no other worker stores
    this account's engagements, so a row skipped on conflict is a duplicate in this batch's
    account that slipped past step 1 only by a manual ``ingest`` running beside the poll."""
    for c in touched.values():
        for inc in c.new:
            inc.task_id = c.task_id
    stored = {(ext, kind): id_ for id_, ext, kind in insert_many(
        batch.conn, t.engagements, ENGAGEMENT_COLUMNS, [inc.row(batch) for inc in incoming],
        on_conflict="(account_id, external_id, kind)", returning=("id", "external_id", "kind"))}
    for inc in incoming:
        inc.id = stored.get(inc.key)
    result.stored = [inc for inc in incoming if inc.id is not None]
    result.duplicates += len(incoming) - len(result.stored)
    result.ignored = sum(1 for inc in result.stored if inc.ignored)


def write_changes(batch: Batch, touched: dict[int, Touched], result: IngestResult) -> None:
    """8. What changed on each contact and open task, only those columns; the first engagement
    of each new task (its id exists only now); ``task.created`` in the event log."""
    conn = batch.conn
    update_many(conn, t.contacts, ((c.id, batch.values(c.changes)) for c in touched.values()), keep=("owner",))
    update_many(conn, t.tasks, [(c.task_id, batch.values(c.task_changes)) for c in touched.values() if c.task_changes]
                + [(c.task_id, {"first_engagement_id": c.new_task["first"].id}) for c in touched.values() if c.new_task])
    for task in result.tasks_created:
        task["first_engagement_id"] = touched[task["contact_id"]].new_task["first"].id
    batch.app.record_many(conn, "task.created", [(f"task:{task['id']}", {"contact": task["contact_id"], "owner": task["owner"]})
                                                 for task in result.tasks_created], at=batch.now)
