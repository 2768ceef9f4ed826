"""The SLA section: each side's commitments, attainment for the period, the weekly trend, and
the breaches by name (which rep and task; which channel missed its cadence)."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from socialsell.reports.commitments import load_commitments
from socialsell.reports.facts import COUNTS, Leads, leads
from socialsell.reports.feedback import insight_groups
from socialsell.reports.marketing import brand_posts, published
from socialsell.reports.model import Section, Table, ratio, row
from socialsell.reports.queries import (
    GAVE_UP,
    C,
    N,
    T,
    first_touch,
    qualified,
    task_source,
    untouched_overdue,
)
from socialsell.reports.scope import Scope

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App

DAYS_PER_MONTH = 30.44


def sla_section(app: App, scope: Scope) -> Section:
    """Both sides' commitments with attainment, trend by week, and named breaches."""
    agreed = load_commitments(app.workspace)  # a bad commitment fails before any query
    now = min(app.now(), scope.until)
    months = scope.days / DAYS_PER_MONTH
    nweeks = len(scope.weeks)
    cadence = _cadence(app, scope)
    found = leads(app, scope)
    by_week = {i: {k: found.total(k, week=i) for k in COUNTS} for i in range(nweeks)}
    insights = _insights(app, scope)
    with app.db.read() as conn:
        attempts = _attempts(conn, scope)
        breaches = _task_breaches(conn, scope, now, found)
    commitments: list[dict[str, Any]] = []
    trend: list[dict[str, Any]] = []

    def commit(key: str, side: str, what: str, target: Any, actual: Any, met: bool | None, weekly: list[Any],
               detail: str = "", unit: str = "count") -> None:
        commitments.append(row("sla", "commitment", key, side=side, commitment=what, unit=unit, target=target, actual=actual,
                               met="n/a" if met is None else ("yes" if met else "NO"), detail=detail))
        trend.append(row("sla", "trend", key, commitment=what, unit=unit,
                         **{scope.week_label(i): weekly[i] for i in range(nweeks)}))

    # --- marketing -----------------------------------------------------------------------------
    accounts = sorted(set(agreed.cadence) | set(cadence))
    if scope.channel:
        accounts = [a for a in accounts if a == scope.channel]
    for account in accounts:
        per_week = agreed.cadence.get(account)
        weekly = [cadence.get(account, {}).get(i, 0) for i in range(nweeks)]
        if per_week is None:
            commit(f"cadence.{account}", "marketing", f"posts per week on {account}", "not agreed", sum(weekly), None, weekly)
            continue
        # a partial week (the period's first or last) owes its share of the cadence, rounded down
        owed = [math.floor(per_week * scope.week_fraction(i) + 1e-9) for i in range(nweeks)]
        missed = [scope.week_label(i) for i in range(nweeks) if weekly[i] < owed[i]]
        commit(f"cadence.{account}", "marketing", f"posts per week on {account}", per_week,
               round(sum(weekly) / nweeks, 2), not missed, weekly, f"missed {', '.join(missed)}" if missed else "")
        for i in range(nweeks):
            if weekly[i] < owed[i]:
                breaches.append(row("sla", "breach", f"cadence.{account}.{scope.week_label(i)}", side="marketing",
                                    who=account, what=f"week {scope.week_label(i)}",
                                    detail=f"{weekly[i]} posts published, {owed[i]} agreed"
                                    + ("" if owed[i] == per_week else f" (part of a week: {per_week:g} a week)")))
    q_weekly = [by_week[i]["qualified"] for i in range(nweeks)]
    q_total = sum(q_weekly)
    target = agreed.qualified_leads_per_month
    q_target = None if target is None else round(target * months, 1)
    commit("qualified_leads", "marketing", "qualified leads" + (f" ({target:g}/month)" if target is not None else ""),
           "not agreed" if q_target is None else q_target, q_total, None if q_target is None else q_total >= q_target,
           q_weekly)
    if q_target is not None and q_total < q_target:
        breaches.append(row("sla", "breach", "qualified_leads", side="marketing", who="marketing", what="qualified leads",
                            detail=f"{q_total} in the period, {q_target:g} agreed"))
    total = sum(by_week[i]["leads"] for i in range(nweeks))
    rejected = sum(by_week[i]["rejected"] for i in range(nweeks))
    share = ratio(rejected, total)
    ceiling = agreed.max_rejected_share
    commit("rejected_share", "marketing", "share of leads rejected by sales", "not agreed" if ceiling is None else ceiling,
           share, None if ceiling is None or share is None else share <= ceiling,
           [ratio(by_week[i]["rejected"], by_week[i]["leads"]) for i in range(nweeks)], f"{rejected} of {total} leads", "share")
    if ceiling is not None and share is not None and share > ceiling:
        breaches.append(row("sla", "breach", "rejected_share", side="marketing", who="marketing", what="rejected leads",
                            detail=f"{rejected} of {total} leads dismissed by sales ({share:.0%}), at most {ceiling:.0%} agreed"))

    # --- sales ---------------------------------------------------------------------------------
    due = sum(by_week[i]["due"] for i in range(nweeks))
    on_time = sum(by_week[i]["on_time"] for i in range(nweeks))
    att = ratio(on_time, due)
    commit("first_touch", "sales", f"first touch within {agreed.response_hours:g} business hours", 1.0, att,
           None if att is None else att >= 1.0, [ratio(by_week[i]["on_time"], by_week[i]["due"]) for i in range(nweeks)],
           f"{on_time} of {due} on time", "share")
    q_touched = sum(by_week[i]["qualified_touched"] for i in range(nweeks))
    t_share = ratio(q_touched, q_total)
    commit("touch_qualified", "sales", "qualified leads touched", agreed.touch_qualified_share, t_share,
           None if t_share is None else t_share >= agreed.touch_qualified_share,
           [ratio(by_week[i]["qualified_touched"], by_week[i]["qualified"]) for i in range(nweeks)],
           f"{q_touched} of {q_total}", "share")
    n = agreed.follow_up_attempts
    gave_up = [a for a in attempts if a["week"] is not None]
    kept = [a for a in gave_up if n is not None and a["attempts"] >= n]
    a_share = ratio(len(kept), len(gave_up)) if n is not None else None
    commit("follow_up_attempts", "sales", "follow-up attempts before giving up" + (f" ({n})" if n is not None else ""),
           "not agreed" if n is None else n, a_share, None if n is None or a_share is None else a_share >= 1.0,
           [ratio(sum(1 for a in gave_up if a["week"] == i and n is not None and a["attempts"] >= n),
                  sum(1 for a in gave_up if a["week"] == i)) for i in range(nweeks)],
           f"{len(kept)} of {len(gave_up)} closed without a sale after {n} or more replies" if n is not None else "",
           "share")
    if n is not None:
        for a in gave_up:
            if a["attempts"] < n:
                breaches.append(row("sla", "breach", f"attempts.{a['task']}", side="sales", who=a["owner"] or "unassigned",
                                    what=f"task #{a['task']}", detail=f"closed {a['outcome']} after {a['attempts']} "
                                    f"repl{'y' if a['attempts'] == 1 else 'ies'}, {n} agreed"))
    i_target = None if agreed.insights_per_month is None else round(agreed.insights_per_month * months, 1)
    i_total = sum(insights["weeks"].values())
    commit("insights", "sales", "insights fed back to marketing", "not agreed" if i_target is None else i_target, i_total,
           None if i_target is None else i_total >= i_target, [insights["weeks"].get(i, 0) for i in range(nweeks)],
           ", ".join(f"{who} {k}" for who, k in sorted(insights["by_rep"].items())))
    if i_target is not None and i_total < i_target:
        breaches.append(row("sla", "breach", "insights", side="sales", who="sales", what="insights",
                            detail=f"{i_total} fed back in the period, {i_target:g} agreed"))

    week_cols = [scope.week_label(i) for i in range(nweeks)]
    return Section("sla", "The SLA: did each side keep its commitments?", [
        Table("commitments", "Commitments and attainment", ["side", "commitment", "target", "actual", "met", "detail"],
              commitments),
        Table("trend", "Trend by week", ["commitment", *week_cols], trend),
        Table("breaches", "Breaches", ["side", "who", "what", "detail"], breaches),
    ], notes=[
        "A lead is a follow-up task; it is qualified when the person showed intent or reached the qualified stage; "
        "rejected when sales dismissed it. First touch: the rep's first reply or recorded outcome, on time when "
        "before the task's due time (response_hours in business hours).",
    ])


