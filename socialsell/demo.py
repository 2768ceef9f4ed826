"""``socialsell demo``: a week on the sandbox network in a few seconds.

It creates a workspace, queues a week of posts from the shipped templates into the posting
slots, then runs the real loop (publish, poll, SLA, metrics) over simulated time while the
sandbox's simulated audience reacts. What it prints is what a user would see.
"""

from __future__ import annotations

import re
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, select

from socialsell.app import App
from socialsell.db import schema as t
from socialsell.loop.worker import Worker, build_jobs, run_job
from socialsell.marketing.advocacy import share_post
from socialsell.marketing.posts import create_post, get_post
from socialsell.reports import build_report, build_scope
from socialsell.reports.render_html import render_html
from socialsell.reports.render_text import render_text
from socialsell.sales.deals import list_deals, win_deal
from socialsell.sales.signals import list_signals, tag
from socialsell.sales.tasks import (
    add_note,
    close_task,
    get_task,
    list_tasks,
    log_touch,
    reply_to_task,
    set_next_step,
)
from socialsell.timeparse import format_ago, format_local, local_date_time
from socialsell.workspace import init_workspace

POSTS = [
    ("product-launch", {"product": "Acme Pipeline"}),
    ("tip", {"tip": "answer every comment on your post within the hour: it is a conversation, not a metric."}),
    ("customer-story", {"customer": "Northwind", "result": "a 3x reply rate in six weeks"}),
    ("webinar", {"topic": "Social selling without the spam", "date": "Thursday 16:00 CET"}),
    ("tip", {"tip": "a question in a comment is a buying signal. Treat it like an inbound lead."}),
    ("product-launch", {"product": "Acme Pipeline", "benefit": "one list of who to call, most urgent first"}),
    ("tip", {"tip": "share customer stories, not feature lists."}),
]


#: the reps' own sandbox accounts (docs/advocacy.md): alice and bob share from them
REP_ACCOUNTS = """
[[accounts]]
name = "alice-sandbox"
channel = "sandbox"
owner = "alice"
poll_interval = "1m"

[[accounts]]
name = "bob-sandbox"
channel = "sandbox"
owner = "bob"
poll_interval = "1m"
"""
SHAREABLE = "customer-story"  # the post marketing marks shareable, with a suggested comment
SUGGESTED = "Proud of what the Northwind team did with us."
ALICE_TAKE = "I sat with Northwind's reps for six weeks on this. The reply rate is real: happy to show how."
#: someone in alice's own network who replies to her share
LENA = {"handle": "@lena_h", "name": "Lena Hoffmann", "headline": "Head of Sales at Contoso, Hamburg",
        "text": "We see the same drop-off in our team. How does pricing work for 12 reps? Could we get a demo?"}
#: the demo's listening stream: people who talk about the topic or a competitor, not to us
LISTEN = """
[[listen]]
name = "buyers"
accounts = ["sandbox"]
interval = "30m"
weight = 2
monthly_reads = 500
[listen.query]
keywords = ["follow-ups"]
phrases = ["social selling"]
hashtags = ["socialselling"]
competitors = ["rivalinc"]
exclude = ["hiring"]
languages = ["en"]
"""


#: what two strangers say in public during the week (besides the sandbox audience's own posts):
#: hours after the start, who, and what; neither ever engages with our posts
SAID = [
    (5, "@lina.growth", "Lina Berg", "Head of Growth at Fourth Coffee",
     "@rivalinc support has ignored our ticket for a week. Looking at alternatives."),
    (26, "@nora_sdr", "Nora Quinn", "Sales Development Lead at Proseware",
     "Any tool that turns LinkedIn comments into follow-ups? Happy to pay for a trial."),
]


class SimulatedClock:
    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def _next_workday(now: datetime, tz: Any, hour: int, days: int = 1) -> datetime:
    day = now.astimezone(tz).date() + timedelta(days=days)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return local_date_time(day, dtime(hour, 0), tz)


