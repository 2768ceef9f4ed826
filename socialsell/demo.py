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
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from socialsell.app import App
from socialsell.db import schema as t
from socialsell.loop.worker import Worker, build_jobs, run_job
from socialsell.timeparse import format_local
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


def _reps_work(app: App, now: datetime) -> list[tuple[str, str, str]]:
    """Each rep handles the top task on their list, as a rep working from `socialsell work` would."""
    from socialsell.sales.tasks import add_note, close_task, list_tasks

    done = []
    for rep in app.workspace.team:
        rows = list_tasks(app, owner=rep.name, now=now, limit=1)
        if not rows:
            continue
        task = rows[0]
        app.actor = rep.name
        topic = re.search(r"with intent \(([^)]+)\)", task["reason"] or "")
        if topic:  # what the buyer asked about goes back to marketing (`task tag`)
            add_note(app, task["id"], f"asked about {topic.group(1)}", kind="insight")
        if task["intent"] and task["score"] >= 40:
            outcome, amount = "won", 4800.0 + 100 * (task["id"] % 7)
        elif task["intent"]:
            outcome, amount = "meeting", None
        else:
            outcome, amount = "replied", None
        close_task(app, task["id"], outcome, amount)
        done.append((rep.name, task["contact"]["name"], outcome + (f" ({amount:,.0f})" if amount else "")))
    app.actor = "morgan"
    return done


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
    from socialsell.marketing.posts import create_post, get_post

    for template, variables in POSTS:
        post_id = create_post(app, accounts=["sandbox"], template=template, variables=variables, queue=True)
        d = get_post(app, post_id)["deliveries"][0]
        echo(f"   #{post_id} {format_local(d['due_at'], tz)}  {d['text'].splitlines()[0][:70]}")

    echo(f"\n2. The loop runs for {days} simulated days: publishing at each slot, polling the sandbox,")
    echo("   turning reactions into contacts and follow-up tasks, checking the SLA.")
    echo("   The first two days each rep works the top of their list twice a day (a reply, a meeting, a deal).")
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
        if clock.now < start + timedelta(days=2) and local.weekday() < 5 and (local.hour, local.minute) in ((10, 0), (15, 0)):
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

    from socialsell.sales.tasks import get_task, list_tasks

    echo("\n3. Each rep's follow-up list (`socialsell --as NAME tasks`), most urgent first:")
    for rep in app.workspace.team:
        rows = list_tasks(app, owner=rep.name, now=clock.now)
        echo(f"\n   {rep.name}: {len(rows)} open")
        for r in rows[:5]:
            flag = "OVERDUE " if r["overdue"] else ""
            who = r["contact"]["name"] + (f" ({r['contact']['company']})" if r["contact"]["company"] else "")
            echo(f"   #{r['id']:<3} p{r['priority']} score {r['score']:>4.0f}  {flag}{who}: {(r['reason'] or '')[:60]}")

    if worked:
        echo(f"\n   During the week the reps closed {len(worked)} follow-ups, e.g.:")
        for rep, who, outcome in worked[:4]:
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
    from socialsell.reports import build_report, build_scope
    from socialsell.reports.render_html import render_html
    from socialsell.reports.render_text import render_text

    scope = build_scope(app, since=format_local(start, tz, "%Y-%m-%d"))
    sections = build_report(app, scope)
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
