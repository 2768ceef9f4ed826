"""The marketer's commands: post, queue, slots, templates, campaign, import."""

from __future__ import annotations

import click

from socialsell.cli.common import (
    channel_option,
    json_option,
    parse_id,
    parse_vars,
    pass_app,
    print_json,
    print_table,
)
from socialsell.errors import UsageError
from socialsell.timeparse import format_local, parse_when


def register(cli: click.Group) -> None:
    for command in (post, queue, templates):
        cli.add_command(command)


def _when(app, value: str | None):
    if value is None:
        return None
    try:
        return parse_when(value, app.now(), app.workspace.timezone)
    except ValueError as e:
        raise UsageError(str(e)) from None


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
@click.option("--media", multiple=True, type=click.Path(exists=True, dir_okay=False), help="An image to attach.")
@json_option
@pass_app
def post_new(app, channels, text, template, variables, at, queue, campaign, draft, media, as_json) -> None:
    """Queue a post on one or more channel accounts."""
    from socialsell.marketing.posts import create_post, get_post

    post_id = create_post(app, accounts=list(channels), text=text, template=template, variables=parse_vars(variables),
                          at=_when(app, at), queue=queue, campaign=campaign, draft=draft, media=media)
    p = get_post(app, post_id)
    if as_json:
        print_json([p])
        return
    for d in p["deliveries"]:
        when = format_local(d["due_at"], app.workspace.timezone) if d["due_at"] else "no time yet"
        click.echo(f"post {post_id} on {d['account']}: {d['status']}, {when}")


@post.command("list")
@click.option("--status", "-s", help="Only deliveries with this status.")
@channel_option()
@json_option
@pass_app
def post_list(app, status, channel, as_json) -> None:
    """Posts and the status of each delivery."""
    from socialsell.marketing.posts import list_posts

    rows = list_posts(app, status=status, account=channel)
    if as_json:
        print_json(rows)
        return
    tz = app.workspace.timezone
    print_table(["id", "channel", "status", "due", "text", "note"], [
        (p["id"], d["account"], d["status"], format_local(d["published_at"] or d["due_at"], tz),
         _short(d["text"]), _short(d["error"] or d["remote_url"] or "", 40))
        for p in rows for d in p["deliveries"]
    ], empty="no posts yet: socialsell post new --channel sandbox --text 'Hello' --queue")


def _short(text: str | None, n: int = 50) -> str:
    text = (text or "").replace("\n", " ")
    return text if len(text) <= n else text[: n - 1] + "…"


@post.command("show")
@click.argument("post_id")
@json_option
@pass_app
def post_show(app, post_id, as_json) -> None:
    """One post: its text per channel, status, engagement."""
    from socialsell.marketing.posts import get_post

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
    from socialsell.marketing.posts import approve_post

    n = approve_post(app, parse_id(post_id, "post"))
    click.echo(f"approved {n} deliver{'y' if n == 1 else 'ies'} of post {post_id}")


@post.command("cancel")
@click.argument("post_id")
@channel_option(help="Only on this account.")
@pass_app
def post_cancel(app, post_id, channel) -> None:
    """Cancel a post that has not gone out."""
    from socialsell.marketing.posts import cancel_post

    n = cancel_post(app, parse_id(post_id, "post"), channel)
    click.echo(f"cancelled {n} deliver{'y' if n == 1 else 'ies'} of post {post_id}")


@post.command("retry")
@click.argument("post_id")
@click.option("--at", "at", metavar="WHEN", help="When to try again (default: now).")
@pass_app
def post_retry(app, post_id, at) -> None:
    """Queue a failed, missed or needs-attention post again."""
    from socialsell.marketing.posts import retry_post

    n = retry_post(app, parse_id(post_id, "post"), _when(app, at))
    click.echo(f"queued {n} deliver{'y' if n == 1 else 'ies'} of post {post_id} again")


@click.command()
@channel_option()
@click.option("--days", default=14, show_default=True, help="How far ahead.")
@json_option
@pass_app
def queue(app, channel, days, as_json) -> None:
    """The upcoming calendar, by day."""
    from datetime import timedelta

    from socialsell.marketing.posts import list_posts

    now = app.now()
    horizon = now + timedelta(days=days)
    rows = []
    for p in list_posts(app, account=channel):
        for d in p["deliveries"]:
            if d["status"] in ("draft", "approved", "scheduled", "sending", "unknown") and (d["due_at"] is None or d["due_at"] <= horizon):
                rows.append({"id": p["id"], "account": d["account"], "status": d["status"], "due_at": d["due_at"], "text": d["text"]})
    rows.sort(key=lambda r: (r["due_at"] is None, r["due_at"] or now, r["account"]))
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("the queue is empty: socialsell post new --channel sandbox --text '...' --queue")
        return
    tz = app.workspace.timezone
    day = None
    for r in rows:
        label = format_local(r["due_at"], tz, "%A %d %B") if r["due_at"] else "unscheduled"
        if label != day:
            click.echo(f"\n{label}")
            day = label
        at = format_local(r["due_at"], tz, "%H:%M") if r["due_at"] else "--:--"
        click.echo(f"  {at}  {r['account']:<12} {r['status']:<10} #{r['id']}  {_short(r['text'], 60)}")


@click.group()
def templates() -> None:
    """Brand post templates."""


@templates.command("list")
@json_option
@pass_app
def templates_list(app, as_json) -> None:
    """Templates in the workspace and shipped with socialsell."""
    from socialsell.marketing.templates import list_templates

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
    from socialsell.marketing.posts import render_for_accounts

    drafts = render_for_accounts(app, list(channels), text=None, template=name, variables=parse_vars(variables))
    if as_json:
        print_json([{"id": d.account, "account": d.account, "text": d.text, "length": d.length, "limit": d.limit} for d in drafts])
        return
    for d in drafts:
        click.echo(f"--- {d.account}: {d.length}/{d.limit} characters")
        click.echo(d.text)
