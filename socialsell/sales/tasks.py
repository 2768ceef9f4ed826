"""The rep's follow-up list: list, show, close, snooze, assign, note, tag, reply, log a touch.

The SLA clock (docs/sales.md, "The first response"): a task is due at its SLA time until its
first response (the first reply, a logged touch, or an outcome); after it, the task is due at its
next step, if it has one, and is never overdue nor escalated without one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, delete, func, insert, select, update

from socialsell.db import schema as t
from socialsell.errors import NotFound, UsageError
from socialsell.marketing.guardrails import check_reply
from socialsell.plugins.views import TaskView
from socialsell.sales import contacts  # the module: contacts imports this one (an import cycle)
from socialsell.sales.deals import open_deal_in, open_deals_of, win_deal_in
from socialsell.sales.lists import (  # the lists live apart (see there); these names stay importable from here
    DUE_SOON,  # noqa: F401
    OPEN,
    first_touch_deadline,  # noqa: F401
    is_overdue,  # noqa: F401
    list_tasks,  # noqa: F401
    overdue_clause,  # noqa: F401
)
from socialsell.sales.scoring import LeadRules, has_intent
from socialsell.timeparse import format_local, parse_when

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App

OUTCOMES = ("replied", "connected", "meeting", "opportunity", "won", "lost", "not_interested", "dismissed")
OUTCOME_ALIASES = {"meeting_booked": "meeting", "not-interested": "not_interested", "meeting-booked": "meeting"}
#: what `task log` records: contact made off the channel (or on it, by hand)
TOUCHES = ("call", "email", "dm", "meeting")


# --- follow-up policy: what opens a task, what raises it, how urgent it is ----------------------


def priority(score: float, intent: bool, rules: LeadRules) -> int:
    """1 (act now) .. 4 (when there is time): intent or a qualified score is 1."""
    if intent or score >= rules.qualified_threshold:
        return 1
    if score >= rules.lead_threshold:
        return 2
    if score >= rules.task_threshold:
        return 3
    return 4


def opens_task(score: float, stage: str, intent: bool, rules: LeadRules) -> bool:
    """Whether a contact without an open task gets one: intent always does, else a score at
    ``[leads] task_threshold``; a disqualified contact never does."""
    return stage != "disqualified" and (intent or score >= rules.task_threshold)


def task_reason(kind: str, text: str | None, rules: LeadRules) -> str:
    """Why a task exists, one line: the engagement's kind, its intent keyword, what they said."""
    kw = has_intent(text, rules)
    said = (text or "").replace("\n", " ")
    snippet = f': "{said[:80]}{"..." if len(said) > 80 else ""}"' if said else ""
    return (f"{kind} with intent ({kw})" if kw else kind) + snippet


@dataclass(frozen=True)
class Said:
    """An engagement as task policy sees it."""

    kind: str
    text: str | None
    points: float
    occurred_at: datetime


def raise_task(task: dict[str, Any], new: list[Said], intent_said: Said | None, score: float, rules: LeadRules,
               now: datetime, intent_due: datetime) -> dict[str, Any]:
    """What later engagements change on the contact's open task (invariant 3): its score, a
    priority never lower than before, intent and an earlier due time when they show intent, the
    reason (what they said last explains the task best, unless it was opened for intent), a
    snoozed task woken. Returns only the fields that change."""
    intent = task["intent"] or intent_said is not None
    values: dict[str, Any] = {
        "score": score, "priority": min(task["priority"], priority(score, intent, rules)), "intent": intent,
        "last_engagement_at": max(s.occurred_at for s in new),
    }
    if task["last_engagement_at"] is not None:
        values["last_engagement_at"] = max(values["last_engagement_at"], task["last_engagement_at"])
    said = max((s for s in new if s.text), key=lambda s: s.points, default=None)
    if said is not None and not task["intent"]:
        values["reason"] = task_reason(said.kind, said.text, rules)
    if intent_said is not None and not task["intent"]:
        values["reason"] = task_reason(intent_said.kind, intent_said.text, rules)
        values["due_at"] = min(task["due_at"], intent_due)
        if task["first_response_at"] is None and task["sla_due_at"] is not None:  # not touched yet: the SLA tightens
            values["sla_due_at"] = min(task["sla_due_at"], intent_due)
    if task["status"] == "snoozed":  # they spoke again: wake it up
        values.update(status="open", snoozed_until=None)
    changed = {k: v for k, v in values.items() if task[k] != v}
    if changed:
        changed["updated_at"] = now
    return changed


