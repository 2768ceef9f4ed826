"""Contacts: one per person, with their handles on every channel, history and score."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from datetime import datetime as _dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, delete, func, insert, select, update

from socialsell.db import schema as t
from socialsell.errors import NotFound, UsageError
from socialsell.sales import (
    finder,  # the module: finder imports tasks, which imports this one
    tasks,  # the module: tasks imports this one (an import cycle)
)
from socialsell.sales.lists import (  # the lists live apart (see there); these names stay importable from here
    IDS_PER_QUERY,  # noqa: F401
    handles_of,  # noqa: F401
    list_contacts,  # noqa: F401
)
from socialsell.sales.merges import survivor_id
from socialsell.sales.scoring import KeptPoints, LeadRules, contact_score, stage_for
from socialsell.team import role_of

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App


def contact_histories(conn, contact_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    """Every counted engagement of these contacts, newest first, in one query per chunk."""
    E = t.engagements
    ids = list(contact_ids)
    out: dict[int, list[dict[str, Any]]] = {}
    for i in range(0, len(ids), 900):
        for r in conn.execute(
            select(E.c.contact_id, E.c.kind, E.c.text, E.c.points, E.c.occurred_at, E.c.raw)
            .where(and_(E.c.contact_id.in_(ids[i:i + 900]), E.c.ignored.is_(None)))
            .order_by(E.c.contact_id, E.c.occurred_at.desc(), E.c.id.desc())
        ).mappings():
            row = dict(r)
            row["reasons"] = (row.pop("raw") or {}).get("reasons", [])
            out.setdefault(row.pop("contact_id"), []).append(row)
    return out


def profile_of(conn, contact_ids: Iterable[int]) -> dict[int, tuple[int | None, bool]]:
    """``{contact: (followers, verified)}`` across the contact's handles (the most followers;
    verified on any channel): what the profile-fit lines count."""
    H = t.handles
    ids = list(contact_ids)
    out: dict[int, tuple[int | None, bool]] = {}
    for i in range(0, len(ids), 900):
        out.update((cid, (f, bool(v))) for cid, f, v in conn.execute(
            select(H.c.contact_id, func.max(H.c.followers), func.max(case((H.c.verified, 1), else_=0)))
            .where(H.c.contact_id.in_(ids[i:i + 900])).group_by(H.c.contact_id)))
    return out


def full_score(conn, contact: dict[str, Any], rules: LeadRules, now: datetime) -> dict[str, Any]:
    """One contact's score from its whole history (after a merge or an unmerge, whose histories
    change wholesale): the columns to write, ``score_points`` and ``scored_at`` included, and
    the explanation."""
    history = contact_histories(conn, [contact["id"]]).get(contact["id"], [])
    followers, verified = profile_of(conn, [contact["id"]]).get(contact["id"], (None, False))
    score, explained = contact_score({**contact, "followers": followers, "verified": verified}, history, rules, now)
    kept = KeptPoints(0.0, now).plus(((e["points"] or 0.0, e["occurred_at"]) for e in history), now, rules.half_life_days)
    return {"score": score, "score_points": kept.points, "scored_at": now, "explained": explained}


def contact_detail(app: App, contact_id: int) -> dict[str, Any]:
    with app.db.read() as conn:
        row = conn.execute(select(t.contacts).where(t.contacts.c.id == contact_id)).mappings().first()
        if row is None:
            raise NotFound(f"no contact with id {contact_id} (see `socialsell contacts`)")
        c = dict(row)
        if c["merged_into"] is not None:  # follow the merge: show the survivor
            return {**contact_detail(app, survivor_id(conn, contact_id)), "redirected_from": contact_id}
        c["handles"] = [dict(h) for h in conn.execute(
            select(t.handles.c.channel, t.handles.c.handle, t.handles.c.name, t.handles.c.profile_url,
                   t.handles.c.headline, t.handles.c.followers, t.handles.c.verified, t.handles.c.bio,
                   t.handles.c.location, t.handles.c.company, t.handles.c.kind)
            .where(t.handles.c.contact_id == contact_id)).mappings()]
        c["engagement_count"] = conn.execute(select(func.count()).select_from(t.engagements)
                                             .where(t.engagements.c.contact_id == contact_id)).scalar()
        c["history"] = [dict(r) for r in conn.execute(
            select(t.engagements.c.kind, t.engagements.c.text, t.engagements.c.occurred_at, t.engagements.c.points,
                   t.accounts.c.name.label("account"))
            .join(t.accounts, t.accounts.c.id == t.engagements.c.account_id)
            .where(t.engagements.c.contact_id == contact_id)
            .order_by(t.engagements.c.occurred_at.desc())).mappings()]
        c["notes"] = [dict(r) for r in conn.execute(
            select(t.notes.c.kind, t.notes.c.text, t.notes.c.author, t.notes.c.created_at)
            .where(t.notes.c.contact_id == contact_id).order_by(t.notes.c.created_at.desc())).mappings()]
        c["tasks"] = [dict(r) for r in conn.execute(
            select(t.tasks.c.id, t.tasks.c.status, t.tasks.c.owner, t.tasks.c.outcome, t.tasks.c.amount, t.tasks.c.created_at)
            .where(t.tasks.c.contact_id == contact_id).order_by(t.tasks.c.created_at.desc())).mappings()]
        # decayed to now, line by line (the stored score is as of the last engagement or rescore)
        scored = full_score(conn, c, app.settings.leads, app.now())
        c["score"], c["score_explained"] = scored["score"], scored["explained"]
    c["merge_suggestions"] = suggest_merges(app, contact_id)
    return c


def resolve_contact(app: App, ref: str) -> int:
    """A contact from what a rep types: an id, @handle, name or company (socialsell/sales/finder.py)."""
    return finder.find_contact(app, ref)


# --- merging ----------------------------------------------------------------------------------

STAGE_ORDER = ("engaged", "lead", "qualified", "opportunity", "customer")


def _profile_slug(url: str | None) -> str | None:
    """``https://www.linkedin.com/in/dana-w/`` -> ``dana-w``: the part of a profile link that names the person."""
    if not url:
        return None
    path = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return path.lstrip("@").lower() or None


