"""``socialsell work``: triage my open follow-ups one at a time, one key per action."""

from __future__ import annotations

import io
import sys
from datetime import datetime

import click

from socialsell.cli.common import pass_app
from socialsell.cli.inputs import AMOUNT
from socialsell.cli.lists import responded
from socialsell.errors import SocialsellError, UsageError
from socialsell.plugins.channel import ChannelError, ReplyNotAllowed
from socialsell.sales.tasks import (
    add_note,
    close_task,
    get_task,
    list_tasks,
    parse_snooze,
    reply_to_task,
    snooze_task,
)
from socialsell.team import rep_tz
from socialsell.timeparse import format_ago, format_local, parse_when

KEYS = "r reply  d done  s snooze  k skip  o open link  n note  q quit"
PROMPT_OUTCOMES = ("replied", "connected", "meeting", "opportunity", "won", "lost", "not_interested")


def register(cli: click.Group) -> None:
    cli.add_command(work)


def _key() -> str:
    """One key press. From a real pipe (`printf 'd\\nwon\\n' | socialsell work`) a key is the
    first character of a line, and the end of the input quits: there is no terminal to read
    single keys from (click.getchar would open /dev/tty and fail)."""

    try:
        piped = not sys.stdin.isatty() and sys.stdin.fileno() >= 0
    except (AttributeError, ValueError, io.UnsupportedOperation):  # in-memory stdin (tests)
        piped = False
    if not piped:
        return click.getchar().lower()
    line = sys.stdin.readline()
    return (line.strip()[:1] or "k").lower() if line else "q"


def parse_when_or_fail(text: str, app) -> datetime:
    try:
        return parse_when(text, app.now(), rep_tz(app))
    except ValueError as e:
        raise UsageError(f"{e}") from None


def _reply_text(app, task: dict) -> str | None:
    """What to send, or None. The opener is only a suggestion: an empty answer sends nothing
    unless the rep accepts the opener explicitly; a task already replied to asks first."""
    if task.get("replied_at") is not None:
        ago = format_ago(task["replied_at"], app.now())
        if not click.confirm(f"you already replied to this task {ago}: reply again?", default=False):
            return None
    text = click.prompt("reply (Enter: no text typed)", default="", show_default=False).strip()
    if text:
        return text
    if click.confirm(f"send the suggested opener? \"{task['opener']}\"", default=False):
        return task["opener"]
    return None


def _link(task: dict) -> str | None:
    for e in task["engagements"]:
        if e.get("url"):
            return e["url"]
    for h in task["contact"]["handles"]:
        if h.get("profile_url"):
            return h["profile_url"]
    return None


def _show(app, task: dict, position: int, total: int) -> None:
    tz = rep_tz(app)
    c = task["contact"]
    said = responded(task, app.now())
    if said and not task.get("next_step_due"):
        due = said  # answered, waiting on them: no clock
    else:
        due = ("OVERDUE since " if task["overdue"] else "due ") + format_local(task["due_at"], tz) + (f" ({said})" if said else "")
    click.echo(f"\n[{position}/{total}] task {task['id']}  p{task['priority']}  {due}")
    if task.get("next_step"):
        click.echo(f"  next step: {task['next_step']}")
    click.echo(f"{c['display_name']}" + (f", {c['headline']}" if c.get("headline") else "")
               + f"  ({c['stage']}, score {c['score']:.0f})")
    for e in task["engagements"][:3]:
        where = f" on post {e['post_id']}" if e.get("post_id") else ""
        camp = f" ({e['campaign']})" if e.get("campaign") else ""
        click.echo(f"  {e['kind']}{where}{camp}" + (f": \"{e['text']}\"" if e["text"] else ""))
    click.echo(f"  suggested opener (sent only if you accept it): {task['opener']}")


@click.command()
@pass_app
def work(app) -> None:
    """Walk my open follow-ups, most urgent first, one key per action.

    \b
    r reply through the channel    d done (asks the outcome)    s snooze
    k skip to the next             o open the link              n add a note
    q quit
    """

    rows = list_tasks(app, owner=app.actor)
    if not rows:
        click.echo(f"no open follow-ups for {app.actor}")
        return
    done = snoozed = 0
    for i, row in enumerate(rows, 1):
        task = get_task(app, row["id"])
        _show(app, task, i, len(rows))
        while True:
            click.echo(KEYS)
            key = _key()
            click.echo()
            try:
                if key == "q":
                    left = len(list_tasks(app, owner=app.actor))  # skipped ones included
                    click.echo(f"stopped: {done} closed, {snoozed} snoozed, {left} still open")
                    return
                if key == "k":
                    break
                if key == "r":
                    text = _reply_text(app, get_task(app, task["id"]))
                    if text is None:
                        click.echo("nothing sent")
                        continue
                    try:
                        r = reply_to_task(app, task["id"], text, again=True)  # _reply_text asked
                        click.echo("replied" + (f": {r['url']}" if r["url"] else ""))
                    except ReplyNotAllowed as e:
                        click.echo(f"{e}" + (f" - reply by hand: {e.url}" if e.url else ""))
                    except ChannelError as e:
                        click.echo(f"the reply failed: {type(e).__name__}: {e}")
                    continue
                if key == "d":
                    outcome = click.prompt("outcome", type=click.Choice(PROMPT_OUTCOMES), default="replied")
                    amount = click.prompt("amount won", type=AMOUNT) if outcome == "won" else None
                    meeting_at = None
                    if outcome == "meeting":  # the next step is the meeting: the task it opens is due then
                        meeting_at = parse_when_or_fail(click.prompt("meeting when (e.g. thu 14:00)"), app)
                    closed = close_task(app, task["id"], outcome, amount, meeting_at=meeting_at)
                    done += 1
                    click.echo(f"task {task['id']} done: {outcome}" + (f" ({amount:g})" if amount is not None else "")
                               + (f"; deal {closed['deal_id']}" if closed.get("deal_id") else "")
                               + (f"; next step: task {closed['next_task_id']} at {format_local(meeting_at, rep_tz(app))}"
                                  if closed.get("next_task_id") else ""))
                    break
                if key == "s":
                    duration = click.prompt("snooze for", default="1d")
                    until = parse_snooze(duration, app.now(), rep_tz(app))
                    snooze_task(app, task["id"], until)
                    snoozed += 1
                    click.echo(f"snoozed until {format_local(until, rep_tz(app))}")
                    break
                if key == "o":
                    url = _link(task)
                    if url is None:
                        click.echo("no link for this task")
                        continue
                    click.echo(url)
                    if sys.stdout.isatty() and url.startswith("http"):
                        click.launch(url)
                    continue
                if key == "n":
                    add_note(app, task["id"], click.prompt("note"))
                    click.echo("noted")
                    continue
                click.echo(f"unknown key {key!r}")
            except SocialsellError as e:  # one line, and stay on this task
                click.echo(f"Error: {e}", err=True)
    # skipped (and replied but not closed) tasks are still open: say so, never "nothing left"
    left = len(list_tasks(app, owner=app.actor))
    if left:
        click.echo(f"\nend of the list: {done} closed, {snoozed} snoozed, {left} still open (`socialsell tasks`)")
    else:
        click.echo(f"\nall done: {done} closed, {snoozed} snoozed, nothing left in your list")
