"""The rep's commands: task, contact (the lists, tasks and contacts, are in socialsell/cli/lists.py)."""

from __future__ import annotations

import sys

import click

from socialsell.cli.common import (
    json_option,
    parse_id,
    pass_app,
    print_json,
)
from socialsell.cli.inputs import AMOUNT, TEXT
from socialsell.cli.lists import due_text, responded
from socialsell.errors import UsageError
from socialsell.sales.contacts import (
    contact_detail,
    merge_contacts,
    merge_plan,
    resolve_contact,
    unmerge_contact,
)
from socialsell.sales.deals import parse_close
from socialsell.sales.finder import find_task
from socialsell.sales.tasks import (
    add_note,
    assign_task,
    close_task,
    get_task,
    log_touch,
    parse_snooze,
    reply_to_task,
    set_next_step,
    snooze_task,
)
from socialsell.team import rep_tz
from socialsell.timeparse import format_local, parse_when


def force_option(func):
    return click.option("--force", is_flag=True, help="Act on it even though it is someone else's.")(func)


def register(cli: click.Group) -> None:
    for command in (task, contact):
        cli.add_command(command)


def _first_touch_deadline(task, tz) -> str:
    """The SLA's first-touch deadline (``sla_due_at``: a next step does not move it), and once
    touched whether the touch met it (docs/sales.md, "The first response stops the clock")."""
    when = format_local(task["sla_due_at"], tz, "%a %d %b %H:%M")
    touched = task.get("first_response_at")
    if touched is None:
        return when
    return f"{when} ({'met' if touched <= task['sla_due_at'] else 'missed'})"


def _handle_line(h: dict) -> str:
    """``  x: @dana  https://x.com/dana  1,240 followers, verified, Berlin, Northwind``"""
    facts = [f"{h['followers']:,} followers" if h.get("followers") is not None else None,
             "verified" if h.get("verified") else None, h.get("location"), h.get("company"),
             "organization" if h.get("kind") == "organization" else None]
    line = f"  {h['channel']}: {h['handle']}" + (f"  {h['profile_url']}" if h.get("profile_url") else "")
    shown = ", ".join(f for f in facts if f)
    return line + (f"  ({shown})" if shown else "")


def _parse_at(app, text: str, what: str = "--at"):
    try:
        return parse_when(text, app.now(), rep_tz(app))
    except ValueError as e:
        raise UsageError(f"{what}: {e}") from None


@click.group()
def task() -> None:
    """Work one follow-up task."""


@task.command("show")
@click.argument("task_id", metavar="ID|@HANDLE|NAME")
@json_option
@pass_app
def task_show(app, task_id, as_json) -> None:
    """Who, what they said, on which post, their history and score, and an opener."""
    tk = get_task(app, find_task(app, task_id))
    if as_json:
        print_json([tk])
        return
    tz = rep_tz(app)
    c = tk["contact"]
    click.echo(f"task {tk['id']}  [{tk['status']}]  owner {tk['owner'] or '-'}  priority {tk['priority']}  "
               f"due {due_text(tk, app, '%a %d %b %H:%M')}")
    if tk.get("sla_due_at"):
        click.echo(f"first-touch deadline: {_first_touch_deadline(tk, tz)}")
    if tk.get("first_response_at"):
        click.echo(f"first response: {responded(tk, app.now())}")
    if tk.get("next_step"):
        click.echo(f"next step: {tk['next_step']} ({format_local(tk['next_step_due'], tz)})")
    click.echo(f"\n{c['display_name']}  ({c['stage']}, score {c['score']:.0f})")
    for line in (c.get("headline"), c.get("company"), c.get("location")):
        if line:
            click.echo(f"  {line}")
    for h in c["handles"]:
        click.echo(_handle_line(h))
        if h.get("bio") and h["bio"] != c.get("headline"):
            click.echo(f"    {' '.join(h['bio'].split())[:100]}")
    click.echo("\nwhat they did")
    for e in tk["engagements"]:
        where = f" on post {e['post_id']}" if e["post_id"] else ""
        camp = f" (campaign {e['campaign']})" if e["campaign"] else ""
        click.echo(f"  {format_local(e['occurred_at'], tz)}  {e['kind']} on {e['account']}{where}{camp}")
        if e["text"]:
            click.echo(f"    \"{e['text']}\"")
        if e["post_text"]:
            click.echo(f"    re: {e['post_text'].splitlines()[0][:80]}")
    click.echo("\nwhy this score")
    for reason, pts in c.get("score_explained") or []:
        click.echo(f"  {pts:+6.1f}  {reason}")
    earlier = [x for x in c.get("tasks") or [] if x["id"] != tk["id"]]
    if earlier or c.get("engagement_count", 0) > len(tk["engagements"]):
        click.echo(f"\nhistory: {c.get('engagement_count', 0)} engagements in all" + (", earlier follow-ups:" if earlier else ""))
        for x in earlier:
            amount = f" {x['amount']:,.0f}" if x["amount"] is not None else ""
            click.echo(f"  #{x['id']}  {format_local(x['created_at'], tz, '%d %b %Y')}  {x['owner'] or '-'}: "
                       f"{x['outcome'] or x['status']}{amount}")
    if c["notes"]:
        click.echo("\nnotes")
        for n in c["notes"]:
            click.echo(f"  {format_local(n['created_at'], tz)}  {n['kind']} by {n['author']}: {n['text']}")
    click.echo(f"\nsuggested opener:\n  {tk['opener']}")