def _cadence(app: App, scope: Scope) -> dict[str, dict[int, int]]:
    """Published posts per channel account and week (the marketing section's deliveries); a rep's
    share of a brand post is not marketing's cadence (docs/advocacy.md)."""
    out: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for d in brand_posts(published(app, scope)):
        out[d["channel"]][scope.week_index(d["published_at"])] += 1
    return out


def _attempts(conn: Any, scope: Scope) -> list[dict[str, Any]]:
    """Follow-ups closed without a sale in the period, with the number of replies the rep sent."""
    frm, conds = task_source(scope)
    replies = (select(func.count()).select_from(N).where(N.c.task_id == T.c.id, N.c.kind == "reply")
               .scalar_subquery())
    q = (select(T.c.id, T.c.owner, T.c.outcome, replies, scope.week_of(T.c.closed_at)).select_from(frm)
         .where(T.c.outcome.in_(GAVE_UP), scope.in_period(T.c.closed_at), *conds).order_by(T.c.id))
    return [{"task": i, "owner": o, "outcome": oc, "attempts": n, "week": w} for i, o, oc, n, w in conn.execute(q).all()]


def _insights(app: App, scope: Scope) -> dict[str, Any]:
    """Insights fed back per week and per rep (the feedback section's counts)."""
    weeks: dict[int, int] = defaultdict(int)
    by_rep: dict[str, int] = defaultdict(int)
    for g in insight_groups(app, scope):
        weeks[g.week] += g.n
        by_rep[g.author or "unknown"] += g.n
    return {"weeks": weeks, "by_rep": by_rep}


