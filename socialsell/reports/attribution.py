"""Attribution: the revenue of won deals credited to the posts that started and moved them, and
from there to campaigns, channels and templates (docs/reports.md).

Models (``--model``): ``first`` credits the whole amount to the first post the buyer engaged
with, ``last`` to the last one before the win, ``linear`` splits it evenly across every post
they engaged with. A campaign with a budget gets cost per lead, cost per qualified lead and
return on spend.

Where the revenue comes from: won deals (``deals.source``: ``socialsell`` or the CRM that holds
the deal), credited to their ``deal_posts``; and follow-ups closed as won with no deal opened
from them (from before deals existed, source ``socialsell``), credited to the buyer's
engagements with our posts up to the win.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, func, select

from socialsell.db import schema as t
from socialsell.reports.model import Section, Table, row
from socialsell.reports.queries import DL, DP, C, D, E, P, T, has_deal, qualified, task_source
from socialsell.reports.scope import Scope

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App

A, CA = t.accounts, t.campaigns


def won_deals(conn: Any, scope: Scope | None) -> list[dict[str, Any]]:
    """Every deal won in the scope with its amount, source and touches (posts, in order).

    Deals from the deals table are credited to their ``deal_posts`` (fixed when the deal opened);
    a follow-up closed as won with no deal opened from it (from before deals existed) is credited
    to the posts its buyer engaged with up to the win."""
    out = _table_deals(conn, scope)
    out.extend(_followup_deals(conn, scope))
    out.sort(key=lambda d: (d["closed_at"], d["deal"]))
    return out


def _post_columns() -> tuple[Any, Any]:
    """(FROM, channel) for a post's first published delivery's account: a post sent to several
    channels is credited to the first it went out on."""
    first = (select(D.c.post_id, func.min(D.c.id).label("delivery")).where(D.c.status == "published")
             .group_by(D.c.post_id).subquery())
    return first, A.c.name


def _table_deals(conn: Any, scope: Scope | None) -> list[dict[str, Any]]:
    conds = [DL.c.stage == "won"]
    if scope is not None:
        conds.append(scope.in_period(DL.c.closed_at))
        if scope.owner:
            conds.append(DL.c.owner == scope.owner)
    deals = {f"deal:{i}": {"deal": f"deal:{i}", "contact": name, "owner": owner, "amount": float(amount or 0.0),
                           "closed_at": at, "source": source, "touches": []}
             for i, name, owner, amount, at, source in conn.execute(
                 select(DL.c.id, C.c.display_name, DL.c.owner, DL.c.amount, DL.c.closed_at, DL.c.source)
                 .join(C, C.c.id == DL.c.contact_id).where(*conds).order_by(DL.c.closed_at, DL.c.id))}
    if not deals:
        return []
    first, channel = _post_columns()
    ids = [int(k.split(":")[1]) for k in deals]
    q = (select(DP.c.deal_id, DP.c.post_id, DP.c.first_touch_at, channel, CA.c.name, P.c.template, P.c.text)
         .select_from(DP.join(P, P.c.id == DP.c.post_id).outerjoin(first, first.c.post_id == P.c.id)
                      .outerjoin(D, D.c.id == first.c.delivery).outerjoin(A, A.c.id == D.c.account_id)
                      .outerjoin(CA, CA.c.id == P.c.campaign_id))
         .where(DP.c.deal_id.in_(ids)).order_by(DP.c.deal_id, DP.c.position))
    for deal_id, post, at, chan, campaign, template, text in conn.execute(q):
        deals[f"deal:{deal_id}"]["touches"].append(_touch(post, at, chan, campaign, template, text))
    return list(deals.values())


def _touch(post: int, at: Any, channel: str | None, campaign: str | None, template: str | None, text: str | None) -> dict[str, Any]:
    return {"post": post, "at": at, "channel": channel or "(none)", "campaign": campaign, "template": template,
            "text": text.splitlines()[0] if text else ""}


def _followup_deals(conn: Any, scope: Scope | None) -> list[dict[str, Any]]:
    frm, conds = task_source(scope) if scope is not None else (T.join(C, C.c.id == T.c.contact_id), [])
    where = [T.c.outcome == "won", ~has_deal(), *conds]
    if scope is not None:
        where.append(scope.in_period(T.c.closed_at))
    deals = {i: {"deal": f"task:{i}", "contact": name, "owner": owner, "amount": amount or 0.0, "closed_at": at,
                 "source": "socialsell", "touches": []}
             for i, name, owner, amount, at in conn.execute(
                 select(T.c.id, C.c.display_name, T.c.owner, T.c.amount, T.c.closed_at).select_from(frm).where(*where)
                 .order_by(T.c.closed_at, T.c.id))}
    if not deals:
        return []
    won = select(T.c.id, T.c.contact_id, T.c.closed_at).select_from(frm).where(*where).subquery()
    first_at = func.min(E.c.occurred_at)
    q = (select(won.c.id, D.c.post_id, first_at, A.c.name, CA.c.name, P.c.template, P.c.text)
         .select_from(won.join(E, E.c.contact_id == won.c.contact_id).join(D, D.c.id == E.c.delivery_id)
                      .join(P, P.c.id == D.c.post_id).join(A, A.c.id == D.c.account_id)
                      .outerjoin(CA, CA.c.id == P.c.campaign_id))
         .where(E.c.occurred_at <= won.c.closed_at, E.c.ignored.is_(None))
         .group_by(won.c.id, D.c.post_id, A.c.name, CA.c.name, P.c.template, P.c.text)
         .order_by(won.c.id, first_at, D.c.post_id))
    for deal_id, post, at, chan, campaign, template, text in conn.execute(q):
        deals[deal_id]["touches"].append(_touch(post, at, chan, campaign, template, text))
    return list(deals.values())


def credit(deals: list[dict[str, Any]], model: str) -> list[tuple[dict[str, Any], dict[str, Any], float]]:
    """(deal, touch, credited amount) under the model; a deal with no touch credits nothing."""
    out = []
    for deal in deals:
        touches = deal["touches"]
        if not touches:
            continue
        if model == "first":
            out.append((deal, touches[0], deal["amount"]))
        elif model == "last":
            out.append((deal, touches[-1], deal["amount"]))
        else:
            out.extend((deal, touch, deal["amount"] / len(touches)) for touch in touches)
    return out


def campaign_leads(conn: Any, scope: Scope | None) -> dict[str | None, tuple[int, int]]:
    """Campaign name -> (leads, qualified leads) opened by its posts."""
    frm, conds = task_source(scope) if scope is not None else (T.join(C, C.c.id == T.c.contact_id), [])
    e1 = E.alias("e_lead")
    where = list(conds) + ([scope.in_period(T.c.created_at)] if scope is not None else [])
    q = (select(CA.c.name, func.count(), func.sum(case((qualified, 1), else_=0)))
         .select_from(frm.join(e1, e1.c.id == T.c.first_engagement_id).join(D, D.c.id == e1.c.delivery_id)
                      .join(P, P.c.id == D.c.post_id).outerjoin(CA, CA.c.id == P.c.campaign_id))
         .where(*where).group_by(CA.c.name))
    return {name: (n, int(q or 0)) for name, n, q in conn.execute(q)}


def campaign_money(revenue: float, leads: int, qualified_leads: int, budget: float | None) -> dict[str, Any]:
    """Cost per lead, cost per qualified lead and return on spend ((revenue - budget) / budget)."""
    if not budget:
        return {"budget": budget, "cost_per_lead": None, "cost_per_qualified": None, "return_on_spend": None}
    return {"budget": budget, "cost_per_lead": round(budget / leads, 2) if leads else None,
            "cost_per_qualified": round(budget / qualified_leads, 2) if qualified_leads else None,
            "return_on_spend": round((revenue - budget) / budget, 3)}


def attribution_section(app: App, scope: Scope) -> Section:
    """Revenue by post, campaign, channel and template under the chosen model, and each deal's source."""
    with app.db.read() as conn:
        deals = won_deals(conn, scope)
        leads = campaign_leads(conn, scope)
        budgets = dict(conn.execute(select(CA.c.name, CA.c.budget)).all())
        posts_per_campaign = dict(conn.execute(
            select(CA.c.name, func.count(func.distinct(D.c.post_id)))
            .select_from(D.join(P, P.c.id == D.c.post_id).outerjoin(CA, CA.c.id == P.c.campaign_id))
            .where(D.c.status == "published", scope.in_period(D.c.published_at)).group_by(CA.c.name)).all())
    credits = credit(deals, scope.model)
    if scope.channel:
        credits = [c for c in credits if c[1]["channel"] == scope.channel]
    if scope.campaign:
        credits = [c for c in credits if c[1]["campaign"] == scope.campaign]

    def by(key: str) -> dict[Any, dict[str, Any]]:
        acc: dict[Any, dict[str, Any]] = defaultdict(lambda: {"revenue": 0.0, "deals": set()})
        for deal, touch, amount in credits:
            acc[touch[key]]["revenue"] += amount
            acc[touch[key]]["deals"].add(deal["deal"])
        return acc

    posts = by("post")
    texts = {touch["post"]: touch for _, touch, _ in credits}
    post_rows = [row("attribution", "post", p, post=p, text=texts[p]["text"][:60], channel=texts[p]["channel"],
                     campaign=texts[p]["campaign"] or "(none)", deals=len(v["deals"]), revenue=round(v["revenue"], 2))
                 for p, v in sorted(posts.items(), key=lambda kv: (-kv[1]["revenue"], kv[0]))]
    campaigns = by("campaign")
    names = sorted(set(campaigns) | {n for n in leads if n is not None and (not scope.campaign or n == scope.campaign)},
                   key=lambda n: (n is None, -(campaigns[n]["revenue"] if n in campaigns else 0), n or ""))
    campaign_rows = []
    for name in names:
        revenue = round(campaigns[name]["revenue"], 2) if name in campaigns else 0.0
        n, q = leads.get(name, (0, 0))
        posted = posts_per_campaign.get(name, 0)
        campaign_rows.append(row("attribution", "campaign", name or "(none)", campaign=name or "(none)",
                                 deals=len(campaigns[name]["deals"]) if name in campaigns else 0, revenue=revenue,
                                 posts=posted, revenue_per_post=round(revenue / posted, 2) if posted else None,
                                 leads=n, qualified=q, **campaign_money(revenue, n, q, budgets.get(name))))

    def simple(key: str, table: str) -> list[dict[str, Any]]:
        acc = by(key)
        return [row("attribution", table, k or "(none)", **{key: k or "(none)"}, deals=len(v["deals"]),
                    revenue=round(v["revenue"], 2)) for k, v in sorted(acc.items(), key=lambda kv: -kv[1]["revenue"])]

    deal_rows = [row("attribution", "deal", d["deal"], deal=d["deal"], contact=d["contact"], owner=d["owner"],
                     amount=d["amount"], source=d["source"], posts=" ".join(f"#{x['post']}" for x in d["touches"]) or "-",
                     days_to_won=round((d["closed_at"] - d["touches"][0]["at"]).total_seconds() / 86400, 1)
                     if d["touches"] else None)
                 for d in deals]
    return Section("attribution", f"Attribution: revenue traced to posts ({scope.model} touch)", [
        Table("post", "Revenue by post", ["post", "text", "channel", "campaign", "deals", "revenue"], post_rows),
        Table("campaign", "Revenue by campaign", ["campaign", "deals", "revenue", "revenue_per_post", "leads",
                                                  "budget", "cost_per_lead", "cost_per_qualified", "return_on_spend"],
              campaign_rows, chart=("bar", "campaign", "revenue")),
        Table("channel", "Revenue by channel", ["channel", "deals", "revenue"], simple("channel", "channel")),
        Table("template", "Revenue by template", ["template", "deals", "revenue"], simple("template", "template")),
        Table("deal", "Won deals and where each figure came from",
              ["deal", "contact", "owner", "amount", "source", "posts", "days_to_won"],
              deal_rows),
    ], notes=[
        f"Model: {scope.model} touch (--model first|last|linear). A deal's source is where it lives (socialsell or a "
        "CRM); deal:N is credited to the posts fixed when it opened, task:N (a follow-up won with no deal) to the "
        "buyer's engagements with our posts up to the win. Return on spend is (revenue - budget) / budget, with the "
        "campaign's whole budget.",
    ])
