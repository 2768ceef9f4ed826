"""A rep leaves the team: their accounts stop, their people go to someone else, in one step.

``socialsell team leave alice --to bob`` (or without ``--to``: round-robin by open tasks) in one
transaction: alice's own accounts (``[[accounts]] owner = "alice"``) are paused, so nothing is
polled or published from them any more (their waiting shares are cancelled: they were hers to
send), and every contact she owned moves with its open follow-up and open deals to one rep, so
a person never ends up with a task on one list and a deal on another (docs/advocacy.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_, select, union, update

from socialsell.db import schema as t
from socialsell.errors import UsageError
from socialsell.sales.deals import OPEN_STAGES
from socialsell.sales.routing import open_task_load

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App

T, DL, C, D = t.tasks, t.deals, t.contacts, t.deliveries
OPEN_TASK = ("open", "snoozed")


@dataclass
class Handover:
    """What ``team leave`` did."""

    rep: str
    accounts: list[str] = field(default_factory=list)  # paused
    shares_cancelled: int = 0
    tasks: int = 0
    deals: int = 0
    contacts: int = 0
    to: dict[str, int] = field(default_factory=dict)  # successor -> contacts taken over

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.rep, "rep": self.rep, "accounts_paused": self.accounts,
                "shares_cancelled": self.shares_cancelled, "tasks": self.tasks, "deals": self.deals,
                "contacts": self.contacts, "to": self.to}


def _rep_name(app: App, name: str, what: str) -> str:
    found = next((r.name for r in app.workspace.team if r.name.lower() == name.strip().lower()), None)
    if found is None:
        reps = ", ".join(r.name for r in app.workspace.team) or "none"
        raise UsageError(f"{what} {name!r} is not a rep of [[team.reps]] (reps: {reps})")
    return found


def check_lead(app: App) -> None:
    """Handing over someone's people is the lead's call (``[team] lead``, when there is one)."""
    lead = app.settings.team.lead
    if lead and app.actor.lower() != lead.lower():
        raise UsageError(f"only the lead ({lead}) hands over a rep's work: run it with --as {lead}")


def leave_team(app: App, name: str, *, to: str | None = None) -> Handover:
    """Pause ``name``'s accounts and give their contacts, open tasks and open deals to ``to``
    (a rep), or round-robin to the other reps by open tasks. Checked whole before any write."""
    check_lead(app)
    rep = _rep_name(app, name, "rep")
    successors = [_rep_name(app, to, "--to")] if to else [r.name for r in app.workspace.team if r.name != rep]
    if rep in successors:
        raise UsageError(f"--to {to!r} is the rep who leaves: name another rep")
    if not successors:
        raise UsageError(f"{rep} is the only rep: add another to [[team.reps]] to take over their work")
    accounts = [a.name for a in app.workspace.accounts.values() if a.owner == rep]
    app.account_ids()  # account rows exist before the write transaction
    done = Handover(rep=rep)
    with app.db.write() as conn:
        for account in accounts:
            app.pause_account(conn, account, f"{rep} left the team")
            done.accounts.append(account)
        if accounts:
            account_ids = [app.account_ids()[a] for a in accounts]
            done.shares_cancelled = conn.execute(
                update(D).where(and_(D.c.account_id.in_(account_ids), D.c.status.in_(("draft", "approved", "scheduled"))))
                .values(status="cancelled", error=f"{rep} left the team", updated_at=app.now())).rowcount
        contact_ids = sorted({cid for (cid,) in conn.execute(union(
            select(C.c.id).where(C.c.owner == rep),
            select(T.c.contact_id).where(and_(T.c.owner == rep, T.c.status.in_(OPEN_TASK))),
            select(DL.c.contact_id).where(and_(DL.c.owner == rep, DL.c.stage.in_(OPEN_STAGES)))))})
        load = open_task_load(conn)
        for cid in contact_ids:
            heir = min(successors, key=lambda r: (load.get(r, 0), r))
            moved = conn.execute(update(T).where(and_(T.c.contact_id == cid, T.c.owner == rep, T.c.status.in_(OPEN_TASK)))
                                 .values(owner=heir, updated_at=app.now())).rowcount
            load[heir] = load.get(heir, 0) + moved
            done.tasks += moved
            done.deals += conn.execute(update(DL).where(and_(DL.c.contact_id == cid, DL.c.owner == rep,
                                                             DL.c.stage.in_(OPEN_STAGES)))
                                       .values(owner=heir, updated_at=app.now())).rowcount
            conn.execute(update(C).where(and_(C.c.id == cid, or_(C.c.owner == rep, C.c.owner.is_(None))))
                         .values(owner=heir, updated_at=app.now()))  # a change like any other (docs/crm.md)
            done.contacts += 1
            done.to[heir] = done.to.get(heir, 0) + 1
        app.record(conn, "team.left", f"rep:{rep}", done.as_dict())
    for account in done.accounts:  # after the commit, like every event hook
        app.fire("account_paused", account=account, reason=f"{rep} left the team")
    return done
