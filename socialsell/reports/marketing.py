"""The marketing section, one-to-many: posts, reach, impressions, frequency, engagement rate,
link clicks, leads and qualified leads, by campaign, channel, template and week, and the best
posting slots from our own history.

The heavy work (latest metrics per post, engagements and leads per post over every engagement)
is aggregated in SQL into one row per published delivery; those few hundred rows are then
grouped, so one query serves every breakdown.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, func, select

from socialsell.db import schema as t
from socialsell.reports.model import Section, Table, ratio, row
from socialsell.reports.queries import C, D, E, P, T, delivery_conditions, qualified
from socialsell.reports.scope import Scope

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App

M, A, CA, S = t.post_metrics, t.accounts, t.campaigns, t.shares
M2 = M.alias("m_latest")
FIGURES = ["posts", "reach", "impressions", "frequency", "engagements", "engagement_rate", "clicks", "leads", "qualified"]
TOP_POSTS = 20  # the posts table lists this many (the other tables cover every post)
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def delivery_figures(conn: Any, scope: Scope | None, *, campaign_id: int | None = None) -> list[dict[str, Any]]:
    """One row per published delivery in the scope: its latest metrics, its engagements, the
    leads and qualified leads it opened, and whose share it is (``shared_by``, ``mode``: None for
    the brand's own posts; docs/advocacy.md). ``scope=None``: all time."""
    # each delivery's latest metrics and its engagements, looked up per delivery through the
    # (delivery_id, fetched_at) and (delivery_id) indexes: only the deliveries in the scope are read
    latest = select(func.max(M2.c.fetched_at)).where(M2.c.delivery_id == D.c.id).scalar_subquery()
    metrics = and_(M.c.delivery_id == D.c.id, M.c.fetched_at == latest)
    # every reaction on the post, as the network counts them (its impressions count everyone too)
    engaged = select(func.count()).where(E.c.delivery_id == D.c.id).scalar_subquery()
    leads = (select(E.c.delivery_id, func.count().label("n"), func.sum(case((qualified, 1), else_=0)).label("q"))
             .select_from(T.join(E, E.c.id == T.c.first_engagement_id).join(C, C.c.id == T.c.contact_id))
             .group_by(E.c.delivery_id).subquery())
    conds = [D.c.status == "published"]
    if scope is not None:
        conds += [scope.in_period(D.c.published_at), *delivery_conditions(scope)]
    if campaign_id is not None:
        conds.append(P.c.campaign_id == campaign_id)
    q = (select(D.c.id, D.c.post_id, A.c.name, CA.c.name, P.c.template, D.c.published_at, M.c.reach,
                M.c.impressions, M.c.clicks, engaged, func.coalesce(leads.c.n, 0), func.coalesce(leads.c.q, 0),
                S.c.rep, S.c.mode)
         .select_from(D.join(P, P.c.id == D.c.post_id).join(A, A.c.id == D.c.account_id)
                      .outerjoin(CA, CA.c.id == P.c.campaign_id)
                      .outerjoin(M, metrics)
                      .outerjoin(leads, leads.c.delivery_id == D.c.id)
                      .outerjoin(S, S.c.delivery_id == D.c.id))
         .where(*conds).order_by(D.c.published_at, D.c.id))
    keys = ("delivery", "post", "channel", "campaign", "template", "published_at", "reach", "impressions", "clicks",
            "engagements", "leads", "qualified", "shared_by", "mode")
    return [dict(zip(keys, r, strict=True)) for r in conn.execute(q).all()]


def published(app: App, scope: Scope) -> list[dict[str, Any]]:
    """:func:`delivery_figures` for the scope, read once per report (the SLA's cadence,
    attribution's posts per campaign and the advocacy section use the same rows)."""
    def read() -> list[dict[str, Any]]:
        with app.db.read() as conn:
            return delivery_figures(conn, scope)

    return scope.shared("published", read)


def frequency(rows: list[dict[str, Any]]) -> float | str:
    """Impressions over unique reach, where unique reach is known: channels report it per post
    and per channel (one delivery), never over several posts (a person reached by two posts
    is in both counts), so a group of several deliveries says "n/a" rather than a wrong figure."""
    if len(rows) != 1 or not rows[0]["reach"] or rows[0]["impressions"] is None:
        return "n/a"
    return round(rows[0]["impressions"] / rows[0]["reach"], 2)


def totals(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Posts, reach, impressions, frequency, engagements, engagement rate, clicks, leads for a group.
    A post sent to several channels counts once in ``posts``; reach is the sum of each
    delivery's unique reach; frequency is known for one delivery only (:func:`frequency`);
    link clicks are "n/a" where no post of the group reports them."""
    rows = list(rows)

    def known(key: str) -> list[Any]:
        return [r[key] for r in rows if r[key] is not None]

    reach, impressions, clicks = known("reach"), known("impressions"), known("clicks")
    engagements = sum(r["engagements"] for r in rows)
    return {
        "posts": len({r["post"] for r in rows}),
        "reach": sum(reach) if reach else "n/a",
        "impressions": sum(impressions) if impressions else "n/a",
        "frequency": frequency(rows),
        "engagements": engagements,
        "engagement_rate": ratio(sum(r["engagements"] for r in rows if r["impressions"]), sum(impressions), 6)
        if impressions and sum(impressions) else "n/a",
        "clicks": sum(clicks) if clicks else "n/a",
        "leads": sum(r["leads"] for r in rows),
        "qualified": sum(r["qualified"] for r in rows),
    }


def top_posts(rows: list[dict[str, Any]], limit: int = TOP_POSTS) -> list[dict[str, Any]]:
    """Each delivery (a post on one channel) with its own frequency, most engagements first."""
    best = sorted(rows, key=lambda r: (-r["engagements"], -(r["reach"] or 0), r["delivery"]))[:limit]
    return [row("marketing", "post", r["delivery"], post=r["post"], channel=r["channel"],
                **{k: v for k, v in totals([r]).items() if k not in ("posts", "clicks")}) for r in best]


def _group(rows: list[dict[str, Any]], key: Callable[[dict[str, Any]], Any], table: str, label: str) -> list[dict[str, Any]]:
    groups: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[key(r)].append(r)
    return [row("marketing", table, k, **{label: k}, **totals(g)) for k, g in sorted(groups.items(), key=lambda kv: str(kv[0]))]


def best_slots(rows: list[dict[str, Any]], scope: Scope, limit: int = 10) -> list[dict[str, Any]]:
    """Engagement rate by local weekday and hour of publishing, best first, with the sample size."""
    groups: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        local = r["published_at"].astimezone(scope.tz)
        groups[(local.weekday(), local.hour)].append(r)
    out = []
    for (day, hour), g in groups.items():
        figures = totals(g)
        out.append(row("marketing", "slot", f"{WEEKDAYS[day]}-{hour:02d}", slot=f"{WEEKDAYS[day]} {hour:02d}:00",
                       posts=figures["posts"], engagements=figures["engagements"],
                       engagement_rate=figures["engagement_rate"], leads=figures["leads"]))
    rate = lambda r: r["engagement_rate"] if isinstance(r["engagement_rate"], float) else -1.0  # noqa: E731
    return sorted(out, key=lambda r: (-rate(r), -r["engagements"], -r["posts"], r["slot"]))[:limit]


def brand_posts(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The brand's own deliveries: not a rep's share of a brand post from their own account, whose
    reach is the rep's network's (docs/advocacy.md; the advocacy section counts those)."""
    return [r for r in rows if r["shared_by"] is None]


def marketing_section(app: App, scope: Scope) -> Section:
    """Reach and frequency, engagement and leads of the brand's posts, by campaign, channel,
    template and week; the reps' shares of them in one row apart."""
    every = published(app, scope)
    rows = brand_posts(every)

    def week_of(r: dict[str, Any]) -> str:
        return scope.week_label(scope.week_index(r["published_at"]))

    overall = [row("marketing", "total", "all", scope="all posts", **totals(rows))]
    shares = [r for r in every if r["shared_by"] is not None]
    if shares:
        overall.append(row("marketing", "total", "shared_by_reps", scope="shared by reps", **totals(shares)))
    return Section("marketing", "Marketing: reach, frequency, engagement, leads", [
        Table("total", "All the brand's published posts in the period", ["scope", *FIGURES], overall),
        Table("campaign", "By campaign", ["campaign", *FIGURES],
              _group(rows, lambda r: r["campaign"] or "(none)", "campaign", "campaign"), chart=("bar", "campaign", "reach")),
        Table("channel", "By channel", ["channel", *FIGURES], _group(rows, lambda r: r["channel"], "channel", "channel")),
        Table("template", "By template", ["template", *FIGURES],
              _group(rows, lambda r: r["template"] or "(free text)", "template", "template")),
        Table("week", "By week", ["week", *FIGURES], _group(rows, week_of, "week", "week"), chart=("line", "week", "reach")),
        Table("post", f"Top {TOP_POSTS} posts by engagements (one row per channel)",
              ["post", "channel", "reach", "impressions", "frequency", "engagements", "engagement_rate", "leads"],
              top_posts(rows)),
        Table("slot", "Best posting slots (our own history)", ["slot", "posts", "engagements", "engagement_rate", "leads"],
              best_slots(rows, scope)),
    ], notes=[
        "Reach and impressions are each post's latest metrics from its channel; reach over several posts is the sum "
        "of each one's unique reach. Frequency is impressions over unique reach, known per post and channel only: "
        "n/a for a group of several (unique reach across posts is not known) and where a channel gives no unique "
        "reach (X). A post sent to several channels counts once in posts. Engagement rate is engagements over "
        "impressions. Reps' shares of the brand's posts from their own accounts are not the brand's reach: they "
        "are one row apart (shared by reps), and rep by rep in the advocacy section.",
    ])
