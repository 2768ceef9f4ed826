"""Engagements in, contacts and follow-up tasks out, in the caller's transaction.

The poller calls :func:`ingest` inside the same transaction that advances the channel's
cursor, so a crash loses nothing and duplicates nothing. Rows are written with Core bulk
statements; an engagement seen before (same account, external id, kind) is skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, insert, select, update
from sqlalchemy.engine import Connection

from socialsell.channel import Engagement
from socialsell.db import schema as t
from socialsell.sales import routing
from socialsell.sales.scoring import LeadRules, contact_score, has_intent, score_lines, stage_for

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App


@dataclass
class IngestResult:
    new: list[dict[str, Any]] = field(default_factory=list)  # engagements stored
    duplicates: int = 0
    tasks_created: list[dict[str, Any]] = field(default_factory=list)
    tasks_updated: list[int] = field(default_factory=list)
    contacts: dict[int, dict[str, Any]] = field(default_factory=dict)

    def fire_hooks(self, app: App) -> None:
        """Event hooks, called after the transaction committed."""
        for e in self.new:
            app.hook.engagement_ingested(engagement=e, contact=self.contacts.get(e["contact_id"], {}))
        for task in self.tasks_created:
            app.hook.task_created(task=task, contact=self.contacts.get(task["contact_id"], {}))


def _norm_handle(handle: str) -> str:
    return handle.strip().lower()


def ingest(app: App, conn: Connection, account: str, engagements: Sequence[Engagement], now: datetime | None = None) -> IngestResult:
    now = now or app.now()
    result = IngestResult()
    if not engagements:
        return result
    acc = app.workspace.account(account)
    account_id = app.account_id(account)
    rules = LeadRules.from_app(app)
    own = {_norm_handle(h) for h in _own_handles(app, conn)}

    # 1. which are new? one query for the whole batch
    keys = {(e.external_id, e.kind) for e in engagements}
    seen = set(conn.execute(
        select(t.engagements.c.external_id, t.engagements.c.kind).where(and_(
            t.engagements.c.account_id == account_id,
            t.engagements.c.external_id.in_([k[0] for k in keys]),
        ))
    ).all())
    fresh: dict[tuple[str, str], Engagement] = {}
    for e in engagements:
        k = (e.external_id, e.kind)
        if k in seen or k in fresh:
            result.duplicates += 1
            continue
        fresh[k] = e
    if not fresh:
        return result

    # 2. handles and contacts
    people = {}
    for e in fresh.values():
        people.setdefault(_norm_handle(e.person.handle), e.person)
    existing = {
        r.handle: r for r in conn.execute(
            select(t.handles.c.id, t.handles.c.handle, t.handles.c.contact_id).where(and_(
                t.handles.c.channel == acc.channel, t.handles.c.handle.in_(list(people)),
            ))
        )
    }
    new_people = [h for h in people if h not in existing]
    if new_people:
        contact_rows = [{
            "display_name": people[h].name or people[h].handle, "headline": people[h].headline,
            "company": people[h].company, "location": people[h].location, "stage": "engaged",
            "score": 0.0, "first_seen_at": now, "last_seen_at": now, "updated_at": now,
        } for h in new_people]
        contact_ids = [conn.execute(insert(t.contacts).values(**row)).inserted_primary_key[0] for row in contact_rows]
        conn.execute(insert(t.handles), [{
            "contact_id": cid, "channel": acc.channel, "handle": h, "remote_user_id": people[h].external_id,
            "name": people[h].name, "profile_url": people[h].profile_url, "headline": people[h].headline,
            "followers": people[h].followers,
        } for h, cid in zip(new_people, contact_ids, strict=True)])
        existing.update({
            r.handle: r for r in conn.execute(
                select(t.handles.c.id, t.handles.c.handle, t.handles.c.contact_id).where(and_(
                    t.handles.c.channel == acc.channel, t.handles.c.handle.in_(new_people)))
            )
        })
    # follow merges: a handle's contact may have been merged into another
    contact_of = {h: _resolve_contact(conn, r.contact_id) for h, r in existing.items()}

    # 3. our posts these engagements concern
    remote_ids = {e.post_remote_id for e in fresh.values() if e.post_remote_id}
    delivery_of = dict(conn.execute(
        select(t.deliveries.c.remote_id, t.deliveries.c.id).where(and_(
            t.deliveries.c.account_id == account_id, t.deliveries.c.remote_id.in_(remote_ids)))
    ).all()) if remote_ids else {}

    contacts = {
        r["id"]: dict(r) for r in conn.execute(select(t.contacts).where(t.contacts.c.id.in_(set(contact_of.values())))).mappings()
    }
    for h, cid in contact_of.items():
        contacts[cid].setdefault("followers", people.get(h).followers if people.get(h) else None)

    rows = []
    for e in fresh.values():
        h = _norm_handle(e.person.handle)
        cid = contact_of[h]
        ignored = None
        if h in own:
            ignored = "our own account"
        elif h in rules.ignore_handles or (e.person.handle.lower() in rules.ignore_handles):
            ignored = "on the ignore list"
        elif rules.ignore_keywords and any(k in (e.person.headline or "").lower() for k in rules.ignore_keywords):
            ignored = "ignored by headline"
        payload = {"kind": e.kind, "text": e.text, "channel": acc.channel, "account": account, "occurred_at": e.occurred_at}
        lines = score_lines(payload, contacts[cid], rules, app)
        rows.append({
            "account_id": account_id, "external_id": e.external_id, "kind": e.kind, "contact_id": cid,
            "handle_id": existing[h].id, "delivery_id": delivery_of.get(e.post_remote_id), "text": e.text,
            "url": e.url, "post_remote_id": e.post_remote_id, "in_reply_to": e.in_reply_to,
            "occurred_at": e.occurred_at, "ingested_at": now, "points": 0.0 if ignored else sum(p for _, p in lines),
            "ignored": ignored, "raw": {"reasons": [r for r, _ in lines[1:]], **(e.raw or {})},
        })

    # 4. store engagements; the unique constraint is the last word on duplicates (other workers)
    stored = _insert_engagements(conn, app, rows)
    result.duplicates += len(rows) - len(stored)
    for row in stored:
        result.new.append({**row, "channel": acc.channel, "account": account})

    # 5. rescore touched contacts, open or update their one task
    touched = sorted({r["contact_id"] for r in stored if not r["ignored"]})
    for cid in touched:
        _update_contact_and_task(app, conn, contacts[cid], [r for r in stored if r["contact_id"] == cid], rules, now, result)
    result.contacts = contacts
    return result


def _insert_engagements(conn: Connection, app: App, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if app.db.is_sqlite:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    stmt = dialect_insert(t.engagements).on_conflict_do_nothing(index_elements=["account_id", "external_id", "kind"])
    conn.execute(stmt, rows)  # one executemany; rows another worker stored first are skipped
    # which of them are ours: the rows whose ingested_at and contact match what we wrote
    by_key = {(r["external_id"], r["kind"]): r for r in rows}
    stored = []
    account_id = rows[0]["account_id"]
    ext_ids = list({r["external_id"] for r in rows})
    for i in range(0, len(ext_ids), 500):
        for id_, ext, kind, ingested in conn.execute(
            select(t.engagements.c.id, t.engagements.c.external_id, t.engagements.c.kind, t.engagements.c.ingested_at)
            .where(and_(t.engagements.c.account_id == account_id, t.engagements.c.external_id.in_(ext_ids[i:i + 500])))
        ):
            row = by_key.get((ext, kind))
            if row is not None and ingested == row["ingested_at"]:
                stored.append({**row, "id": id_})
    return stored


def _resolve_contact(conn: Connection, contact_id: int) -> int:
    for _ in range(10):
        merged = conn.execute(select(t.contacts.c.merged_into).where(t.contacts.c.id == contact_id)).scalar()
        if merged is None:
            return contact_id
        contact_id = merged
    return contact_id


def _own_handles(app: App, conn: Connection) -> list[str]:
    handles = [h for (h,) in conn.execute(select(t.accounts.c.handle).where(t.accounts.c.handle.is_not(None)))]
    handles += [str(a.settings["handle"]) for a in app.workspace.accounts.values() if a.settings.get("handle")]
    handles += [str(h) for h in app.workspace.section("leads").get("ignore", {}).get("own_handles", [])]
    return handles


def rescore(app: App, conn: Connection, contact: dict[str, Any], rules: LeadRules, now: datetime) -> tuple[float, list]:
    history = [dict(r) for r in conn.execute(
        select(t.engagements.c.kind, t.engagements.c.points, t.engagements.c.occurred_at, t.engagements.c.raw)
        .where(and_(t.engagements.c.contact_id == contact["id"], t.engagements.c.ignored.is_(None)))
        .order_by(t.engagements.c.occurred_at.desc())
    ).mappings()]
    for h in history:
        h["reasons"] = (h.get("raw") or {}).get("reasons", [])
    return contact_score(contact, history, rules, now)


def _update_contact_and_task(app: App, conn: Connection, contact: dict[str, Any], new: list[dict[str, Any]], rules: LeadRules, now: datetime, result: IngestResult) -> None:
    score, explained = rescore(app, conn, contact, rules, now)
    history = [{"kind": r["kind"], "text": r["text"], "occurred_at": r["occurred_at"]} for r in new]
    stage = app.hook.qualify_lead(contact=contact, score=score, engagements=history) or stage_for(score, rules, contact["stage"])
    last = max(r["occurred_at"] for r in new)
    conn.execute(update(t.contacts).where(t.contacts.c.id == contact["id"]).values(
        score=score, score_explained=explained, stage=stage, last_seen_at=last, updated_at=now))
    contact.update(score=score, stage=stage)
    intent_row = next((r for r in new if has_intent(r["text"], rules)), None)
    best = intent_row or max(new, key=lambda r: r["points"])
    task = conn.execute(select(t.tasks).where(and_(
        t.tasks.c.contact_id == contact["id"], t.tasks.c.status.in_(("open", "snoozed"))))).mappings().first()
    ids = [r["id"] for r in new]
    if task is not None:
        values: dict[str, Any] = {"score": score, "last_engagement_at": last, "updated_at": now,
                                  "priority": priority(score, bool(intent_row) or task["intent"], rules)}
        if intent_row and not task["intent"]:
            values.update(intent=True, reason=_reason(intent_row, rules),
                          due_at=min(task["due_at"], routing.due_time(app, now, True)))
        if task["status"] == "snoozed":
            values.update(status="open", snoozed_until=None)  # they spoke again: wake it up
        conn.execute(update(t.tasks).where(t.tasks.c.id == task["id"]).values(**values))
        conn.execute(update(t.engagements).where(t.engagements.c.id.in_(ids)).values(task_id=task["id"]))
        result.tasks_updated.append(task["id"])
        return
    if stage == "disqualified" or (score < rules.task_threshold and not intent_row):
        return
    owner = routing.choose_owner(app, conn, contact, {**best, "channel": best.get("channel")})
    intent = intent_row is not None
    values = {
        "contact_id": contact["id"], "owner": owner, "status": "open", "score": score, "intent": intent,
        "priority": priority(score, intent, rules), "reason": _reason(best, rules),
        "due_at": routing.due_time(app, now, intent), "first_engagement_id": best["id"],
        "last_engagement_at": last, "created_at": now, "updated_at": now,
    }
    task_id = conn.execute(insert(t.tasks).values(**values)).inserted_primary_key[0]
    if owner and not contact.get("owner"):
        conn.execute(update(t.contacts).where(t.contacts.c.id == contact["id"]).values(owner=owner))
        contact["owner"] = owner
    conn.execute(update(t.engagements).where(t.engagements.c.id.in_(ids)).values(task_id=task_id))
    app.record(conn, "task.created", f"task:{task_id}", {"contact": contact["id"], "owner": owner})
    result.tasks_created.append({**values, "id": task_id})


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