#: follow-up breaches listed by name (the count covers them all; --owner narrows the list)
BREACHES_LISTED = 100


def _task_breaches(conn: Any, scope: Scope, now: Any, found: Leads) -> list[dict[str, Any]]:
    """Follow-ups touched late, or not touched and past due: the rep and the task. Never touched
    first, longest overdue first; at most BREACHES_LISTED, then one line with the rest's count."""
    frm, conds = task_source(scope)
    where = [scope.in_period(T.c.created_at), *conds, (first_touch > T.c.sla_due_at) | untouched_overdue(now)]
    q = (select(T.c.id, T.c.owner, T.c.sla_due_at, first_touch, qualified, C.c.display_name).select_from(frm)
         .where(*where).order_by(first_touch.is_not(None), T.c.sla_due_at, T.c.id).limit(BREACHES_LISTED))
    legacy = [(m.id, m.owner, m.deadline, m.touched, m.qualified, m.name) for m in found.legacy
              if not m.on_time and (m.touched is not None or m.deadline < now)]
    out = []
    for task_id, owner, due, touched, is_qualified, name in [*conn.execute(q), *legacy][:BREACHES_LISTED]:
        late = (touched or now) - due
        minutes = late.total_seconds() / 60
        by = f"{minutes:.0f} min" if minutes < 60 else f"{minutes / 60:.1f} h"
        kind = "first touch late" if touched else "not touched, past due"
        out.append(row("sla", "breach", f"first_touch.{task_id}", side="sales", who=owner or "unassigned",
                       what=f"task #{task_id}", detail=f"{kind} by {by} ({name or 'someone'}"
                       + (", qualified)" if is_qualified else ")")))
    # every follow-up that was due and not touched on time is a breach: the count is in ``found``
    total = found.total("due") - found.total("on_time")
    if len(out) == BREACHES_LISTED and total > BREACHES_LISTED:
        out.append(row("sla", "breach", "first_touch.more", side="sales", who="(more)", what=f"{total - BREACHES_LISTED} tasks",
                       detail=f"{total} follow-ups breached the first-touch SLA; narrow with --owner"))
    return out
