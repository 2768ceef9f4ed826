"""Signals: public posts a listening stream found, scored by the lead rules, triaged by people.

A match is stored once per account and post (``uq_signals_once``), scored by the same lead rules
as an engagement (``score_lines``: the ``signal`` weight, intent, a question, plugins'
``score_engagement``; the ideal customer profile) plus the stream's ``weight``. At or above
``[leads] task_threshold`` it becomes a follow-up at once, as an engagement does; below it, it
waits in ``socialsell signals`` until someone promotes, dismisses or tags it (docs/listening.md).

Promoting goes through :func:`socialsell.sales.ingest.ingest` with an engagement of kind
``signal``, so the person's handle, contact, history and one open task (invariant 3) are the
same as for anyone who engaged with a post; this module then adds the stream's weight to that
engagement and explains the task ("listening <stream> matched <term>"). It never edits ingest's
internals: only its public entry points and the scoring and routing functions are called.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, insert, or_, select, text, update
from sqlalchemy.engine import Connection

from socialsell.db import schema as t
from socialsell.errors import NotFound, UsageError
from socialsell.marketing.guardrails import check_reply
from socialsell.plugins.channel import (
    SIGNAL_KIND,
    Engagement,
    Found,
    Person,
    ReplyNotAllowed,
    SearchQuery,
)
from socialsell.plugins.views import ContactView, TaskView
from socialsell.sales import routing
from socialsell.sales.contacts import contact_histories, full_score
from socialsell.sales.ingest import IngestResult, bare_handle, ignore_reason, ingest
from socialsell.sales.scoring import has_intent, icp_lines, score_lines, stage_for
from socialsell.sales.tasks import OPEN, priority
from socialsell.settings import ListenQuery, ListenStream, check_term

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App

STATUSES = ("new", "promoted", "dismissed")
INSIGHT_ABOUT = ("market", "competitor")
OPEN_TASK = text("status IN ('open', 'snoozed')")  # the predicate of uq_tasks_one_open
S = t.signals


# --- queries ----------------------------------------------------------------------------------


def search_query(q: ListenQuery) -> SearchQuery:
    """The channel's view of a stream's query."""
    return SearchQuery(keywords=tuple(q.keywords), phrases=tuple(q.phrases), hashtags=tuple(q.hashtags),
                       competitors=tuple(q.competitors), exclude=tuple(q.exclude), languages=tuple(q.languages))


def parse_query_text(text: str) -> ListenQuery:
    """``listen test``'s QUERY, written as on X: ``word "a phrase" #tag @handle -exclude lang:en``.

    Raises UsageError for a query that cannot be read or has nothing to look for."""
    try:
        parts = shlex.split(text, posix=True)
    except ValueError as e:
        raise UsageError(f"query {text!r}: {e} (a phrase is written between double quotes)") from None
    quoted = set(re.findall(r'"([^"]*)"', text))
    q = ListenQuery()
    for part in parts:
        if part in quoted and part.strip():
            kind, value = "phrases", part
        elif part.startswith("-") and len(part) > 1:
            kind, value = "exclude", part[1:]
        elif part.lower().startswith("lang:"):
            kind, value = "languages", part[5:]
        elif part.startswith("#"):
            kind, value = "hashtags", part
        elif part.startswith("@"):
            kind, value = "competitors", part
        else:
            kind, value = "keywords", part
        try:
            term = check_term(kind, value)
        except ValueError as e:
            raise UsageError(f"query {text!r}: {e}") from None
        if term not in getattr(q, kind):
            getattr(q, kind).append(term)
    if not (q.keywords or q.phrases or q.hashtags or q.competitors):
        raise UsageError(f"query {text!r}: nothing to look for: give a word, a \"phrase\", a #hashtag or an @handle")
    return q


# --- scoring ----------------------------------------------------------------------------------


def _person_contact(person: Person) -> dict[str, Any]:
    """What the lead rules read of a contact, from what the network says of the person."""
    return {"headline": person.headline, "company": person.company, "location": person.location,
            "followers": person.followers, "verified": person.verified, "owner": None, "stage": "engaged"}


def score_found(app: App, found: Found, stream: ListenStream | None, account: str) -> tuple[float, list[tuple[str, float]]]:
    """A match's score and why: the lead rules (as for an engagement of kind ``signal``), the
    person's profile fit, and the stream's weight."""
    rules = app.settings.leads
    payload = {"kind": SIGNAL_KIND, "text": found.text, "channel": app.workspace.account(account).channel,
               "account": account, "occurred_at": found.occurred_at, "url": found.url, "post_remote_id": None,
               "handle": found.person.handle}
    contact = _person_contact(found.person)
    lines = score_lines(payload, contact, rules, app)
    if stream is not None and stream.weight:
        lines.append((f"listening stream {stream.name!r}", stream.weight))
    lines += icp_lines(contact, rules)
    lines = [(reason, round(points, 1)) for reason, points in lines]
    return round(sum(p for _, p in lines), 1), lines


# --- storing matches --------------------------------------------------------------------------


@dataclass
class StoreResult:
    """What one page of matches did: stored, seen before, ignored, and the follow-ups opened."""

    stored: list[int] = field(default_factory=list)
    duplicates: int = 0
    ignored: int = 0
    promoted: list[int] = field(default_factory=list)
    hooks: list[Any] = field(default_factory=list)  # (ingest result, created task, contact) to fire after commit

    def fire_hooks(self, app: App) -> None:
        """Event hooks after the commit (a hook never hears of what was rolled back)."""
        fire_hooks(app, self.hooks)


def fire_hooks(app: App, hooks: list[Any]) -> None:
    for result, task, contact in hooks:
        result.fire_hooks(app)
        if task is not None:
            app.fire("task_created", task=TaskView(task), contact=ContactView(contact))


def own_handles(app: App, conn: Connection) -> set[str]:
    handles = [h for (h,) in conn.execute(select(t.accounts.c.handle).where(t.accounts.c.handle.is_not(None)))]
    handles += [a.handle for a in app.workspace.accounts.values() if a.handle]
    handles += app.settings.leads.own_handles
    return {bare_handle(h) for h in handles}


def store_matches(app: App, conn: Connection, stream: ListenStream, account: str, found: list[Found],
                  now: datetime) -> StoreResult:
    """Store a page of matches in the caller's transaction (the listening job commits them with
    the stream's cursor); the strong ones become follow-ups in the same transaction."""
    result = StoreResult()
    account_id = app.account_id(account)
    rules = app.settings.leads
    own = own_handles(app, conn)
    query = search_query(stream.query)
    rows = []
    for f in {f.external_id: f for f in found}.values():
        if ignore_reason(f.person, rules, own):
            result.ignored += 1
            continue
        points, lines = score_found(app, f, stream, account)
        rows.append({
            "account_id": account_id, "stream": stream.name, "external_id": f.external_id, "handle": f.person.handle,
            "person": _person_json(f.person), "text": f.text, "url": f.url, "lang": f.lang, "thread_id": f.thread_id,
            "occurred_at": f.occurred_at, "found_at": now, "term": query.matched_term(f.text, f.person.handle, f.lang),
            "points": points, "score_lines": [list(line) for line in lines], "status": "new", "raw": f.raw or None,
        })
    if not rows:
        return result
    stmt = app.db.insert(S).on_conflict_do_nothing(index_elements=["account_id", "external_id"]).returning(S.c.id, S.c.points)
    stored = conn.execute(stmt, rows).all()
    result.duplicates = len(rows) - len(stored)
    result.stored = [sid for sid, _ in stored]
    for sid, points in stored:
        if points >= rules.task_threshold:
            promoted = promote_in(app, conn, sid, actor="listening", now=now)
            if promoted is not None:
                result.promoted.append(sid)
                result.hooks.append(promoted["hooks"])
    return result