def _task(conn, task_id: int) -> dict[str, Any]:
    row = conn.execute(select(t.tasks).where(t.tasks.c.id == task_id)).mappings().first()
    if row is None:
        raise NotFound(f"no task with id {task_id} (see `socialsell tasks --all`)")
    return dict(row)


def get_task(app: App, task_id: int) -> dict[str, Any]:
    """Everything a rep needs: who, what they said, on which post and campaign, history, score."""
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
            .where(_engagements_of(conn, task))
            .order_by(t.engagements.c.occurred_at.desc())
        ).mappings()]
    task["contact"] = contacts.contact_detail(app, task["contact_id"])
    task["overdue"] = is_overdue(task, app.now())
    task["opener"] = suggested_opener(task)
    return task


def _engagements_of(conn, task: dict[str, Any]):
    """What the task is about: its own engagements; for a next-step task (opened by an outcome,
    with none of its own yet) the contact's, so `task show` and `task reply` still have them."""
    E = t.engagements
    own = conn.execute(select(E.c.id).where(E.c.task_id == task["id"]).limit(1)).first()
    return E.c.task_id == task["id"] if own else and_(E.c.contact_id == task["contact_id"], E.c.ignored.is_(None))


_URL = re.compile(r"https?://\S*|www\.\S*", re.I)
TOPIC_MAX = 60


def _first_name(name: str | None) -> str:
    """The first word of a display name that has a letter in it ("@dana_w" -> "dana_w")."""
    for word in _printable(name or "").split():
        word = word.strip("@\"'“”‘’()[]{}<>,.;:!?*_~`#").replace('"', "'")  # a quote inside (0"A) unbalances the opener
        if any(ch.isalpha() for ch in word):
            return word[:40]
    return "there"


def _printable(text: str) -> str:
    """One line of printable text: control and format characters dropped, whitespace collapsed."""
    kept = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(kept.split())


