"""One campaign's figures for ``campaign show``: the same numbers as ``socialsell report
--campaign NAME`` over the campaign's whole life (reach, impressions, engagements, leads, and
revenue under an attribution model with cost per lead and return on spend)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import case, func, select

from socialsell.db import schema as t
from socialsell.reports.attribution import campaign_money, credit, won_deals
from socialsell.reports.marketing import brand_posts, delivery_figures, totals
from socialsell.reports.queries import C, D, E, T, qualified

if TYPE_CHECKING:  # pragma: no cover
    from socialsell.app import App


def campaign_figures(app: App, campaign: dict[str, Any], model: str = "linear") -> dict[str, Any]:
    """Marketing totals, revenue credited to the campaign's posts, and the money figures."""
    with app.db.read() as conn:
        rows = brand_posts(delivery_figures(conn, None, campaign_id=campaign["id"]))  # reps' shares: not the brand's reach
        deals = won_deals(conn, None)
        metrics_at = conn.execute(select(func.max(t.post_metrics.c.fetched_at)).join(D, D.c.id == t.post_metrics.c.delivery_id)
                                  .join(t.posts, t.posts.c.id == D.c.post_id)
                                  .where(t.posts.c.campaign_id == campaign["id"])).scalar()
        leads, qualified_leads = conn.execute(
            select(func.count(), func.coalesce(func.sum(case((qualified, 1), else_=0)), 0))
            .select_from(T.join(C, C.c.id == T.c.contact_id).join(E, E.c.id == T.c.first_engagement_id)
                         .join(D, D.c.id == E.c.delivery_id).join(t.posts, t.posts.c.id == D.c.post_id))
            .where(t.posts.c.campaign_id == campaign["id"])).one()
    credited = [(deal, amount) for deal, touch, _, amount in credit(deals, model) if touch["campaign"] == campaign["name"]]
    revenue = round(sum(a for _, a in credited), 2)
    figures = totals(rows)
    figures.update(leads=leads, qualified=int(qualified_leads), revenue=revenue, model=model,
                   deals=len({d["deal"] for d, _ in credited}), metrics_at=metrics_at,
                   sources=sorted({d["source"] for d, _ in credited}),
                   **campaign_money(revenue, leads, int(qualified_leads), campaign.get("budget")))
    return figures