def _reps_work(app: App, now: datetime) -> list[tuple[str, str, str]]:
    """Each rep works their list as from `socialsell work`: answers the newest follow-ups (the
    reply stops the SLA clock) and sets a next step, books meetings with the keen ones, opens a
    deal after a meeting, and wins deals a few days later with no new social engagement."""

    tz = app.workspace.timezone
    done = []
    for rep in app.workspace.team:
        app.actor = rep.name
        for deal in list_deals(app, owner=rep.name, include_closed=False):
            if now - deal["opened_at"] >= timedelta(days=2) and deal["amount"]:
                win_deal(app, deal["id"])
                done.append((rep.name, deal["contact"]["name"], f"deal {deal['id']} won ({deal['amount']:,.0f})"))
        worked = 0
        for task in list_tasks(app, owner=rep.name, now=now):
            if worked == 3:
                break
            who = task["contact"]["name"]
            if task["next_step"] == "meeting" and task["due_at"] <= now:  # the meeting took place
                amount = 4800.0 + 100 * (task["id"] % 7)
                closed = close_task(app, task["id"], "opportunity", amount, close=(now + timedelta(days=14)).date())
                done.append((rep.name, who, f"meeting held, deal {closed['deal_id']} opened ({amount:,.0f})"))
            elif task["first_response_at"] is None:
                topic = re.search(r"with intent \(([^)]+)\)", task["reason"] or "")
                if topic:  # what the buyer asked about goes back to marketing (`task tag`)
                    add_note(app, task["id"], f"asked about {topic.group(1)}", kind="insight")
                reply_to_task(app, task["id"], get_task(app, task["id"])["opener"])
                if task["intent"] and task["score"] >= 25:
                    meeting = _next_workday(now, tz, 11)
                    close_task(app, task["id"], "meeting", meeting_at=meeting)
                    done.append((rep.name, who, f"replied, meeting {format_local(meeting, tz, '%a %H:%M')}"))
                else:
                    set_next_step(app, task["id"], "check in if no answer", _next_workday(now, tz, 10, days=3))
                    done.append((rep.name, who, "replied, next step: check in"))
            elif task["next_step"] == "check in if no answer" and task["due_at"] <= now:  # the check-in is due
                log_touch(app, task["id"], "email", "Sent the Northwind case study", next_step="call about the case study",
                          due=_next_workday(now, tz, 14, days=3))
                done.append((rep.name, who, "checked in by email, next step: a call"))
            elif task["next_step_due"] is not None and task["due_at"] <= now:  # the call
                close_task(app, task["id"], "connected")
                done.append((rep.name, who, "called: connected"))
            else:
                continue  # waiting on them, or a next step still to come
            worked += 1
    app.actor = "morgan"
    return done


class Advocacy:
    """The demo's advocacy scene: alice shares the shareable post from her own account with her
    own words as soon as it is out; Lena, from alice's network, replies to alice's post."""

    def __init__(self, app: App, post_id: int):
        self.app, self.post_id = app, post_id
        self.share_id: int | None = None
        self.replied = False
        self.lines: list[str] = []

    def step(self, now: datetime) -> None:

        if self.replied:
            return
        tz = self.app.workspace.timezone
        deliveries = get_post(self.app, self.post_id)["deliveries"]
        brand = next(d for d in deliveries if d["account"] == "sandbox")
        if self.share_id is None and brand["status"] == "published":
            self.app.actor = "alice"  # `socialsell --as alice share ID --text "..."`
            [self.share_id] = share_post(self.app, self.post_id, text=ALICE_TAKE)
            self.app.actor = "morgan"
            self.lines.append(f"   {format_local(now, tz, '%a %H:%M')}  alice shares post #{self.post_id} from her own account "
                              f"(alice-sandbox) with her own words: \"{ALICE_TAKE[:60]}...\"")
        share = next((d for d in deliveries if d["id"] == self.share_id), None)
        if share is not None and share["status"] == "published" and not self.replied:
            channel = self.app.channel("alice-sandbox")
            channel.inject(post_id=share["remote_id"], kind="reply", handle=LENA["handle"], name=LENA["name"],
                           headline=LENA["headline"], text=LENA["text"], at=now)
            self.replied = True
            self.lines.append(f"   {format_local(now, tz, '%a %H:%M')}  {LENA['name']} ({LENA['headline']}) replies to "
                              f"alice's post: \"{LENA['text'][:58]}...\"")


