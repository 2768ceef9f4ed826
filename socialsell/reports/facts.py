"""Facts several sections share, each read once per report (the SLA, sales and attribution all
count the same follow-ups; marketing, the SLA's cadence and attribution the same deliveries).

Each fact is one SQL statement aggregated as far as the sections allow, kept on the scope
(:meth:`Scope.shared`), so a report runs each statement once whatever the sections asked for.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, select

from socialsell.db import schema as t
from socialsell.reports.queries import (
    P_FIRST,
    REJECTED,
    C,
    T,
    first_touch,
    legacy_deadline,
    no_deadline,
    on_time_in_sql,
    qualified,
    task_source,
    untouched_overdue,
)
from socialsell.reports.scope import Scope

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App

CA = t.campaigns
COUNTS = ("leads", "qualified", "rejected", "due", "on_time", "qualified_touched")


def _flag(condition: Any) -> Any:
    return case((condition, 1), else_=0)


class FollowUp:
    """A follow-up created in the period, as the sections need it one by one: touched (response
    times), or late (breaches name the rep and the task)."""

    __slots__ = ("id", "owner", "created_at", "touched", "deadline", "qualified", "name")

    def __init__(self, id: int, owner: str | None, created_at: datetime | None, touched: datetime | None,
                 deadline: datetime | None = None, qualified: bool = False, name: str | None = None) -> None:
        self.id, self.owner, self.created_at, self.touched = id, owner, created_at, touched
        self.deadline, self.qualified, self.name = deadline, qualified, name


class Leads:
    """Follow-ups created in the period: counts per (owner, week, campaign of the opening post),
    the touched ones (for response times in business hours) and the late ones (breaches)."""

    __slots__ = ("counts", "touched", "late")

    def __init__(self) -> None:
        self.counts: dict[tuple[str | None, int, str | None], list[int]] = {}
        self.touched: list[FollowUp] = []
        self.late: list[FollowUp] = []  # never touched first, then by deadline

    def total(self, key: str, *, owner: Any = ..., week: Any = ..., campaign: Any = ...) -> int:
        """The sum of one count over the groups that match the given owner, week, campaign."""
        i = COUNTS.index(key)
        return sum(c[i] for (o, w, k), c in self.counts.items()
                   if (owner is ... or o == owner) and (week is ... or w == week) and (campaign is ... or k == campaign))


def leads(app: App, scope: Scope) -> Leads:
    """The follow-ups of the period (see :class:`Leads`), read once per report."""
    return scope.shared("leads", lambda: _read_leads(app, scope))


def _read_leads(app: App, scope: Scope) -> Leads:
    """One statement over the follow-ups created in the period, one row each with what SQL can
    decide (qualified, rejected, due, on time, late; the week and campaign) and the times only
    where Python needs them: the SLA's counts, the response times and the breaches all come from
    it, so the follow-ups and their joins are read once."""
    now = min(app.now(), scope.until)
    frm, conds = task_source(scope, origin=True)
    touched = first_touch.is_not(None)
    late = (first_touch > T.c.sla_due_at) | untouched_overdue(now)
    q = (select(T.c.id, T.c.owner, scope.week_of(T.c.created_at), CA.c.name, _flag(qualified),
                _flag(T.c.outcome.in_(REJECTED)), _flag(touched | (T.c.sla_due_at < now)), _flag(on_time_in_sql),
                case((touched | no_deadline, T.c.created_at)), first_touch, no_deadline, T.c.intent,
                case((late, T.c.sla_due_at)), case((late | no_deadline, C.c.display_name)))
         .select_from(frm.outerjoin(CA, CA.c.id == P_FIRST.c.campaign_id))
         .where(scope.in_period(T.c.created_at), *conds))
    out = Leads()
    with app.db.read() as conn:
        rows = conn.execute(q).all()
    for task_id, owner, week, campaign, is_q, rejected, due, on_time, created, touched_at, legacy, intent, deadline, name in rows:
        if legacy:  # no deadline stored (moved to a next step before 0005): judged against its recomputed one
            deadline = legacy_deadline(app, created, bool(intent))
            on_time = touched_at is not None and touched_at <= deadline
            due = touched_at is not None or deadline < now
            if on_time or not due:
                deadline = None
        counts = out.counts.get((owner, week, campaign))
        if counts is None:
            counts = out.counts[(owner, week, campaign)] = [0, 0, 0, 0, 0, 0]
        counts[0] += 1
        counts[1] += is_q
        counts[2] += rejected
        counts[3] += due
        counts[4] += on_time
        if touched_at is not None:
            counts[5] += is_q
            out.touched.append(FollowUp(task_id, owner, created, touched_at))
        if deadline is not None:
            out.late.append(FollowUp(task_id, owner, created, touched_at, deadline, bool(is_q), name))
    out.late.sort(key=lambda f: (f.touched is not None, f.deadline, f.id))
    return out