def _person_json(p: Person) -> dict[str, Any]:
    return {k: getattr(p, k) for k in ("handle", "name", "external_id", "profile_url", "headline", "company",
                                       "location", "followers", "verified", "bio", "kind")}


# --- promote, dismiss, tag ---------------------------------------------------------------------


def _signal(conn: Connection, signal_id: int) -> dict[str, Any]:
    row = conn.execute(select(S, t.accounts.c.name.label("account"), t.accounts.c.channel)
                       .join(t.accounts, t.accounts.c.id == S.c.account_id).where(S.c.id == signal_id)).mappings().first()
    if row is None:
        raise NotFound(f"no signal with id {signal_id} (see `socialsell signals`)")
    return dict(row)


def reason_of(sig: dict[str, Any]) -> str:
    """The task's one-line reason: which stream, which term, what they said."""
    text = " ".join((sig.get("text") or "").split())
    snippet = f': "{text[:80]}{"..." if len(text) > 80 else ""}"' if text else ""
    term = f" matched {sig['term']}" if sig.get("term") else ""
    return f"listening {sig['stream']!r}{term}{snippet}"


def _engagement_of(sig: dict[str, Any]) -> Engagement:
    person = Person(**{k: v for k, v in (sig.get("person") or {}).items() if k in Person.__dataclass_fields__})
    person.handle = sig["handle"]
    return Engagement(external_id=sig["external_id"], kind=SIGNAL_KIND, person=person, occurred_at=sig["occurred_at"],
                      text=sig["text"], url=sig["url"],
                      raw={**(sig.get("raw") or {}), "stream": sig["stream"], "term": sig.get("term"), "signal": sig["id"],
                           "thread_id": sig.get("thread_id")})


