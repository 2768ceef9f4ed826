"""The sales section, one-to-one: follow-ups created, first-response time in business hours
(median, 90th percentile), SLA attainment per rep, the funnel by stage with conversion rates,
meetings, deals opened, win rate, revenue won, and time from first engagement to won."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, exists, func, select

from socialsell.reports.model import Section, Table, ratio, row
from socialsell.reports.queries import (
    C,
    D,
    E,
    P,
    T,
    first_touch,
    moved_tasks,
    on_time_in_sql,
    sales_outcomes,
    task_source,
)
from socialsell.reports.scope import Scope
from socialsell.reports.timing import business_seconds, middle, percentile

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App

FUNNEL = ["engaged", "lead", "qualified", "opportunity", "customer"]


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def sales_section(app: App, scope: Scope) -> Section:
    """Per rep and for the team: response, attainment, meetings, deals, win rate, revenue; the funnel."""
    sla = app.workspace.settings.sla
    hours, holidays = sla.business_hours, sla.holidays
    now = min(app.now(), scope.until)
    frm, conds = task_source(scope)
    with app.db.read() as conn:
        created = conn.execute(
            select(T.c.owner, func.count(), func.sum(case((on_time_in_sql, 1), else_=0)),
                   func.sum(case((first_touch.is_not(None) | (T.c.due_at < now), 1), else_=0)))
            .select_from(frm).where(scope.in_period(T.c.created_at), *conds).group_by(T.c.owner)).all()
        touches = conn.execute(
            select(T.c.owner, T.c.created_at, first_touch).select_from(frm)
            .where(scope.in_period(T.c.created_at), first_touch.is_not(None), *conds)).all()
        meetings = dict(conn.execute(
            select(T.c.owner, func.count()).select_from(frm)
            .where((T.c.outcome == "meeting") | (T.c.first_response_kind == "meeting"),
                   scope.in_period(func.coalesce(T.c.first_response_at, T.c.closed_at)), *conds)
            .group_by(T.c.owner)).all())
        o = sales_outcomes(scope)
        opened = dict(conn.execute(select(o.c.owner, func.count()).where(scope.in_period(o.c.opened_at))
                                   .group_by(o.c.owner)).all())
        closed = conn.execute(select(o.c.owner, o.c.state, func.count(), func.sum(o.c.amount))
                              .where(scope.in_period(o.c.closed_at)).group_by(o.c.owner, o.c.state)).all()
        won_days = [((closed_at - first_seen).total_seconds() / 86400) for closed_at, first_seen in conn.execute(
            select(o.c.closed_at, C.c.first_seen_at).select_from(o.join(C, C.c.id == o.c.contact_id))
            .where(o.c.state == "won", scope.in_period(o.c.closed_at)))]
        funnel = _funnel(conn, scope)
        moved = moved_tasks(conn, app, scope)

    response: dict[str | None, list[float]] = defaultdict(list)
    for owner, created_at, touched in touches:
        bh = business_seconds(created_at, touched, hours, scope.tz, holidays)
        response[owner].append(bh)
        response["\0team"].append(bh)
    outcomes: dict[str | None, dict[str, tuple[int, float]]] = defaultdict(dict)
    for owner, state, n, amount in closed:
        outcomes[owner][state] = (n, float(amount or 0.0))
    owners = sorted({o for o, *_ in created} | set(outcomes) | set(opened) | set(meetings),
                    key=lambda o: (o is None, o or ""))

    def figures(key: Any, label: str, made: int, on_time: int, due: int, resp: list[float], met: int, deals: int,
                outs: dict[str, tuple[int, float]]) -> dict[str, Any]:
        won, lost = outs.get("won", (0, 0.0)), outs.get("lost", (0, 0.0))
        return row("sales", "rep", key, rep=label, tasks=made, on_time=on_time, attainment=ratio(on_time, due),
                   response_median_h=_hours(middle(resp)), response_p90_h=_hours(percentile(resp, 90)),
                   meetings=met, deals=deals, won=won[0], win_rate=ratio(won[0], won[0] + lost[0]),
                   revenue=round(won[1], 2))

    by_owner = {o: (n, int(ot or 0), int(du or 0)) for o, n, ot, du in created}
    for task in moved:  # due at a next step now: on time against the first-touch deadline
        n, ot, du = by_owner[task["owner"]]
        by_owner[task["owner"]] = (n, ot + task["on_time"], du)
    reps = [figures(o or "unassigned", o or "unassigned", *by_owner.get(o, (0, 0, 0)), response.get(o, []),
                    meetings.get(o, 0), opened.get(o, 0), outcomes.get(o, {})) for o in owners]
    team_outs: dict[str, tuple[int, float]] = {}
    for outs in outcomes.values():
        for k, (n, a) in outs.items():
            team_outs[k] = (team_outs.get(k, (0, 0.0))[0] + n, team_outs.get(k, (0, 0.0))[1] + a)
    team = figures("team", "team", sum(v[0] for v in by_owner.values()), sum(v[1] for v in by_owner.values()),
                   sum(v[2] for v in by_owner.values()), response.get("\0team", []), sum(meetings.values()),
                   sum(opened.values()), team_outs)
    team["days_to_won_median"] = None if not won_days else round(middle(won_days) or 0.0, 1)
    columns = ["rep", "tasks", "attainment", "response_median_h", "response_p90_h", "meetings", "deals", "won",
               "win_rate", "revenue"]
    return Section("sales", "Sales: response, conversion, revenue", [
        Table("team", "The team", [*columns[1:], "days_to_won_median"], [team]),
        Table("rep", "Per rep", columns, reps, chart=("bar", "rep", "response_median_h")),
        Table("funnel", "Funnel (people first seen in the period)", ["stage", "people", "conversion"], funnel,
              chart=("funnel", "stage", "people")),
    ], notes=[
        "Response times count business hours only (sla.business_hours), from the follow-up's creation to the rep's "
        "first touch. Deals come from the deals table (socialsell or a CRM), and for follow-ups with no deal, "
        "those closed as opportunity or won; revenue is what was won in the period; win rate is won over won plus "
        "lost (a follow-up with no deal closed as lost or not interested counts as lost).",
    ])


def _funnel(conn: Any, scope: Scope) -> list[dict[str, Any]]:
    """How many people reached each stage, and the share of the previous stage that did."""
    reached = {stage: C.c.stage.in_(FUNNEL[i:]) for i, stage in enumerate(FUNNEL)}
    conds = [C.c.merged_into.is_(None), scope.in_period(C.c.first_seen_at)]
    if scope.owner:
        conds.append(C.c.owner == scope.owner)
    if scope.account_id or scope.campaign_id:
        via = select(E.c.id).where(E.c.contact_id == C.c.id)
        if scope.account_id:
            via = via.where(E.c.account_id == scope.account_id)
        if scope.campaign_id:
            via = via.join(D, D.c.id == E.c.delivery_id).join(P, P.c.id == D.c.post_id) \
                .where(P.c.campaign_id == scope.campaign_id)
        conds.append(exists(via))
    counts = conn.execute(select(*(func.sum(case((and_(cond), 1), else_=0)) for cond in reached.values()),
                                 func.count()).where(*conds)).one()
    people = [int(c or 0) for c in counts[:-1]]
    people[0] = int(counts[-1] or 0)  # everyone first seen counts as engaged, disqualified included
    return [row("sales", "funnel", stage, stage=stage, people=people[i],
                conversion=None if i == 0 else ratio(people[i], people[i - 1]))
            for i, stage in enumerate(FUNNEL)]
