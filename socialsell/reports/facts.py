"""Facts several sections share, each read once per report (the SLA, sales and attribution all
count the same follow-ups; marketing, the SLA's cadence and attribution the same deliveries).

Each fact is one SQL statement aggregated as far as the sections allow, kept on the scope
(:meth:`Scope.shared`), so a report runs each statement once whatever the sections asked for.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, func, select

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
)
from socialsell.reports.scope import Scope

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App

CA = t.campaigns
COUNTS = ("leads", "qualified", "rejected", "due", "on_time", "qualified_touched")


def _flag(condition: Any) -> Any:
    return case((condition, 1), else_=0)


class Touched:
    """A follow-up created in the period that was touched, or whose deadline is not stored."""

    __slots__ = ("id", "owner", "week", "created_at", "touched", "qualified", "name", "deadline", "on_time")

    def __init__(self, id: int, owner: str | None, week: int, created_at: datetime, touched: datetime | None) -> None:
        self.id, self.owner, self.week, self.created_at, self.touched = id, owner, week, created_at, touched
        self.qualified = False  # these four are read for legacy follow-ups only (breaches name them)
        self.name: str | None = None
        self.deadline: datetime | None = None  # recomputed, for a follow-up with none stored
        self.on_time = False


class Leads:
    """Follow-ups created in the period, counted per (owner, week, campaign of the opening post),
    and the touched ones one by one (for response times in business hours)."""

    __slots__ = ("counts", "touched", "legacy", "judged")

    def __init__(self) -> None:
        self.counts: dict[tuple[str | None, int, str | None], dict[str, int]] = {}
        self.touched: list[Touched] = []
        self.legacy: list[Touched] = []  # deadline recomputed (moved to a next step before 0005)
        #: (owner, week) -> on time and due among the legacy follow-ups (judged in Python)
        self.judged: dict[tuple[str | None, int], dict[str, int]] = {}

    def total(self, key: str, *, owner: Any = ..., week: Any = ..., campaign: Any = ...) -> int:
        """The sum of one count over the groups that match the given owner, week, campaign
        (on time and due include the legacy follow-ups, which have no campaign here)."""
        n = sum(c[key] for (o, w, k), c in self.counts.items()
                if (owner is ... or o == owner) and (week is ... or w == week) and (campaign is ... or k == campaign))
        if campaign is ... and key in ("on_time", "due"):
            n += sum(c[key] for (o, w), c in self.judged.items()
                     if (owner is ... or o == owner) and (week is ... or w == week))
        return n


def leads(app: App, scope: Scope) -> Leads:
    """The follow-ups of the period: counts in SQL, touched ones listed (see :class:`Leads`)."""
    return scope.shared("leads", lambda: _read_leads(app, scope))


def _read_leads(app: App, scope: Scope) -> Leads:
    now = min(app.now(), scope.until)
    out = Leads()
    with app.db.read() as conn:
        for week, owner, campaign, *counts in conn.execute(_counts_statement(scope, now)).all():
            out.counts[(owner, week, campaign)] = dict(zip(COUNTS, (int(c or 0) for c in counts), strict=True))
        rows = conn.execute(_one_by_one_statement(scope)).all()
        legacy = [r[0] for r in rows if r[-1]]
        details = {} if not legacy else {r[0]: r[1:] for r in conn.execute(
            select(T.c.id, T.c.intent, qualified, C.c.display_name).select_from(T.join(C, C.c.id == T.c.contact_id))
            .where(T.c.id.in_(legacy)))}
    for task_id, owner, week, created, touched_at, _ in rows:
        task = Touched(task_id, owner, week, created, touched_at)
        if touched_at is not None:
            out.touched.append(task)
        if task_id in details:
            _judge_legacy(app, out, task, details[task_id], now)
    return out


def _counts_statement(scope: Scope, now: Any) -> Any:
    """Follow-ups created in the period per (week, owner, campaign): leads, qualified, rejected,
    due for a first touch, touched on time, qualified and touched."""
    frm, conds = task_source(scope, origin=True)
    frm = frm.outerjoin(CA, CA.c.id == P_FIRST.c.campaign_id)
    touched = first_touch.is_not(None)
    flags = (qualified, T.c.outcome.in_(REJECTED), touched | (T.c.sla_due_at < now), on_time_in_sql,
             and_(qualified, touched))
    inner = (select(T.c.owner.label("owner"), scope.week_of(T.c.created_at).label("week"), CA.c.name.label("campaign"),
                    *(_flag(f).label(f"f{i}") for i, f in enumerate(flags)))
             .select_from(frm).where(scope.in_period(T.c.created_at), *conds).subquery())
    # grouped by week first: grouping by owner first makes SQLite walk the tasks through their
    # owner index, a lookup per row (measured about a third slower on the benchmark workspace)
    return (select(inner.c.week, inner.c.owner, inner.c.campaign, func.count(),
                   *(func.sum(inner.c[f"f{i}"]) for i in range(len(flags))))
            .group_by(inner.c.week, inner.c.owner, inner.c.campaign))


def _one_by_one_statement(scope: Scope) -> Any:
    """The follow-ups created in the period that were touched (their response time counts
    business hours, in Python) or have no deadline stored: id, owner, week, created, first touch,
    whether the deadline is missing."""
    frm, conds = task_source(scope, contacts=False)
    return (select(T.c.id, T.c.owner, scope.week_of(T.c.created_at), T.c.created_at, first_touch, no_deadline)
            .select_from(frm).where(scope.in_period(T.c.created_at), *conds, first_touch.is_not(None) | no_deadline))


def _judge_legacy(app: App, out: Leads, task: Touched, details: tuple[Any, ...], now: Any) -> None:
    """A follow-up with no deadline stored (moved to a next step before 0005): judged against
    the deadline recomputed from its creation, counted apart (:attr:`Leads.judged`)."""
    intent, task.qualified, task.name = details
    task.deadline = legacy_deadline(app, task.created_at, bool(intent))
    task.on_time = task.touched is not None and task.touched <= task.deadline
    judged = out.judged.setdefault((task.owner, task.week), {"on_time": 0, "due": 0})
    judged["on_time"] += task.on_time
    judged["due"] += task.touched is None and task.deadline < now
    out.legacy.append(task)