@task.command("done")
@click.argument("task_id")
@click.option("--outcome", "-o", required=True, help="replied, connected, meeting, opportunity, won, lost, not_interested.")
@click.option("--amount", type=AMOUNT, help="Deal value: for won (required) and opportunity.")
@click.option("--at", "at", metavar="WHEN", help="For meeting: when it is; the next step is opened, due then.")
@click.option("--close", "close", metavar="YYYY-MM-DD", help="For opportunity: the deal's expected close date.")
@click.option("--stage", help="For opportunity: the deal's stage (discovery, proposal, negotiation).")
@force_option
@pass_app
def task_done(app, task_id, outcome, amount, at, close, stage, force) -> None:
    """Close a task with its outcome (meeting opens the next step; opportunity and won, a deal)."""
    if outcome in ("meeting", "meeting_booked", "meeting-booked") and at is None:
        raise UsageError("--outcome meeting needs --at WHEN, the meeting time (the next step is due then)")
    tk = close_task(app, parse_id(task_id, "task"), outcome, amount, force=force,
                    meeting_at=_parse_at(app, at) if at else None, close=parse_close(close),
                    stage=stage.lower() if stage else None)
    click.echo(f"task {tk['id']} done: {tk['outcome']}" + (f" ({amount:g})" if amount is not None else "")
               + (f"; deal {tk['deal_id']}" + (" won" if tk["outcome"] == "won" else " open") if tk.get("deal_id") else "")
               + (f"; next step: task {tk['next_task_id']} ({format_local(_parse_at(app, at), rep_tz(app))})"
                  if tk.get("next_task_id") else ""))


@task.command("snooze")
@click.argument("task_id")
@click.argument("duration")
@force_option
@pass_app
def task_snooze(app, task_id, duration, force) -> None:
    """Hide a task until later: 2h, 3d, 1w or 'mon 09:00'."""
    until = parse_snooze(duration, app.now(), rep_tz(app))
    snooze_task(app, parse_id(task_id, "task"), until, force=force)
    click.echo(f"task {task_id} snoozed until {format_local(until, rep_tz(app))}")


@task.command("assign")
@click.argument("task_id")
@click.argument("owner")
@pass_app
def task_assign(app, task_id, owner) -> None:
    """Give a task (and its contact) to another rep."""
    assign_task(app, parse_id(task_id, "task"), owner)
    click.echo(f"task {task_id} assigned to {owner}")


@task.command("note")
@click.argument("task_id")
@click.argument("text", type=TEXT)
@force_option
@pass_app
def task_note(app, task_id, text, force) -> None:
    """Add a note to a task's contact."""
    add_note(app, parse_id(task_id, "task"), text, force=force)
    click.echo(f"noted on task {task_id}")


@task.command("tag")
@click.argument("task_id")
@click.argument("insight", type=TEXT)
@force_option
@pass_app
def task_tag(app, task_id, insight, force) -> None:
    """Record an insight for marketing (e.g. "pricing objection")."""
    add_note(app, parse_id(task_id, "task"), insight, kind="insight", force=force)
    click.echo(f"insight recorded on task {task_id}: {insight}")


@task.command("log")
@click.argument("task_id")
@click.argument("kind", metavar="call|email|dm|meeting")
@click.argument("text")
@click.option("--next", "next_step", metavar="TEXT", help="The next step, e.g. 'send the proposal' (with --at).")
@click.option("--at", "at", metavar="WHEN", help="When the next step is due: 'fri 10:00', '+2d'.")
@force_option
@pass_app
def task_log(app, task_id, kind, text, next_step, at, force) -> None:
    """Record contact made by hand (a call, an email, a DM, a meeting): the first one stops the SLA clock."""
    due = _parse_at(app, at) if at else None
    tk = log_touch(app, parse_id(task_id, "task"), kind.lower(), text, next_step=next_step, due=due, force=force)
    click.echo(f"logged a {kind.lower()} on task {tk['id']}" + (
        f"; next: {tk['next_step']} ({format_local(tk['next_step_due'], rep_tz(app))})" if due else ""))


@task.command("next")
@click.argument("task_id")
@click.argument("step")
@click.option("--at", "at", metavar="WHEN", required=True, help="When it is due: 'fri 10:00', '+2d', 2026-12-01T10:00.")
@force_option
@pass_app
def task_next(app, task_id, step, at, force) -> None:
    """Set what happens next on a task, and when: the task is due then."""
    tk = set_next_step(app, parse_id(task_id, "task"), step, _parse_at(app, at), force=force)
    click.echo(f"task {tk['id']} next: {tk['next_step']} ({format_local(tk['next_step_due'], rep_tz(app))})")


