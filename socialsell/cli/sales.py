"""The rep's commands: tasks, task, contacts, contact."""

from __future__ import annotations

import click

from socialsell.cli.common import json_option, parse_id, pass_app, print_json, print_table
from socialsell.cli.inputs import AMOUNT, TEXT
from socialsell.errors import UsageError
from socialsell.timeparse import format_local


def force_option(func):
    return click.option("--force", is_flag=True, help="Act on it even though it is someone else's.")(func)


def register(cli: click.Group) -> None:
    for command in (tasks, task, contacts, contact):
        cli.add_command(command)


def _due(task, app) -> str:
    if task["overdue"]:
        return "OVERDUE " + format_local(task["due_at"], app.workspace.timezone, "%a %H:%M")
    return format_local(task["due_at"], app.workspace.timezone, "%a %H:%M")


@click.command()
@click.option("--mine", "scope", flag_value="mine", default=True, help="My open tasks (default).")
@click.option("--all", "scope", flag_value="all", help="Everyone's open tasks.")
@click.option("--owner", metavar="NAME", help="Someone else's open tasks.")
@click.option("--overdue", is_flag=True, help="Only tasks past their SLA.")
@json_option
@pass_app
def tasks(app, scope, owner, overdue, as_json) -> None:
    """My follow-up list, most urgent first."""
    from socialsell.sales.tasks import list_tasks

    rows = list_tasks(app, owner=owner, all_owners=(scope == "all" and not owner), overdue=overdue)
    if as_json:
        print_json(rows)
        return
    who = "everyone" if scope == "all" and not owner else (owner or app.actor)
    print_table(
        ["id", "due", "p", "score", "who", "why"] + (["owner"] if who == "everyone" else []),
        [(r["id"], _due(r, app), r["priority"], f"{r['score']:.0f}",
          (r["contact"]["name"] or "") + (f" ({r['contact']['company']})" if r["contact"]["company"] else ""),
          (r["reason"] or "")[:70]) + ((r["owner"] or "-",) if who == "everyone" else ())
         for r in rows],
        title=f"follow-ups for {who}", one_line=True,
        empty=f"no open follow-ups for {who}" + ("" if who == "everyone" else " (try --all, or --as NAME)"),
    )


@click.group()
def task() -> None:
    """Work one follow-up task."""


@task.command("show")
@click.argument("task_id")
@json_option
@pass_app
def task_show(app, task_id, as_json) -> None:
    """Who, what they said, on which post, their history and score, and an opener."""
    from socialsell.sales.tasks import get_task

    tk = get_task(app, parse_id(task_id, "task"))
    if as_json:
        print_json([tk])
        return
    tz = app.workspace.timezone
    c = tk["contact"]
    click.echo(f"task {tk['id']}  [{tk['status']}]  owner {tk['owner'] or '-'}  priority {tk['priority']}  "
               f"due {'OVERDUE ' if tk['overdue'] else ''}{format_local(tk['due_at'], tz)}")
    click.echo(f"\n{c['display_name']}  ({c['stage']}, score {c['score']:.0f})")
    for line in (c.get("headline"), c.get("company"), c.get("location")):
        if line:
            click.echo(f"  {line}")
    for h in c["handles"]:
        click.echo(f"  {h['channel']}: {h['handle']}" + (f"  {h['profile_url']}" if h["profile_url"] else ""))
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
@click.option("--amount", type=AMOUNT, help="Deal value, for --outcome won.")
@force_option
@pass_app
def task_done(app, task_id, outcome, amount, force) -> None:
    """Close a task with its outcome."""
    from socialsell.sales.tasks import close_task

    tk = close_task(app, parse_id(task_id, "task"), outcome, amount, force=force)
    click.echo(f"task {tk['id']} done: {outcome}" + (f" ({amount:g})" if amount is not None else ""))


@task.command("snooze")
@click.argument("task_id")
@click.argument("duration")
@force_option
@pass_app
def task_snooze(app, task_id, duration, force) -> None:
    """Hide a task until later: 2h, 3d, 1w or 'mon 09:00'."""
    from socialsell.sales.tasks import parse_snooze, snooze_task

    until = parse_snooze(duration, app.now(), app.workspace.timezone)
    snooze_task(app, parse_id(task_id, "task"), until, force=force)
    click.echo(f"task {task_id} snoozed until {format_local(until, app.workspace.timezone)}")