def _name_key(name: str | None) -> str:
    return " ".join((name or "").lower().replace(".", " ").split())


def suggest_merges(app: App, contact_id: int | None = None) -> list[dict[str, Any]]:
    """Pairs of contacts that look like one person: the same name, and a profile link, company or
    headline in common.

    Same name alone is not enough (two "Sam Rivera"s are common); the second signal is a profile
    link naming the same person (the last part of one handle's profile URL equals the other's
    handle or profile slug), the same company, or the same headline (on different handles).
    """
    C, H = t.contacts, t.handles
    with app.db.read() as conn:
        names = select(func.lower(C.c.display_name)).where(C.c.merged_into.is_(None))\
            .group_by(func.lower(C.c.display_name)).having(func.count() > 1)
        rows = [dict(r) for r in conn.execute(
            select(C.c.id, C.c.display_name, C.c.company, C.c.headline)
            .where(and_(C.c.merged_into.is_(None), func.lower(C.c.display_name).in_(names)))
            .order_by(C.c.id)).mappings()]
        ids = [r["id"] for r in rows]
        links: dict[int, set[str]] = {}
        for i in range(0, len(ids), 500):
            for h in conn.execute(select(H.c.contact_id, H.c.handle, H.c.profile_url).where(H.c.contact_id.in_(ids[i:i + 500]))):
                s = links.setdefault(h.contact_id, set())
                s.add(h.handle.lstrip("@").lower())
                slug = _profile_slug(h.profile_url)
                if slug:
                    s.add(slug)
    by_name: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_name.setdefault(_name_key(r["display_name"]), []).append(r)
    out = []
    for group in by_name.values():
        for i, a in enumerate(group):
            for b in group[i + 1:]:
                if contact_id is not None and contact_id not in (a["id"], b["id"]):
                    continue
                common = links.get(a["id"], set()) & links.get(b["id"], set())
                if common:
                    why = f"same name and profile link ({sorted(common)[0]})"
                elif a["company"] and _name_key(a["company"]) == _name_key(b["company"]):
                    why = f"same name and company ({a['company']})"
                elif a["headline"] and _name_key(a["headline"]) == _name_key(b["headline"]):
                    why = f"same name and headline ({a['headline'][:60]})"
                else:
                    continue
                out.append({"id": a["id"], "merge_with": b["id"], "name": a["display_name"], "reason": why,
                            "command": f"socialsell contact merge {a['id']} {b['id']}"})
    return out


