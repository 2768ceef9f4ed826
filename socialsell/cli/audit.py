"""``socialsell log``: who did what, from the event log every change writes to."""

from __future__ import annotations

import click
from sqlalchemy import select

from socialsell.cli.common import (
    json_option,
    limit_option,
    note_cut,
    pass_app,
    print_json,
    print_table,
)
from socialsell.db import schema as t
from socialsell.db.pages import fetch_page, page_of_dicts
from socialsell.timeparse import format_local


def register(cli: click.Group) -> None:
    cli.add_command(log)


def _summary(detail: object) -> str:
    if not isinstance(detail, dict):
        return "" if detail is None else str(detail)
    return ", ".join(f"{k}={v}" for k, v in detail.items() if v not in (None, "", []))


@click.command("log")
@click.option("--actor", "who", metavar="NAME", help="Only what this person (or worker) did.")
@click.option("--kind", metavar="PREFIX", help="Only events of this kind, e.g. task, deal, post.approved.")
@click.option("--subject", metavar="S", help="Only about this, e.g. task:3, deal:1, contact:5.")
@limit_option
@json_option
@pass_app
def log(app, who, kind, subject, limit, as_json) -> None:
    """Who did what: every recorded change, newest first (accountability, not authentication)."""
    E = t.events
    columns = ("id", "at", "actor", "kind", "subject", "detail")
    q = select(*(E.c[name] for name in columns)).order_by(E.c.at.desc(), E.c.id.desc())
    if who:
        q = q.where(E.c.actor.ilike(who))
    if kind:
        q = q.where(E.c.kind.startswith(kind, autoescape=True))
    if subject:
        q = q.where(E.c.subject == subject)
    with app.db.read() as conn:
        rows = page_of_dicts(fetch_page(conn, q, limit), columns)
    if as_json:
        print_json(rows)
    else:
        tz = app.workspace.timezone
        print_table(["at", "who", "what", "on", "detail"],
                    [(format_local(r["at"], tz), r["actor"] or "-", r["kind"], r["subject"] or "", _summary(r["detail"])[:80])
                     for r in rows], title="the log, newest first", one_line=True, empty="nothing recorded yet")
    note_cut(len(rows), rows.total)
