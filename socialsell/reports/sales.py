"""The sales section, one-to-one: follow-ups created, first-response time in business hours
(median, 90th percentile), SLA attainment per rep, the funnel by stage with conversion rates,
meetings, deals opened, win rate, revenue won, and time from first engagement to won."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from sqlalchemy import exists, func, select

from socialsell.reports.facts import leads
from socialsell.reports.model import Section, Table, ratio, row
from socialsell.reports.queries import C, D, E, P, T, days_between, sales_outcomes, task_source
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
    found = leads(app, scope)
    frm, conds = task_source(scope)
    with app.db.read() as conn:
        meetings = dict(conn.execute(
            select(T.c.owner, func.count()).select_from(frm)
            .where((T.c.outcome == "meeting") | (T.c.first_response_kind == "meeting"),
                   scope.in_period(func.coalesce(T.c.first_response_at, T.c.closed_at)), *conds)
            .group_by(T.c.owner)).all())
        deals = _outcomes(conn, scope)
        funnel = _funnel(conn, scope)

    response: dict[str | None, list[float]] = defaultdict(list)
    windows: dict[Any, Any] = {}
    for task in found.touched:
        bh = business_seconds(task.created_at, task.touched, hours, scope.tz, holidays, windows)
        response[task.owner].append(bh)
        response["\0team"].append(bh)
    owners = sorted({o for o, _, _ in found.counts} | set(deals) | set(meetings), key=lambda o: (o is None, o or ""))

    def figures(key: Any, label: str, owner: Any, resp: list[float], met: int, outs: dict[str, Any]) -> dict[str, Any]:
        on_time, due = found.total("on_time", owner=owner), found.total("due", owner=owner)
        won, lost = outs["won"], outs["lost"]
        return row("sales", "rep", key, rep=label, tasks=found.total("leads", owner=owner), on_time=on_time,
                   attainment=ratio(on_time, due), response_median_h=_hours(middle(resp)),
                   response_p90_h=_hours(percentile(resp, 90)), meetings=met, deals=outs["opened"], won=won, lost=lost,
                   win_rate=ratio(won, won + lost), revenue=round(outs["revenue"], 2),
                   not_interested=outs["not_interested"])

    reps = [figures(o or "unassigned", o or "unassigned", o, response.get(o, []), meetings.get(o, 0),
                    deals.get(o, _no_outcomes())) for o in owners]
    team_outs = _no_outcomes()
    for outs in deals.values():
        for k in ("opened", "won", "lost", "not_interested", "revenue"):
            team_outs[k] += outs[k]
        team_outs["days_to_won"] += outs["days_to_won"]
    team = figures("team", "team", ..., response.get("\0team", []), sum(meetings.values()), team_outs)
    team["days_to_won_median"] = None if not team_outs["days_to_won"] else round(middle(team_outs["days_to_won"]) or 0.0, 1)
    columns = ["rep", "tasks", "attainment", "response_median_h", "response_p90_h", "meetings", "deals", "won",
               "lost", "win_rate", "revenue"]
    return Section("sales", "Sales: response, conversion, revenue", [
        Table("team", "The team", [*columns[1:], "not_interested", "days_to_won_median"], [team]),
        Table("rep", "Per rep", [*columns, "not_interested"], reps, chart=("bar", "rep", "response_median_h")),
        Table("funnel", "Funnel (people first seen in the period)", ["stage", "people", "conversion"], funnel,
              chart=("funnel", "stage", "people")),
    ], notes=[
        "Response times count business hours only (sla.business_hours), from the follow-up's creation to the rep's "
        "first touch. Deals come from the deals table (socialsell or a CRM), and for follow-ups with no deal, "
        "those closed as opportunity, won or lost; revenue is what was won in the period; win rate is won over won "
        "plus lost, where lost is a deal lost (or a follow-up with no deal closed as lost). A follow-up closed as "
        "not interested is no deal and never counts as lost: it is counted apart (not_interested).",
    ])


def _no_outcomes() -> dict[str, Any]:
    return {"opened": 0, "won": 0, "lost": 0, "not_interested": 0, "revenue": 0.0, "days_to_won": []}


def _outcomes(conn: Any, scope: Scope) -> dict[str | None, dict[str, Any]]:
    """Per owner: deals opened in the period, won, lost (and revenue won) and follow-ups closed as
    not interested in it, and the days from each winner's first engagement to the win; one
    statement over the deals opened or closed in the period (a few rows each)."""
    o = sales_outcomes(scope)
    opened, closed = scope.in_period(o.c.opened_at), scope.in_period(o.c.closed_at)
    q = (select(o.c.owner, o.c.state, opened, closed, o.c.amount, days_between(conn, o.c.closed_at, C.c.first_seen_at))
         .select_from(o.outerjoin(C, C.c.id == o.c.contact_id)).where(opened | closed))
    out: dict[str | None, dict[str, Any]] = defaultdict(_no_outcomes)
    for owner, state, was_opened, was_closed, amount, days in conn.execute(q).all():
        mine = out[owner]
        if state == "not_interested":
            mine["not_interested"] += bool(was_closed)
            continue
        mine["opened"] += bool(was_opened)
        if was_closed and state in ("won", "lost"):
            mine[state] += 1
        if was_closed and state == "won":
            mine["revenue"] += float(amount or 0.0)
            if days is not None:
                mine["days_to_won"].append(float(days))
    return out


def _funnel(conn: Any, scope: Scope) -> list[dict[str, Any]]:
    """How many people reached each stage, and the share of the previous stage that did."""
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
    by_stage = dict(conn.execute(select(C.c.stage, func.count()).where(*conds).group_by(C.c.stage)).all())
    # a stage counts everyone who reached it or went further; everyone first seen counts as
    # engaged, disqualified included
    people = [sum(n for stage, n in by_stage.items() if stage in FUNNEL[i:]) for i in range(len(FUNNEL))]
    people[0] = sum(by_stage.values())
    return [row("sales", "funnel", stage, stage=stage, people=people[i],
                conversion=None if i == 0 else ratio(people[i], people[i - 1]))
            for i, stage in enumerate(FUNNEL)]