def promote_in(app: App, conn: Connection, signal_id: int, *, actor: str, now: datetime) -> dict[str, Any] | None:
    """Turn a signal into a follow-up in the caller's transaction: the person becomes a contact
    (or is found), the match an engagement of kind ``signal`` worth the lead rules' points plus
    the stream's weight, attached to their one open task or opening it. None when the person is
    never followed up (our own account, the ignore list)."""
    sig = _signal(conn, signal_id)
    rules = app.settings.leads
    result = ingest(app, conn, sig["account"], [_engagement_of(sig)], now)
    E = t.engagements
    eng = conn.execute(select(E).where(E.c.account_id == sig["account_id"], E.c.external_id == sig["external_id"],
                                       E.c.kind == SIGNAL_KIND)).mappings().first()
    if eng is None or eng["contact_id"] is None:
        return None
    stream = app.settings.stream(sig["stream"])
    weight = stream.weight if stream is not None else 0.0
    if weight and eng["id"] in {e["id"] for e in result.new}:  # the stream's weight, counted once
        raw = dict(eng["raw"] or {})
        raw["reasons"] = [*raw.get("reasons", []), f"listening stream {sig['stream']!r}"]
        conn.execute(update(E).where(E.c.id == eng["id"]).values(points=round((eng["points"] or 0) + weight, 2), raw=raw))
    contact = dict(conn.execute(select(t.contacts).where(t.contacts.c.id == eng["contact_id"])).mappings().one())
    # the weight changed an engagement's points: the kept score is summed again (sales.md, "How a score is kept")
    scored = full_score(conn, contact, rules, now)
    score, explained = scored["score"], scored["explained"]
    history = contact_histories(conn, [contact["id"]]).get(contact["id"], [])
    stage = app.hook.qualify_lead(contact=contact, score=score, engagements=history) or stage_for(score, rules, contact["stage"])
    conn.execute(update(t.contacts).where(t.contacts.c.id == contact["id"]).values(
        score=score, score_points=scored["score_points"], scored_at=now, score_explained=explained, stage=stage,
        updated_at=now))
    contact.update(score=score, score_explained=explained, stage=stage)
    task, created = _task_for(app, conn, sig, dict(eng), contact, result, score, now)
    conn.execute(update(E).where(E.c.id == eng["id"]).values(task_id=task["id"]))
    conn.execute(update(S).where(S.c.id == signal_id).values(status="promoted", task_id=task["id"], decided_by=actor,
                                                              decided_at=now))
    app.record(conn, "signal.promoted", f"signal:{signal_id}", {"task": task["id"], "by": actor})
    return {"signal": signal_id, "task": task["id"], "created": created or bool(result.tasks_created),
            "contact": contact["id"], "hooks": (result, task if created else None, contact)}


