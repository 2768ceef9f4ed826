"""The marketer's commands: post, queue, slots, templates, campaign, import."""

from __future__ import annotations

import sys

import click

from socialsell.cli.common import (
    channel_option,
    json_option,
    limit_option,
    note_cut,
    parse_id,
    parse_vars,
    pass_app,
    print_json,
    print_table,
)
from socialsell.cli.inputs import MEDIA_FILE, TEXT
from socialsell.errors import UsageError
from socialsell.loop.failures import accounts_blocked
from socialsell.marketing.calendar import calendar
from socialsell.marketing.importer import export_rows, write_csv
from socialsell.marketing.media import with_alts
from socialsell.marketing.posts import (
    approve_post,
    cancel_post,
    create_post,
    edit_post,
    get_post,
    list_posts,
    parse_recurrence,
    render_for_accounts,
    retry_post,
)
from socialsell.marketing.slots import edit_slots, slot_rules
from socialsell.marketing.templates import list_templates
from socialsell.redact import one_line
from socialsell.timeparse import format_local, parse_when, upcoming_slots


def register(cli: click.Group) -> None:
    for command in (post, queue, slots, templates):
        cli.add_command(command)


def _when(app, value: str | None):
    if value is None:
        return None
    try:
        return parse_when(value, app.now(), app.workspace.timezone)
    except ValueError as e:
        raise UsageError(f"--at: {e}") from None


@click.group()
def post() -> None:
    """Write, schedule and follow brand posts."""


@post.command("new")
@channel_option(multiple=True, help="Channel account (repeat for several).")
@click.option("--text", "-t", help="The post's text.")
@click.option("--template", "template", metavar="NAME", help="Render a template instead of --text.")
@click.option("--var", "variables", multiple=True, metavar="KEY=VALUE", help="Template variable (repeatable).")
@click.option("--at", "at", metavar="WHEN", help="'2026-12-01 09:00', 'tomorrow 09:00', 'mon 10:00', '+2h'.")
@click.option("--queue", is_flag=True, help="Take the next free posting slot of each channel.")
@click.option("--campaign", metavar="NAME", help="The campaign this post belongs to.")
@click.option("--draft", is_flag=True, help="Keep it as a draft until `post approve`.")
@click.option("--media", multiple=True, type=MEDIA_FILE, help="An image to attach (repeatable).")
@click.option("--alt", "alts", multiple=True, type=TEXT, metavar="TEXT",
              help="The alternative text of the --media at the same place (repeatable).")
@click.option("--repeat", "every", metavar="INTERVAL", help="Post again every INTERVAL (7d, 2w, 12h).")
@click.option("--until", metavar="DATE", help="With --repeat: the last day of the series.")
@click.option("--count", type=click.IntRange(1, 10_000), metavar="N", help="With --repeat: how many times in all.")
@click.option("--evergreen", is_flag=True, help="Add it to the evergreen pool (re-queued into empty slots).")
@click.option("--shareable/--not-shareable", default=None,
              help="Reps may share it from their own accounts (default: the campaign's setting).")
@click.option("--suggested", metavar="COMMENT", type=TEXT, help="With --shareable: the comment reps are offered.")
@json_option
@pass_app
def post_new(app, channels, text, template, variables, at, queue, campaign, draft, media, alts, every, until,
             count, evergreen, shareable, suggested, as_json) -> None:
    """Queue a post on one or more channel accounts.

    Without --channel, the campaign's channels (or the template's default channels) are used.
    """

    recurrence = parse_recurrence(app, every, until, count)
    files = with_alts(media, alts)
    post_id = create_post(app, accounts=list(channels), text=text, template=template, variables=parse_vars(variables),
                          at=_when(app, at), queue=queue, campaign=campaign, draft=draft, media=files,
                          recurrence=recurrence, evergreen=evergreen, shareable=shareable,
                          suggested_comment=suggested)
    p = get_post(app, post_id)

    for account, why in accounts_blocked(app, [d["account"] for d in p["deliveries"]]).items():
        click.echo(f"Warning: post {post_id} will not go out on {account} until this is fixed: {one_line(why)}", err=True)
    if as_json:
        print_json([p])
        return
    for d in p["deliveries"]:
        when = format_local(d["due_at"], app.workspace.timezone) if d["due_at"] else "no time yet"
        click.echo(f"post {post_id} on {d['account']}: {d['status']}, {when}")


