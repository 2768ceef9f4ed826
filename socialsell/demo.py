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
from socialsell.marketing.posts import create_post, get_post
from socialsell.reports import build_report, build_scope
from socialsell.reports.render_html import render_html
from socialsell.reports.render_text import render_text
from socialsell.sales.deals import list_deals, win_deal
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


def _examples(worked: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """A few steps of each kind: a reply, a meeting, a deal opened, a deal won."""
    picked = []
    for kind in ("replied, next", "replied, meeting", "deal", "won", "checked in", "called"):
        picked += [w for w in worked if kind in w[2] and w not in picked][:1]
    return picked


def run_demo(directory: Path | None, *, days: int = 7, pm: Any = None, echo: Callable[[str], None] = print) -> Path:
    started = time.monotonic()
    folder = directory or Path(tempfile.mkdtemp(prefix="socialsell-demo-"))
    config = init_workspace(folder, name="Acme demo", timezone="Europe/Berlin", force=True)
    # the simulated week ends now, so `socialsell tasks` afterwards shows what the demo printed
    wall = datetime.now(UTC) - timedelta(days=days)
    start = wall.replace(minute=wall.minute - wall.minute % 30, second=0, microsecond=0)
    clock = SimulatedClock(start)
    app = App.load(str(config), pm=pm, actor="morgan", clock=clock)  # the sandbox follows this clock
    tz = app.workspace.timezone

    echo(f"socialsell demo: a simulated week for 'Acme' in {folder}\n")
    echo("1. The marketer queues a week of posts from the shipped templates into the posting slots:")

    for template, variables in POSTS:
        post_id = create_post(app, accounts=["sandbox"], template=template, variables=variables, queue=True)
        d = get_post(app, post_id)["deliveries"][0]
        echo(f"   #{post_id} {format_local(d['due_at'], tz)}  {d['text'].splitlines()[0][:70]}")

    echo(f"\n2. The loop runs for {days} simulated days: publishing at each slot, polling the sandbox,")
    echo("   turning reactions into contacts and follow-up tasks, checking the SLA.")
    echo("   Each working day at 10:00 and 15:00 the reps work their lists: a reply with a next step,")
    echo("   a meeting for the keen ones, a deal after the meeting, won a few days later.")
    worker = Worker(app, id="demo-worker")
    jobs = {j.id: j for j in build_jobs(app)}
    step = timedelta(minutes=30)
    end = start + timedelta(days=days)
    worked: list[tuple[str, str, str]] = []
    while clock.now < end:
        clock.now += step
        for job_id in ("publish", "poll:sandbox", "sla"):
            run_job(worker, jobs[job_id], clock.now)
        local = clock.now.astimezone(tz)
        if local.weekday() < 5 and (local.hour, local.minute) in ((10, 0), (15, 0)):
            worked += _reps_work(app, clock.now)
    run_job(worker, jobs["metrics"], clock.now)

    with app.db.read() as conn:
        published = conn.execute(select(func.count()).where(t.deliveries.c.status == "published")).scalar()
        kinds = Counter(dict(conn.execute(select(t.engagements.c.kind, func.count()).group_by(t.engagements.c.kind)).all()))
        ignored = conn.execute(select(func.count()).where(t.engagements.c.ignored.is_not(None))).scalar()
        contacts = conn.execute(select(func.count()).select_from(t.contacts)).scalar()
        stages = Counter(dict(conn.execute(select(t.contacts.c.stage, func.count()).group_by(t.contacts.c.stage)).all()))
    echo(f"   published {published} posts; {sum(kinds.values())} engagements "
         f"({', '.join(f'{n} {k}' for k, n in kinds.most_common())}); {ignored} ignored (bots, competitors)")
    echo(f"   {contacts} contacts: " + ", ".join(f"{n} {s}" for s, n in stages.most_common()))

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

    echo("\n5. `socialsell report`: did each side keep the SLA, which posts brought revenue, what customers said")

    scope = build_scope(app, since=format_local(start, tz, "%Y-%m-%d"))
    sections = build_report(app, scope)
    for deal in (r for s in sections for tb in s.tables for r in tb.rows if tb.name == "deal"):
        if deal["days_to_won"] is not None:  # how long from the first touch to the signature
            echo(f"   {deal['deal']} {deal['contact']}: won {deal['amount']:,.0f}, "
                 f"{deal['days_to_won']:.1f} days after the first engagement")
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