def _task_for(app: App, conn: Connection, sig: dict[str, Any], eng: dict[str, Any], contact: dict[str, Any],
              result: IngestResult, score: float, now: datetime) -> tuple[dict[str, Any], bool]:
    """The contact's one open task, raised (or explained, when ingest just opened it), or a new one."""
    T = t.tasks
    rules = app.settings.leads
    intent = has_intent(sig["text"], rules) is not None
    task = conn.execute(select(T).where(T.c.contact_id == contact["id"], T.c.status.in_(OPEN))).mappings().first()
    if task is not None:
        values: dict[str, Any] = {"score": score, "priority": min(task["priority"], priority(score, intent, rules)),
                                  "updated_at": now, "status": "open", "snoozed_until": None}
        if any(c["id"] == task["id"] for c in result.tasks_created) or not task["intent"]:
            values["reason"] = reason_of(sig)  # what listening heard explains the task best
        if intent and not task["intent"]:
            sooner = routing.due_time(app, now, True)
            values.update(intent=True, due_at=min(task["due_at"], sooner))
            if task["first_response_at"] is None and task["sla_due_at"] is not None:  # not touched yet: the SLA tightens
                values["sla_due_at"] = min(task["sla_due_at"], sooner)
        conn.execute(update(T).where(T.c.id == task["id"]).values(**values))
        return {**dict(task), **values}, False
    owner = routing.choose_owner(app, conn, contact, {**eng, "channel": sig["channel"], "account": sig["account"]})
    values = {"contact_id": contact["id"], "owner": owner, "status": "open", "score": score, "intent": intent,
              "priority": priority(score, intent, rules), "reason": reason_of(sig),
              "due_at": (due := routing.due_time(app, now, intent)), "sla_due_at": due, "first_engagement_id": eng["id"],
              "last_engagement_at": sig["occurred_at"], "created_at": now, "updated_at": now}
    stmt = app.db.insert(T).on_conflict_do_nothing(index_elements=["contact_id"], index_where=OPEN_TASK)
    task_id = conn.execute(stmt.returning(T.c.id), [values]).scalar()
    if task_id is None:  # another worker opened one a moment ago (invariant 3): attach to it
        task = conn.execute(select(T).where(T.c.contact_id == contact["id"], T.c.status.in_(OPEN))).mappings().one()
        return dict(task), False
    if owner and not contact.get("owner"):
        conn.execute(update(t.contacts).where(t.contacts.c.id == contact["id"]).values(owner=owner))
        contact["owner"] = owner
    app.record(conn, "task.created", f"task:{task_id}", {"contact": contact["id"], "owner": owner, "signal": sig["id"]})
    return {**values, "id": task_id}, True


def promote(app: App, signal_id: int) -> dict[str, Any]:
    """``signal promote ID``: a follow-up now, whatever the score (a person judged it worth one)."""
    app.account_ids()  # rows for newly configured accounts, written before the transaction below
    with app.db.write() as conn:
        sig = _signal(conn, signal_id)
        if sig["status"] == "promoted" and sig["task_id"] is not None:
            raise UsageError(f"signal {signal_id} is already follow-up task {sig['task_id']}")
        done = promote_in(app, conn, signal_id, actor=app.actor, now=app.now())
        if done is None:
            raise UsageError(f"signal {signal_id}: {sig['handle']} is never followed up (our own account or "
                             "[leads.ignore]); nothing changed")
    fire_hooks(app, [done["hooks"]])
    return {k: v for k, v in done.items() if k != "hooks"}


