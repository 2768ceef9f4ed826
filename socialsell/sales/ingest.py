"""Engagements in, contacts and follow-up tasks out, in the caller's transaction.

The poller calls :func:`ingest` inside the same transaction that advances the channel's
cursor, so a crash loses nothing and duplicates nothing. Every step is a bulk statement
over the whole batch (one ``SELECT ... IN``, one executemany), never a round trip per row:

1. drop engagements seen before (same account, external id, kind);
2. drop people who never become follow-ups (our own accounts, ``[leads.ignore]``): their
   engagements are stored with the reason in ``ignored`` and no contact;
3. find or create each person's handle and contact (a handle merged away points to the
   survivor, because ``contact merge`` moves handles);
4. store the engagements (``ON CONFLICT DO NOTHING``: a row another worker stored first is
   skipped, so each engagement is counted once);
5. rescore the touched contacts and open or update their one open task (invariant 3; a
   second worker racing for the same contact loses on the partial unique index and attaches
   to the winner's task instead).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    DateTime,
    Table,
    and_,
    bindparam,
    column,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy import table as table_clause
from sqlalchemy.engine import Connection

from socialsell.db import schema as t
from socialsell.plugins.channel import Engagement, Person
from socialsell.plugins.views import ContactView, EngagementView, TaskView
from socialsell.sales import routing
from socialsell.sales.merges import MAX_MERGE_HOPS, follow_merges
from socialsell.sales.scoring import LeadRules, contact_score, has_intent, score_lines, stage_for
from socialsell.sales.tasks import OPEN

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App

CHUNK = 500  # ids per IN (...) list: well below SQLite's and PostgreSQL's parameter limits
OPEN_TASK = text("status IN ('open', 'snoozed')")  # the predicate of uq_tasks_one_open


@dataclass
class IngestResult:
    new: list[dict[str, Any]] = field(default_factory=list)  # engagements stored
    duplicates: int = 0
    ignored: int = 0
    tasks_created: list[dict[str, Any]] = field(default_factory=list)
    tasks_updated: list[int] = field(default_factory=list)
    contacts: dict[int, dict[str, Any]] = field(default_factory=dict)

    def fire_hooks(self, app: App) -> None:
        """Event hooks, called after the transaction committed, with documented views (not rows)."""
        for e in self.new:
            contact = ContactView(self.contacts.get(e["contact_id"], {}))
            app.fire("engagement_ingested", engagement=EngagementView(e), contact=contact)
        for task in self.tasks_created:
            contact = ContactView(self.contacts.get(task["contact_id"], {}))
            app.fire("task_created", task=TaskView(task), contact=contact)


def norm_handle(handle: str) -> str:
    """How handles are stored and compared: trimmed and lower case."""
    return handle.strip().lower()


def bare_handle(handle: str) -> str:
    """A handle without its ``@``, for comparing with lists typed by people."""
    return norm_handle(handle).lstrip("@")


def _chunks(values: Iterable[Any]) -> Iterable[list[Any]]:
    values = list(values)
    for i in range(0, len(values), CHUNK):
        yield values[i:i + CHUNK]


def _plain(table: Table):
    """``table`` for bulk writes: the same columns, but times bound as given (see :class:`_Times`).

    :class:`~socialsell.db.schema.UTCDateTime` runs two processors per value on every row of an
    executemany; the hot writes convert each distinct time once instead.
    """
    return table_clause(table.name, *[
        column(c.name, None if isinstance(c.type, t.UTCDateTime) else c.type) for c in table.columns])


#: the tables the hot path writes, with times bound as already-converted values
engagements_bulk, contacts_bulk, tasks_bulk, events_bulk = (_plain(x) for x in (t.engagements, t.contacts, t.tasks, t.events))


class _Times:
    """Aware datetimes to what the driver stores for a ``UTCDateTime`` column, each distinct value once."""

    def __init__(self, conn: Connection) -> None:
        self._utc = t.UTCDateTime().process_bind_param
        self._impl = DateTime().bind_processor(conn.dialect)  # SQLite: text; PostgreSQL: none
        self._dialect = conn.dialect
        self._seen: dict[datetime, Any] = {}

    def __call__(self, value: datetime | None) -> Any:
        if value is None:
            return None
        out = self._seen.get(value)
        if out is None:
            out = self._utc(value, self._dialect)
            if self._impl is not None:
                out = self._impl(out)
            self._seen[value] = out
        return out

    def rows(self, rows: list[dict[str, Any]], *keys: str) -> list[dict[str, Any]]:
        """Copies of ``rows`` with the times under ``keys`` converted."""
        return [{**r, **{k: self(r[k]) for k in keys}} for r in rows]


def ignore_reason(person: Person, rules: LeadRules, own: set[str]) -> str | None:
    """Why this person never becomes a follow-up, or None."""
    h = bare_handle(person.handle)
    if h in own:
        return "our own account"
    if h in {bare_handle(x) for x in rules.ignore_handles}:
        return "on the ignore list"
    headline = (person.headline or "").lower()
    if rules.ignore_keywords and any(k in headline for k in rules.ignore_keywords):
        return "ignored by headline"
    return None


def ingest(app: App, conn: Connection, account: str, engagements: Sequence[Engagement], now: datetime | None = None) -> IngestResult:
    """Store a batch of engagements from one account and turn people into follow-ups."""
    now = now or app.now()
    result = IngestResult()
    if not engagements:
        return result
    acc = app.workspace.account(account)
    account_id = app.account_id(account)
    rules = app.settings.leads
    own = {bare_handle(h) for h in _own_handles(app, conn)}

    # 1. which are new? one query per chunk of external ids
    seen: set[tuple[str, str]] = set()
    for ids in _chunks({e.external_id for e in engagements}):
        seen.update((r[0], r[1]) for r in conn.execute(
            select(t.engagements.c.external_id, t.engagements.c.kind).where(and_(
                t.engagements.c.account_id == account_id, t.engagements.c.external_id.in_(ids)))))
    fresh: dict[tuple[str, str], Engagement] = {}
    for e in engagements:
        k = (e.external_id, e.kind)
        if k in seen or k in fresh:
            result.duplicates += 1
            continue
        fresh[k] = e
    if not fresh:
        return result

    # 2. who is ignored; the rest are people we may follow up
    people: dict[str, Person] = {}
    ignored_handles: dict[str, str] = {}
    for e in fresh.values():
        h = norm_handle(e.person.handle)
        if h in people or h in ignored_handles:
            continue
        reason = ignore_reason(e.person, rules, own)
        if reason:
            ignored_handles[h] = reason
        else:
            people[h] = e.person

    # 3. handles and contacts
    handle_rows = _ensure_handles(app, conn, acc.channel, people, now)
    contact_of = _resolve_merged(conn, {h: r["contact_id"] for h, r in handle_rows.items()})

    remote_ids = {e.post_remote_id for e in fresh.values() if e.post_remote_id}
    delivery_of: dict[str, int] = {}
    for ids in _chunks(remote_ids):
        delivery_of.update((r[0], r[1]) for r in conn.execute(
            select(t.deliveries.c.remote_id, t.deliveries.c.id).where(and_(
                t.deliveries.c.account_id == account_id, t.deliveries.c.remote_id.in_(ids)))))

    created = {r["contact_id"]: r["created"] for r in handle_rows.values() if r.get("created")}
    contacts: dict[int, dict[str, Any]] = dict(created)
    for ids in _chunks(set(contact_of.values()) - set(created)):
        contacts.update((r["id"], dict(r)) for r in conn.execute(select(t.contacts).where(t.contacts.c.id.in_(ids))).mappings())
    for h, cid in contact_of.items():
        followers = people[h].followers or 0
        contacts[cid]["followers"] = max(contacts[cid].get("followers") or 0, followers) or None
        contacts[cid]["verified"] = bool(contacts[cid].get("verified") or people[h].verified)
    # their open tasks, read before the insert so engagements of people with a task are stored
    # attached to it (only those opening a new task are attached afterwards)
    open_tasks = _open_tasks(conn, set(contacts) - set(created))

    # 4. the engagement rows, scored one by one (plugins' score_engagement included)
    rows = []
    for e in fresh.values():
        h = norm_handle(e.person.handle)
        ignored = ignored_handles.get(h)
        cid = None if ignored else contact_of[h]
        lines: list[tuple[str, float]] = []
        if not ignored:
            payload = {"kind": e.kind, "text": e.text, "channel": acc.channel, "account": account,
                       "occurred_at": e.occurred_at, "url": e.url, "post_remote_id": e.post_remote_id,
                       "handle": e.person.handle}
            lines = score_lines(payload, contacts[cid], rules, app)
        rows.append({
            "account_id": account_id, "external_id": e.external_id, "kind": e.kind, "contact_id": cid,
            "handle_id": None if ignored else handle_rows[h]["id"], "delivery_id": delivery_of.get(e.post_remote_id or ""),
            "text": e.text, "url": e.url, "post_remote_id": e.post_remote_id, "in_reply_to": e.in_reply_to,
            "occurred_at": e.occurred_at, "ingested_at": now, "points": round(sum(p for _, p in lines), 2),
            "ignored": ignored, "raw": {"reasons": [r for r, _ in lines[1:]], **(e.raw or {})},
        })
    times = _Times(conn)
    stored = _insert_engagements(app, conn, rows, times, {cid: task["id"] for cid, task in open_tasks.items()})
    result.duplicates += len(rows) - len(stored)
    result.ignored = sum(1 for r in stored if r["ignored"])
    for row in stored:
        result.new.append({**row, "channel": acc.channel, "account": account})

    # 5. rescore touched contacts, open or update their one task
    new_by_contact: dict[int, list[dict[str, Any]]] = {}
    for r in stored:
        if not r["ignored"]:
            new_by_contact.setdefault(r["contact_id"], []).append({**r, "channel": acc.channel, "account": account})
    if new_by_contact:
        _update_contacts_and_tasks(app, conn, {cid: contacts[cid] for cid in new_by_contact}, new_by_contact, rules, now,
                                   result, times, open_tasks, set(created))
    result.contacts = contacts
    return result


def _ensure_handles(app: App, conn: Connection, channel: str, people: dict[str, Person], now: datetime) -> dict[str, dict[str, Any]]:
    """``{handle: {"id", "contact_id"}}`` for every person, creating contacts for new ones (``"created"``)."""
    H = t.handles
    found: dict[str, dict[str, Any]] = {}

    def lookup(handles: Iterable[str]) -> None:
        for ids in _chunks(handles):
            found.update((r.handle, {"id": r.id, "contact_id": r.contact_id}) for r in conn.execute(
                select(H.c.id, H.c.handle, H.c.contact_id).where(and_(H.c.channel == channel, H.c.handle.in_(ids)))))

    lookup(people)
    _refresh_handles(conn, {found[h]["id"]: people[h] for h in people if h in found})
    new = [h for h in people if h not in found]
    if not new:
        return found
    # one executemany for the contacts, one for the handles; RETURNING the origin pairs them
    # (row order of RETURNING is not guaranteed, and asking for it costs a statement per row)
    origin_of = {f"{channel}:{h}": h for h in new}
    stamp = _Times(conn)(now)
    values = {h: {
        "display_name": people[h].name or people[h].handle, "headline": people[h].headline,
        "company": people[h].company, "location": people[h].location, "stage": "engaged", "origin": o,
        "score": 0.0, "first_seen_at": stamp, "last_seen_at": stamp, "updated_at": stamp,
    } for o, h in origin_of.items()}
    contact_of = {origin_of[origin]: cid for cid, origin in conn.execute(
        insert(contacts_bulk).returning(contacts_bulk.c.id, contacts_bulk.c.origin), list(values.values())).all()}
    created = [contact_of[h] for h in new]
    stmt = app.db.insert(H).on_conflict_do_nothing(index_elements=["channel", "handle"]).returning(H.c.handle)
    inserted = set(conn.execute(stmt, [{
        "contact_id": cid, "channel": channel, "handle": h, "remote_user_id": people[h].external_id,
        "name": people[h].name, "profile_url": people[h].profile_url, "headline": people[h].headline,
        "followers": people[h].followers, "verified": people[h].verified, "bio": people[h].bio,
        "location": people[h].location, "company": people[h].company, "kind": people[h].kind,
    } for h, cid in zip(new, created, strict=True)]).scalars().all())
    orphans = [cid for h, cid in zip(new, created, strict=True) if h not in inserted]
    if orphans:  # another worker created these people first: use theirs, drop ours
        conn.execute(delete(t.contacts).where(t.contacts.c.id.in_(orphans)))
    lookup(new)
    at = now.astimezone(UTC)
    for h in inserted:  # contacts this batch created (as a SELECT would return them): no history, no task yet
        found[h]["created"] = {c.name: None for c in t.contacts.columns} | values[h] | {
            "id": contact_of[h], "first_seen_at": at, "last_seen_at": at, "updated_at": at}
    return found


#: what the network says about a person, refreshed on every sighting (a value it no longer
#: gives is kept, not erased)
PROFILE_FIELDS = ("name", "profile_url", "headline", "followers", "verified", "bio", "location", "company", "kind")


def _refresh_handles(conn: Connection, known: dict[int, Person]) -> None:
    """Known handles get the latest profile data, in one executemany."""
    H = t.handles
    rows = [{"b_id": hid, **{f"b_{k}": getattr(p, k) for k in PROFILE_FIELDS}} for hid, p in known.items()
            if any(getattr(p, k) is not None for k in PROFILE_FIELDS)]
    if rows:
        conn.execute(update(H).where(H.c.id == bindparam("b_id")).values(
            **{k: func.coalesce(bindparam(f"b_{k}", type_=H.c[k].type), H.c[k]) for k in PROFILE_FIELDS}), rows)


def _open_tasks(conn: Connection, contact_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The open (or snoozed) task of each of these contacts that has one."""
    T = t.tasks
    out: dict[int, dict[str, Any]] = {}
    for ids in _chunks(contact_ids):
        out.update((r["contact_id"], dict(r)) for r in conn.execute(
            select(T).where(and_(T.c.contact_id.in_(ids), T.c.status.in_(OPEN)))).mappings())
    return out