def merge_plan(app: App, keep_id: int, other_id: int) -> dict[str, Any]:
    """What ``contact merge KEEP OTHER`` would do, read only: both sides' names, handles, owners,
    open tasks and open deals, and whether the lead must do it (two different owners)."""
    if keep_id == other_id:
        raise UsageError("cannot merge a contact into itself")
    C, T, H, D = t.contacts, t.tasks, t.handles, t.deals
    with app.db.read() as conn:
        pair = {r["id"]: dict(r) for r in conn.execute(select(C).where(C.c.id.in_((keep_id, other_id)))).mappings()}
        sides = []
        for cid in (keep_id, other_id):
            if cid not in pair:
                raise NotFound(f"no contact with id {cid} (see `socialsell contacts`)")
            if pair[cid]["merged_into"] is not None:
                raise UsageError(f"contact {cid} was already merged into {pair[cid]['merged_into']}")
            c = pair[cid]
            sides.append({
                "id": cid, "name": c["display_name"], "owner": c["owner"], "stage": c["stage"],
                "handles": [f"{ch}:{h}" for ch, h in conn.execute(select(H.c.channel, H.c.handle).where(H.c.contact_id == cid))],
                "open_tasks": [dict(r) for r in conn.execute(select(T.c.id, T.c.status, T.c.owner, T.c.due_at).where(
                    and_(T.c.contact_id == cid, T.c.status.in_(tasks.OPEN)))).mappings()],
                "open_deals": [dict(r) for r in conn.execute(select(D.c.id, D.c.title, D.c.stage, D.c.amount).where(
                    and_(D.c.contact_id == cid, D.c.stage.in_(("discovery", "proposal", "negotiation"))))).mappings()],
            })
    owners = {(s["owner"] or "").lower() for s in sides if s["owner"]}
    return {"keep": sides[0], "other": sides[1], "needs_lead": len(owners) > 1}