def dismiss(app: App, signal_id: int) -> dict[str, Any]:
    """``signal dismiss ID``: not worth a follow-up; it leaves the list (an insight stays)."""
    with app.db.write() as conn:
        sig = _signal(conn, signal_id)
        if sig["status"] == "promoted":
            raise UsageError(f"signal {signal_id} is already follow-up task {sig['task_id']}: close the task instead "
                             f"(socialsell task done {sig['task_id']} --outcome dismissed)")
        if sig["status"] == "dismissed":
            raise UsageError(f"signal {signal_id} is already dismissed")
        conn.execute(update(S).where(S.c.id == signal_id).values(status="dismissed", decided_by=app.actor,
                                                                  decided_at=app.now()))
        app.record(conn, "signal.dismissed", f"signal:{signal_id}")
    return {"signal": signal_id, "status": "dismissed"}


def tag(app: App, signal_id: int, insight: str, about: str | None = None) -> dict[str, Any]:
    """``signal tag ID INSIGHT``: a market or competitor insight for the report's feedback
    section. ``about`` defaults to ``competitor`` when the match came from a competitor handle."""
    insight = " ".join(insight.split())
    if not insight:
        raise UsageError("the insight is empty")
    if len(insight) > 500:
        raise UsageError(f"the insight is {len(insight)} characters; at most 500")
    if about is not None and about not in INSIGHT_ABOUT:
        raise UsageError(f"--about must be one of {', '.join(INSIGHT_ABOUT)}, not {about!r}")
    with app.db.write() as conn:
        sig = _signal(conn, signal_id)
        about = about or ("competitor" if (sig["term"] or "").startswith("@") else "market")
        conn.execute(update(S).where(S.c.id == signal_id).values(insight=insight, insight_about=about,
                                                                  tagged_by=app.actor, tagged_at=app.now()))
        app.record(conn, "signal.tagged", f"signal:{signal_id}", {"insight": insight, "about": about})
    return {"signal": signal_id, "insight": insight, "about": about}


# --- listing ----------------------------------------------------------------------------------


def list_signals(app: App, *, stream: str | None = None, status: str | None = "new",
                 limit: int | None = None) -> tuple[list[dict[str, Any]], int]:
    """Signals, strongest first (then newest): the rows (at most ``limit``) and how many there are."""
    if stream is not None and app.settings.stream(stream) is None:
        with app.db.read() as conn:
            known = conn.execute(select(S.c.id).where(S.c.stream == stream).limit(1)).first()
        if known is None:
            names = ", ".join(s.name for s in app.settings.listen) or "none configured"
            raise UsageError(f"--stream: no listening stream {stream!r} (streams: {names})")
    where = [S.c.stream == stream] if stream is not None else []
    if status is not None:
        where.append(S.c.status == status)
    with app.db.read() as conn:
        total = conn.execute(select(func.count()).select_from(S).where(*where)).scalar() or 0
        q = (select(S, t.accounts.c.name.label("account"), t.accounts.c.channel)
             .join(t.accounts, t.accounts.c.id == S.c.account_id).where(*where)
             .order_by(S.c.points.desc(), S.c.occurred_at.desc(), S.c.id.desc()))
        if limit:
            q = q.limit(limit)
        rows = [_public(dict(r)) for r in conn.execute(q).mappings()]
    return rows, total