def post_topic(post_text: str | None) -> str:
    """What a post was about, for an opener: its first line that says something, without links,
    with its quotes made single, cut at a word with "…" past :data:`TOPIC_MAX` characters."""
    for line in (post_text or "").splitlines():
        line = _printable(_URL.sub(" ", line)).replace('"', "'").replace("“", "'").replace("”", "'")
        line = line.strip(" -–—:;,|")
        if any(ch.isalnum() for ch in line):
            break
    else:
        return ""
    if len(line) > TOPIC_MAX:
        cut = line[:TOPIC_MAX - 1]
        cut = cut[:cut.rfind(" ")] if " " in cut[TOPIC_MAX // 2:] else cut
        line = cut.rstrip(" -–—:;,.'(") + "…"
    return line


def suggested_opener(task: dict[str, Any]) -> str:
    """A first line for the rep, from what the person did: one line, quotes balanced, whatever
    the post said (a suggestion: `work` sends it only when the rep accepts it)."""
    name = _first_name(task["contact"].get("display_name"))
    e = next((e for e in task["engagements"] if e["text"]), task["engagements"][0] if task["engagements"] else None)
    if e is None:
        return f"Hi {name}, thanks for following along."
    topic = post_topic(e.get("post_text"))
    if task["contact"].get("stage") == "customer":  # they already buy from us: not a cold opener
        return f"Hi {name}, good to hear from you again. How is it going with us so far, and is this something for more of your team?"
    if task.get("intent"):
        return f"Hi {name}, thanks for asking. Happy to walk you through it: would a 15-minute call this week work?"
    if e["kind"] in ("reply", "comment", "quote", "mention") and e["text"]:
        return f"Hi {name}, thanks for your {e['kind']}" + (f' on "{topic}"' if topic else "") + ". What are you working on at the moment?"
    return f"Hi {name}, glad the post" + (f' "{topic}"' if topic else "") + " was useful. Is this something your team is looking at?"


def _check_owner(app: App, task: dict[str, Any], force: bool) -> None:
    if not force and task["owner"] and task["owner"] != app.actor:
        raise UsageError(f"task {task['id']} belongs to {task['owner']}, not {app.actor} (use `task assign` or --as {task['owner']})")


def _open(app: App, conn, task_id: int, force: bool = False) -> dict[str, Any]:
    task = _task(conn, task_id)
    if task["status"] not in OPEN:
        raise UsageError(f"task {task_id} is already {task['status']} (outcome: {task['outcome'] or '-'})")
    _check_owner(app, task, force)
    return task


def close_task(app: App, task_id: int, outcome: str, amount: float | None = None, *, force: bool = False,
               meeting_at: datetime | None = None, close: date | None = None, stage: str | None = None) -> dict[str, Any]:
    """Close a task with its outcome. ``meeting`` with ``meeting_at`` opens the next step (a task
    due at the meeting); ``opportunity`` opens a deal (``amount``, ``close``, ``stage``); ``won``
    wins the contact's open deal, or opens and wins one, at ``amount``."""
    outcome = OUTCOME_ALIASES.get(outcome, outcome)
    if outcome not in OUTCOMES:
        raise UsageError(f"unknown outcome {outcome!r} (one of {', '.join(OUTCOMES)})")
    if outcome == "won" and amount is None:
        raise UsageError("--outcome won needs --amount (the deal's value)")
    if amount is not None and amount < 0:
        raise UsageError("--amount must not be negative")
    if amount is not None and outcome not in ("won", "opportunity"):
        raise UsageError(f"--amount goes with --outcome won or opportunity, not {outcome}")
    if meeting_at is not None and outcome != "meeting":
        raise UsageError(f"--at (the meeting time) goes with --outcome meeting, not {outcome}")
    if (close is not None or stage is not None) and outcome != "opportunity":
        raise UsageError(f"--close and --stage go with --outcome opportunity (the deal it opens), not {outcome}")
    now = app.now()
    if meeting_at is not None and meeting_at <= now:
        raise UsageError("--at: the meeting is in the past; give the time it will happen, e.g. 'thu 14:00'")
    with app.db.write() as conn:
        task = _open(app, conn, task_id, force)
        status = "dismissed" if outcome == "dismissed" else "done"
        conn.execute(update(t.tasks).where(t.tasks.c.id == task_id).values(
            status=status, outcome=outcome, amount=amount, closed_by=app.actor, closed_at=now, updated_at=now))
        if outcome != "dismissed":  # an outcome is a response; dismissing is not
            _first_response(conn, task, "outcome", now)
        _move_stage(conn, task["contact_id"], outcome, now)
        conn.execute(insert(t.notes).values(contact_id=task["contact_id"], task_id=task_id, author=app.actor, kind="outcome",
                                            text=outcome + (f" ({amount:g})" if amount is not None else ""), created_at=now))
        app.record(conn, "task.closed", f"task:{task_id}", {"outcome": outcome, "amount": amount})
        deal = None
        if outcome == "opportunity":
            existing = open_deals_of(conn, task["contact_id"])
            deal = existing[0] if existing else open_deal_in(
                app, conn, task["contact_id"], amount=amount, close=close, stage=stage or "discovery", task_id=task_id)
        elif outcome == "won":
            existing = open_deals_of(conn, task["contact_id"])
            deal = existing[0] if existing else open_deal_in(app, conn, task["contact_id"], amount=amount, task_id=task_id)
            deal = win_deal_in(app, conn, deal, amount)
        next_task = _open_next_step(app, conn, task, "meeting", meeting_at, now) if meeting_at is not None else None
        task.update(status=status, outcome=outcome, amount=amount, closed_at=now,
                    deal_id=deal["id"] if deal else None, next_task_id=next_task)
    app.fire("task_closed", task=TaskView(task), outcome=outcome, amount=amount)
    return task


def _move_stage(conn, contact_id: int, outcome: str, now: datetime) -> None:
    """Outcomes without a deal move the stage up (never down); deals move it themselves."""
    current = conn.execute(select(t.contacts.c.stage).where(t.contacts.c.id == contact_id)).scalar()
    new = {"not_interested": "disqualified"}.get(outcome)
    if outcome in ("meeting", "connected") and current in ("engaged", "lead"):
        new = "qualified"
    if new and new != current:
        conn.execute(update(t.contacts).where(t.contacts.c.id == contact_id).values(stage=new, updated_at=now))


def _open_next_step(app: App, conn, task: dict[str, Any], step: str, due: datetime, now: datetime) -> int:
    """The follow-up after an outcome: a new open task for the same contact and owner, due at
    the next step, already responded to (its SLA was met by the task it follows)."""
    when = format_local(due, app.workspace.timezone, "%a %d %b %H:%M")
    new_id = conn.execute(insert(t.tasks).values(
        contact_id=task["contact_id"], owner=task["owner"], status="open", priority=task["priority"],
        score=task["score"], reason=f"{step} {when} (after task {task['id']})", intent=task["intent"], due_at=due,
        # its first touch is the one of the task it follows, judged against that task's deadline
        sla_due_at=task.get("sla_due_at"),
        first_engagement_id=task["first_engagement_id"], last_engagement_at=task["last_engagement_at"],
        first_response_at=task.get("first_response_at") or now,
        first_response_kind=task.get("first_response_kind") or "outcome",
        next_step=step, next_step_due=due, created_at=now, updated_at=now)).inserted_primary_key[0]
    app.record(conn, "task.next_step", f"task:{new_id}", {"step": step, "due": due.isoformat(), "after": task["id"]})
    return new_id


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
        # updated_at too: a CRM sync sends a contact again when it moves (docs/crm.md)
        conn.execute(update(t.contacts).where(t.contacts.c.id == task["contact_id"]).values(owner=owner, updated_at=app.now()))
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


def reply_to_task(app: App, task_id: int, text: str, *, force: bool = False, again: bool = False) -> dict[str, Any]:
    """Reply through the channel to the task's latest engagement that can take a reply.

    Checked like a post before anything is sent (banned words, the channel's validation); a
    second reply to the same task needs ``again`` (the rep said so)."""
    # the channel module costs ~10 ms at import (-X importtime), which the read commands (`tasks`,
    # `task show`) must not pay; only a reply needs it
    from socialsell.plugins.channel import Engagement, Person, ReplyNotAllowed  # noqa: PLC0415

    if not text.strip():
        raise UsageError("the reply is empty")
    with app.db.read() as conn:
        task = _open(app, conn, task_id, force)
        rows = conn.execute(
            select(t.engagements, t.accounts.c.name.label("account"), t.handles.c.handle, t.handles.c.name.label("person"),
                   t.handles.c.profile_url)
            .join(t.accounts, t.accounts.c.id == t.engagements.c.account_id)
            .join(t.handles, t.handles.c.id == t.engagements.c.handle_id)
            .where(_engagements_of(conn, task))
            .order_by(case((t.engagements.c.kind.in_(("reply", "comment", "mention", "quote", "message")), 0), else_=1),
                      t.engagements.c.occurred_at.desc())
        ).mappings().all()
    if not rows:
        raise UsageError(f"task {task_id} has no engagement to reply to")
    # a rep's own account speaks only for them (docs/advocacy.md): answer where this rep may speak,
    # the brand's account or their own, and refuse only when the person wrote nowhere else
    mine = [r for r in rows if (app.workspace.account(r["account"]).owner or app.actor).lower() == app.actor.lower()]
    if not mine:
        e, owner = rows[0], app.workspace.account(rows[0]["account"]).owner
        raise UsageError(f"{e['person'] or e['handle']} wrote to {owner}'s own account ({e['account']}): only {owner} "
                         f"replies from it (docs/advocacy.md); answer from your own account: {e['url'] or e['profile_url']}")
    e = mine[0]
    channel = app.channel(e["account"])
    engagement = Engagement(
        external_id=e["external_id"], kind=e["kind"], occurred_at=e["occurred_at"], text=e["text"], url=e["url"],
        post_remote_id=e["post_remote_id"], in_reply_to=e["in_reply_to"], raw=e["raw"] or {},
        person=Person(handle=e["handle"], name=e["person"], profile_url=e["profile_url"]),
    )
    if not channel.capabilities().reply:
        raise ReplyNotAllowed(f"{e['account']} cannot reply from socialsell", url=e["url"] or e["profile_url"])
    if task["replied_at"] is not None and not again:
        raise UsageError(f"task {task_id} was already replied to: add --again to reply once more")
    # the same rules as a post: the brand's banned words, and the network's own validation
    # (length as the network counts it: X's weighted length), on the exact text to be sent
    problems = check_reply(app, text.strip()) + channel.validate(channel.prepare(text.strip()))
    if problems:
        raise UsageError(f"reply refused on {e['account']}, nothing sent: " + "; ".join(problems))
    published = channel.reply(engagement, text.strip())
    now = app.now()
    with app.db.write() as conn:
        conn.execute(update(t.tasks).where(t.tasks.c.id == task_id).values(
            replied_at=func.coalesce(t.tasks.c.replied_at, now), updated_at=now))
        _first_response(conn, task, "reply", now)
        conn.execute(insert(t.notes).values(contact_id=task["contact_id"], task_id=task_id, author=app.actor, kind="reply",
                                            text=text.strip(), created_at=now))
        app.record(conn, "task.replied", f"task:{task_id}", {"remote_id": published.remote_id})
    return {"task": task_id, "remote_id": published.remote_id, "url": published.url}


def _first_response(conn, task: dict[str, Any], kind: str, now: datetime) -> None:
    """Stop the SLA clock, once: later touches keep the first one's time and kind."""
    if task.get("first_response_at") is not None:
        return
    conn.execute(update(t.tasks).where(and_(t.tasks.c.id == task["id"], t.tasks.c.first_response_at.is_(None)))
                 .values(first_response_at=now, first_response_kind=kind))
    task.update(first_response_at=now, first_response_kind=kind)


def _next_step(app: App, conn, task: dict[str, Any], step: str, due: datetime) -> None:
    step = " ".join(step.split())
    if not step:
        raise UsageError("the next step is empty: say what happens next, e.g. 'send the proposal'")
    if due <= app.now():
        raise UsageError("the next step's time is in the past: give a time to come, e.g. --at 'fri 10:00'")
    # due_at moves to the step; sla_due_at keeps the first-touch deadline the report judges by
    conn.execute(update(t.tasks).where(t.tasks.c.id == task["id"]).values(
        next_step=step, next_step_due=due, due_at=due, updated_at=app.now()))
    # a new commitment: missing it is a new "overdue", reported once again
    conn.execute(delete(t.sla_alerts).where(and_(t.sla_alerts.c.task_id == task["id"], t.sla_alerts.c.level == "overdue")))
    app.record(conn, "task.next_step", f"task:{task['id']}", {"step": step, "due": due.isoformat()})
    task.update(next_step=step, next_step_due=due, due_at=due)


def set_next_step(app: App, task_id: int, step: str, due: datetime, *, force: bool = False) -> dict[str, Any]:
    """What happens next on an open task, and when: the task is due then (``task next``)."""
    with app.db.write() as conn:
        task = _open(app, conn, task_id, force)
        _next_step(app, conn, task, step, due)
    return task


def log_touch(app: App, task_id: int, kind: str, text: str, *, next_step: str | None = None,
              due: datetime | None = None, force: bool = False) -> dict[str, Any]:
    """Record contact made by hand (a call, an email, a DM, a meeting): it is a response, so
    the first one stops the SLA clock; with ``next_step`` and ``due`` the task is due then."""
    if kind not in TOUCHES:
        raise UsageError(f"unknown touch {kind!r} (one of {', '.join(TOUCHES)})")
    if not text.strip():
        raise UsageError(f"say what happened on the {kind}, e.g. 'left a voicemail'")
    if (next_step is None) != (due is None):
        raise UsageError("a next step needs both --next TEXT and --at WHEN")
    now = app.now()
    with app.db.write() as conn:
        task = _open(app, conn, task_id, force)
        _first_response(conn, task, kind, now)
        conn.execute(insert(t.notes).values(contact_id=task["contact_id"], task_id=task_id, author=app.actor,
                                            kind=kind, text=text.strip(), created_at=now))
        conn.execute(update(t.tasks).where(t.tasks.c.id == task_id).values(updated_at=now))
        app.record(conn, "task.logged", f"task:{task_id}", {"kind": kind, "text": text.strip()})
        if next_step is not None and due is not None:
            _next_step(app, conn, task, next_step, due)
    return task


def parse_snooze(text: str, now: datetime, tz) -> datetime:
    """``2h``, ``3d``, ``1w`` or any ``--at`` form."""
    m = re.fullmatch(r"\s*(\d+)\s*(m|h|d|w)\s*", text.lower())
    try:
        if m:
            return parse_when(f"+{m.group(1)}{m.group(2)}", now, tz)
        return parse_when(text, now, tz)
    except ValueError as e:
        if "from now" in str(e):  # too far: parse_when says how far it may be
            raise UsageError(f"snooze: {e}") from None
        raise UsageError(f"cannot read the duration {text[:60]!r}: use 2h, 3d, 1w or a time like 'tomorrow 09:00'") from None