@post.command("list")
@click.option("--status", "-s", help="Only deliveries with this status.")
@channel_option()
@limit_option
@json_option
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV, one row per channel delivery.")
@pass_app
def post_list(app, status, channel, limit, as_json, as_csv) -> None:
    """Posts and the status of each delivery, by first due time (with --limit, the latest)."""
    rows = list_posts(app, status=status, account=channel, limit=limit)
    if as_json:
        print_json(rows)
    elif as_csv:
        write_csv(export_rows(rows), sys.stdout)
    else:
        tz = app.workspace.timezone
        print_table(["id", "channel", "status", "due", "text", "note"], [
            (p["id"], d["account"], d["status"], format_local(d["published_at"] or d["due_at"], tz),
             _short(d["text"]), _short(_paused(d) or d["error"] or d["remote_url"] or "", 40))
            for p in rows for d in p["deliveries"]
        ], empty="no posts yet: socialsell post new --channel sandbox --text 'Hello' --queue", one_line=True)
    note_cut(len(rows), rows.total)


def _paused(row: dict) -> str | None:
    """The flag on a post held back by a paused account."""
    return f"account paused: {row['account_paused']}" if row.get("account_paused") else None


def _short(text: str | None, n: int = 50) -> str:
    text = (text or "").replace("\n", " ")
    return text if len(text) <= n else text[: n - 1] + "…"


@post.command("show")
@click.argument("post_id")
@json_option
@pass_app
def post_show(app, post_id, as_json) -> None:
    """One post: its text per channel, status, engagement."""
    p = get_post(app, parse_id(post_id, "post"))
    if as_json:
        print_json([p])
        return
    tz = app.workspace.timezone
    click.echo(f"post {p['id']}" + (f" (campaign {p['campaign']})" if p["campaign"] else "") + f", by {p['author']}")
    for d in p["deliveries"]:
        click.echo(f"\n[{d['account']}] {d['status']}  due {format_local(d['due_at'], tz)}"
                   + (f"  published {format_local(d['published_at'], tz)}" if d["published_at"] else ""))
        if d["remote_url"]:
            click.echo(f"  {d['remote_url']}")
        if d["account_paused"]:
            click.echo(f"  {_paused(d)}")
        if d["error"]:
            click.echo(f"  note: {d['error']}")
        click.echo("  " + d["text"].replace("\n", "\n  "))
    if p["engagements"]:
        click.echo("\nengagement: " + ", ".join(f"{n} {k}" for k, n in sorted(p["engagements"].items())))


@post.command("approve")
@click.argument("post_id")
@pass_app
def post_approve(app, post_id) -> None:
    """Approve a draft so it can go out."""
    n = approve_post(app, parse_id(post_id, "post"))
    click.echo(f"approved {n} deliver{'y' if n == 1 else 'ies'} of post {post_id}")


@post.command("cancel")
@click.argument("post_id")
@channel_option(help="Only on this account.")
@pass_app
def post_cancel(app, post_id, channel) -> None:
    """Cancel a post that has not gone out."""
    n = cancel_post(app, parse_id(post_id, "post"), channel)
    click.echo(f"cancelled {n} deliver{'y' if n == 1 else 'ies'} of post {post_id}")


@post.command("retry")
@click.argument("post_id")
@click.option("--at", "at", metavar="WHEN", help="When to try again (default: now).")
@pass_app
def post_retry(app, post_id, at) -> None:
    """Queue a failed, missed or needs-attention post again."""
    n = retry_post(app, parse_id(post_id, "post"), _when(app, at))
    click.echo(f"queued {n} deliver{'y' if n == 1 else 'ies'} of post {post_id} again")


@post.command("edit")
@click.argument("post_id")
@click.option("--text", "-t", help="The new text (re-validated for every channel).")
@click.option("--var", "variables", multiple=True, metavar="KEY=VALUE", help="Change a template variable (re-rendered).")
@click.option("--at", "at", metavar="WHEN", help="A new time.")
@channel_option(help="Only this account's delivery.")
@pass_app
def post_edit(app, post_id, text, variables, at, channel) -> None:
    """Change a post that has not been sent yet."""
    names = edit_post(app, parse_id(post_id, "post"), text=text, variables=parse_vars(variables),
                      at=_when(app, at), account=channel)
    click.echo(f"edited post {post_id} on {', '.join(names)}")