def _public(row: dict[str, Any]) -> dict[str, Any]:
    person = row.pop("person") or {}
    row["person"] = {k: person.get(k) for k in ("name", "headline", "company", "location", "followers", "profile_url")}
    row["score"] = row.pop("points")
    row["why"] = [{"reason": r, "points": p} for r, p in (row.pop("score_lines") or [])]
    row.pop("raw", None)
    row.pop("account_id", None)
    return row


def get_signal(app: App, signal_id: int) -> dict[str, Any]:
    with app.db.read() as conn:
        return _public(_signal(conn, signal_id))


# --- answering --------------------------------------------------------------------------------


def reply(app: App, signal_id: int, text: str, *, again: bool = False) -> dict[str, Any]:
    """Answer a signal in public, by a person (never by the loop), through the same guardrails as
    ``task reply``: the brand's banned words and the network's validation on the exact text, only
    where the network allows a reply (:class:`ReplyNotAllowed` carries the link to answer by
    hand), and at most one reply per person and thread unless ``again`` (the person confirmed).

    The signal becomes a follow-up first (a reply starts a conversation a rep owns), so the reply
    stops that task's SLA clock like any first response."""
    text = text.strip()
    if not text:
        raise UsageError("the reply is empty")
    with app.db.read() as conn:
        sig = _signal(conn, signal_id)
        earlier = _earlier_reply(conn, sig)
    channel = app.channel(sig["account"])
    if not channel.capabilities().reply:
        raise ReplyNotAllowed(f"{sig['account']} cannot reply from socialsell", url=sig["url"])
    if earlier is not None and not again:
        raise UsageError(f"{sig['handle']} was already answered in this thread (signal {earlier}): "
                         "add --again to reply once more")
    problems = check_reply(app, text) + channel.validate(channel.prepare(text))
    if problems:
        raise UsageError(f"reply refused on {sig['account']}, nothing sent: " + "; ".join(problems))
    hooks = []
    app.account_ids()  # rows for newly configured accounts, written before the transaction below
    if sig["task_id"] is None:
        with app.db.write() as conn:
            done = promote_in(app, conn, signal_id, actor=app.actor, now=app.now())
        if done is None:
            raise UsageError(f"signal {signal_id}: {sig['handle']} is never followed up (our own account or [leads.ignore])")
        hooks.append(done["hooks"])
        sig["task_id"] = done["task"]
    fire_hooks(app, hooks)
    published = channel.reply(_engagement_of(sig), text)
    now = app.now()
    with app.db.write() as conn:
        conn.execute(update(S).where(S.c.id == signal_id).values(replied_at=func.coalesce(S.c.replied_at, now)))
        task = conn.execute(select(t.tasks).where(t.tasks.c.id == sig["task_id"])).mappings().first()
        if task is not None:
            values: dict[str, Any] = {"replied_at": func.coalesce(t.tasks.c.replied_at, now), "updated_at": now}
            if task["first_response_at"] is None:
                values.update(first_response_at=now, first_response_kind="reply")
            conn.execute(update(t.tasks).where(t.tasks.c.id == task["id"]).values(**values))
            conn.execute(insert(t.notes).values(contact_id=task["contact_id"], task_id=task["id"], author=app.actor,
                                                kind="reply", text=text, created_at=now))
        app.record(conn, "signal.replied", f"signal:{signal_id}", {"remote_id": published.remote_id})
    return {"signal": signal_id, "task": sig["task_id"], "remote_id": published.remote_id, "url": published.url}


def _earlier_reply(conn: Connection, sig: dict[str, Any]) -> int | None:
    """A signal of the same person in the same thread we already answered, if any."""
    thread = sig.get("thread_id") or sig["external_id"]
    found = conn.execute(select(S.c.id).where(and_(
        S.c.account_id == sig["account_id"], func.lower(S.c.handle) == sig["handle"].lower(),
        S.c.replied_at.is_not(None),
        or_(S.c.thread_id == thread, S.c.external_id == thread, S.c.id == sig["id"])))).first()
    return found[0] if found else None
