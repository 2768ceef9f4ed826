"""Posting slots: weekly times per channel account, and the next free one."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import and_, select
from sqlalchemy.engine import Connection

from socialsell.db import schema as t
from socialsell.errors import UsageError
from socialsell.timeparse import WeeklyTimes, parse_slot_rule, upcoming_slots

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App


def slot_rules(app: App, account: str) -> list[WeeklyTimes]:
    """The account's slot rules (each was checked when the config was loaded)."""
    return [parse_slot_rule(rule) for rule in app.workspace.account(account).slots]


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


def edit_slots(app: App, account: str, *, set_to: Sequence[str] | None = None, add: Sequence[str] = (),
               remove: Sequence[str] = ()) -> list[str]:
    """Rewrite the account's ``slots`` in socialsell.toml (comments and layout kept, via tomlkit).

    ``set_to`` replaces the rules; ``add`` appends rules; ``remove`` drops rules, or single
    times (``"12:30"``) from every rule. Every rule is parsed first: a bad one changes nothing.
    Returns the new rules.
    """
    import tomlkit  # noqa: PLC0415 - `socialsell campaign list` (a read command) does not load tomlkit; kept off its path

    app.workspace.account(account)
    current = list(app.workspace.account(account).slots)
    rules = list(set_to) if set_to is not None else current
    for rule in add:
        rules.append(rule)
    for item in remove:
        item = item.strip()
        if re.fullmatch(r"\d{1,2}:\d{2}", item):
            try:
                gone = parse_slot_rule(f"daily {item}").times[0]
            except ValueError as e:
                raise UsageError(f"--remove: {e}") from None
            kept = []
            for rule in rules:
                parsed = parse_slot_rule(rule)
                times = tuple(x for x in parsed.times if x != gone)
                if times:
                    kept.append(str(WeeklyTimes(parsed.days, times)))
            if kept == rules:
                raise UsageError(f"--remove {item}: no slot at that time on {account!r}")
            rules = kept
        else:
            normal = _normal(item)
            if normal not in [_normal(r) for r in rules]:
                raise UsageError(f"--remove {item!r}: not one of {account!r}'s slot rules ({'; '.join(rules) or 'none'})")
            rules = [r for r in rules if _normal(r) != normal]
    for rule in rules:
        try:
            parse_slot_rule(rule)
        except ValueError as e:
            raise UsageError(str(e)) from None
    rules = [str(parse_slot_rule(r)) for r in rules]
    path = app.workspace.config_path
    doc = tomlkit.parse(path.read_text(encoding="utf-8"))
    for table in doc.get("accounts", []):
        if table.get("name") == account:
            if rules:
                table["slots"] = rules
            elif "slots" in table:
                del table["slots"]
            break
    else:  # pragma: no cover - the workspace was loaded from this file
        raise UsageError(f"account {account!r} is not in {path}")
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(tomlkit.dumps(doc), encoding="utf-8")
    tmp.chmod(path.stat().st_mode & 0o777)  # the config keeps its mode (0600 from init)
    tmp.replace(path)
    app.workspace.account(account).slots = rules
    return rules


def _normal(rule: str) -> str:
    try:
        return str(parse_slot_rule(rule))
    except ValueError:
        return rule.strip().lower()


def empty_slots(app: App, conn: Connection, account: str, *, after: datetime, until: datetime) -> list[datetime]:
    """Slot times of ``account`` in (after, until] with nothing open or published in them."""
    rules = slot_rules(app, account)
    if not rules:
        return []
    taken = {
        r for (r,) in conn.execute(
            select(t.deliveries.c.due_at).where(and_(
                t.deliveries.c.account_id == app.account_id(account),
                t.deliveries.c.due_at > after, t.deliveries.c.due_at <= until,
                t.deliveries.c.status.notin_(("cancelled", "failed", "missed")),
            ))
        )
    }
    out = []
    for at in upcoming_slots(rules, after, app.workspace.timezone, limit=10000):
        if at > until:
            break
        if at not in taken:
            out.append(at)
    return out
