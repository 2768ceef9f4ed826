"""Attribution: the revenue of won deals credited to the posts that started and moved them, and
from there to campaigns, channels and templates (docs/reports.md).

Models (``--model``): ``first`` credits the whole amount to the first post the buyer engaged
with, ``last`` to the last one before the win, ``linear`` splits it evenly across every post
they engaged with. A post sent to several channels passes its credit on to the channels the
buyer engaged with it on: under ``first`` the one of their first engagement with it, under
``last`` the one of their last, under ``linear`` evenly across them; where their engagements
do not say (a CRM's deal), evenly across the channels the post went out on. Nothing is counted
twice: a deal's credits always add up to its amount. A campaign with a budget gets cost per
lead, cost per qualified lead and return on spend, with the part of the budget spent in the
period.

Where the revenue comes from: won deals (``deals.source``: ``socialsell`` or the CRM that holds
the deal), credited to their ``deal_posts``; and follow-ups closed as won with no deal opened
from them (from before deals existed, source ``socialsell``), credited to the buyer's
engagements with our posts up to the win.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, and_, func, select, type_coerce

from socialsell.db import schema as t
from socialsell.reports.facts import leads
from socialsell.reports.marketing import published
from socialsell.reports.model import Section, Table, row
from socialsell.reports.queries import (
    DL,
    DP,
    C,
    D,
    E,
    P,
    T,
    as_utc,
    days_between,
    has_deal,
    task_source,
)
from socialsell.reports.scope import Scope

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App

A, CA = t.accounts, t.campaigns
#: (deal, touch, channel, credited amount)
Credit = tuple[dict[str, Any], dict[str, Any], str, float]


def won_deals(conn: Any, scope: Scope | None) -> list[dict[str, Any]]:
    """Every deal won in the scope with its amount, source and touches (posts, in order), each
    touch with the channels it was seen on (:func:`credit`).

    Deals from the deals table are credited to their ``deal_posts`` (fixed when the deal opened);
    a follow-up closed as won with no deal opened from it (from before deals existed) is credited
    to the posts its buyer engaged with up to the win."""
    out = _table_deals(conn, scope)
    out.extend(_followup_deals(conn, scope))
    out.sort(key=lambda d: (d["closed_at"], d["deal"]))
    return out


def _deal(key: str, name: str | None, owner: str | None, amount: Any, at: datetime, source: str) -> dict[str, Any]:
    return {"deal": key, "contact": name, "owner": owner, "amount": float(amount or 0.0), "closed_at": at,
            "source": source, "touches": []}


def _touch(post: int, before: Any, campaign: str | None, template: str | None, text: str | None) -> dict[str, Any]:
    """One post a deal is credited to; ``before``: days from the buyer's first engagement with it
    to the win. Times of touches come as days before the win (computed in SQL: no datetime per row)."""
    return {"post": post, "before": None if before is None else float(before), "campaign": campaign,
            "template": template, "text": text.splitlines()[0] if text else "", "seen": [], "posted_on": []}


def _add_channel(touch: dict[str, Any], channel: str | None, first: Any, last: Any) -> None:
    """One delivery of the touch's post: where it went out, and the buyer's first and last
    engagement with it there as days before the win (None when they did not engage there)."""
    if channel is None:
        return
    touch["posted_on"].append(channel)
    if first is not None:
        touch["seen"].append((float(first), float(last), channel))


def _table_deals(conn: Any, scope: Scope | None) -> list[dict[str, Any]]:
    """Won deals with their posts and each post's published deliveries, in one statement; for
    each delivery the buyer's first and last engagement with it up to the deal's last touch."""
    conds = [DL.c.stage == "won"]
    if scope is not None:
        conds.append(scope.in_period(DL.c.closed_at))
        if scope.owner:
            conds.append(DL.c.owner == scope.owner)

    def engaged(agg: Any) -> Any:
        return (select(agg(E.c.occurred_at)).where(E.c.delivery_id == D.c.id, E.c.contact_id == DL.c.contact_id,
                                                   E.c.ignored.is_(None), E.c.occurred_at <= DP.c.last_touch_at)
                .scalar_subquery())

    closed = DL.c.closed_at
    q = (select(DL.c.id, C.c.display_name, DL.c.owner, DL.c.amount, type_coerce(closed, String), DL.c.source,
                DP.c.post_id, days_between(conn, closed, DP.c.first_touch_at), CA.c.name, P.c.template, P.c.text,
                A.c.name, days_between(conn, closed, engaged(func.min)), days_between(conn, closed, engaged(func.max)))
         .select_from(DL.join(C, C.c.id == DL.c.contact_id).outerjoin(DP, DP.c.deal_id == DL.c.id)
                      .outerjoin(P, P.c.id == DP.c.post_id).outerjoin(CA, CA.c.id == P.c.campaign_id)
                      .outerjoin(D, and_(D.c.post_id == DP.c.post_id, D.c.status == "published"))
                      .outerjoin(A, A.c.id == D.c.account_id))
         .where(*conds).order_by(DL.c.closed_at, DL.c.id, DP.c.position, D.c.id))
    deals: dict[int, dict[str, Any]] = {}
    for deal_id, name, owner, amount, closed, source, post, before, campaign, template, text, channel, first, last in \
            conn.execute(q).all():
        deal = deals.get(deal_id)
        if deal is None:
            deal = deals[deal_id] = _deal(f"deal:{deal_id}", name, owner, amount, as_utc(closed), source)
        if post is None:
            continue
        if not deal["touches"] or deal["touches"][-1]["post"] != post:
            deal["touches"].append(_touch(post, before, campaign, template, text))
        _add_channel(deal["touches"][-1], channel, first, last)
    return list(deals.values())


def _followup_deals(conn: Any, scope: Scope | None) -> list[dict[str, Any]]:
    """Follow-ups won with no deal, with the buyer's engagements up to the win per post and
    channel, in one statement."""
    frm, conds = task_source(scope) if scope is not None else (T.join(C, C.c.id == T.c.contact_id), [])
    where = [T.c.outcome == "won", ~has_deal(), *conds]
    if scope is not None:
        where.append(scope.in_period(T.c.closed_at))
    won = select(T.c.id, T.c.contact_id, T.c.closed_at).select_from(frm).where(*where).subquery("won")
    first, last = func.min(E.c.occurred_at).label("first"), func.max(E.c.occurred_at).label("last")
    # the buyer's engagements with each delivery up to the win, grouped before the posts' texts join
    seen = (select(won.c.id.label("task"), D.c.post_id, D.c.account_id, first, last)
            .select_from(won.join(E, E.c.contact_id == won.c.contact_id).join(D, D.c.id == E.c.delivery_id))
            .where(E.c.occurred_at <= won.c.closed_at, E.c.ignored.is_(None))
            .group_by(won.c.id, D.c.post_id, D.c.account_id).subquery("seen"))
    q = (select(T.c.id, C.c.display_name, T.c.owner, T.c.amount, type_coerce(T.c.closed_at, String), seen.c.post_id,
                CA.c.name, P.c.template, P.c.text, A.c.name, days_between(conn, T.c.closed_at, seen.c.first),
                days_between(conn, T.c.closed_at, seen.c.last))
         .select_from(frm.outerjoin(seen, seen.c.task == T.c.id).outerjoin(P, P.c.id == seen.c.post_id)
                      .outerjoin(A, A.c.id == seen.c.account_id).outerjoin(CA, CA.c.id == P.c.campaign_id))
         .where(*where).order_by(T.c.closed_at, T.c.id, seen.c.first, seen.c.post_id, A.c.name))
    deals: dict[int, dict[str, Any]] = {}
    for task_id, name, owner, amount, closed, post, campaign, template, text, channel, first, last in conn.execute(q).all():
        deal = deals.get(task_id)
        if deal is None:
            deal = deals[task_id] = _deal(f"task:{task_id}", name, owner, amount, as_utc(closed), "socialsell")
        if post is None:
            continue
        touch = next((x for x in deal["touches"] if x["post"] == post), None)
        if touch is None:
            touch = _touch(post, first, campaign, template, text)
            deal["touches"].append(touch)
        _add_channel(touch, channel, first, last)
    return list(deals.values())


def channels_credited(touch: dict[str, Any], amount: float, pick: str | None) -> list[tuple[str, float]]:
    """Split one post's credit across its channels: ``pick`` "first" / "last" gives it all to the
    channel of the buyer's first / last engagement with the post, None splits it evenly across
    the channels they engaged on; with no engagement known, evenly across where it was posted."""
    seen = touch["seen"]  # (days before the win of the first and the last engagement, channel)
    if seen and pick == "first":
        return [(max(seen, key=lambda s: s[0])[2], amount)]
    if seen and pick == "last":
        return [(min(seen, key=lambda s: s[1])[2], amount)]
    channels = list(dict.fromkeys(c for _, _, c in seen)) if seen else list(dict.fromkeys(touch["posted_on"]))
    channels = channels or ["(none)"]
    return [(c, amount / len(channels)) for c in channels]


def credit(deals: list[dict[str, Any]], model: str) -> list[Credit]:
    """(deal, touch, channel, credited amount) under the model; a deal with no touch credits
    nothing; a deal's credits add up to its amount."""
    out: list[Credit] = []
    for deal in deals:
        touches = deal["touches"]
        if not touches:
            continue
        if model == "first":
            parts, pick = [(touches[0], deal["amount"])], "first"
        elif model == "last":
            parts, pick = [(touches[-1], deal["amount"])], "last"
        else:
            parts, pick = [(touch, deal["amount"] / len(touches)) for touch in touches], None
        for touch, share in parts:
            out.extend((deal, touch, channel, amount) for channel, amount in channels_credited(touch, share, pick))
    return out


