"""The rep's lists: ``tasks`` and ``contacts``.

Apart from the rest of the rep's commands (socialsell/cli/sales.py) so that they import only
what they run (socialsell/sales/lists.py): the rest of the sales domain costs ~5 ms at import
(``-X importtime``) that ``tasks --json`` and ``contacts --json`` do not use (docs/architecture.md
"Targets", bench/bench_read.py).
"""

from __future__ import annotations

import click

from socialsell.cli.common import (
    json_option,
    limit_option,
    note_cut,
    pass_app,
    print_json,
    print_table,
)
from socialsell.errors import UsageError
from socialsell.sales.lists import list_contacts, list_tasks
from socialsell.team import rep_tz
from socialsell.timeparse import format_ago, format_due, format_local


def register(cli: click.Group) -> None:
    for command in (tasks, contacts):
        cli.add_command(command)


RESPONDED = {"reply": "replied", "call": "called", "email": "emailed", "dm": "messaged", "meeting": "met",
             "outcome": "closed"}


def responded(task, now) -> str | None:
    """``"replied 2h ago"``: the first response, for the lists (None before it)."""
    if task.get("first_response_at") is None:
        return None
    kind = RESPONDED.get(task.get("first_response_kind") or "", "answered")
    return f"{kind} {format_ago(task['first_response_at'], now)}"


def due_text(task, app, fmt: str | None = None) -> str:
    """Before the first response the SLA time; after it the next step's time, or, with no next
    step, the response itself ("replied 2h ago": waiting on them, no clock)."""
    said = responded(task, app.now())
    if said is not None and task.get("next_step_due") is None:
        return said
    tz = rep_tz(app)
    when = format_due(task["due_at"], app.now(), tz) if fmt is None else format_local(task["due_at"], tz, fmt)
    return ("OVERDUE " if task["overdue"] else "") + when


def why_text(task, app) -> str:
    if not task.get("next_step"):
        return task["reason"] or ""
    said = responded(task, app.now())
    return f"next: {task['next_step']}" + (f" ({said})" if said else "")


@click.command()
@click.option("--mine", "scope", flag_value="mine", default=True, help="My open tasks (default).")
@click.option("--all", "scope", flag_value="all", help="Everyone's open tasks.")
@click.option("--owner", metavar="NAME", help="Someone else's open tasks.")
@click.option("--overdue", is_flag=True, help="Only tasks past their SLA.")
@limit_option
@json_option
@pass_app
def tasks(app, scope, owner, overdue, limit, as_json) -> None:
    """My follow-up list, most urgent first."""
    rows = list_tasks(app, owner=owner, all_owners=(scope == "all" and not owner), overdue=overdue, limit=limit)
    if as_json:
        print_json(rows)
        note_cut(len(rows), rows.total)
        return
    who = "everyone" if scope == "all" and not owner else (owner or app.actor)
    print_table(
        ["id", "due", "p", "score", "who", "why"] + (["owner"] if who == "everyone" else []),
        [(r["id"], due_text(r, app), r["priority"], f"{r['score']:.0f}",
          (r["contact"]["name"] or "") + (f" ({r['contact']['company']})" if r["contact"]["company"] else ""),
          why_text(r, app)[:70]) + ((r["owner"] or "-",) if who == "everyone" else ())
         for r in rows],
        title=f"follow-ups for {who} (times in {rep_tz(app).key})", one_line=True,
        empty=f"no open follow-ups for {who}" + ("" if who == "everyone" else " (try --all, or --as NAME)"),
    )
    note_cut(len(rows), rows.total)


@click.command()
@click.option("--stage", help="Only this lifecycle stage.")
@click.option("--owner", help="Only this owner's contacts.")
@click.option("--suggest-merges", is_flag=True, help="Pairs that look like one person (same name and profile link).")
@limit_option
@json_option
@pass_app
def contacts(app, stage, owner, suggest_merges, limit, as_json) -> None:
    """Everyone who engaged, best first."""
    if stage:
        from socialsell.sales.scoring import STAGES  # noqa: PLC0415 - scoring and what it imports cost ~1.5 ms (-X importtime); the list without --stage needs none of it

        if stage not in STAGES:
            raise UsageError(f"unknown stage {stage!r} (one of {', '.join(STAGES)})")
    if suggest_merges:
        _merge_suggestions(app, limit, as_json)
        return
    rows = list_contacts(app, stage=stage, owner=owner, limit=limit)
    if as_json:
        print_json(rows)
    else:
        print_table(["id", "name", "stage", "score", "owner", "handles"],
                    [(r["id"], r["display_name"], r["stage"], f"{r['score']:.0f}", r["owner"] or "-",
                      ", ".join(h["handle"] for h in r["handles"])) for r in rows], empty="no contacts yet")
    note_cut(len(rows), rows.total)


def _merge_suggestions(app, limit: int | None, as_json: bool) -> None:
    """``contacts --suggest-merges``: pairs found in Python over the same-name contacts, cut after."""
    from socialsell.sales.contacts import suggest_merges  # noqa: PLC0415 - the rest of the sales domain: see the module's docstring

    pairs = suggest_merges(app)
    shown = pairs[:limit] if limit else pairs
    if as_json:
        print_json(shown)
    else:
        print_table(["id", "merge with", "name", "why", "to merge"],
                    [(p["id"], p["merge_with"], p["name"], p["reason"], p["command"]) for p in shown],
                    empty="no merge suggestions")
    note_cut(len(shown), len(pairs))
