"""``socialsell sandbox ...``: drive the simulated network by hand."""

from __future__ import annotations

from datetime import datetime

import click

from socialsell.api import (
    ENGAGEMENT_KINDS,
    Rejected,
    UsageError,
    format_local,
    json_option,
    limit_option,
    note_cut,
    parse_id,
    pass_app,
    print_json,
    print_table,
)


@click.group()
def sandbox() -> None:
    """The simulated network (no credentials needed)."""


def _sandbox_channel(app, account: str | None):
    names = [n for n, a in app.workspace.accounts.items() if a.channel == "sandbox"]
    if account is None:
        if not names:
            raise UsageError("no sandbox account in this workspace (add [[accounts]] with channel = \"sandbox\")")
        account = names[0]
    elif account not in names:
        raise UsageError(f"{account!r} is not a sandbox account (sandbox accounts: {', '.join(names) or 'none'})")
    return account, app.channel(account)


@sandbox.command("engage")
@click.option("--post", "post_id", help="The socialsell post id (see `post list`); omit for a bare mention.")
@click.option("--kind", required=True, type=click.Choice(ENGAGEMENT_KINDS), help="What they did.")
@click.option("--from", "handle", required=True, metavar="@HANDLE", help="Who did it.")
@click.option("--text", help="What they wrote.")
@click.option("--name", help="Their display name.")
@click.option("--headline", help="Their headline / bio.")
@click.option("--account", help="Which sandbox account (default: the first).")
@pass_app
def sandbox_engage(app, post_id, kind, handle, text, name, headline, account) -> None:
    """Make someone react to a post, as if on a real network."""
    account, channel = _sandbox_channel(app, account)
    remote_id = None
    if post_id is not None:
        pid = parse_id(post_id, "post")
        row = app.delivery(pid, account)
        if row is None:
            raise UsageError(f"post {pid} has no delivery on {account}")
        if row.remote_id is None:
            raise UsageError(f"post {pid} is {row.status} on {account}, not published yet: run `socialsell run --once` first")
        remote_id = row.remote_id
    if not handle.startswith("@"):
        handle = "@" + handle
    ext = channel.inject(post_id=remote_id, kind=kind, handle=handle, text=text, name=name, headline=headline, at=app.now())
    click.echo(f"{handle} {kind}" + (f" on post {post_id}" if post_id else "") + f" ({ext}); `socialsell run --once` picks it up")


@sandbox.command("say")
@click.argument("text")
@click.option("--from", "handle", required=True, metavar="@HANDLE", help="Who posts it.")
@click.option("--name", help="Their display name.")
@click.option("--headline", help="Their headline / bio.")
@click.option("--lang", default="en", show_default=True, help="Its language (two letters).")
@click.option("--account", help="Which sandbox account (default: the first).")
@pass_app
def sandbox_say(app, text, handle, name, headline, lang, account) -> None:
    """Make someone post in public (not to us), for listening streams to find."""
    account, channel = _sandbox_channel(app, account)
    if not text.strip():
        raise UsageError("the post is empty")
    if len(lang) != 2 or not lang.isalpha():
        raise UsageError(f"--lang must be a two-letter code like en, not {lang!r}")
    if not handle.startswith("@"):
        handle = "@" + handle
    ext = channel.say(handle=handle, text=text.strip(), name=name, headline=headline, lang=lang.lower(), at=app.now())
    click.echo(f"{handle} posted {ext} in public; a listening stream that matches it finds it (`socialsell run --once`)")


@sandbox.command("fault")
@click.argument("fault", type=click.Choice(["rate_limit", "server_error", "timeout_before_send", "timeout_after_send", "auth", "reject"]))
@click.option("--count", default=1, show_default=True)
@click.option("--on", "on", type=click.Choice(["publish", "poll"]), default="publish", show_default=True,
              help="Which calls fail (poll: rate_limit, server_error or auth).")
@click.option("--account", help="Which sandbox account (default: the first).")
@pass_app
def sandbox_fault(app, fault, count, on, account) -> None:
    """Make the next publish (or poll) calls fail, to see how the loop copes."""
    account, channel = _sandbox_channel(app, account)
    try:
        channel.queue_fault(fault, count, on=on)
    except Rejected as e:  # a fault that does not apply to polls
        raise UsageError(str(e)) from None
    click.echo(f"{account}: the next {count} {on} call(s) will fail with {fault}")


@sandbox.command("timeline")
@click.option("--account", help="Which sandbox account (default: the first).")
@limit_option
@json_option
@pass_app
def sandbox_timeline(app, account, limit, as_json) -> None:
    """What the sandbox network has received, oldest first (with --limit, the latest)."""
    account, channel = _sandbox_channel(app, account)
    with channel.state(write=False) as s:
        everything = list(s["posts"])
    posts = everything[-limit:] if limit else everything
    if as_json:
        print_json(posts)
    else:
        tz = app.workspace.timezone  # stored in UTC, shown in the workspace's zone (invariant 6)
        print_table(["id", "at", "text"],
                    [(p["id"], format_local(datetime.fromisoformat(p["created_at"]), tz), p["text"][:70].replace("\n", " "))
                     for p in posts], empty="the sandbox timeline is empty")
    note_cut(len(posts), len(everything))
