"""Posting slots: weekly times per channel account, and the next free one."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import and_, select
from sqlalchemy.engine import Connection

from socialsell.db import schema as t
from socialsell.errors import ConfigError, UsageError
from socialsell.timeparse import WeeklyTimes, parse_slot_rule, upcoming_slots

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App


def slot_rules(app: App, account: str) -> list[WeeklyTimes]:
    acc = app.workspace.account(account)
    rules = []
    for i, rule in enumerate(acc.slots):
        try:
            rules.append(parse_slot_rule(rule))
        except ValueError as e:
            raise ConfigError(app.workspace.config_path, f"accounts.{account}.slots[{i}]", str(e)) from None
    return rules


def next_free_slot(app: App, conn: Connection, account: str, *, after: datetime) -> datetime:
    """The first slot after ``after`` with no open or published delivery on that account."""
    rules = slot_rules(app, account)
    if not rules:
        raise UsageError(f"account {account!r} has no posting slots: add slots = [\"mon-fri 09:00, 12:30\"] to it, or use --at")
    account_id = app.account_id(account)
    taken = {
        r for (r,) in conn.execute(
            select(t.deliveries.c.due_at).where(and_(
                t.deliveries.c.account_id == account_id,
                t.deliveries.c.due_at > after,
                t.deliveries.c.status.notin_(("cancelled", "failed", "missed")),
            ))
        )
    }
    for at in upcoming_slots(rules, after, app.workspace.timezone, limit=5000):
        if at not in taken:
            return at
    raise UsageError(f"account {account!r} has no free slot in the next year")
