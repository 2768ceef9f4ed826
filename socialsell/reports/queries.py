"""SQL building blocks the sections share: the filtered follow-ups (leads) and deliveries
(posts on one channel account), and when a follow-up was first touched."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, and_, case, exists, func, literal, or_, select, union_all

from socialsell.db import schema as t
from socialsell.reports.scope import Scope
from socialsell.sales.routing import due_time

T, C, E, D, P, N = t.tasks, t.contacts, t.engagements, t.deliveries, t.posts, t.notes
DL, DP = t.deals, t.deal_posts
OPEN_DEAL_STAGES = ("discovery", "proposal", "negotiation")
QUALIFIED_STAGES = ("qualified", "opportunity", "customer")
#: a lead is rejected when sales dismisses its follow-up (not a lead for us)
REJECTED = ("dismissed",)
#: outcomes after which sales gave up on a lead (the person did not buy)
GAVE_UP = ("lost", "not_interested")


def task_source(scope: Scope) -> tuple[Any, list[Any]]:
    """(FROM clause, WHERE conditions) for follow-ups within the scope's filters. Channel and
    campaign are those of the post whose engagement opened the follow-up."""
    frm: Any = T.join(C, C.c.id == T.c.contact_id)
    conds: list[Any] = []
    if scope.owner:
        conds.append(T.c.owner == scope.owner)
    if scope.account_id or scope.campaign_id:
        e1, d1, p1 = E.alias("e_first"), D.alias("d_first"), P.alias("p_first")
        frm = frm.join(e1, e1.c.id == T.c.first_engagement_id)
        if scope.account_id:
            conds.append(e1.c.account_id == scope.account_id)
        if scope.campaign_id:
            frm = frm.join(d1, d1.c.id == e1.c.delivery_id).join(p1, p1.c.id == d1.c.post_id)
            conds.append(p1.c.campaign_id == scope.campaign_id)
    return frm, conds


def delivery_conditions(scope: Scope) -> list[Any]:
    """WHERE conditions on deliveries (joined to posts) for the channel and campaign filters."""
    conds: list[Any] = []
    if scope.account_id:
        conds.append(D.c.account_id == scope.account_id)
    if scope.campaign_id:
        conds.append(P.c.campaign_id == scope.campaign_id)
    return conds


#: when the rep first touched the lead: the recorded first response (a reply, a logged call, email,
#: dm or meeting, or an outcome); for follow-ups from before it was recorded, the first reply or
#: the outcome, whichever came first
first_touch = case(
    (T.c.first_response_at.is_not(None), T.c.first_response_at),
    (T.c.replied_at.is_(None), T.c.closed_at),
    (T.c.closed_at.is_(None), T.c.replied_at),
    (T.c.replied_at < T.c.closed_at, T.c.replied_at),
    else_=T.c.closed_at,
)
qualified = or_(T.c.intent.is_(True), C.c.stage.in_(QUALIFIED_STAGES))


def untouched_overdue(now: Any) -> Any:
    """Never touched, and past its first-touch deadline."""
    return and_(T.c.first_response_at.is_(None), T.c.replied_at.is_(None), T.c.closed_at.is_(None), T.c.due_at < now)


def has_deal() -> Any:
    """True for a follow-up that a deal was opened from (its revenue is counted on the deal)."""
    return exists(select(DL.c.id).where(DL.c.task_id == T.c.id))


def sales_outcomes(scope: Scope) -> Any:
    """Deals, one row each, as a subquery: from the deals table (source socialsell or a CRM), and
    for follow-ups closed as opportunity, won, lost or not interested with no deal opened from
    them (from before deals existed) the follow-up itself, so no revenue is counted twice.
    Columns: key, owner, contact_id, state (open | won | lost), amount, opened_at, closed_at, source."""
    state = case((DL.c.stage == "won", "won"), (DL.c.stage == "lost", "lost"), else_="open")
    deal_conds: list[Any] = []
    if scope.owner:
        deal_conds.append(DL.c.owner == scope.owner)
    if scope.campaign_id:
        deal_conds.append(DL.c.campaign_id == scope.campaign_id)
    if scope.account_id:
        deal_conds.append(exists(select(DP.c.post_id).join(D, D.c.post_id == DP.c.post_id)
                                 .where(DP.c.deal_id == DL.c.id, D.c.account_id == scope.account_id)))
    deals = select((literal("deal:") + func.cast(DL.c.id, String)).label("key"), DL.c.owner, DL.c.contact_id,
                   state.label("state"), DL.c.amount, DL.c.opened_at, DL.c.closed_at, DL.c.source).where(*deal_conds)
    frm, conds = task_source(scope)
    t_state = case((T.c.outcome == "won", "won"), (T.c.outcome == "opportunity", "open"), else_="lost")
    tasks = (select((literal("task:") + func.cast(T.c.id, String)).label("key"), T.c.owner, T.c.contact_id,
                    t_state.label("state"), T.c.amount, T.c.closed_at.label("opened_at"),
                    case((T.c.outcome == "opportunity", None), else_=T.c.closed_at).label("closed_at"),
                    literal("socialsell").label("source"))
             .select_from(frm).where(T.c.outcome.in_(("opportunity", "won", *GAVE_UP)), ~has_deal(), *conds))
    return union_all(deals, tasks).subquery("outcomes")


#: a follow-up given a next step (``task next``, ``task log ... --next``) is due at that step, so
#: its due time no longer says when the first touch was due: such tasks are judged in Python
#: against the first-touch deadline recomputed from their creation (:func:`moved_tasks`)
moved_to_next_step = T.c.next_step_due.is_not(None)
#: touched on time, for a task whose due time is still its first-touch deadline
on_time_in_sql = and_(first_touch.is_not(None), ~moved_to_next_step, first_touch <= T.c.due_at)


def moved_tasks(conn: Any, app: Any, scope: Scope) -> list[dict[str, Any]]:
    """Follow-ups created in the scope whose due time moved to a next step, each with its
    first-touch deadline recomputed (``response_hours``, or ``high_intent_hours`` with intent,
    in business hours from creation) and whether the first touch met it."""
    frm, conds = task_source(scope)
    rows = conn.execute(select(T.c.id, T.c.owner, T.c.created_at, T.c.intent, first_touch, qualified, C.c.display_name,
                               scope.week_of(T.c.created_at))
                        .select_from(frm).where(scope.in_period(T.c.created_at), moved_to_next_step, *conds)).all()
    out = []
    for task_id, owner, created, intent, touched, is_qualified, name, week in rows:
        deadline = due_time(app, created, bool(intent))
        out.append({"id": task_id, "owner": owner, "week": week, "touched": touched, "deadline": deadline,
                    "on_time": touched is not None and touched <= deadline, "qualified": is_qualified, "name": name})
    return out