def _resolve_merged(conn: Connection, contact_of: dict[str, int]) -> dict[str, int]:
    """Follow ``merged_into`` (normally handles already point at the survivor), reading each hop
    for all contacts at once (socialsell/sales/merges.py says why the walk is bounded)."""
    target: dict[int, int | None] = {}
    pending = set(contact_of.values())
    for _ in range(MAX_MERGE_HOPS):
        if not pending:
            break
        step: dict[int, int | None] = {}
        for ids in _chunks(pending):
            step.update((r[0], r[1]) for r in conn.execute(
                select(t.contacts.c.id, t.contacts.c.merged_into).where(t.contacts.c.id.in_(ids))))
        target.update(step)
        pending = {m for m in step.values() if m is not None and m not in target}

    return {h: follow_merges(target.get, cid) for h, cid in contact_of.items()}


def _insert_engagements(app: App, conn: Connection, rows: list[dict[str, Any]], times: _Times,
                        task_of: dict[int, int]) -> list[dict[str, Any]]:
    """One executemany; rows another worker stored first come back from nobody and are dropped."""
    E = engagements_bulk
    stmt = app.db.insert(E).on_conflict_do_nothing(index_elements=["account_id", "external_id", "kind"])\
        .returning(E.c.id, E.c.external_id, E.c.kind)
    by_key = {(r["external_id"], r["kind"]): r for r in rows}
    params = times.rows(rows, "occurred_at", "ingested_at")
    for p in params:
        p["task_id"] = task_of.get(p["contact_id"])
    return [{**by_key[(ext, kind)], "id": id_} for id_, ext, kind in conn.execute(stmt, params).all()]