@click.command()
@channel_option()
@click.option("--days", default=14, show_default=True, type=click.IntRange(1, 366), help="How far ahead.")
@click.option("--fill-evergreen", is_flag=True, help="First fill empty slots from the evergreen pool.")
@json_option
@pass_app
def queue(app, channel, days, fill_evergreen, as_json) -> None:
    """The posting calendar from today, by day and channel, with each post's status."""
    if fill_evergreen:
        # imported here: evergreen builds the engagement tables at import (~60 ms with -X
        # importtime, shared machine), which `queue` without --fill-evergreen must not pay
        from socialsell.marketing.evergreen import fill_empty_slots  # noqa: PLC0415 - evergreen costs ~60 ms (-X importtime); only queue --fill-evergreen needs it

        added = fill_empty_slots(app, app.now(), days, account=channel)
        if not as_json:
            click.echo(f"queued {len(added)} evergreen post{'' if len(added) == 1 else 's'} into empty slots")
    rows, free = calendar(app, account=channel, days=days)
    if as_json:
        print_json(rows)
        return
    if not rows and not free:
        click.echo("the queue is empty: socialsell post new --channel sandbox --text '...' --queue")
        return
    tz = app.workspace.timezone
    entries = [(r["due_at"], r["account"], f"{r['status']:<10} #{r['id']}  {_short(r['text'], 60)}"
                + (f"  ({_short(_paused(r), 70)})" if r["account_paused"] else "")) for r in rows]
    entries += [(at, account, "(free slot)") for account, times in free.items() for at in times]
    entries.sort(key=lambda e: (e[0] is None, e[0] or app.now(), e[1]))
    day = None
    for at, account, what in entries:
        label = format_local(at, tz, "%A %d %B") if at else "unscheduled"
        if label != day:
            click.echo(f"\n{label}")
            day = label
        hhmm = format_local(at, tz, "%H:%M") if at else "--:--"
        click.echo(f"  {hhmm}  {account:<12} {what}")


@click.command()
@channel_option(help="Only this account (required to change it).")
@click.option("--set", "set_to", metavar="RULE", multiple=True, help='Replace the slots: "mon-fri 09:00, 12:30" (repeatable).')
@click.option("--add", metavar="RULE", multiple=True, help='Add a rule: "sat 10:00".')
@click.option("--remove", metavar="RULE|HH:MM", multiple=True, help="Remove a rule, or one time from every rule.")
@json_option
@pass_app
def slots(app, channel, set_to, add, remove, as_json) -> None:
    """The weekly posting slots of each account, and changing them in socialsell.toml."""
    if set_to or add or remove:
        if not channel:
            raise UsageError("name the account to change with --channel")
        rules = edit_slots(app, channel, set_to=list(set_to) if set_to else None, add=add, remove=remove)
        click.echo(f"{channel}: " + ("; ".join(rules) or "no slots") + f" (saved in {app.workspace.config_path.name})")
        return
    names = [channel] if channel else list(app.workspace.accounts)
    tz = app.workspace.timezone
    rows = []
    for name in names:
        rules = slot_rules(app, name)
        upcoming = list(upcoming_slots(rules, app.now(), tz, limit=3)) if rules else []
        rows.append({"id": name, "account": name, "slots": [str(r) for r in rules], "next": upcoming})
    if as_json:
        print_json(rows)
        return
    print_table(["account", "slots", "next"], [
        (r["account"], "; ".join(r["slots"]) or "none", ", ".join(format_local(x, tz) for x in r["next"])) for r in rows
    ])


@click.group()
def templates() -> None:
    """Brand post templates."""


@templates.command("list")
@json_option
@pass_app
def templates_list(app, as_json) -> None:
    """Templates in the workspace and shipped with socialsell."""
    rows = [{"id": tpl.name, "name": tpl.name, "title": tpl.title, "requires": tpl.requires,
             "channels": tpl.meta.get("channels", []), "path": str(tpl.path)} for tpl in list_templates(app.workspace.root)]
    if as_json:
        print_json(rows)
        return
    print_table(["name", "title", "variables", "channels"],
                [(r["name"], r["title"], ", ".join(r["requires"]), ", ".join(r["channels"])) for r in rows])


@templates.command("preview")
@click.argument("name")
@channel_option(multiple=True, required=True, help="Channel account (repeatable).")
@click.option("--var", "variables", multiple=True, metavar="KEY=VALUE")
@json_option
@pass_app
def templates_preview(app, name, channels, variables, as_json) -> None:
    """Exactly what a template would post, and its length against the channel's limit."""
    drafts = render_for_accounts(app, list(channels), text=None, template=name, variables=parse_vars(variables))
    if as_json:
        print_json([{"id": d.account, "account": d.account, "text": d.text, "length": d.length, "limit": d.limit} for d in drafts])
        return
    for d in drafts:
        click.echo(f"--- {d.account}: {d.length}/{d.limit} characters")
        click.echo(d.text)