def spend_in_period(budget: float | None, start: datetime, end: datetime | None, since: datetime, until: datetime,
                    now: datetime) -> float | None:
    """The part of a campaign's budget spent in [since, until): the budget spread evenly over the
    campaign's run, from its start (or creation) to its end (or, while it runs, now)."""
    if not budget:
        return budget
    end = max(end or now, start)
    if end == start:
        return float(budget) if since <= start < until else 0.0
    overlap = (min(end, until) - max(start, since)).total_seconds()
    return round(budget * max(0.0, overlap) / (end - start).total_seconds(), 2)


def campaign_money(revenue: float, leads: int, qualified_leads: int, budget: float | None,
                   spend: float | None = None) -> dict[str, Any]:
    """Cost per lead, cost per qualified lead and return on spend ((revenue - spend) / spend), with
    ``spend`` the part of the budget spent when the revenue and leads came (the whole budget by default)."""
    spend = budget if spend is None else spend
    if not spend:
        return {"budget": budget, "spend": spend, "cost_per_lead": None, "cost_per_qualified": None,
                "return_on_spend": None}
    return {"budget": budget, "spend": spend, "cost_per_lead": round(spend / leads, 2) if leads else None,
            "cost_per_qualified": round(spend / qualified_leads, 2) if qualified_leads else None,
            "return_on_spend": round((revenue - spend) / spend, 3)}