def _examples(worked: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """A few steps of each kind: a reply, a meeting, a deal opened, a deal won."""
    picked = []
    for kind in ("replied, next", "replied, meeting", "deal", "won", "checked in", "called"):
        picked += [w for w in worked if kind in w[2] and w not in picked][:1]
    return picked


def _listening(app: App, now: datetime, echo: Callable[[str], None]) -> None:
    """What the stream found: a stranger's buying question on a rep's list with the reason, the
    signals waiting for triage."""

    with app.db.read() as conn:
        found = conn.execute(select(func.count()).select_from(t.signals)).scalar()
        promoted = conn.execute(select(func.count()).select_from(t.signals).where(t.signals.c.status == "promoted")).scalar()
        reads = conn.execute(select(func.sum(t.listen_spend.c.reads)).where(t.listen_spend.c.stream == "buyers")).scalar() or 0
        stranger = conn.execute(
            select(t.signals.c.task_id, t.signals.c.handle, t.signals.c.text, t.tasks.c.owner, t.tasks.c.reason)
            .join(t.tasks, t.tasks.c.id == t.signals.c.task_id)
            .where(t.signals.c.status == "promoted", t.tasks.c.reason.like("listening %"),
                   t.signals.c.text.ilike("%pric%") | t.signals.c.text.ilike("%trial%"),
                   ~t.signals.c.handle.in_(select(t.handles.c.handle).join(t.engagements, t.engagements.c.handle_id == t.handles.c.id)
                                           .where(t.engagements.c.kind != "signal")))
            .order_by(t.signals.c.occurred_at).limit(1)).first()
    waiting, total = list_signals(app, limit=3)
    echo(f"\n   Listening: {found} public posts matched 'buyers' ({reads} reads; the budget is 500 a month); "
         f"{promoted} became follow-ups, {total} wait in `socialsell signals`.")
    if stranger is not None:
        echo(f"   {stranger.handle} never engaged with our posts but asked in public: \"{stranger.text}\"")
        echo(f"   -> task #{stranger.task_id} on {stranger.owner}'s list, because: {stranger.reason}")
    for s in waiting:
        echo(f"   signal {s['id']} (score {s['score']:.0f}, waiting): {s['handle']}: \"{(s['text'] or '')[:60]}\"")


def _marketer_triage(app: App) -> dict[str, Any] | None:
    """The marketer reads what listening heard about the competitor and tags it for the report."""

    found, _ = list_signals(app, status=None, limit=0)
    complaint = next((s for s in found if (s["term"] or "").startswith("@") and not s["insight"]), None)
    if complaint is None:
        return None
    app.actor = "morgan"
    return tag(app, complaint["id"], "competitor: slow support and pricing, their customers look for alternatives")


def run_demo(directory: Path | None, *, days: int = 7, pm: Any = None, echo: Callable[[str], None] = print,
             now: datetime | None = None) -> Path:
    started = time.monotonic()
    folder = directory or Path(tempfile.mkdtemp(prefix="socialsell-demo-"))
    config = init_workspace(folder, name="Acme demo", timezone="Europe/Berlin", force=True)
    with open(config, "a", encoding="utf-8") as f:  # alice and bob connect their own accounts
        f.write(REP_ACCOUNTS)
    with config.open("a", encoding="utf-8") as f:  # listening (docs/listening.md): a stream on the sandbox
        f.write(LISTEN)
    # the simulated week ends now, so `socialsell tasks` afterwards shows what the demo printed
    wall = (now or datetime.now(UTC)) - timedelta(days=days)  # SOCIALSELL_NOW pins it (tests, docs)
    start = wall.replace(minute=wall.minute - wall.minute % 30, second=0, microsecond=0)
    clock = SimulatedClock(start)
    app = App.load(str(config), pm=pm, actor="morgan", clock=clock)  # the sandbox follows this clock
    tz = app.workspace.timezone

    echo(f"socialsell demo: a simulated week for 'Acme' in {folder}\n")
    echo("1. The marketer queues a week of posts from the shipped templates into the posting slots:")

    advocacy: Advocacy | None = None
    for template, variables in POSTS:
        shareable = template == SHAREABLE and advocacy is None
        post_id = create_post(app, accounts=["sandbox"], template=template, variables=variables, queue=True,
                              shareable=shareable, suggested_comment=SUGGESTED if shareable else None)
        d = get_post(app, post_id)["deliveries"][0]
        echo(f"   #{post_id} {format_local(d['due_at'], tz)}  {d['text'].splitlines()[0][:70]}"
             + ("  (shareable by reps)" if shareable else ""))
        if shareable:
            advocacy = Advocacy(app, post_id)

    echo(f"\n2. The loop runs for {days} simulated days: publishing at each slot, polling the sandbox,")
    echo("   turning reactions into contacts and follow-up tasks, checking the SLA.")
    echo("   Each working day at 10:00 and 15:00 the reps work their lists: a reply with a next step,")
    echo("   a meeting for the keen ones, a deal after the meeting, won a few days later.")
    echo("   alice shares the shareable post from her own account; her network answers her, not the brand.")
    echo("   The listening stream 'buyers' searches the sandbox's public posts every 30 minutes for")
    echo("   follow-ups, \"social selling\", #socialselling and the competitor @rivalinc (budget 500 reads).")
    worker = Worker(app, id="demo-worker")
    jobs = {j.id: j for j in build_jobs(app)}
    step = timedelta(minutes=30)
    end = start + timedelta(days=days)
    worked: list[tuple[str, str, str]] = []
    tagged: dict[str, Any] | None = None
    said = list(SAID)
    while clock.now < end:
        clock.now += step
        while said and clock.now >= start + timedelta(hours=said[0][0]):
            _, handle, name, headline, text = said.pop(0)
            app.channel("sandbox").say(handle=handle, name=name, headline=headline, text=text, at=clock.now)
        # alice's own account is polled once she has shared from it (bob never shares in the demo)
        polled = ("poll:sandbox", "poll:alice-sandbox") if advocacy and advocacy.share_id else ("poll:sandbox",)
        for job_id in ("publish", *polled, "listen:buyers", "sla"):
            run_job(worker, jobs[job_id], clock.now)
        if advocacy is not None:
            advocacy.step(clock.now)
        local = clock.now.astimezone(tz)
        if local.weekday() < 5 and (local.hour, local.minute) in ((10, 0), (15, 0)):
            worked += _reps_work(app, clock.now)
            tagged = tagged or _marketer_triage(app)
    run_job(worker, jobs["metrics"], clock.now)

    for line in advocacy.lines if advocacy else []:
        echo(line)
    with app.db.read() as conn:
        shares = select(t.shares.c.delivery_id)
        published = conn.execute(select(func.count()).where(and_(t.deliveries.c.status == "published",
                                                                 t.deliveries.c.id.not_in(shares)))).scalar()
        shared = conn.execute(select(func.count()).where(and_(t.deliveries.c.status == "published",
                                                              t.deliveries.c.id.in_(shares)))).scalar()
        kinds = Counter(dict(conn.execute(select(t.engagements.c.kind, func.count()).group_by(t.engagements.c.kind)).all()))
        ignored = conn.execute(select(func.count()).where(t.engagements.c.ignored.is_not(None))).scalar()
        contacts = conn.execute(select(func.count()).select_from(t.contacts)).scalar()
        stages = Counter(dict(conn.execute(select(t.contacts.c.stage, func.count()).group_by(t.contacts.c.stage)).all()))
    echo(f"   published {published} posts (and {shared} shared by reps); {sum(kinds.values())} engagements "
         f"({', '.join(f'{n} {k}' for k, n in kinds.most_common())}); {ignored} ignored (bots, competitors)")
    echo(f"   {contacts} contacts: " + ", ".join(f"{n} {s}" for s, n in stages.most_common()))


    _listening(app, clock.now, echo)

    echo("\n3. Each rep's follow-up list (`socialsell --as NAME tasks`), most urgent first:")
    for rep in app.workspace.team:
        rows = list_tasks(app, owner=rep.name, now=clock.now)
        echo(f"\n   {rep.name}: {len(rows)} open")
        for r in rows[:5]:
            who = r["contact"]["name"] + (f" ({r['contact']['company']})" if r["contact"]["company"] else "")
            if r["first_response_at"] is None:
                when = ("OVERDUE " if r["overdue"] else "due ") + format_local(r["due_at"], tz, "%a %H:%M")
                why = r["reason"] or ""
            else:
                when = f"replied {format_ago(r['first_response_at'], clock.now)}"
                why = f"next: {r['next_step']} {format_local(r['next_step_due'], tz, '%a %H:%M')}" if r["next_step"] else "waiting on them"
                when = ("OVERDUE, " if r["overdue"] else "") + when
            echo(f"   #{r['id']:<3} p{r['priority']} score {r['score']:>4.0f}  {when}  {who}: {why[:60]}")
        deals = list_deals(app, owner=rep.name)
        if deals:
            echo("   deals: " + ", ".join(f"#{d['id']} {d['contact']['name']} {d['stage']} {d['amount'] or 0:,.0f}" for d in deals[:4]))

    with app.db.read() as conn:
        escalated = conn.execute(select(func.count()).select_from(t.sla_alerts).where(t.sla_alerts.c.level == "escalated")).scalar()
        answered_then = conn.execute(select(func.count()).select_from(t.sla_alerts).join(t.tasks, t.tasks.c.id == t.sla_alerts.c.task_id)
                                     .where(and_(t.sla_alerts.c.level == "escalated", t.tasks.c.first_response_at.is_not(None),
                                                 t.tasks.c.first_response_at <= t.sla_alerts.c.at))).scalar()
    echo(f"\n   {escalated} SLA escalations this week; {answered_then} of them on a task already answered.")

    if worked:
        echo(f"\n   During the week the reps took {len(worked)} steps, e.g.:")
        for rep, who, outcome in _examples(worked):
            echo(f"   {rep}: {who} -> {outcome}")

    with app.db.read() as conn:
        lena = conn.execute(select(t.tasks.c.id, t.tasks.c.owner, t.tasks.c.status)
                            .join(t.contacts, t.contacts.c.id == t.tasks.c.contact_id)
                            .where(t.contacts.c.display_name == LENA["name"]).order_by(t.tasks.c.id)).first()
    if lena is not None:
        echo(f"\n   {LENA['name']} replied to alice's own post, so her follow-up #{lena.id} went to {lena.owner}'s list "
             f"(the relationship is hers), not round-robin; it is {lena.status} now.")

    first = next((r for rep in app.workspace.team for r in list_tasks(app, owner=rep.name, now=clock.now)[:1]), None)
    if first:
        tk = get_task(app, first["id"])
        echo(f"\n4. `socialsell task show {first['id']}` gives the rep the context and an opener:")
        echo(f"   {tk['contact']['display_name']}, {tk['contact'].get('headline') or ''}")
        for e in tk["engagements"][:2]:
            echo(f"   {e['kind']}" + (f": \"{e['text']}\"" if e["text"] else "") + (f" (post #{e['post_id']})" if e["post_id"] else ""))
        echo("   why this score:")
        for reason, points in (tk["contact"].get("score_explained") or [])[:4]:
            echo(f"     {points:+6.1f}  {reason}")
        echo(f"   opener: {tk['opener']}")

    if tagged is not None:
        echo(f"\n   During the week the marketer tagged signal {tagged['signal']}, a competitor's unhappy customer:")
        echo(f"   socialsell signal tag {tagged['signal']} \"{tagged['insight']}\"")
        echo("   and the report's feedback section shows it under \"What listening heard\".")

    echo("\n5. `socialsell report`: did each side keep the SLA, which posts brought revenue, what customers said")

    scope = build_scope(app, since=format_local(start, tz, "%Y-%m-%d"))
    sections = build_report(app, scope)
    for deal in (r for s in sections for tb in s.tables for r in tb.rows if tb.name == "deal"):
        if deal["days_to_won"] is not None:  # how long from the first touch to the signature
            echo(f"   {deal['deal']} {deal['contact']}: won {deal['amount']:,.0f}, "
                 f"{deal['days_to_won']:.1f} days after the first engagement")
    side = {r["source"]: r for s in sections for tb in s.tables if tb.name == "source" for r in tb.rows}
    if side:
        echo("   reach, the brand's posts beside each rep's shares: "
             + ", ".join(f"{name} {r['reach']:,}" if isinstance(r["reach"], int) else f"{name} {r['reach']}"
                         for name, r in side.items()))
    for line in render_text(sections, scope, width=100).splitlines():
        echo(f"   {line}".rstrip())
    html = folder / "report.html"
    html.write_text(render_html(sections, scope, title=f"{app.workspace.name}: socialsell report"), encoding="utf-8")
    echo(f"\n   The same with charts, offline: {html}")
    echo(f"\nDone in {time.monotonic() - started:.1f} s. The demo workspace stays in {folder}:")
    echo(f"   cd {folder}")
    echo("   socialsell --as alice tasks          # alice's follow-ups")
    echo("   socialsell post list                 # what went out")
    echo("   socialsell contacts                  # everyone who engaged")
    echo(f"   socialsell report --since {format_local(start, tz, '%Y-%m-%d')}   # the SLA, reach to revenue, insights")
    echo("Your own workspace: socialsell init myteam && cd myteam && socialsell post new --channel sandbox --text 'Hello' --queue")
    app.close()
    return folder
