"""Listening: ``signals`` (the triage list), ``signal promote|dismiss|tag|reply|show``, ``listen test``.

docs/listening.md describes streams, signals and the budget.
"""

from __future__ import annotations

import sys

import click

from socialsell.cli.common import (
    channel_option,
    json_option,
    limit_option,
    note_cut,
    parse_id,
    pass_app,
    print_json,
    print_table,
)
from socialsell.errors import UsageError
from socialsell.loop.listening import try_query
from socialsell.sales.signals import (
    dismiss,
    get_signal,
    list_signals,
    parse_query_text,
    promote,
    reply,
    tag,
)
from socialsell.timeparse import format_local


def register(cli: click.Group) -> None:
    for command in (signals, signal, listen):
        cli.add_command(command)


@click.command()
@click.option("--stream", metavar="NAME", help="Only this listening stream's signals.")
@click.option("--status", type=click.Choice(["new", "promoted", "dismissed", "all"]), default="new", show_default=True,
              help="Which: waiting for triage (new), turned into follow-ups, dismissed, or all.")
@limit_option
@json_option
@pass_app
def signals(app, stream, status, limit, as_json) -> None:
    """What listening found below the task threshold, strongest first: promote, dismiss or tag each."""

    rows, total = list_signals(app, stream=stream, status=None if status == "all" else status, limit=limit)
    if as_json:
        print_json(rows)
    else:
        tz = app.workspace.timezone
        print_table(["id", "score", "stream", "matched", "who", "when", "said"],
                    [(r["id"], f"{r['score']:.0f}", r["stream"], r["term"] or "", r["handle"],
                      format_local(r["occurred_at"], tz, "%d %b %H:%M"), " ".join((r["text"] or "").split())[:70])
                     for r in rows], title=f"signals ({status})", one_line=True,
                    empty="no signals waiting" if status == "new" else "no signals")
    note_cut(len(rows), total)


@click.group()
def signal() -> None:
    """Triage one signal: show, promote to a follow-up, dismiss, tag an insight, reply."""


@signal.command("show")
@click.argument("signal_id", metavar="ID")
@json_option
@pass_app
def signal_show(app, signal_id, as_json) -> None:
    """What they said, where, which stream and term matched, and the score line by line."""

    s = get_signal(app, parse_id(signal_id, "signal"))
    if as_json:
        print_json([s])
        return
    p = s["person"]
    click.echo(f"signal {s['id']}  [{s['status']}]  stream {s['stream']}  on {s['account']}  score {s['score']:.0f}")
    click.echo(f"{p.get('name') or s['handle']} ({s['handle']})" + (f", {p['headline']}" if p.get("headline") else ""))
    click.echo(f"  {format_local(s['occurred_at'], app.workspace.timezone)}: {s['text']}")
    if s["url"]:
        click.echo(f"  {s['url']}")
    click.echo(f"matched: {s['term'] or '(the network matched it)'}")
    for line in s["why"]:
        click.echo(f"  {line['points']:+.1f}  {line['reason']}")
    if s["task_id"]:
        click.echo(f"follow-up: task {s['task_id']} (socialsell task show {s['task_id']})")
    if s["insight"]:
        click.echo(f"insight ({s['insight_about']}): {s['insight']}")


@signal.command("promote")
@click.argument("signal_id", metavar="ID")
@pass_app
def signal_promote(app, signal_id) -> None:
    """Make it a follow-up task now, whatever its score."""

    r = promote(app, parse_id(signal_id, "signal"))
    click.echo(f"signal {r['signal']} -> task {r['task']}" + ("" if r["created"] else " (the person's open follow-up)"))


@signal.command("dismiss")
@click.argument("signal_id", metavar="ID")
@pass_app
def signal_dismiss(app, signal_id) -> None:
    """Not worth a follow-up: it leaves the list (an insight tagged on it stays in the report)."""

    dismiss(app, parse_id(signal_id, "signal"))
    click.echo(f"signal {signal_id} dismissed")


@signal.command("tag")
@click.argument("signal_id", metavar="ID")
@click.argument("insight")
@click.option("--about", type=click.Choice(["market", "competitor"]),
              help="What it tells marketing about (default: competitor when it matched a competitor handle).")
@pass_app
def signal_tag(app, signal_id, insight, about) -> None:
    """Record a market or competitor insight; the report's feedback section shows it."""

    r = tag(app, parse_id(signal_id, "signal"), insight, about)
    click.echo(f"signal {r['signal']}: {r['about']} insight {r['insight']!r}")


@signal.command("reply")
@click.argument("signal_id", metavar="ID")
@click.argument("text")
@click.option("--again", is_flag=True, help="Reply although this person was already answered in this thread.")
@pass_app
def signal_reply(app, signal_id, text, again) -> None:
    """Answer in public, by hand (the loop never replies): it becomes your follow-up first.

    Only where the network allows it; once per person and thread unless you confirm (--again,
    or yes at the prompt)."""

    sid = parse_id(signal_id, "signal")
    try:
        r = reply(app, sid, text, again=again)
    except UsageError as e:
        if again or "--again" not in str(e) or not sys.stdin.isatty():
            raise
        click.confirm(f"{e}. Reply once more?", abort=True, err=True)
        r = reply(app, sid, text, again=True)
    click.echo(f"replied to signal {r['signal']} (task {r['task']})" + (f": {r['url']}" if r["url"] else ""))


@click.group()
def listen() -> None:
    """Listening streams ([[listen]] in socialsell.toml)."""


@listen.command("test")
@click.argument("query")
@channel_option(required=True, help="The account to search on (its channel must be able to search).")
@click.option("--limit", default="10", show_default=True, metavar="N", help="How many posts to read at most.")
@json_option
@pass_app
def listen_test(app, query, channel, limit, as_json) -> None:
    """Show what QUERY would match on a channel now, storing nothing.

    QUERY is written as on X: words, "a phrase", #hashtag, @competitor, -exclusion, lang:en."""

    try:
        n = int(limit)
    except ValueError:
        raise UsageError(f"--limit must be a whole number, not {limit!r}") from None
    app.workspace.account(channel)  # an unknown account: one line, exit 2
    rows, page = try_query(app, parse_query_text(query), channel, n)
    if as_json:
        print_json(rows)
    else:
        tz = app.workspace.timezone
        print_table(["score", "would be", "matched", "who", "when", "said"],
                    [(f"{r['score']:.0f}", r["would"], r["term"] or "", r["handle"],
                      format_local(r["occurred_at"], tz, "%d %b %H:%M"), " ".join((r["text"] or "").split())[:60])
                     for r in rows], title=f"{query} on {channel}", one_line=True, empty="nothing matches now")
    click.echo(f"{page.reads} reads, {len(rows)} posts; nothing stored"
               + ("; more match (a stream would read them on)" if page.more else ""), err=True)
