"""Who owns a new follow-up, and when it is due.

Owner: the ``assign_owner`` hook, else the rep whose own account the engagement came to (a
reply to a rep's share: the relationship is theirs, docs/advocacy.md), else the contact's
owner, else the first ``[[routing]]`` rule
that matches (channel, keyword in the text, territory in the location), else a rep whose
territories, then keywords, then channels match, else round-robin
across the team (the rep with the fewest open tasks, ties by name).
Due time: the response SLA in business hours of the team's calendar, shorter for high intent.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from socialsell.db import schema as t
from socialsell.sales.tasks import OPEN
from socialsell.timeparse import add_business_time

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App


def open_task_load(conn: Connection) -> dict[str, int]:
    """Open (and snoozed) tasks per owner."""
    return {owner: n for owner, n in conn.execute(
        select(t.tasks.c.owner, func.count()).where(t.tasks.c.status.in_(OPEN)).group_by(t.tasks.c.owner)
    ).all() if owner}


def choose_owner(app: App, conn: Connection, contact: dict[str, Any], engagement: dict[str, Any],
                 load: dict[str, int] | None = None) -> str | None:
    """The rep who owns a new task (see the module's docstring for the order of the rules).

    :param load: open tasks per owner, for round-robin; read from the database when not given.
    """
    team = [r.name for r in app.workspace.team]
    chosen = app.hook.assign_owner(contact=contact, engagement=engagement, team=team)
    if chosen:
        return chosen
    account_owner = rep_of_account(app, engagement.get("account"))
    if account_owner:
        return account_owner
    if contact.get("owner"):
        return contact["owner"]
    text = (engagement.get("text") or "").lower()
    location = (contact.get("location") or "").lower()
    for rule in app.settings.routing:
        if rule.channel is not None and rule.channel not in (engagement.get("channel"), engagement.get("account")):
            continue
        if rule.keyword is not None and rule.keyword.lower() not in text:
            continue
        if rule.territory is not None and rule.territory.lower() not in location:
            continue
        return rule.owner
    # most specific first: a rep's territory, then their keywords, then their channels
    for rep in app.workspace.team:
        if rep.territories and location and any(tr.lower() in location for tr in rep.territories):
            return rep.name
    for rep in app.workspace.team:
        if rep.keywords and any(k.lower() in text for k in rep.keywords):
            return rep.name
    for rep in app.workspace.team:
        if rep.channels and (engagement.get("channel") in rep.channels or engagement.get("account") in rep.channels):
            return rep.name
    if not team:
        return None
    if load is None:
        load = open_task_load(conn)
    return min(team, key=lambda name: (load.get(name, 0), name))


def rep_of_account(app: App, account: str | None) -> str | None:
    """The rep who owns ``account`` (``[[accounts]] owner``, checked at load against the team),
    or None for a brand account: engagements there are routed by the other rules."""
    found = app.workspace.accounts.get(account) if account else None
    return found.owner if found is not None else None


def sla_hours(app: App, intent: bool) -> float:
    sla = app.settings.sla
    return sla.high_intent_hours if intent else sla.response_hours


def due_time(app: App, start: datetime, intent: bool) -> datetime:
    sla = app.settings.sla
    return add_business_time(start, sla_hours(app, intent) * 3600, sla.business_hours, app.workspace.timezone, sla.holidays)
