"""The rep's follow-up list: list, show, close, snooze, assign, note, tag, reply."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, insert, select, update

from socialsell.db import schema as t
from socialsell.errors import NotFound, UsageError
from socialsell.plugins.views import TaskView

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App

OPEN = ("open", "snoozed")
DUE_SOON = timedelta(hours=4)
OUTCOMES = ("replied", "connected", "meeting", "opportunity", "won", "lost", "not_interested", "dismissed")
OUTCOME_ALIASES = {"meeting_booked": "meeting", "not-interested": "not_interested", "meeting-booked": "meeting"}


def list_tasks(app: App, *, owner: str | None = None, all_owners: bool = False, overdue: bool = False,
               include_snoozed: bool = False, now: datetime | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """Open tasks, most urgent first: overdue, then due soonest, then highest score."""
    now = now or app.now()
    T, C = t.tasks, t.contacts
    q = (
        select(T.c.id, T.c.owner, T.c.status, T.c.priority, T.c.score, T.c.reason, T.c.intent, T.c.due_at,
               T.c.snoozed_until, T.c.created_at, T.c.contact_id, C.c.display_name, C.c.headline, C.c.company,
               C.c.stage)
        .join(C, C.c.id == T.c.contact_id)
    )
    if include_snoozed:
        q = q.where(T.c.status.in_(OPEN))
    else:
        q = q.where(T.c.status == "open")
    if not all_owners:
        q = q.where(T.c.owner == (owner or app.actor))
    if overdue:
        q = q.where(T.c.due_at < now)
    # overdue first, then due within the next hours, then the rest; inside each band the
    # highest priority (intent) and the best score lead, and the earliest due time breaks ties
    band = case((T.c.due_at < now, 0), (T.c.due_at < now + DUE_SOON, 1), else_=2)
    q = q.order_by(band, T.c.priority, T.c.score.desc(), T.c.due_at, T.c.id)
    if limit:
        q = q.limit(limit)
    H = t.handles
    with app.db.read() as conn:
        # plain tuples, not mappings: this is the hot read path (`tasks --json` on 5k tasks)
        raw = conn.execute(q).all()
        ids = q.with_only_columns(T.c.contact_id).order_by(None).scalar_subquery() if not limit else [r[10] for r in raw]
        handles: dict[int, list[dict[str, Any]]] = {}
        for cid, channel, handle, url in conn.execute(
            select(H.c.contact_id, H.c.channel, H.c.handle, H.c.profile_url).where(H.c.contact_id.in_(ids)).order_by(H.c.id)
        ):
            handles.setdefault(cid, []).append({"channel": channel, "handle": handle, "profile_url": url})
    rows = []
    for (id_, owner_, status, prio, score, reason, intent, due, snoozed, created, cid, name, headline, company,
         stage) in raw:
        rows.append({
            "id": id_, "owner": owner_, "status": status, "priority": prio, "score": score, "reason": reason,
            "intent": intent, "due_at": due, "snoozed_until": snoozed, "created_at": created, "overdue": due < now,
            "contact": {"id": cid, "name": name, "headline": headline, "company": company, "stage": stage,
                        "handles": handles.get(cid, [])},
        })
    return rows


def _task(conn, task_id: int) -> dict[str, Any]:
    row = conn.execute(select(t.tasks).where(t.tasks.c.id == task_id)).mappings().first()
    if row is None:
        raise NotFound(f"no task with id {task_id} (see `socialsell tasks --all`)")
    return dict(row)


def get_task(app: App, task_id: int) -> dict[str, Any]:
    """Everything a rep needs: who, what they said, on which post and campaign, history, score."""
    from socialsell.sales.contacts import contact_detail

    with app.db.read() as conn:
        task = _task(conn, task_id)
        task["engagements"] = [dict(r) for r in conn.execute(
            select(t.engagements.c.id, t.engagements.c.kind, t.engagements.c.text, t.engagements.c.url,
                   t.engagements.c.occurred_at, t.engagements.c.points, t.accounts.c.name.label("account"),
                   t.accounts.c.channel, t.deliveries.c.post_id, t.deliveries.c.text.label("post_text"),
                   t.deliveries.c.remote_url.label("post_url"), t.campaigns.c.name.label("campaign"))
            .join(t.accounts, t.accounts.c.id == t.engagements.c.account_id)
            .outerjoin(t.deliveries, t.deliveries.c.id == t.engagements.c.delivery_id)
            .outerjoin(t.posts, t.posts.c.id == t.deliveries.c.post_id)
            .outerjoin(t.campaigns, t.campaigns.c.id == t.posts.c.campaign_id)
            .where(t.engagements.c.task_id == task_id)
            .order_by(t.engagements.c.occurred_at.desc())
        ).mappings()]
    task["contact"] = contact_detail(app, task["contact_id"])
    task["overdue"] = task["status"] == "open" and task["due_at"] < app.now()
    task["opener"] = suggested_opener(task)
    return task


def suggested_opener(task: dict[str, Any]) -> str:
    """A first line for the rep, from what the person did."""
    name = (task["contact"].get("display_name") or "there").split()[0].lstrip("@")
    e = next((e for e in task["engagements"] if e["text"]), task["engagements"][0] if task["engagements"] else None)
    if e is None:
        return f"Hi {name}, thanks for following along."
    topic = (e.get("post_text") or "").split("\n")[0][:60]
    if task["contact"].get("stage") == "customer":  # they already buy from us: not a cold opener
        return f"Hi {name}, good to hear from you again. How is it going with us so far, and is this something for more of your team?"
    if task.get("intent"):
        return f"Hi {name}, thanks for asking. Happy to walk you through it: would a 15-minute call this week work?"
    if e["kind"] in ("reply", "comment", "quote", "mention") and e["text"]:
        return f"Hi {name}, thanks for your {e['kind']}" + (f" on \"{topic}\"" if topic else "") + ". What are you working on at the moment?"
    return f"Hi {name}, glad the post" + (f" \"{topic}\"" if topic else "") + " was useful. Is this something your team is looking at?"


def _check_owner(app: App, task: dict[str, Any], force: bool) -> None:
    if not force and task["owner"] and task["owner"] != app.actor:
        raise UsageError(f"task {task['id']} belongs to {task['owner']}, not {app.actor} (use `task assign` or --as {task['owner']})")


def _open(app: App, conn, task_id: int, force: bool = False) -> dict[str, Any]:
    task = _task(conn, task_id)
    if task["status"] not in OPEN:
        raise UsageError(f"task {task_id} is already {task['status']} (outcome: {task['outcome'] or '-'})")
    _check_owner(app, task, force)
    return task


def close_task(app: App, task_id: int, outcome: str, amount: float | None = None, *, force: bool = False) -> dict[str, Any]:
    outcome = OUTCOME_ALIASES.get(outcome, outcome)
    if outcome not in OUTCOMES:
        raise UsageError(f"unknown outcome {outcome!r} (one of {', '.join(OUTCOMES)})")
    if outcome == "won" and amount is None:
        raise UsageError("--outcome won needs --amount (the deal's value)")
    if amount is not None and amount < 0:
        raise UsageError("--amount must not be negative")
    now = app.now()
    stage_after = {"won": "customer", "opportunity": "opportunity", "meeting": "opportunity",
                   "not_interested": "disqualified", "lost": None}.get(outcome)
    with app.db.write() as conn:
        task = _open(app, conn, task_id, force)
        status = "dismissed" if outcome == "dismissed" else "done"
        conn.execute(update(t.tasks).where(t.tasks.c.id == task_id).values(
            status=status, outcome=outcome, amount=amount, closed_by=app.actor, closed_at=now, updated_at=now))
        if stage_after:
            conn.execute(update(t.contacts).where(t.contacts.c.id == task["contact_id"]).values(stage=stage_after, updated_at=now))
        conn.execute(insert(t.notes).values(contact_id=task["contact_id"], task_id=task_id, author=app.actor, kind="outcome",
                                            text=outcome + (f" ({amount:g})" if amount is not None else ""), created_at=now))
        app.record(conn, "task.closed", f"task:{task_id}", {"outcome": outcome, "amount": amount})
        task.update(status=status, outcome=outcome, amount=amount, closed_at=now)
    app.hook.task_closed(task=TaskView(task), outcome=outcome, amount=amount)
    return task


def snooze_task(app: App, task_id: int, until: datetime, *, force: bool = False) -> None:
    if until <= app.now():
        raise UsageError("snooze until a time in the future")
    with app.db.write() as conn:
        _open(app, conn, task_id, force)
        conn.execute(update(t.tasks).where(t.tasks.c.id == task_id).values(
            status="snoozed", snoozed_until=until, updated_at=app.now()))
        app.record(conn, "task.snoozed", f"task:{task_id}", {"until": until.isoformat()})


def wake_snoozed(app: App, now: datetime) -> int:
    with app.db.write() as conn:
        return conn.execute(update(t.tasks).where(and_(t.tasks.c.status == "snoozed", t.tasks.c.snoozed_until <= now))
                            .values(status="open", snoozed_until=None, updated_at=now)).rowcount


def assign_task(app: App, task_id: int, owner: str) -> None:
    if app.workspace.team and app.workspace.rep(owner) is None:
        raise UsageError(f"{owner!r} is not in the team (reps: {', '.join(r.name for r in app.workspace.team)})")
    with app.db.write() as conn:
        task = _open(app, conn, task_id, force=True)
        conn.execute(update(t.tasks).where(t.tasks.c.id == task_id).values(owner=owner, updated_at=app.now()))
        conn.execute(update(t.contacts).where(t.contacts.c.id == task["contact_id"]).values(owner=owner))
        app.record(conn, "task.assigned", f"task:{task_id}", {"from": task["owner"], "to": owner})


def add_note(app: App, task_id: int, text: str, kind: str = "note", *, force: bool = False) -> None:
    """A note (or, with ``kind="insight"``, an insight for marketing) on a task and its contact."""
    if not text.strip():
        raise UsageError(f"the {kind} is empty")
    with app.db.write() as conn:
        task = _task(conn, task_id)
        _check_owner(app, task, force)
        conn.execute(insert(t.notes).values(contact_id=task["contact_id"], task_id=task_id, author=app.actor,
                                            kind=kind, text=text.strip(), created_at=app.now()))
        app.record(conn, f"task.{kind}", f"task:{task_id}", {"text": text.strip()})


def reply_to_task(app: App, task_id: int, text: str, *, force: bool = False) -> dict[str, Any]:
    """Reply through the channel to the task's latest engagement that can take a reply."""
    from socialsell.plugins.channel import Engagement, Person, ReplyNotAllowed

    if not text.strip():
        raise UsageError("the reply is empty")
    with app.db.read() as conn:
        task = _open(app, conn, task_id, force)
        rows = conn.execute(
            select(t.engagements, t.accounts.c.name.label("account"), t.handles.c.handle, t.handles.c.name.label("person"),
                   t.handles.c.profile_url)
            .join(t.accounts, t.accounts.c.id == t.engagements.c.account_id)
            .join(t.handles, t.handles.c.id == t.engagements.c.handle_id)
            .where(t.engagements.c.task_id == task_id)
            .order_by(case((t.engagements.c.kind.in_(("reply", "comment", "mention", "quote", "message")), 0), else_=1),
                      t.engagements.c.occurred_at.desc())
        ).mappings().all()
    if not rows:
        raise UsageError(f"task {task_id} has no engagement to reply to")
    e = rows[0]
    channel = app.channel(e["account"])
    engagement = Engagement(
        external_id=e["external_id"], kind=e["kind"], occurred_at=e["occurred_at"], text=e["text"], url=e["url"],
        post_remote_id=e["post_remote_id"], in_reply_to=e["in_reply_to"], raw=e["raw"] or {},
        person=Person(handle=e["handle"], name=e["person"], profile_url=e["profile_url"]),
    )
    if not channel.capabilities().reply:
        raise ReplyNotAllowed(f"{e['account']} cannot reply from socialsell", url=e["url"] or e["profile_url"])
    published = channel.reply(engagement, text.strip())
    now = app.now()
    with app.db.write() as conn:
        conn.execute(update(t.tasks).where(t.tasks.c.id == task_id).values(replied_at=now, updated_at=now))
        conn.execute(insert(t.notes).values(contact_id=task["contact_id"], task_id=task_id, author=app.actor, kind="reply",
                                            text=text.strip(), created_at=now))
        app.record(conn, "task.replied", f"task:{task_id}", {"remote_id": published.remote_id})
    return {"task": task_id, "remote_id": published.remote_id, "url": published.url}


def parse_snooze(text: str, now: datetime, tz) -> datetime:
    """``2h``, ``3d``, ``1w`` or any ``--at`` form."""
    import re

    from socialsell.timeparse import parse_when

    m = re.fullmatch(r"\s*(\d+)\s*(m|h|d|w)\s*", text.lower())
    try:
        if m:
            return parse_when(f"+{m.group(1)}{m.group(2)}", now, tz)
        return parse_when(text, now, tz)
    except ValueError as e:
        if "from now" in str(e):  # too far: parse_when says how far it may be
            raise UsageError(f"snooze: {e}") from None
        raise UsageError(f"cannot read the duration {text[:60]!r}: use 2h, 3d, 1w or a time like 'tomorrow 09:00'") from None

