"""SQL building blocks the sections share: the filtered follow-ups (leads) and deliveries
(posts on one channel account), and when a follow-up was first touched."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, case, or_

from socialsell.db import schema as t
from socialsell.reports.scope import Scope

T, C, E, D, P, N = t.tasks, t.contacts, t.engagements, t.deliveries, t.posts, t.notes
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


#: when the rep first touched the lead: their first reply or the recorded outcome, whichever came first
first_touch = case(
    (T.c.replied_at.is_(None), T.c.closed_at),
    (T.c.closed_at.is_(None), T.c.replied_at),
    (T.c.replied_at < T.c.closed_at, T.c.replied_at),
    else_=T.c.closed_at,
)
qualified = or_(T.c.intent.is_(True), C.c.stage.in_(QUALIFIED_STAGES))


def untouched_overdue(now: Any) -> Any:
    """Never touched, and past its first-touch deadline."""
    return and_(T.c.replied_at.is_(None), T.c.closed_at.is_(None), T.c.due_at < now)