@task.command("reply")
@click.argument("task_id")
@click.argument("text", type=TEXT)
@click.option("--again", is_flag=True, help="Reply once more to a task already replied to.")
@force_option
@pass_app
def task_reply(app, task_id, text, again, force) -> None:
    """Reply through the channel, checked like a post (banned words, the channel's length)."""
    r = reply_to_task(app, parse_id(task_id, "task"), text, force=force, again=again)
    click.echo(f"replied on task {task_id}" + (f": {r['url']}" if r["url"] else ""))





@click.group()
def contact() -> None:
    """One contact."""


@contact.command("show")
@click.argument("contact_id", metavar="ID|@HANDLE|NAME")
@json_option
@pass_app
def contact_show(app, contact_id, as_json) -> None:
    """A contact's profile, score explained line by line, history, notes."""
    c = contact_detail(app, resolve_contact(app, contact_id))
    if as_json:
        print_json([c])
        return
    tz = rep_tz(app)
    if c.get("redirected_from"):
        click.echo(f"(contact {c['redirected_from']} was merged into {c['id']})")
    click.echo(f"#{c['id']} {c['display_name']}  ({c['stage']}, owner {c['owner'] or '-'}, score {c['score']:.1f})")
    for line in (c.get("headline"), c.get("company"), c.get("location")):
        if line:
            click.echo(f"  {line}")
    for h in c["handles"]:
        click.echo(_handle_line(h))
        if h.get("bio") and h["bio"] != c.get("headline"):
            click.echo(f"    {' '.join(h['bio'].split())[:100]}")
    click.echo("\nscore, line by line")
    for reason, pts in c.get("score_explained") or []:
        click.echo(f"  {pts:+6.1f}  {reason}")
    click.echo(f"  {'=':>6}  {c['score']:.1f}")
    click.echo(f"\nhistory ({c['engagement_count']} engagements)")
    for e in c["history"]:
        click.echo(f"  {format_local(e['occurred_at'], tz)}  {e['kind']} on {e['account']}" + (f": {e['text']}" if e["text"] else ""))
    if c["tasks"]:
        click.echo("\ntasks")
        for tk in c["tasks"]:
            click.echo(f"  #{tk['id']} {tk['status']} {tk['owner'] or '-'} {tk['outcome'] or ''}"
                       + (f" {tk['amount']:g}" if tk["amount"] is not None else ""))
    if c["notes"]:
        click.echo("\nnotes")
        for n in c["notes"]:
            click.echo(f"  {format_local(n['created_at'], tz)}  {n['kind']} by {n['author']}: {n['text']}")
    for s in c["merge_suggestions"]:
        other = s["merge_with"] if s["id"] == c["id"] else s["id"]
        click.echo(f"\nmaybe the same person as contact {other}: {s['reason']} (socialsell contact merge {c['id']} {other})")


def _side(side: dict) -> str:
    tasks = ", ".join(f"task {x['id']} ({x['status']}, {x['owner'] or '-'})" for x in side["open_tasks"]) or "no open task"
    deals = ", ".join(f"deal {d['id']} ({d['stage']})" for d in side["open_deals"]) or "no open deal"
    return (f"#{side['id']} {side['name'] or '-'}  owner {side['owner'] or '-'}, {side['stage']}\n"
            f"    handles: {', '.join(side['handles']) or '-'}\n    {tasks}; {deals}")


@contact.command("merge")
@click.argument("keep_id")
@click.argument("other_id")
@click.option("--yes", "-y", is_flag=True, help="Do not ask (for scripts).")
@pass_app
def contact_merge(app, keep_id, other_id, yes) -> None:
    """Merge OTHER_ID into KEEP_ID: shows what moves and asks; `contact unmerge OTHER_ID` undoes it."""


    keep, other = parse_id(keep_id, "contact"), parse_id(other_id, "contact")
    plan = merge_plan(app, keep, other)
    click.echo(f"keep   {_side(plan['keep'])}\nmerge  {_side(plan['other'])}")
    click.echo("handles, engagements, notes, tasks and deals move to the kept contact"
               + ("; both open tasks become one" if plan["keep"]["open_tasks"] and plan["other"]["open_tasks"] else "")
               + (" (different owners: the lead's call)" if plan["needs_lead"] else ""))
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError("contact merge asks before merging: add --yes to merge without a terminal")
        if not click.confirm("merge?", default=False):
            click.echo("nothing merged")
            return
    r = merge_contacts(app, keep, other)
    click.echo(f"contact {r['merged']} merged into {r['id']} (score {r['score']:.1f}, {r['stage']})"
               + (f"; task {r['dismissed_task']} folded into task {r['task']}" if r["dismissed_task"] else "")
               + f"; undo with `socialsell contact unmerge {r['merged']}`")


@contact.command("unmerge")
@click.argument("contact_id")
@pass_app
def contact_unmerge(app, contact_id) -> None:
    """Undo the merge of CONTACT_ID: both contacts come back with their handles, tasks and deals."""
    r = unmerge_contact(app, parse_id(contact_id, "contact"))
    click.echo(f"contact {r['restored']} restored beside {r['id']}" + (f"; task {r['task']} reopened" if r["task"] else ""))