@task.command("assign")
@click.argument("task_id")
@click.argument("owner")
@pass_app
def task_assign(app, task_id, owner) -> None:
    """Give a task (and its contact) to another rep."""
    from socialsell.sales.tasks import assign_task

    assign_task(app, parse_id(task_id, "task"), owner)
    click.echo(f"task {task_id} assigned to {owner}")


@task.command("note")
@click.argument("task_id")
@click.argument("text", type=TEXT)
@force_option
@pass_app
def task_note(app, task_id, text, force) -> None:
    """Add a note to a task's contact."""
    from socialsell.sales.tasks import add_note

    add_note(app, parse_id(task_id, "task"), text, force=force)
    click.echo(f"noted on task {task_id}")


@task.command("tag")
@click.argument("task_id")
@click.argument("insight", type=TEXT)
@force_option
@pass_app
def task_tag(app, task_id, insight, force) -> None:
    """Record an insight for marketing (e.g. "pricing objection")."""
    from socialsell.sales.tasks import add_note

    add_note(app, parse_id(task_id, "task"), insight, kind="insight", force=force)
    click.echo(f"insight recorded on task {task_id}: {insight}")


@task.command("reply")
@click.argument("task_id")
@click.argument("text", type=TEXT)
@force_option
@pass_app
def task_reply(app, task_id, text, force) -> None:
    """Reply through the channel, without leaving the terminal."""
    from socialsell.sales.tasks import reply_to_task

    r = reply_to_task(app, parse_id(task_id, "task"), text, force=force)
    click.echo(f"replied on task {task_id}" + (f": {r['url']}" if r["url"] else ""))


@click.command()
@click.option("--stage", help="Only this lifecycle stage.")
@click.option("--owner", help="Only this owner's contacts.")
@click.option("--suggest-merges", is_flag=True, help="Pairs that look like one person (same name and profile link).")
@json_option
@pass_app
def contacts(app, stage, owner, suggest_merges, as_json) -> None:
    """Everyone who engaged, best first."""
    from socialsell.sales.contacts import list_contacts
    from socialsell.sales.scoring import STAGES

    if stage and stage not in STAGES:
        raise UsageError(f"unknown stage {stage!r} (one of {', '.join(STAGES)})")
    if suggest_merges:
        from socialsell.sales.contacts import suggest_merges as suggest

        pairs = suggest(app)
        if as_json:
            print_json(pairs)
            return
        print_table(["id", "merge with", "name", "why", "to merge"],
                    [(p["id"], p["merge_with"], p["name"], p["reason"], p["command"]) for p in pairs],
                    empty="no merge suggestions")
        return
    rows = list_contacts(app, stage=stage, owner=owner)
    if as_json:
        print_json(rows)
        return
    print_table(["id", "name", "stage", "score", "owner", "handles"],
                [(r["id"], r["display_name"], r["stage"], f"{r['score']:.0f}", r["owner"] or "-",
                  ", ".join(h["handle"] for h in r["handles"])) for r in rows], empty="no contacts yet")


@click.group()
def contact() -> None:
    """One contact."""


@contact.command("show")
@click.argument("contact_id")
@json_option
@pass_app
def contact_show(app, contact_id, as_json) -> None:
    """A contact's profile, score explained line by line, history, notes."""
    from socialsell.sales.contacts import contact_detail

    c = contact_detail(app, parse_id(contact_id, "contact"))
    if as_json:
        print_json([c])
        return
    tz = app.workspace.timezone
    if c.get("redirected_from"):
        click.echo(f"(contact {c['redirected_from']} was merged into {c['id']})")
    click.echo(f"#{c['id']} {c['display_name']}  ({c['stage']}, owner {c['owner'] or '-'}, score {c['score']:.1f})")
    for line in (c.get("headline"), c.get("company"), c.get("location")):
        if line:
            click.echo(f"  {line}")
    for h in c["handles"]:
        click.echo(f"  {h['channel']}: {h['handle']}" + (f"  {h['profile_url']}" if h["profile_url"] else ""))
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


@contact.command("merge")
@click.argument("keep_id")
@click.argument("other_id")
@pass_app
def contact_merge(app, keep_id, other_id) -> None:
    """Merge OTHER_ID into KEEP_ID: handles, engagements, notes and tasks move; one open task stays."""
    from socialsell.sales.contacts import merge_contacts

    r = merge_contacts(app, parse_id(keep_id, "contact"), parse_id(other_id, "contact"))
    click.echo(f"contact {r['merged']} merged into {r['id']} (score {r['score']:.1f}, {r['stage']})"
               + (f"; task {r['dismissed_task']} folded into task {r['task']}" if r["dismissed_task"] else ""))
