"""Advocacy commands: ``share`` (a rep shares brand posts from their own accounts) and ``team
leave`` (a rep's accounts paused, their work handed over). docs/advocacy.md."""

from __future__ import annotations

import click

from socialsell.cli.common import channel_option, json_option, pass_app, print_json, print_table
from socialsell.cli.inputs import TEXT, IdType
from socialsell.errors import UsageError
from socialsell.marketing.advocacy import acting_rep, share_post, shareable_posts
from socialsell.marketing.posts import get_post
from socialsell.sales.handover import leave_team
from socialsell.timeparse import format_local, parse_when


def register(cli: click.Group) -> None:
    for command in (share, team):
        cli.add_command(command)


@click.command()
@click.argument("post_id", required=False, type=IdType("post id"), metavar="[ID]")
@click.option("--text", "-t", type=TEXT, help="Your own words above the post (default: marketing's suggested comment).")
@click.option("--at", "at", metavar="WHEN", help="When to share it (default: now): 'tomorrow 09:00', '+2h'.")
@channel_option(multiple=True, help="Your own account to share from (repeat; default: all of yours).")
@click.option("--limit", type=click.IntRange(0, 1_000_000), default=50, show_default=True,
              help="How many posts to list (0: all).")
@json_option
@pass_app
def share(app, post_id, text, at, channels, limit, as_json) -> None:
    """List the brand posts you can share, or share post ID from your own accounts.

    You are the rep named by --as (or SOCIALSELL_USER). The share goes out through the loop
    like any post: a repost, a quote with your text, or a post with the link, as the network allows.
    """

    if post_id is None:
        if text is not None or at is not None or channels:
            raise UsageError("--text, --at and --channel go with a post id: socialsell share ID --text \"my take\"")
        rep = acting_rep(app)
        posts, total = shareable_posts(app, rep, limit=limit or None)
        if limit and total > len(posts):
            click.echo(f"showing {len(posts):,} of {total:,}; --limit 0 for all", err=True)
        if as_json:
            print_json(posts)
            return
        print_table(["id", "post", "suggested comment", "on", "your shares"],
                    [(p["id"], p["text"], p["suggested_comment"] or "", ", ".join(b["account"] for b in p["published"]),
                      ", ".join(f"{s['account']} ({s['status']})" for s in p["shared"]) or "-") for p in posts],
                    one_line=True, empty="nothing to share yet: marketing marks posts with `post new --shareable`")
        return
    when = None
    if at is not None:
        try:
            when = parse_when(at, app.now(), app.workspace.timezone)
        except ValueError as e:
            raise UsageError(f"--at: {e}") from None
    ids = share_post(app, post_id, text=text, at=when, accounts=list(channels) or None)

    rows = [d for d in get_post(app, post_id)["deliveries"] if d["id"] in ids]
    if as_json:
        print_json(rows)
        return
    for d in rows:
        click.echo(f"post {post_id} shared from {d['account']}: {d['status']}, "
                   f"{format_local(d['due_at'], app.workspace.timezone)}")


@click.group()
def team() -> None:
    """The team's hand-overs: `team leave NAME [--to REP]`."""


@team.command("leave")
@click.argument("name")
@click.option("--to", "to", metavar="REP", help="The rep who takes over (default: round-robin by open tasks).")
@json_option
@pass_app
def team_leave(app, name, to, as_json) -> None:
    """A rep leaves: pause their own accounts and hand over their contacts, open tasks and deals."""

    done = leave_team(app, name, to=to)
    if as_json:
        print_json([done.as_dict()])
        return
    paused = ", ".join(done.accounts) or "none"
    heirs = ", ".join(f"{rep} {n}" for rep, n in sorted(done.to.items())) or "nobody"
    click.echo(f"{done.rep} left: accounts paused: {paused}; {done.shares_cancelled} waiting shares cancelled; "
               f"{done.tasks} open tasks, {done.deals} open deals, {done.contacts} contacts handed over ({heirs})")
