"""SQL building blocks the sections share: the filtered follow-ups (leads) and deliveries
(posts on one channel account), and when a follow-up was first touched."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, and_, case, exists, func, literal, or_, select, union_all

from socialsell.db import schema as t
from socialsell.reports.scope import Scope

T, C, E, D, P, N = t.tasks, t.contacts, t.engagements, t.deliveries, t.posts, t.notes
DL, DP = t.deals, t.deal_posts
#: the engagement that opened a follow-up, its delivery and its post
E_FIRST, D_FIRST, P_FIRST = E.alias("e_first"), D.alias("d_first"), P.alias("p_first")
OPEN_DEAL_STAGES = ("discovery", "proposal", "negotiation")
QUALIFIED_STAGES = ("qualified", "opportunity", "customer")
#: a lead is rejected when sales dismisses its follow-up (not a lead for us)
REJECTED = ("dismissed",)
#: outcomes after which sales gave up on a lead (the person did not buy)
GAVE_UP = ("lost", "not_interested")


def task_source(scope: Scope, origin: bool = False, contacts: bool = True) -> tuple[Any, list[Any]]:
    """(FROM clause, WHERE conditions) for follow-ups within the scope's filters. Channel and
    campaign are those of the post whose engagement opened the follow-up. With ``origin``, that
    post is outer-joined as ``p_first`` whatever the filters (for grouping by campaign); without
    ``contacts``, the contact is not joined (a statement that reads nothing of it)."""
    frm: Any = T.join(C, C.c.id == T.c.contact_id) if contacts else T
    conds: list[Any] = []
    if scope.owner:
        conds.append(T.c.owner == scope.owner)
    if scope.account_id or scope.campaign_id or origin:
        frm = (frm.outerjoin(E_FIRST, E_FIRST.c.id == T.c.first_engagement_id)
               .outerjoin(D_FIRST, D_FIRST.c.id == E_FIRST.c.delivery_id).outerjoin(P_FIRST, P_FIRST.c.id == D_FIRST.c.post_id))
        if scope.account_id:
            conds.append(E_FIRST.c.account_id == scope.account_id)
        if scope.campaign_id:
            conds.append(P_FIRST.c.campaign_id == scope.campaign_id)
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
#: the first-touch deadline is ``sla_due_at`` (migration 0005); null only for a follow-up moved
#: to a next step before 0005, whose deadline is recomputed from its creation (:func:`legacy_deadline`)
no_deadline = T.c.sla_due_at.is_(None)
#: touched on time, for a follow-up with its deadline stored
on_time_in_sql = and_(first_touch.is_not(None), first_touch <= T.c.sla_due_at)


def untouched_overdue(now: Any) -> Any:
    """Never touched, and past its first-touch deadline."""
    return and_(T.c.first_response_at.is_(None), T.c.replied_at.is_(None), T.c.closed_at.is_(None),
                T.c.sla_due_at < now)


def has_deal() -> Any:
    """True for a follow-up that a deal was opened from (its revenue is counted on the deal)."""
    return exists(select(DL.c.id).where(DL.c.task_id == T.c.id))


def sales_outcomes(scope: Scope) -> Any:
    """Deals, one row each, as a subquery, and follow-ups closed as not interested: from the deals
    table (source socialsell or a CRM), and for follow-ups closed as opportunity, won or lost with
    no deal opened from them (from before deals existed) the follow-up itself, so no revenue is
    counted twice. A follow-up closed as not interested is no deal: its state says so, and it never
    counts as lost. Columns: key, owner, contact_id, state (open | won | lost | not_interested),
    amount, opened_at, closed_at, source."""
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
    t_state = case((T.c.outcome == "won", "won"), (T.c.outcome == "opportunity", "open"),
                   (T.c.outcome == "lost", "lost"), else_="not_interested")
    tasks = (select((literal("task:") + func.cast(T.c.id, String)).label("key"), T.c.owner, T.c.contact_id,
                    t_state.label("state"), T.c.amount, T.c.closed_at.label("opened_at"),
                    case((T.c.outcome == "opportunity", None), else_=T.c.closed_at).label("closed_at"),
                    literal("socialsell").label("source"))
             .select_from(frm).where(or_(and_(T.c.outcome.in_(("opportunity", "won", "lost")), ~has_deal()),
                                         T.c.outcome == "not_interested"), *conds))
    return union_all(deals, tasks).subquery("outcomes")


def days_between(conn: Any, later: Any, earlier: Any) -> Any:
    """SQL: the days from ``earlier`` to ``later`` as a number, so no datetime has to come back to
    Python for a difference (julianday on SQLite, the interval's epoch on PostgreSQL)."""
    if conn.dialect.name == "sqlite":
        return func.julianday(later) - func.julianday(earlier)
    return func.extract("epoch", later - earlier) / 86400


def as_utc(value: Any) -> datetime | None:
    """A time read raw (``type_coerce(column, String)``: text on SQLite, a naive datetime on
    PostgreSQL) as aware UTC; for a column read once per group rather than once per row."""
    if value is None or isinstance(value, datetime) and value.tzinfo is not None:
        return value
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC)


def legacy_deadline(app: Any, created: Any, intent: bool) -> Any:
    """The first-touch deadline of a follow-up that has none stored (moved to a next step before
    migration 0005): ``response_hours``, or ``high_intent_hours`` with intent, from its creation."""
    # imported here: routing brings the sales modules (tasks, contacts, scoring: about 20 ms),
    # which a report whose follow-ups all have their deadline stored never needs (docs/reports.md, "Speed")
    from socialsell.sales.routing import due_time  # noqa: PLC0415 - measured import cost on the report's path (see above)

    return due_time(app, created, intent)