def _own_handles(app: App, conn: Connection) -> list[str]:
    handles = [h for (h,) in conn.execute(select(t.accounts.c.handle).where(t.accounts.c.handle.is_not(None)))]
    handles += [a.handle for a in app.workspace.accounts.values() if a.handle]
    handles += app.settings.leads.own_handles
    return handles


def contact_histories(conn: Connection, contact_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    """Every counted engagement of these contacts, newest first, in one query per chunk."""
    E = t.engagements
    out: dict[int, list[dict[str, Any]]] = {}
    for ids in _chunks(contact_ids):
        for r in conn.execute(
            select(E.c.contact_id, E.c.kind, E.c.text, E.c.points, E.c.occurred_at, E.c.raw)
            .where(and_(E.c.contact_id.in_(ids), E.c.ignored.is_(None)))
            .order_by(E.c.contact_id, E.c.occurred_at.desc(), E.c.id.desc())
        ).mappings():
            row = dict(r)
            row["reasons"] = (row.pop("raw") or {}).get("reasons", [])
            out.setdefault(row.pop("contact_id"), []).append(row)
    return out


def rescore(app: App, conn: Connection, contact: dict[str, Any], rules: LeadRules, now: datetime) -> tuple[float, list]:
    """One contact's score and its explanation, from its whole history."""
    return contact_score(contact, contact_histories(conn, [contact["id"]]).get(contact["id"], []), rules, now)


def _update_contacts_and_tasks(app: App, conn: Connection, contacts: dict[int, dict[str, Any]],
                               new_by_contact: dict[int, list[dict[str, Any]]], rules: LeadRules,
                               now: datetime, result: IngestResult, times: _Times,
                               open_tasks: dict[int, dict[str, Any]], created: set[int]) -> None:
    T = t.tasks
    histories = contact_histories(conn, [cid for cid in contacts if cid not in created])
    for cid in created & new_by_contact.keys():  # their whole history is this batch
        histories[cid] = [{
            "kind": r["kind"], "text": r["text"], "points": r["points"], "occurred_at": r["occurred_at"].astimezone(UTC),
            "reasons": (r["raw"] or {}).get("reasons", []),
        } for r in sorted(new_by_contact[cid], key=lambda r: (r["occurred_at"], r["id"]), reverse=True)]

    contact_updates: list[dict[str, Any]] = []
    task_updates: list[dict[str, Any]] = []
    attach: list[dict[str, Any]] = []  # engagement id -> task id
    new_tasks: list[dict[str, Any]] = []
    load: dict[str, int] | None = None
    for cid, new in new_by_contact.items():
        contact = contacts[cid]
        history = histories.get(cid, [])
        score, explained = contact_score(contact, history, rules, now)
        stage = app.hook.qualify_lead(contact=contact, score=score, engagements=history) \
            or stage_for(score, rules, contact["stage"])
        last = max(max(r["occurred_at"] for r in new), contact.get("last_seen_at") or now) if contact.get("last_seen_at") \
            else max(r["occurred_at"] for r in new)
        contact.update(score=score, score_explained=explained, stage=stage, last_seen_at=last)
        contact_updates.append({"b_id": cid, "b_score": score, "b_explained": explained, "b_stage": stage,
                                "b_last": last, "b_now": now, "b_owner": None})
        intent_row = next((r for r in new if has_intent(r["text"], rules)), None)
        task = open_tasks.get(cid)
        if task is not None:
            task_updates.append(_raise_task(app, task, new, intent_row, score, rules, now))
            result.tasks_updated.append(task["id"])
            continue
        if stage == "disqualified" or (score < rules.task_threshold and not intent_row):
            continue
        best = intent_row or max(new, key=lambda r: r["points"] or 0)
        if load is None:
            load = routing.open_task_load(conn)
        owner = routing.choose_owner(app, conn, contact, best, load)
        if owner:
            load[owner] = load.get(owner, 0) + 1  # round-robin stays fair inside one batch
        intent = intent_row is not None
        new_tasks.append({
            "contact_id": cid, "owner": owner, "status": "open", "score": score, "intent": intent,
            "priority": priority(score, intent, rules), "reason": _reason(best, rules),
            "due_at": routing.due_time(app, now, intent), "first_engagement_id": best["id"],
            "last_engagement_at": last, "created_at": now, "updated_at": now,
        })

    C = contacts_bulk
    if task_updates:
        conn.execute(update(tasks_bulk).where(tasks_bulk.c.id == bindparam("b_id")).values(
            score=bindparam("b_score"), priority=bindparam("b_priority"), intent=bindparam("b_intent"),
            reason=bindparam("b_reason"), due_at=bindparam("b_due"), status=bindparam("b_status"),
            snoozed_until=bindparam("b_snoozed"), last_engagement_at=bindparam("b_last"),
            updated_at=bindparam("b_now")), times.rows(task_updates, "b_due", "b_snoozed", "b_last", "b_now"))
    if new_tasks:
        stmt = app.db.insert(tasks_bulk).on_conflict_do_nothing(index_elements=["contact_id"], index_where=OPEN_TASK)\
            .returning(tasks_bulk.c.id, tasks_bulk.c.contact_id)
        created = dict((cid, tid) for tid, cid in conn.execute(
            stmt, times.rows(new_tasks, "due_at", "last_engagement_at", "created_at", "updated_at")).all())
        lost = [v["contact_id"] for v in new_tasks if v["contact_id"] not in created]
        if lost:  # another worker opened a task for this person a moment ago: attach to it
            for ids in _chunks(lost):
                for r in conn.execute(select(T.c.id, T.c.contact_id).where(and_(
                        T.c.contact_id.in_(ids), T.c.status.in_(OPEN)))):
                    attach.extend({"b_id": e["id"], "b_task": r.id} for e in new_by_contact[r.contact_id])
                    result.tasks_updated.append(r.id)
        owner_of = {}
        for v in new_tasks:
            tid = created.get(v["contact_id"])
            if tid is None:
                continue
            attach.extend({"b_id": e["id"], "b_task": tid} for e in new_by_contact[v["contact_id"]])
            result.tasks_created.append({**v, "id": tid})
            contact = contacts[v["contact_id"]]
            if v["owner"] and not contact.get("owner"):
                contact["owner"] = owner_of[v["contact_id"]] = v["owner"]
        for u in contact_updates:
            u["b_owner"] = owner_of.get(u["b_id"])
        if result.tasks_created:
            conn.execute(insert(events_bulk), [{
                "at": times(now), "kind": "task.created", "subject": f"task:{v['id']}", "actor": app.actor,
                "detail": {"contact": v["contact_id"], "owner": v["owner"]}} for v in result.tasks_created])
    # each contact written once: score, stage, last seen and, with its first task, its owner
    conn.execute(update(C).where(C.c.id == bindparam("b_id")).values(
        score=bindparam("b_score"), score_explained=bindparam("b_explained", type_=C.c.score_explained.type),
        stage=bindparam("b_stage"), last_seen_at=bindparam("b_last"), updated_at=bindparam("b_now"),
        owner=func.coalesce(C.c.owner, bindparam("b_owner", type_=C.c.owner.type))),
        times.rows(contact_updates, "b_last", "b_now"))
    if attach:
        E = t.engagements
        conn.execute(update(E).where(E.c.id == bindparam("b_id")).values(task_id=bindparam("b_task")), attach)


def _raise_task(app: App, task: dict[str, Any], new: list[dict[str, Any]], intent_row: dict[str, Any] | None,
                score: float, rules: LeadRules, now: datetime) -> dict[str, Any]:
    """A later engagement attaches to the open task: new score, higher priority, earlier due time."""
    intent = bool(intent_row) or task["intent"]
    values = {
        "b_id": task["id"], "b_score": score, "b_priority": min(task["priority"], priority(score, intent, rules)),
        "b_intent": intent, "b_reason": task["reason"], "b_due": task["due_at"], "b_status": task["status"],
        "b_snoozed": task["snoozed_until"], "b_last": max(r["occurred_at"] for r in new), "b_now": now,
    }
    said = max((r for r in new if r["text"]), key=lambda r: r["points"] or 0, default=None)
    if said is not None and not task["intent"]:  # what they said last explains the task best
        values["b_reason"] = _reason(said, rules)
    if intent_row and not task["intent"]:
        values.update(b_reason=_reason(intent_row, rules), b_due=min(task["due_at"], routing.due_time(app, now, True)))
    if task["status"] == "snoozed":  # they spoke again: wake it up
        values.update(b_status="open", b_snoozed=None)
    return values


def priority(score: float, intent: bool, rules: LeadRules) -> int:
    """1 (act now) .. 4 (when there is time)."""
    if intent or score >= rules.qualified_threshold:
        return 1
    if score >= rules.lead_threshold:
        return 2
    if score >= rules.task_threshold:
        return 3
    return 4


def _reason(row: dict[str, Any], rules: LeadRules) -> str:
    kw = has_intent(row.get("text"), rules)
    text = (row.get("text") or "").replace("\n", " ")
    snippet = f': "{text[:80]}{"..." if len(text) > 80 else ""}"' if text else ""
    return (f"{row['kind']} with intent ({kw})" if kw else row["kind"]) + snippet