def merge_contacts(app: App, keep_id: int, other_id: int) -> dict[str, Any]:
    """Merge ``other_id`` into ``keep_id``: handles, engagements, notes, tasks and deals move; one
    open task stays. Recorded in ``contact_merges`` with what moved, so
    :func:`unmerge_contact` can put both sides back.

    When both have an open task, the survivor's task stays open (earliest due time, highest
    priority of the two; woken if it was snoozed and the other was open) and takes the other's
    engagements; the other task is dismissed with outcome ``merged``. Two contacts with
    different owners need the lead (``[team] lead``, or a member with role lead).
    """

    plan = merge_plan(app, keep_id, other_id)
    if plan["needs_lead"] and role_of(app.workspace, app.actor) != "lead":
        raise UsageError(f"contacts {keep_id} ({plan['keep']['owner']}) and {other_id} ({plan['other']['owner']}) have "
                         "different owners: only the lead may merge them (--as the lead)")
    C, T = t.contacts, t.tasks
    now = app.now()
    with app.db.write() as conn:
        pair = {r["id"]: dict(r) for r in conn.execute(select(C).where(C.c.id.in_((keep_id, other_id)))).mappings()}
        if any(pair[cid]["merged_into"] is not None for cid in (keep_id, other_id)):
            raise UsageError("one of the contacts was merged meanwhile: look again (`socialsell contact show`)")
        keep, other = pair[keep_id], pair[other_id]
        open_tasks = {r["contact_id"]: dict(r) for r in conn.execute(select(T).where(and_(
            T.c.contact_id.in_((keep_id, other_id)), T.c.status.in_(tasks.OPEN)))).mappings()}
        kept_task = open_tasks.get(keep_id)
        gone_task = open_tasks.get(other_id)
        ids = {name: [i for (i,) in conn.execute(select(table.c.id).where(table.c.contact_id == other_id))]
               for name, table in (("handles", t.handles), ("tasks", T), ("notes", t.notes), ("deals", t.deals))}
        moved: dict[str, Any] = {
            **ids, "redirected": [i for (i,) in conn.execute(select(C.c.id).where(C.c.merged_into == other_id))],
            "keep_before": {k: keep[k] for k in ("headline", "company", "location", "email", "owner", "stage")},
            "kept_task": None, "gone_task": None, "engagement_tasks": [],
        }
        if kept_task and gone_task:
            moved["kept_task"] = {k: kept_task[k] for k in ("id", "priority", "intent", "owner", "status")}
            moved["kept_task"].update(due_at=kept_task["due_at"].isoformat(),
                                      snoozed_until=kept_task["snoozed_until"].isoformat() if kept_task["snoozed_until"] else None)
            moved["gone_task"] = {"id": gone_task["id"], "status": gone_task["status"],
                                  "snoozed_until": gone_task["snoozed_until"].isoformat() if gone_task["snoozed_until"] else None}
            moved["engagement_tasks"] = [i for (i,) in conn.execute(select(t.engagements.c.id).where(
                t.engagements.c.task_id == gone_task["id"]))]
            conn.execute(update(T).where(T.c.id == gone_task["id"]).values(
                status="dismissed", outcome="merged", closed_by=app.actor, closed_at=now, updated_at=now))
            conn.execute(update(t.engagements).where(t.engagements.c.task_id == gone_task["id"]).values(task_id=kept_task["id"]))
            wake = kept_task["status"] == "snoozed" and gone_task["status"] == "open"  # someone was waiting: not hidden
            conn.execute(update(T).where(T.c.id == kept_task["id"]).values(
                priority=min(kept_task["priority"], gone_task["priority"]),
                due_at=min(kept_task["due_at"], gone_task["due_at"]),
                intent=kept_task["intent"] or gone_task["intent"],
                owner=kept_task["owner"] or gone_task["owner"], updated_at=now,
                **({"status": "open", "snoozed_until": None} if wake else {})))
        conn.execute(update(T).where(T.c.contact_id == other_id).values(contact_id=keep_id))
        conn.execute(update(t.handles).where(t.handles.c.contact_id == other_id).values(contact_id=keep_id))
        conn.execute(update(t.engagements).where(t.engagements.c.contact_id == other_id).values(contact_id=keep_id))
        conn.execute(update(t.notes).where(t.notes.c.contact_id == other_id).values(contact_id=keep_id))
        conn.execute(update(t.deals).where(t.deals.c.contact_id == other_id).values(contact_id=keep_id))
        conn.execute(update(C).where(C.c.merged_into == other_id).values(merged_into=keep_id))
        stage = keep["stage"]
        if "disqualified" not in (keep["stage"], other["stage"]):
            stage = max(keep["stage"], other["stage"], key=lambda s: STAGE_ORDER.index(s) if s in STAGE_ORDER else 0)
        fill = {k: keep[k] or other[k] for k in ("headline", "company", "location", "email", "owner")}
        merged = {**keep, **fill, "stage": stage}
        rules = app.settings.leads
        scored = full_score(conn, merged, rules, now)
        score = scored["score"]
        stage = stage_for(score, rules, stage)
        conn.execute(update(C).where(C.c.id == keep_id).values(
            **fill, stage=stage, score=score, score_points=scored["score_points"], scored_at=now,
            first_seen_at=min(keep["first_seen_at"], other["first_seen_at"]),
            last_seen_at=max(keep["last_seen_at"], other["last_seen_at"]), updated_at=now))
        conn.execute(update(T).where(and_(T.c.contact_id == keep_id, T.c.status.in_(tasks.OPEN)))
                     .values(score=score))
        conn.execute(update(C).where(C.c.id == other_id).values(merged_into=keep_id, updated_at=now))
        moved["note"] = conn.execute(insert(t.notes).values(
            contact_id=keep_id, author=app.actor, kind="merge", created_at=now,
            text=f"merged contact {other_id} ({other['display_name']}) into this one")).inserted_primary_key[0]
        merge_id = conn.execute(insert(t.contact_merges).values(
            kept_id=keep_id, merged_id=other_id, merged_by=app.actor, merged_at=now, moved=moved)).inserted_primary_key[0]
        app.record(conn, "contact.merged", f"contact:{keep_id}", {
            "merged": other_id, "merge": merge_id, "task_kept": (kept_task or gone_task or {}).get("id"),
            "task_dismissed": gone_task["id"] if kept_task and gone_task else None})
    return {"id": keep_id, "merged": other_id, "merge": merge_id, "score": score, "stage": stage,
            "task": (kept_task or gone_task or {}).get("id"),
            "dismissed_task": gone_task["id"] if kept_task and gone_task else None}