def attribution_section(app: App, scope: Scope) -> Section:
    """Revenue by post, campaign, channel and template under the chosen model, and each deal's source."""
    found = leads(app, scope)
    with app.db.read() as conn:
        deals = won_deals(conn, scope)
        campaigns = {name: (budget, starts or created, ends) for name, budget, starts, ends, created in conn.execute(
            select(CA.c.name, CA.c.budget, CA.c.starts_on, CA.c.ends_on, CA.c.created_at))}
    posts_per_campaign: dict[str | None, set[int]] = defaultdict(set)
    for d in published(app, scope):
        posts_per_campaign[d["campaign"]].add(d["post"])
    credits = credit(deals, scope.model)
    if scope.channel:
        credits = [c for c in credits if c[2] == scope.channel]
    if scope.campaign:
        credits = [c for c in credits if c[1]["campaign"] == scope.campaign]

    def by(key: Any) -> dict[Any, dict[str, Any]]:
        acc: dict[Any, dict[str, Any]] = defaultdict(lambda: {"revenue": 0.0, "deals": set()})
        for deal, touch, channel, amount in credits:
            k = key(touch, channel)
            acc[k]["revenue"] += amount
            acc[k]["deals"].add(deal["deal"])
        return acc

    posts = by(lambda touch, _: touch["post"])
    texts = {touch["post"]: touch for _, touch, _, _ in credits}
    channels_of: dict[int, list[str]] = defaultdict(list)
    for _, touch, channel, _ in credits:
        if channel not in channels_of[touch["post"]]:
            channels_of[touch["post"]].append(channel)
    post_rows = [row("attribution", "post", p, post=p, text=texts[p]["text"][:60], channel=", ".join(channels_of[p]),
                     campaign=texts[p]["campaign"] or "(none)", deals=len(v["deals"]), revenue=round(v["revenue"], 2))
                 for p, v in sorted(posts.items(), key=lambda kv: (-kv[1]["revenue"], kv[0]))]
    by_campaign = by(lambda touch, _: touch["campaign"])
    with_leads = {k for _, _, k in found.counts if k is not None}
    names = sorted(set(by_campaign) | {n for n in with_leads if not scope.campaign or n == scope.campaign},
                   key=lambda n: (n is None, -(by_campaign[n]["revenue"] if n in by_campaign else 0), n or ""))
    now = app.now()
    campaign_rows = []
    for name in names:
        revenue = round(by_campaign[name]["revenue"], 2) if name in by_campaign else 0.0
        n, q = found.total("leads", campaign=name), found.total("qualified", campaign=name)
        posted = len(posts_per_campaign.get(name, ()))
        budget, start, end = campaigns.get(name, (None, now, None))
        spend = spend_in_period(budget, start, end, scope.since, scope.until, now)
        campaign_rows.append(row("attribution", "campaign", name or "(none)", campaign=name or "(none)",
                                 deals=len(by_campaign[name]["deals"]) if name in by_campaign else 0, revenue=revenue,
                                 posts=posted, revenue_per_post=round(revenue / posted, 2) if posted else None,
                                 leads=n, qualified=q, **campaign_money(revenue, n, q, budget, spend)))

    def simple(key: str, table: str, of: Any) -> list[dict[str, Any]]:
        acc = by(of)
        return [row("attribution", table, k or "(none)", **{key: k or "(none)"}, deals=len(v["deals"]),
                    revenue=round(v["revenue"], 2)) for k, v in sorted(acc.items(), key=lambda kv: -kv[1]["revenue"])]

    deal_rows = [row("attribution", "deal", d["deal"], deal=d["deal"], contact=d["contact"], owner=d["owner"],
                     amount=d["amount"], source=d["source"], posts=" ".join(f"#{x['post']}" for x in d["touches"]) or "-",
                     days_to_won=round(d["touches"][0]["before"], 1)
                     if d["touches"] and d["touches"][0]["before"] is not None else None)
                 for d in deals]
    return Section("attribution", f"Attribution: revenue traced to posts ({scope.model} touch)", [
        Table("post", "Revenue by post", ["post", "text", "channel", "campaign", "deals", "revenue"], post_rows),
        Table("campaign", "Revenue by campaign", ["campaign", "deals", "revenue", "revenue_per_post", "leads",
                                                  "spend", "cost_per_lead", "cost_per_qualified", "return_on_spend"],
              campaign_rows, chart=("bar", "campaign", "revenue")),
        Table("channel", "Revenue by channel", ["channel", "deals", "revenue"],
              simple("channel", "channel", lambda _, channel: channel)),
        Table("template", "Revenue by template", ["template", "deals", "revenue"],
              simple("template", "template", lambda touch, _: touch["template"])),
        Table("deal", "Won deals and where each figure came from",
              ["deal", "contact", "owner", "amount", "source", "posts", "days_to_won"],
              deal_rows),
    ], notes=[
        f"Model: {scope.model} touch (--model first|last|linear). A deal's source is where it lives (socialsell or a "
        "CRM); deal:N is credited to the posts fixed when it opened, task:N (a follow-up won with no deal) to the "
        "buyer's engagements with our posts up to the win. A post on several channels passes its credit to the "
        "channels the buyer engaged on (first/last: the one of their first/last engagement; linear: evenly), else "
        "evenly across the channels it went out on. Spend is the part of the campaign's budget in the period (the "
        "budget spread evenly from its start to its end, or to now while it runs); cost per lead and return on "
        "spend, (revenue - spend) / spend, use it.",
    ])