def unmerge_contact(app: App, merged_id: int) -> dict[str, Any]:
    """Undo the last merge of ``merged_id``: its handles (and every engagement from them, later
    ones included), tasks, notes and deals go back, its dismissed task reopens, the kept task and
    contact get their fields back, and both are rescored."""
    C, T, M, E = t.contacts, t.tasks, t.contact_merges, t.engagements
    now = app.now()
    with app.db.write() as conn:
        m = conn.execute(select(M).where(and_(M.c.merged_id == merged_id, M.c.undone_at.is_(None)))
                         .order_by(M.c.id.desc()).limit(1)).mappings().first()
        if m is None:
            exists = conn.execute(select(C.c.id).where(C.c.id == merged_id)).first()
            raise (UsageError(f"contact {merged_id} is not merged into another (nothing to undo)") if exists
                   else NotFound(f"no contact with id {merged_id} (see `socialsell contacts`)"))
        keep_id, mv = m["kept_id"], m["moved"]
        current = conn.execute(select(C.c.merged_into).where(C.c.id == merged_id)).scalar()
        if current != keep_id:
            raise UsageError(f"contact {merged_id} is now merged into {current}: unmerge that first")
        if mv.get("kept_task") and conn.execute(select(T.c.id).where(and_(
                T.c.contact_id == merged_id, T.c.status.in_(tasks.OPEN)))).first():
            raise UsageError(f"contact {merged_id} has an open task again: close it first")
        conn.execute(update(C).where(C.c.id == merged_id).values(merged_into=None, updated_at=now))
        if mv["redirected"]:
            conn.execute(update(C).where(C.c.id.in_(mv["redirected"])).values(merged_into=merged_id))
        handles = mv["handles"]
        if handles:
            conn.execute(update(t.handles).where(t.handles.c.id.in_(handles)).values(contact_id=merged_id))
            conn.execute(update(E).where(E.c.handle_id.in_(handles)).values(contact_id=merged_id))
        for name, table in (("tasks", T), ("notes", t.notes), ("deals", t.deals)):
            if mv[name]:
                conn.execute(update(table).where(table.c.id.in_(mv[name])).values(contact_id=merged_id))
        if mv.get("gone_task"):
            g, k = mv["gone_task"], mv["kept_task"]
            if mv["engagement_tasks"]:
                conn.execute(update(E).where(and_(E.c.id.in_(mv["engagement_tasks"]), E.c.task_id == k["id"]))
                             .values(task_id=g["id"]))
            conn.execute(update(T).where(T.c.id == g["id"]).values(
                status=g["status"], snoozed_until=_dt.fromisoformat(g["snoozed_until"]) if g["snoozed_until"] else None,
                outcome=None, closed_by=None, closed_at=None, updated_at=now))
            still_open = conn.execute(select(T.c.status).where(T.c.id == k["id"])).scalar() in tasks.OPEN
            if still_open:
                conn.execute(update(T).where(T.c.id == k["id"]).values(
                    priority=k["priority"], intent=k["intent"], owner=k["owner"], due_at=_dt.fromisoformat(k["due_at"]),
                    status=k["status"], snoozed_until=_dt.fromisoformat(k["snoozed_until"]) if k["snoozed_until"] else None,
                    updated_at=now))
        conn.execute(delete(t.notes).where(t.notes.c.id == mv["note"]))
        rules = app.settings.leads
        out = {}
        for cid, fields in ((keep_id, mv["keep_before"]), (merged_id, {})):
            row = dict(conn.execute(select(C).where(C.c.id == cid)).mappings().one())
            row.update(fields)
            scored = full_score(conn, row, rules, now)
            score = scored["score"]
            stage = stage_for(score, rules, row["stage"])
            conn.execute(update(C).where(C.c.id == cid).values(**{**fields, "stage": stage}, score=score,
                                                                score_points=scored["score_points"], scored_at=now,
                                                                updated_at=now))
            conn.execute(update(T).where(and_(T.c.contact_id == cid, T.c.status.in_(("open", "snoozed")))).values(score=score))
            out[cid] = score
        conn.execute(update(M).where(M.c.id == m["id"]).values(undone_by=app.actor, undone_at=now))
        app.record(conn, "contact.unmerged", f"contact:{keep_id}", {"merged": merged_id, "merge": m["id"]})
    return {"id": keep_id, "restored": merged_id, "merge": m["id"],
            "task": (mv.get("gone_task") or {}).get("id")}
